// Package retention bounds the store copy of the audit trail, as
// CloudTrail's event history keeps 90 days: the store, and what the store
// keeps in memory for its pages, stop growing once records leave as fast
// as they come. The JSON-lines file is the permanent log and is never
// pruned (rotate it with the usual tools).
package retention

import (
	"context"
	"log/slog"
	"time"

	"github.com/idcgate/idcgate/internal/audit"
	"github.com/idcgate/idcgate/internal/clock"
	"github.com/idcgate/idcgate/internal/store"
)

// defaultBatch is how many records one pruning transaction removes.
const defaultBatch = 5000

// Pruner removes store copies of records committed more than Retention ago.
type Pruner struct {
	Store     store.Store
	Retention time.Duration // 0 or less: keep everything
	// Clock is compared with the records' commit times, which the trail
	// takes from the wall clock.
	Clock clock.Clock
	Log   *slog.Logger
	// Batch is how many records one transaction removes (0: 5000).
	Batch int

	stop, done chan struct{}
}

// Start prunes now and then every tenth of Retention (at least a second,
// at most a minute) until Stop.
func (p *Pruner) Start() {
	p.stop = make(chan struct{})
	p.done = make(chan struct{})
	every := min(p.Retention/10, time.Minute)
	every = max(every, time.Second)
	go func() {
		defer close(p.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if _, err := p.Prune(context.Background()); err != nil {
				p.Log.Error("audit: pruning the store copy failed", "err", err)
			}
			select {
			case <-p.stop:
				return
			case <-t.C:
			}
		}
	}()
}

// Stop ends pruning started by Start, and waits for it.
func (p *Pruner) Stop() {
	if p.stop != nil {
		close(p.stop)
		<-p.done
	}
}

// Prune removes the store copies of records committed more than Retention
// ago, and returns how many it removed. Keys are in commit-time order, so
// this reads only what it removes.
func (p *Pruner) Prune(ctx context.Context) (int, error) {
	if p == nil || p.Store == nil || p.Retention <= 0 {
		return 0, nil
	}
	batch := p.Batch
	if batch <= 0 {
		batch = defaultBatch
	}
	before := audit.KeyAt(p.Clock.Now().Add(-p.Retention))
	total := 0
	for {
		n := 0
		err := p.Store.Update(ctx, func(tx store.Tx) error {
			keys, err := store.Keys(tx, audit.KeyPrefix, batch, func(k string) bool { return k < before })
			if err != nil {
				return err
			}
			for _, k := range keys {
				if err := tx.Delete(k); err != nil {
					return err
				}
			}
			n = len(keys)
			return nil
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < batch {
			return total, nil
		}
	}
}
