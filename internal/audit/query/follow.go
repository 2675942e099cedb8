package query

import (
	"encoding/json"
	"time"

	"github.com/idcgate/idcgate/internal/audit"
)

// FollowWindow is how far below the newest key it has seen a Follower
// reads again. Within one process keys are in commit order, but replicas
// of a shared store commit with their own clocks: a record of replica A
// can commit after a newer-keyed one of replica B was read. The window
// covers clock skew plus the slowest store commit.
const FollowWindow = 30 * time.Second

// Follower turns repeated Lookups into a stream of new records with no gap
// and no repeat although records may commit out of key order: each poll
// reads from the window below the newest key seen and drops records whose
// eventID it has already returned.
type Follower struct {
	window time.Duration
	hwm    string               // the highest key read
	seen   map[string]time.Time // eventID → hwm time when it was read
}

// NewFollower starts after cursor (a Lookup cursor; "" is the beginning).
func NewFollower(cursor string, window time.Duration) *Follower {
	return &Follower{window: window, hwm: cursor, seen: map[string]time.Time{}}
}

// After is where the next poll's Lookup starts.
func (f *Follower) After() string {
	t, ok := audit.KeyTime(f.hwm)
	if !ok {
		return f.hwm
	}
	return audit.KeyAt(t.Add(-f.window))
}

// Cursor is the highest key read so far: a poll up to it (Filter.Until)
// primes a follower with what was already there.
func (f *Follower) Cursor() string { return f.hwm }

// Prime marks records as already returned (those printed before following).
func (f *Follower) Prime(events []json.RawMessage) {
	t, _ := audit.KeyTime(f.hwm)
	for _, e := range events {
		if id := audit.EventID(e); id != "" {
			f.seen[id] = t
		}
	}
}

// Take returns the events of one Lookup page not returned before, and
// moves the follower past last (the page's cursor).
func (f *Follower) Take(events []json.RawMessage, last string) []json.RawMessage {
	if last > f.hwm {
		f.hwm = last
	}
	t, _ := audit.KeyTime(f.hwm)
	var out []json.RawMessage
	for _, e := range events {
		id := audit.EventID(e)
		if _, dup := f.seen[id]; dup && id != "" {
			continue
		}
		if id != "" {
			f.seen[id] = t
		}
		out = append(out, e)
	}
	// A record read when the newest key was h has a key <= h, so once the
	// window starts above h no poll reads it again.
	for id, at := range f.seen {
		if at.Before(t.Add(-f.window)) {
			delete(f.seen, id)
		}
	}
	return out
}
