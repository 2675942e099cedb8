package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/store/bolt"
)

func openBolt(t *testing.T) *bolt.DB {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func openLog(t *testing.T, st store.Store) (*Log, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.log")
	l, err := Open(path, st, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, path
}

func reqIDs(t *testing.T, events []json.RawMessage) []string {
	t.Helper()
	var out []string
	for _, e := range events {
		var r Record
		if err := json.Unmarshal(e, &r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r.RequestID)
	}
	return out
}

// Store keys are taken in commit order: the store's key order is the
// file's line order (the order of commits), even with concurrent writers
// whose eventTimes are deliberately out of order.
func TestKeysInCommitOrder(t *testing.T) {
	st := openBolt(t)
	l, path := openLog(t, st)
	base := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 30; i++ {
				// eventTime runs backwards: keys must not follow it.
				r := &Record{EventTime: base.Add(-time.Duration(w*100+i) * time.Second), RequestID: fmt.Sprintf("%d-%d", w, i)}
				if err := l.Write(context.Background(), r); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	recs, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var fileOrder []string
	for _, r := range recs {
		fileOrder = append(fileOrder, r.RequestID)
	}
	stored, _, err := Lookup(context.Background(), st, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if got := reqIDs(t, stored); !slices.Equal(got, fileOrder) || len(got) != 240 {
		t.Fatalf("store order differs from commit order (%d vs %d records)", len(got), len(fileOrder))
	}
}

// Without --follow, tail shows the latest N records (matching the filter),
// oldest first, and a cursor after which only newer records come.
func TestLookupLatest(t *testing.T) {
	st := openBolt(t)
	l, _ := openLog(t, st)
	ctx := context.Background()
	for i := 0; i < 130; i++ {
		user := "bob"
		if i%2 == 0 {
			user = "alice"
		}
		r := &Record{EventTime: time.Now(), EventName: "GetWorkgroup", RequestID: fmt.Sprint(i),
			UserIdentity: Identity{Type: "AssumedRole", ARN: "arn:aws:sts::123456789012:assumed-role/analyst/" + user}}
		if err := l.Write(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	got, cursor, err := Lookup(ctx, st, Filter{Latest: true, Max: 50})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{}
	for i := 80; i < 130; i++ {
		want = append(want, fmt.Sprint(i))
	}
	if g := reqIDs(t, got); !slices.Equal(g, want) {
		t.Fatalf("latest 50 = %v", g)
	}
	alice, aliceCursor, _ := Lookup(ctx, st, Filter{Latest: true, Max: 3, UserName: "alice"})
	if g := reqIDs(t, alice); !slices.Equal(g, []string{"124", "126", "128"}) || aliceCursor != cursor {
		t.Fatalf("latest 3 of alice = %v (cursor %q, want the trail's newest %q)", g, aliceCursor, cursor)
	}
	if after, _, _ := Lookup(ctx, st, Filter{After: cursor}); len(after) != 0 {
		t.Fatalf("%d records after the latest cursor", len(after))
	}
	l.Write(ctx, &Record{EventTime: time.Now(), RequestID: "new"})
	if after, _, _ := Lookup(ctx, st, Filter{After: cursor}); !slices.Equal(reqIDs(t, after), []string{"new"}) {
		t.Fatalf("after the cursor: %v", reqIDs(t, after))
	}
	if empty, c, err := Lookup(ctx, openBolt(t), Filter{Latest: true}); err != nil || len(empty) != 0 || c != "" {
		t.Fatalf("empty trail: %d records, cursor %q, %v", len(empty), c, err)
	}
}

// putAt commits a record under a chosen commit time, as another replica
// whose commit lands late would.
func putAt(t *testing.T, st store.Store, at time.Time, reqID string) {
	t.Helper()
	r := &Record{EventTime: at, RequestID: reqID}
	b, err := fill(r)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Update(context.Background(), func(tx store.Tx) error { return tx.Put(keyAt(at)+"/"+r.EventID, b) }); err != nil {
		t.Fatal(err)
	}
}

// poll reads every page after the follower's window, as the CLI does.
func poll(t *testing.T, st store.Store, f *Follower, max int) []string {
	t.Helper()
	var out []string
	after := f.After()
	for {
		page, last, err := Lookup(context.Background(), st, Filter{After: after, Max: max})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, reqIDs(t, f.Take(page, last))...)
		if len(page) < max {
			return out
		}
		after = last
	}
}

// A record that commits after a newer-keyed one was read (two replicas,
// or a slow commit) is not skipped by the follower, and nothing repeats.
func TestFollowerOutOfOrderCommits(t *testing.T) {
	st := openBolt(t)
	t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	putAt(t, st, t0, "old")
	_, cursor, _ := Lookup(context.Background(), st, Filter{Latest: true})
	f := NewFollower(cursor, 30*time.Second)
	f.Prime(mustLookup(t, st, Filter{After: f.After(), Until: f.Cursor()}))

	putAt(t, st, t0.Add(10*time.Second), "b-10s")
	if got := poll(t, st, f, 1000); !slices.Equal(got, []string{"b-10s"}) {
		t.Fatalf("first poll %v", got)
	}
	// Replica A's record keyed at +5s commits only now.
	putAt(t, st, t0.Add(5*time.Second), "a-5s-late")
	// A plain cursor misses it: this is the bug the window fixes.
	if naive, _, _ := Lookup(context.Background(), st, Filter{After: f.Cursor()}); len(naive) != 0 {
		t.Fatalf("a plain cursor sees %v", reqIDs(t, naive))
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
	if len(f.seen) != 1 {
		t.Fatalf("follower still remembers %d records", len(f.seen))
	}
}

// The follower over a live Log sees every record exactly once.
func TestFollowerLive(t *testing.T) {
	st := openBolt(t)
	l, _ := openLog(t, st)
	f := NewFollower("", FollowWindow)
	seen := map[string]int{}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				l.Write(context.Background(), &Record{EventTime: time.Now(), RequestID: fmt.Sprintf("%d-%d", w, i)})
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

func mustLookup(t *testing.T, st store.Store, f Filter) []json.RawMessage {
	t.Helper()
	out, _, err := Lookup(context.Background(), st, f)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var errDomain = errors.New("domain refused")

// A change committed under an intent carries the intent's record; the final
// record replaces it; a failed operation leaves nothing.
func TestJournalCommitsWithTheChange(t *testing.T) {
	st := openBolt(t)
	l, path := openLog(t, st)
	js := Journaled{Store: st}
	ctx := context.Background()

	built := 0
	in := NewIntent(func() *Record {
		built++
		return &Record{EventTime: time.Now(), EventName: "CreateNamespace", RequestID: "r1"}
	})
	cctx := WithIntent(ctx, in)
	if err := js.Update(cctx, func(tx store.Tx) error { tx.Put("ns/x", []byte("{}")); return errDomain }); !errors.Is(err, errDomain) {
		t.Fatal(err)
	}
	if in.Committed() || len(mustPending(t, st)) != 0 {
		t.Fatal("a rolled-back change left a journal entry")
	}
	if err := js.Update(cctx, func(tx store.Tx) error { return tx.Put("ns/x", []byte("{}")) }); err != nil {
		t.Fatal(err)
	}
	p := mustPending(t, st)
	if !in.Committed() || len(p) != 1 || p[0].EventID != in.EventID() || p[0].RequestID != "r1" {
		t.Fatalf("journal after commit: %+v (committed %v)", p, in.Committed())
	}
	// A second commit of the same call rewrites the same entry.
	if err := js.Update(cctx, func(tx store.Tx) error { return tx.Put("ns/y", []byte("{}")) }); err != nil {
		t.Fatal(err)
	}
	if p2 := mustPending(t, st); len(p2) != 1 || p2[0].EventID != p[0].EventID || built != 1 {
		t.Fatalf("journal after a second commit: %+v (record built %d times)", p2, built)
	}
	// An update without an intent (the audit writer's own) adds nothing.
	js.Update(ctx, func(tx store.Tx) error { return tx.Put("other", nil) })
	if len(mustPending(t, st)) != 1 {
		t.Fatal("update without an intent touched the journal")
	}
	final := &Record{EventTime: time.Now(), EventName: "CreateNamespace", RequestID: "r1", ErrorCode: ""}
	if err := l.Complete(ctx, in, final); err != nil {
		t.Fatal(err)
	}
	if len(mustPending(t, st)) != 0 {
		t.Fatal("final record left the journal entry")
	}
	recs, _ := ReadFile(path)
	stored := mustLookup(t, st, Filter{})
	if len(recs) != 1 || len(stored) != 1 || recs[0].EventID != in.EventID() {
		t.Fatalf("file %d records, store %d", len(recs), len(stored))
	}
}

// A call that commits nothing never builds its record, and its final
// record is written alone.
func TestIntentWithoutCommit(t *testing.T) {
	st := openBolt(t)
	l, path := openLog(t, st)
	in := NewIntent(func() *Record { t.Fatal("built without a commit"); return nil })
	ctx := WithIntent(context.Background(), in)
	Journaled{Store: st}.View(ctx, func(store.Reader) error { return nil })
	if in.Committed() || in.EventID() != "" {
		t.Fatal("a read committed the intent")
	}
	if err := l.Complete(ctx, in, &Record{EventTime: time.Now(), RequestID: "read"}); err != nil {
		t.Fatal(err)
	}
	recs, _ := ReadFile(path)
	if len(recs) != 1 || recs[0].EventID == "" || len(mustPending(t, st)) != 0 {
		t.Fatalf("records %+v", recs)
	}
}

// If the final record cannot be written, the journal entry stays and
// Recover writes it, once, even with two replicas recovering.
func TestRecover(t *testing.T) {
	st := openBolt(t)
	ctx := context.Background()
	js := Journaled{Store: st}
	broken, _ := openLog(t, st)
	old := time.Now().Add(-time.Hour)
	var intents []*Intent
	for i, at := range []time.Time{old, old, time.Now()} {
		in := NewIntent(func() *Record {
			return &Record{EventTime: at, EventName: "CreateWorkgroup", RequestID: fmt.Sprint("r", i),
				RequestParameters: map[string]any{"workgroupName": fmt.Sprint("wg", i)}}
		})
		intents = append(intents, in)
		if err := js.Update(WithIntent(ctx, in), func(tx store.Tx) error { return tx.Put(fmt.Sprint("wg/", i), nil) }); err != nil {
			t.Fatal(err)
		}
	}
	broken.Close()
	if err := broken.Complete(ctx, intents[0], &Record{EventTime: old, RequestID: "r0"}); err == nil {
		t.Fatal("Complete on a closed log succeeded")
	}
	if n := len(mustPending(t, st)); n != 3 {
		t.Fatalf("journal holds %d entries, want 3", n)
	}

	a, pathA := openLog(t, st)
	b, pathB := openLog(t, st)
	cutoff := time.Now().Add(-time.Minute) // r2 may still be in flight
	var wg sync.WaitGroup
	for _, l := range []*Log{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := l.Recover(ctx, cutoff); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	stored := mustLookup(t, st, Filter{})
	recA, _ := ReadFile(pathA)
	recB, _ := ReadFile(pathB)
	if got := slices.Sorted(slices.Values(reqIDs(t, stored))); !slices.Equal(got, []string{"r0", "r1"}) {
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
	if p := mustPending(t, st); len(p) != 1 || p[0].RequestID != "r2" {
		t.Fatalf("journal after recovery: %+v", p)
	}
	if n, _ := a.Recover(ctx, cutoff); n != 0 {
		t.Fatalf("second recovery wrote %d", n)
	}
}

func mustPending(t *testing.T, st store.Store) []Record {
	t.Helper()
	p, err := Pending(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
