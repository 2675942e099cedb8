package journal_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/idcgate/idcgate/internal/audit"
	"github.com/idcgate/idcgate/internal/audit/audittest"
	"github.com/idcgate/idcgate/internal/audit/journal"
	"github.com/idcgate/idcgate/internal/audit/query"
	"github.com/idcgate/idcgate/internal/audit/trail"
	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/testkit"
)

var errDomain = errors.New("domain refused")

// A change committed under an intent carries the intent's record; the final
// record replaces it; a failed operation leaves nothing.
func TestJournalCommitsWithTheChange(t *testing.T) {
	st := testkit.Store(t)
	l, path := audittest.OpenLog(t, st)
	js := journal.Journaled{Store: st}
	ctx := context.Background()

	built := 0
	in := journal.NewIntent(func() *audit.Record {
		built++
		return &audit.Record{EventTime: time.Now(), EventName: "CreateNamespace", RequestID: "r1"}
	})
	cctx := journal.WithIntent(ctx, in)
	if err := js.Update(cctx, func(tx store.Tx) error { tx.Put("ns/x", []byte("{}")); return errDomain }); !errors.Is(err, errDomain) {
		t.Fatal(err)
	}
	if in.Committed() || len(audittest.MustPending(t, st)) != 0 {
		t.Fatal("a rolled-back change left a journal entry")
	}
	if err := js.Update(cctx, func(tx store.Tx) error { return tx.Put("ns/x", []byte("{}")) }); err != nil {
		t.Fatal(err)
	}
	p := audittest.MustPending(t, st)
	if !in.Committed() || len(p) != 1 || p[0].EventID != in.EventID() || p[0].RequestID != "r1" {
		t.Fatalf("journal after commit: %+v (committed %v)", p, in.Committed())
	}
	// A second commit of the same call rewrites the same entry.
	if err := js.Update(cctx, func(tx store.Tx) error { return tx.Put("ns/y", []byte("{}")) }); err != nil {
		t.Fatal(err)
	}
	if p2 := audittest.MustPending(t, st); len(p2) != 1 || p2[0].EventID != p[0].EventID || built != 1 {
		t.Fatalf("journal after a second commit: %+v (record built %d times)", p2, built)
	}
	// An update without an intent (the audit writer's own) adds nothing.
	js.Update(ctx, func(tx store.Tx) error { return tx.Put("other", nil) })
	if len(audittest.MustPending(t, st)) != 1 {
		t.Fatal("update without an intent touched the journal")
	}
	final := &audit.Record{EventTime: time.Now(), EventName: "CreateNamespace", RequestID: "r1", ErrorCode: ""}
	if err := l.Complete(ctx, in, final); err != nil {
		t.Fatal(err)
	}
	if len(audittest.MustPending(t, st)) != 0 {
		t.Fatal("final record left the journal entry")
	}
	recs, _ := audit.ReadFile(path)
	stored := audittest.MustLookup(t, st, query.Filter{})
	if len(recs) != 1 || len(stored) != 1 || recs[0].EventID != in.EventID() {
		t.Fatalf("file %d records, store %d", len(recs), len(stored))
	}
}

// A call that commits nothing never builds its record, and its final
// record is written alone.
func TestIntentWithoutCommit(t *testing.T) {
	st := testkit.Store(t)
	l, path := audittest.OpenLog(t, st)
	in := journal.NewIntent(func() *audit.Record { t.Fatal("built without a commit"); return nil })
	ctx := journal.WithIntent(context.Background(), in)
	journal.Journaled{Store: st}.View(ctx, func(store.Reader) error { return nil })
	if in.Committed() || in.EventID() != "" {
		t.Fatal("a read committed the intent")
	}
	if err := l.Complete(ctx, in, &audit.Record{EventTime: time.Now(), RequestID: "read"}); err != nil {
		t.Fatal(err)
	}
	recs, _ := audit.ReadFile(path)
	if len(recs) != 1 || recs[0].EventID == "" || len(audittest.MustPending(t, st)) != 0 {
		t.Fatalf("records %+v", recs)
	}
}

// If the final record cannot be written, the journal entry stays and
// Recover writes it, once, even with two replicas recovering.
func TestRecover(t *testing.T) {
	st := testkit.Store(t)
	ctx := context.Background()
	js := journal.Journaled{Store: st}
	broken, _ := audittest.OpenLog(t, st)
	old := time.Now().Add(-time.Hour)
	var intents []*journal.Intent
	for i, at := range []time.Time{old, old, time.Now()} {
		in := journal.NewIntent(func() *audit.Record {
			return &audit.Record{EventTime: at, EventName: "CreateWorkgroup", RequestID: fmt.Sprint("r", i),
				RequestParameters: map[string]any{"workgroupName": fmt.Sprint("wg", i)}}
		})
		intents = append(intents, in)
		if err := js.Update(journal.WithIntent(ctx, in), func(tx store.Tx) error { return tx.Put(fmt.Sprint("wg/", i), nil) }); err != nil {
			t.Fatal(err)
		}
	}
	broken.Close()
	if err := broken.Complete(ctx, intents[0], &audit.Record{EventTime: old, RequestID: "r0"}); err == nil {
		t.Fatal("Complete on a closed log succeeded")
	}
	if n := len(audittest.MustPending(t, st)); n != 3 {
		t.Fatalf("journal holds %d entries, want 3", n)
	}

	a, pathA := audittest.OpenLog(t, st)
	b, pathB := audittest.OpenLog(t, st)
	cutoff := time.Now().Add(-time.Minute) // r2 may still be in flight
	var wg sync.WaitGroup
	for _, l := range []*trail.Log{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := l.Recover(ctx, cutoff); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	stored := audittest.MustLookup(t, st, query.Filter{})
	recA, _ := audit.ReadFile(pathA)
	recB, _ := audit.ReadFile(pathB)
	if got := slices.Sorted(slices.Values(audittest.ReqIDs(t, stored))); !slices.Equal(got, []string{"r0", "r1"}) {
		t.Fatalf("recovered into the store: %v", got)
	}
	if len(recA)+len(recB) != 2 {
		t.Fatalf("recovered into the files: %d + %d records, want 2 in all", len(recA), len(recB))
	}
	for _, r := range append(recA, recB...) {
		if r.AdditionalEventData["recoveredFromJournal"] != true || r.RequestParameters["workgroupName"] == nil {
			t.Fatalf("recovered record %+v", r)
		}
	}
	if p := audittest.MustPending(t, st); len(p) != 1 || p[0].RequestID != "r2" {
		t.Fatalf("journal after recovery: %+v", p)
	}
	if n, _ := a.Recover(ctx, cutoff); n != 0 {
		t.Fatalf("second recovery wrote %d", n)
	}
}
