package query_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/idcgate/idcgate/internal/audit"
	"github.com/idcgate/idcgate/internal/audit/audittest"
	"github.com/idcgate/idcgate/internal/audit/query"
	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/testkit"
)

// putAt commits a record under a chosen commit time, as another replica
// whose commit lands late would.
func putAt(t *testing.T, st store.Store, at time.Time, reqID string) {
	t.Helper()
	r := &audit.Record{EventTime: at, RequestID: reqID}
	b, err := audit.Fill(r)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Update(context.Background(), func(tx store.Tx) error { return tx.Put(audit.KeyAt(at)+"/"+r.EventID, b) }); err != nil {
		t.Fatal(err)
	}
}

// poll reads every page after the follower's window, as the CLI does.
func poll(t *testing.T, st store.Store, f *query.Follower, max int) []string {
	t.Helper()
	var out []string
	after := f.After()
	for {
		page, last, err := query.Lookup(context.Background(), st, query.Filter{After: after, Max: max})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, audittest.ReqIDs(t, f.Take(page, last))...)
		if len(page) < max {
			return out
		}
		after = last
	}
}

// A record that commits after a newer-keyed one was read (two replicas,
// or a slow commit) is not skipped by the follower, and nothing repeats.
func TestFollowerOutOfOrderCommits(t *testing.T) {
	st := testkit.Store(t)
	t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	putAt(t, st, t0, "old")
	_, cursor, _ := query.Lookup(context.Background(), st, query.Filter{Latest: true})
	f := query.NewFollower(cursor, 30*time.Second)
	f.Prime(audittest.MustLookup(t, st, query.Filter{After: f.After(), Until: f.Cursor()}))

	putAt(t, st, t0.Add(10*time.Second), "b-10s")
	if got := poll(t, st, f, 1000); !slices.Equal(got, []string{"b-10s"}) {
		t.Fatalf("first poll %v", got)
	}
	// Replica A's record keyed at +5s commits only now.
	putAt(t, st, t0.Add(5*time.Second), "a-5s-late")
	// A plain cursor misses it: this is the bug the window fixes.
	if naive, _, _ := query.Lookup(context.Background(), st, query.Filter{After: f.Cursor()}); len(naive) != 0 {
		t.Fatalf("a plain cursor sees %v", audittest.ReqIDs(t, naive))
	}
	putAt(t, st, t0.Add(11*time.Second), "b-11s")
	if got := poll(t, st, f, 1000); !slices.Equal(got, []string{"a-5s-late", "b-11s"}) {
		t.Fatalf("second poll %v", got)
	}
	// Pages smaller than the window, and polls with nothing new.
	for i := 0; i < 7; i++ {
		putAt(t, st, t0.Add(time.Duration(12+i)*time.Second), fmt.Sprint("c", i))
	}
	if got := poll(t, st, f, 2); len(got) != 7 || got[0] != "c0" || got[6] != "c6" {
		t.Fatalf("paged poll %v", got)
	}
	if got := poll(t, st, f, 2); len(got) != 0 {
		t.Fatalf("repeat poll %v", got)
	}
	// The seen set does not grow without bound: once the window has moved
	// past a record, it is forgotten.
	putAt(t, st, t0.Add(2*time.Minute), "later")
	if got := poll(t, st, f, 1000); !slices.Equal(got, []string{"later"}) {
		t.Fatalf("later poll %v", got)
	}
	if query.Remembered(f) != 1 {
		t.Fatalf("follower still remembers %d records", query.Remembered(f))
	}
}

// The follower over a live Log sees every record exactly once.
func TestFollowerLive(t *testing.T) {
	st := testkit.Store(t)
	l, _ := audittest.OpenLog(t, st)
	f := query.NewFollower("", query.FollowWindow)
	seen := map[string]int{}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				l.Write(context.Background(), &audit.Record{EventTime: time.Now(), RequestID: fmt.Sprintf("%d-%d", w, i)})
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true
		default:
		}
		for _, id := range poll(t, st, f, 7) {
			seen[id]++
		}
	}
	for _, id := range poll(t, st, f, 7) {
		seen[id]++
	}
	if len(seen) != 200 {
		t.Fatalf("follower saw %d distinct records, want 200", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("%s seen %d times", id, n)
		}
	}
}
