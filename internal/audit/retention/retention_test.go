package retention_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/idcgate/idcgate/internal/audit"
	"github.com/idcgate/idcgate/internal/audit/audittest"
	"github.com/idcgate/idcgate/internal/audit/query"
	"github.com/idcgate/idcgate/internal/audit/retention"
	"github.com/idcgate/idcgate/internal/clock"
	"github.com/idcgate/idcgate/internal/testkit"
)

// Retention removes store copies older than the retention, and only those;
// the file keeps everything.
func TestRetentionPrunes(t *testing.T) {
	const batch = 7
	st := testkit.Store(t)
	l, path := audittest.OpenLog(t, st)
	now := clock.NewFake(time.Now())
	p := &retention.Pruner{Store: st, Retention: time.Hour, Clock: now.Now, Batch: batch}
	audittest.WriteN(t, l, "old", batch+3) // more than one pruning transaction
	cut := time.Now()
	audittest.WriteN(t, l, "new", 2)
	if n, err := p.Prune(context.Background()); n != 0 || err != nil {
		t.Fatalf("nothing is an hour old yet, Prune removed %d (%v)", n, err)
	}
	now.Set(cut.Add(time.Hour))
	if n, err := p.Prune(context.Background()); n != batch+3 || err != nil {
		t.Fatalf("Prune removed %d (%v), want %d", n, err, batch+3)
	}
	if got := audittest.ReqIDs(t, audittest.MustLookup(t, st, query.Filter{})); !slices.Equal(got, []string{"new0", "new1"}) {
		t.Fatalf("store after pruning: %v", got)
	}
	if recs, _ := audit.ReadFile(path); len(recs) != batch+5 {
		t.Fatalf("file holds %d records, want all %d", len(recs), batch+5)
	}
}
