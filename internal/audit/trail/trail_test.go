package trail_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/idcgate/idcgate/internal/audit"
	"github.com/idcgate/idcgate/internal/audit/audittest"
	"github.com/idcgate/idcgate/internal/audit/query"
	"github.com/idcgate/idcgate/internal/audit/trail"
	"github.com/idcgate/idcgate/internal/clock"
	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/store/bolt"
	"github.com/idcgate/idcgate/internal/testkit"
)

// Concurrent writers share commits; every Write that returned is in the
// file and in the store, once each, and the file is private.
func TestWriteConcurrentDurableInBoth(t *testing.T) {
	dir := t.TempDir()
	st := testkit.StoreAt(t, filepath.Join(dir, "db"))
	path := filepath.Join(dir, "audit", "audit.log")
	var observed struct {
		sync.Mutex
		groups, records int
	}
	l, err := trail.Open(path, st, trail.Options{ObserveCommit: func(d time.Duration, records int) {
		observed.Lock()
		defer observed.Unlock()
		if d <= 0 || records < 1 {
			t.Errorf("group commit observed as %v, %d records", d, records)
		}
		observed.groups++
		observed.records += records
	}})
	if err != nil {
		t.Fatal(err)
	}
	const writers, each = 16, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				r := &audit.Record{EventTime: time.Now(), EventSource: "redshift-serverless.amazonaws.com", EventName: fmt.Sprintf("Op%d", w), RequestID: fmt.Sprintf("%d-%d", w, i)}
				errs <- l.Write(context.Background(), r)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	recs, err := audit.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range recs {
		if seen[r.RequestID] || r.EventVersion != "1.09" || r.EventType != "AwsApiCall" || r.EventID == "" {
			t.Fatalf("record %+v (seen before: %v)", r, seen[r.RequestID])
		}
		seen[r.RequestID] = true
	}
	if len(seen) != writers*each {
		t.Fatalf("file holds %d records, want %d", len(seen), writers*each)
	}
	observed.Lock()
	if observed.records != writers*each || observed.groups < 1 || observed.groups > writers*each {
		t.Errorf("observed %d group commits of %d records in all, want %d records", observed.groups, observed.records, writers*each)
	}
	observed.Unlock()
	stored, _, err := query.Lookup(context.Background(), st, query.Filter{})
	if err != nil || len(stored) != writers*each {
		t.Fatalf("store holds %d records (%v), want %d", len(stored), err, writers*each)
	}
	only, _, _ := query.Lookup(context.Background(), st, query.Filter{EventName: "Op3"})
	if len(only) != each {
		t.Fatalf("EventName filter: %d records", len(only))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Write(context.Background(), &audit.Record{}); err == nil {
		t.Fatal("Write after Close succeeded")
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("audit file mode %v %v", fi.Mode(), err)
	}
}

// A store that fails makes the Write fail: a record is never reported
// durable when it is not.
func TestWriteFailsWhenStoreFails(t *testing.T) {
	dir := t.TempDir()
	st, err := bolt.Open(filepath.Join(dir, "db"))
	if err != nil {
		t.Fatal(err)
	}
	l, err := trail.Open(filepath.Join(dir, "audit.log"), st, trail.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	st.Close()
	if err := l.Write(context.Background(), &audit.Record{EventTime: time.Now()}); err == nil {
		t.Fatal("Write succeeded with a closed store")
	}
}

// Store keys are taken in commit order: the store's key order is the
// file's line order (the order of commits), even with concurrent writers
// whose eventTimes are deliberately out of order.
func TestKeysInCommitOrder(t *testing.T) {
	st := testkit.Store(t)
	l, path := audittest.OpenLog(t, st)
	base := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 30; i++ {
				// eventTime runs backwards: keys must not follow it.
				r := &audit.Record{EventTime: base.Add(-time.Duration(w*100+i) * time.Second), RequestID: fmt.Sprintf("%d-%d", w, i)}
				if err := l.Write(context.Background(), r); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	fileOrder := audittest.FileReqIDs(t, path)
	stored, _, err := query.Lookup(context.Background(), st, query.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if got := audittest.ReqIDs(t, stored); !slices.Equal(got, fileOrder) || len(got) != 240 {
		t.Fatalf("store order differs from commit order (%d vs %d records)", len(got), len(fileOrder))
	}
}

// Options.Retention starts a pruner, on the Log's clock, that has pruned
// once by the time Close returns.
func TestRetentionStartsPruner(t *testing.T) {
	st := testkit.Store(t)
	old := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := clock.NewFake(old.Add(2 * time.Hour))
	for _, at := range []time.Time{old, now.Now()} {
		if err := st.Update(context.Background(), func(tx store.Tx) error {
			return tx.Put(audit.KeyAt(at)+"/"+at.Format(time.Kitchen), []byte(`{"eventID":"x"}`))
		}); err != nil {
			t.Fatal(err)
		}
	}
	l, err := trail.Open(filepath.Join(t.TempDir(), "audit.log"), st, trail.Options{Retention: time.Hour, Clock: now.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(audittest.MustLookup(t, st, query.Filter{})); n != 1 {
		t.Fatalf("store holds %d records after the pruner ran, want 1", n)
	}
}
