// Package journal closes the gap between a state change and its audit record.
// The server announces each call's record as an Intent on the call's
// context; every store transaction the call commits through Journaled also
// writes that record to "auditjournal/<eventID>", atomically with the
// change. The call's final record (trail.Log.Complete) removes the entry in
// its own transaction. So a change is never committed without a durable
// record of it: if the final write fails, or the process dies before it,
// the entry stays and Recover turns it into a record.
package journal

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/idcgate/idcgate/internal/audit"
	"github.com/idcgate/idcgate/internal/store"
)

// Intent is the record of a call in flight. It is built lazily, on the
// call's first commit: most calls change nothing and pay nothing for it.
type Intent struct {
	build     func() *audit.Record
	once      sync.Once
	id        string
	line      []byte
	err       error
	committed atomic.Bool
}

// NewIntent announces a call whose record build returns (its id, version
// and type are filled when it is first needed).
func NewIntent(build func() *audit.Record) *Intent { return &Intent{build: build} }

func (in *Intent) prepare() error {
	in.once.Do(func() {
		r := in.build()
		in.line, in.err = audit.Fill(r)
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
		return tx.Put(audit.JournalKey(in.id), in.line)
	})
	if err == nil {
		in.committed.Store(true)
	}
	return err
}

// Writer is what Recover writes recovered records through (trail.Log).
type Writer interface {
	// WriteRecovered writes r only if the journal entry at journalKey is
	// still there (another replica may have recovered it first), removing
	// the entry with the record's store copy.
	WriteRecovered(ctx context.Context, r *audit.Record, journalKey string) error
}

// Recover turns journal entries in st of calls that started before cutoff
// into records written through w (marked
// additionalEventData.recoveredFromJournal), and returns how many entries
// it handed to w. Only calls that can no longer be in flight may be
// recovered: the embedded store (one process) recovers everything at
// start; replicas of a shared store leave younger entries to their owner.
// An entry another replica recovered first is skipped.
func Recover(ctx context.Context, st store.Store, w Writer, cutoff time.Time) (int, error) {
	if st == nil {
		return 0, nil
	}
	type entry struct {
		key string
		rec audit.Record
	}
	var entries []entry
	err := st.View(ctx, func(r store.Reader) error {
		return r.Scan(audit.JournalPrefix, "", func(k string, v []byte) (bool, error) {
			var rec audit.Record
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
		if err := w.WriteRecovered(ctx, &rec, e.key); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// Pending returns the journal's entries (for tools and tests).
func Pending(ctx context.Context, st store.Store) ([]audit.Record, error) {
	var out []audit.Record
	err := st.View(ctx, func(r store.Reader) error {
		return r.Scan(audit.JournalPrefix, "", func(_ string, v []byte) (bool, error) {
			var rec audit.Record
			if err := json.Unmarshal(v, &rec); err != nil {
				return false, errors.Join(errors.New("audit journal entry"), err)
			}
			out = append(out, rec)
			return true, nil
		})
	})
	return out, err
}
