package dataapi

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/idcgate/idcgate/internal/clock"
	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/testkit"
)

// TestResultLimit: a result over MaxResultBytes fails with the limit in
// its words, and the pages written of it are deleted; one under it keeps
// every page (BEHAVIOUR 14).
func TestResultLimit(t *testing.T) {
	t.Parallel()
	db := testkit.Store(t)
	now := clock.NewFake(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	s := newService(db, now)
	s.MaxResultBytes = 1 << 20
	ctx := context.Background()
	row := [][]byte{[]byte(strings.Repeat("x", 10_000))}
	oids := []uint32{25} // text
	pagesOf := func(id string) int {
		n := 0
		for p := 0; p < 1000; p++ {
			err := db.View(ctx, func(r store.Reader) error { _, err := r.Get(pageKey(id, 1, p)); return err })
			if err == nil {
				n++
			}
		}
		return n
	}

	under := &Statement{ID: "under", ResultFormat: FormatJSON}
	w := pageWriter{s: s, st: under, sub: 1, format: FormatJSON, max: 10}
	for i := 0; i < 50; i++ { // about 0.5 MB
		if err := w.add(ctx, row, oids); err != nil {
			t.Fatalf("row %d of a result under the limit: %v", i, err)
		}
	}
	if err := w.flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := pagesOf("under"); n != 5 {
		t.Fatalf("result under the limit: %d pages kept, want 5", n)
	}

	over := &Statement{ID: "over", ResultFormat: FormatJSON}
	w = pageWriter{s: s, st: over, sub: 1, format: FormatJSON, max: 10}
	var werr error
	rows := 0
	for ; rows < 1000 && werr == nil; rows++ {
		werr = w.add(ctx, row, oids)
	}
	var ue userError
	if !errors.As(werr, &ue) || !strings.Contains(publicError(werr, s), "larger than the Data API keeps (1 MB)") {
		t.Fatalf("result over the limit: %v (%q)", werr, publicError(werr, s))
	}
	if rows < 100 || rows > 110 {
		t.Fatalf("the limit of 1 MB ended the result after %d rows of 10 kB", rows)
	}
	if n := pagesOf("over"); n == 0 {
		t.Fatal("no pages were written before the limit: the test proves nothing")
	}
	w.discard(ctx)
	if n := pagesOf("over"); n != 0 {
		t.Fatalf("%d pages of a failed result left in the store", n)
	}
}

// TestPublicErrorShowsNoInternals: an error that is neither PostgreSQL's
// nor meant for the user is logged, and the statement says a fixed line.
func TestPublicErrorShowsNoInternals(t *testing.T) {
	t.Parallel()
	s := &Service{}
	s.init()
	got := publicError(errors.New("store: bolt: write /var/lib/idcgate/idcgate.db: no space left on device"), s)
	if strings.Contains(got, "bolt") || strings.Contains(got, "/var/lib") {
		t.Fatalf("statement error shows internals: %q", got)
	}
	if got := publicError(userError("could not connect to the workgroup's database"), s); got != "could not connect to the workgroup's database" {
		t.Fatalf("userError: %q", got)
	}
}
