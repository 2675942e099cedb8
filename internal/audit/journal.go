package audit

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/idcgate/idcgate/internal/store"
)

// The journal closes the gap between a state change and its audit record.
// The server announces each call's record as an Intent on the call's
// context; every store transaction the call commits through Journaled also
// writes that record to "auditjournal/<eventID>", atomically with the
// change. The call's final record (Complete) removes the entry in its own
// transaction. So a change is never committed without a durable record of
// it: if the final write fails, or the process dies before it, the entry
// stays and Recover turns it into a record.

// Intent is the record of a call in flight. It is built lazily, on the
// call's first commit: most calls change nothing and pay nothing for it.
type Intent struct {
	build     func() *Record
	once      sync.Once
	id        string
	line      []byte
	err       error
	committed atomic.Bool
}

// NewIntent announces a call whose record build returns (its id, version
// and type are filled when it is first needed).
func NewIntent(build func() *Record) *Intent { return &Intent{build: build} }

func (in *Intent) prepare() error {
	in.once.Do(func() {
		r := in.build()
		in.line, in.err = fill(r)
		in.id = r.EventID
	})
	return in.err
}

// EventID is the id the call's record has ("" until the call commits).
func (in *Intent) EventID() string {
	if !in.Committed() {
		return ""
	}
	return in.id
}

// Committed reports whether a store transaction of the call committed (with
// the journal entry).
func (in *Intent) Committed() bool { return in != nil && in.committed.Load() }

type intentKey struct{}

// WithIntent attaches in to a call's context.
func WithIntent(ctx context.Context, in *Intent) context.Context {
	return context.WithValue(ctx, intentKey{}, in)
}

// IntentFrom returns the intent attached to ctx, or nil.
func IntentFrom(ctx context.Context) *Intent {
	in, _ := ctx.Value(intentKey{}).(*Intent)
	return in
}

// Journaled is the store the services use: an Update under a context with
// an Intent also writes the intent's journal entry in the same transaction.
type Journaled struct {
	store.Store
}

// Update runs fn, adding the journal entry when ctx carries an intent.
func (s Journaled) Update(ctx context.Context, fn func(store.Tx) error) error {
	in := IntentFrom(ctx)
	if in == nil {
		return s.Store.Update(ctx, fn)
	}
	if err := in.prepare(); err != nil {
		return err
	}
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return tx.Put(journalKey(in.id), in.line)
	})
	if err == nil {
		in.committed.Store(true)
	}
	return err
}

// Recover turns journal entries of calls that started before cutoff into
// records (marked additionalEventData.recoveredFromJournal), and returns
// how many entries it handed to the writer. Only calls that can no longer be in flight may be
// recovered: the embedded store (one process) recovers everything at
// start; replicas of a shared store leave younger entries to their owner.
// An entry another replica recovered first is skipped.
func (l *Log) Recover(ctx context.Context, cutoff time.Time) (int, error) {
	if l == nil || l.store == nil {
		return 0, nil
	}
	type entry struct {
		key string
		rec Record
	}
	var entries []entry
	err := l.store.View(ctx, func(r store.Reader) error {
		return r.Scan(journalPrefix, "", func(k string, v []byte) (bool, error) {
			var rec Record
			if json.Unmarshal(v, &rec) != nil {
				return true, nil // not ours to judge; never blocks the rest
			}
			if rec.EventTime.Before(cutoff) {
				entries = append(entries, entry{k, rec})
			}
			return true, nil
		})
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		rec := e.rec
		if rec.AdditionalEventData == nil {
			rec.AdditionalEventData = map[string]any{}
		}
		rec.AdditionalEventData["recoveredFromJournal"] = true
		b, err := fill(&rec)
		if err != nil {
			return n, err
		}
		if err := l.enqueue(ctx, &pending{id: rec.EventID, line: b, journal: e.key, recovered: true}); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// Pending returns the journal's entries (for tools and tests).
func Pending(ctx context.Context, st store.Store) ([]Record, error) {
	var out []Record
	err := st.View(ctx, func(r store.Reader) error {
		return r.Scan(journalPrefix, "", func(_ string, v []byte) (bool, error) {
			var rec Record
			if err := json.Unmarshal(v, &rec); err != nil {
				return false, errors.Join(errors.New("audit journal entry"), err)
			}
			out = append(out, rec)
			return true, nil
		})
	})
	return out, err
}
