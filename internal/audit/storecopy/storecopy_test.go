package storecopy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idcgate/idcgate/internal/audit"
	"github.com/idcgate/idcgate/internal/audit/audittest"
	"github.com/idcgate/idcgate/internal/audit/journal"
	"github.com/idcgate/idcgate/internal/audit/query"
	"github.com/idcgate/idcgate/internal/audit/storecopy"
	"github.com/idcgate/idcgate/internal/audit/trail"
	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/store/bolt"
	"github.com/idcgate/idcgate/internal/testkit"
)

func openBehind(t *testing.T, path string, st store.Store) *trail.Log {
	t.Helper()
	l, err := trail.Open(path, st, trail.Options{StoreBehind: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func storedMark(t *testing.T, st store.Store) storecopy.FileMark {
	t.Helper()
	var m storecopy.FileMark
	err := st.View(context.Background(), func(r store.Reader) error {
		v, err := r.Get(audit.MarkKey)
		if err != nil {
			return err
		}
		return json.Unmarshal(v, &m)
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// With the store behind the file, a Write returns once the file has the
// line; Flush makes the store copy visible, every record once, in the
// file's order, and the mark covers the whole file.
func TestStoreBehindFlush(t *testing.T) {
	st := testkit.Store(t)
	path := filepath.Join(t.TempDir(), "audit.log")
	l := openBehind(t, path, st)
	const writers, each = 8, 40
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			audittest.WriteN(t, l, fmt.Sprintf("w%d-", w), each)
		}()
	}
	wg.Wait()
	if err := l.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	stored := audittest.MustLookup(t, st, query.Filter{})
	fileIDs := audittest.FileReqIDs(t, path)
	if got := audittest.ReqIDs(t, stored); len(got) != writers*each || !slices.Equal(got, fileIDs) {
		t.Fatalf("store holds %d records, file %d; same order: %v", len(got), len(fileIDs), slices.Equal(got, fileIDs))
	}
	if m := storedMark(t, st); m.Size != fileSize(t, path) || m.Inode == 0 {
		t.Fatalf("mark %+v, file is %d bytes", m, fileSize(t, path))
	}
	// Without Flush the copy still arrives, within copyDelay.
	audittest.WriteN(t, l, "late", 1)
	deadline := time.Now().Add(5 * time.Second)
	for len(audittest.MustLookup(t, st, query.Filter{})) != writers*each+1 {
		if time.Now().After(deadline) {
			t.Fatal("store copy never arrived without Flush")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A crash after the file's fsync and before the store copy: the next Open
// copies the lines past the mark and removes their journal entries (so
// Recover does not write them twice), and cuts a partial last line off.
func TestStoreBehindCatchUpAfterCrash(t *testing.T) {
	dir := t.TempDir()
	st := testkit.StoreAt(t, filepath.Join(dir, "db"))
	path := filepath.Join(dir, "audit.log")
	l, err := trail.Open(path, st, trail.Options{StoreBehind: true})
	if err != nil {
		t.Fatal(err)
	}
	audittest.WriteN(t, l, "before", 3)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(audittest.MustLookup(t, st, query.Filter{})); n != 3 {
		t.Fatalf("after Close the store holds %d records, want 3", n)
	}
	// What a killed process leaves: a change's journal entry, its final
	// record in the file only, another record in the file only, and half
	// a line.
	ctx := context.Background()
	in := journal.NewIntent(func() *audit.Record {
		return &audit.Record{EventTime: time.Now().Add(-time.Hour), EventName: "CreateWorkgroup", RequestID: "change"}
	})
	if err := (journal.Journaled{Store: st}).Update(journal.WithIntent(ctx, in), func(tx store.Tx) error { return tx.Put("wg/x", nil) }); err != nil {
		t.Fatal(err)
	}
	final := &audit.Record{EventID: in.EventID(), EventTime: time.Now(), EventName: "CreateWorkgroup", RequestID: "change"}
	other := &audit.Record{EventTime: time.Now(), EventName: "GetIdentityCenterAuthToken", RequestID: "lost"}
	var tail []byte
	for _, r := range []*audit.Record{final, other} {
		b, err := audit.Fill(r)
		if err != nil {
			t.Fatal(err)
		}
		tail = append(append(tail, b...), '\n')
	}
	tail = append(tail, `{"eventID":"half`...)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(tail)
	f.Close()

	l = openBehind(t, path, st)
	if got := audittest.ReqIDs(t, audittest.MustLookup(t, st, query.Filter{})); !slices.Equal(got, []string{"before0", "before1", "before2", "change", "lost"}) {
		t.Fatalf("store after catch-up: %v", got)
	}
	if p := audittest.MustPending(t, st); len(p) != 0 {
		t.Fatalf("journal after catch-up: %+v", p)
	}
	if n, err := l.Recover(ctx, time.Now()); n != 0 || err != nil {
		t.Fatalf("Recover after catch-up wrote %d (%v)", n, err)
	}
	raw, _ := os.ReadFile(path)
	if strings.Contains(string(raw), "half") || !strings.HasSuffix(string(raw), "\n") {
		t.Fatalf("partial line left in the file: %q", raw[len(raw)-40:])
	}
	audittest.WriteN(t, l, "after", 1)
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if recs, err := audit.ReadFile(path); err != nil || len(recs) != 6 {
		t.Fatalf("file after restart: %d records (%v)", len(recs), err)
	}
	if m := storedMark(t, st); m.Size != fileSize(t, path) {
		t.Fatalf("mark %d, file %d", m.Size, fileSize(t, path))
	}
}

// A file the mark does not describe (moved away and replaced) is followed
// from its end: its earlier lines are not copied a second time.
func TestStoreBehindOtherFile(t *testing.T) {
	st := testkit.Store(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	l, err := trail.Open(path, st, trail.Options{StoreBehind: true})
	if err != nil {
		t.Fatal(err)
	}
	audittest.WriteN(t, l, "a", 2)
	l.Close()
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path + ".1")
	if err := os.WriteFile(path, raw, 0o600); err != nil { // a copy: same lines, another file
		t.Fatal(err)
	}
	openBehind(t, path, st)
	if n := len(audittest.MustLookup(t, st, query.Filter{})); n != 2 {
		t.Fatalf("store holds %d records, want 2", n)
	}
	if m := storedMark(t, st); m.Size != int64(len(raw)) {
		t.Fatalf("mark %+v", m)
	}
}

// A store that fails does not fail a Write (the record is durable in the
// file) but does fail Flush; the next start copies what the store missed.
func TestStoreBehindStoreFails(t *testing.T) {
	defer storecopy.SetRetryWait(time.Millisecond)()
	dir := t.TempDir()
	dbPath, path := filepath.Join(dir, "db"), filepath.Join(dir, "audit.log")
	st, err := bolt.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	l, err := trail.Open(path, st, trail.Options{StoreBehind: true})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	audittest.WriteN(t, l, "x", 2)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.Flush(ctx); err == nil || ctx.Err() != nil {
		t.Fatalf("Flush with a closed store: %v (context: %v)", err, ctx.Err())
	}
	audittest.WriteN(t, l, "y", 1) // still durable in the file
	l.Close()
	st, err = bolt.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	openBehind(t, path, st)
	if got := audittest.ReqIDs(t, audittest.MustLookup(t, st, query.Filter{})); !slices.Equal(got, []string{"x0", "x1", "y0"}) {
		t.Fatalf("store after restart: %v", got)
	}
}
