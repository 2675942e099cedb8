package audit

import (
	"context"
	"time"

	"github.com/idcgate/idcgate/internal/store"
)

// Retention (Options.Retention) bounds the store copy of the trail, as
// CloudTrail's event history keeps 90 days: the store, and what the store
// keeps in memory for its pages, stop growing once records leave as fast
// as they come. The JSON-lines file is the permanent log and is never
// pruned (rotate it with the usual tools).

// pruneBatch is how many records one pruning transaction removes (a
// variable for tests).
var pruneBatch = 5000

func (l *Log) startPruner() {
	l.stopPrune = make(chan struct{})
	l.pruneDone = make(chan struct{})
	every := min(l.opts.Retention/10, time.Minute)
	every = max(every, time.Second)
	go func() {
		defer close(l.pruneDone)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if _, err := l.Prune(context.Background()); err != nil {
				l.opts.Log.Error("audit: pruning the store copy failed", "err", err)
			}
			select {
			case <-l.stopPrune:
				return
			case <-t.C:
			}
		}
	}()
}

func (l *Log) stopPruner() {
	if l.stopPrune != nil {
		close(l.stopPrune)
		<-l.pruneDone
	}
}

// Prune removes the store copies of records committed more than Retention
// ago, and returns how many it removed. Keys are in commit-time order, so
// this reads only what it removes.
func (l *Log) Prune(ctx context.Context) (int, error) {
	if l == nil || l.store == nil || l.opts.Retention <= 0 {
		return 0, nil
	}
	before := keyAt(l.opts.Now().Add(-l.opts.Retention))
	total := 0
	for {
		n := 0
		err := l.store.Update(ctx, func(tx store.Tx) error {
			var keys []string
			err := tx.Scan(keyPrefix, "", func(k string, _ []byte) (bool, error) {
				if k >= before {
					return false, nil
				}
				keys = append(keys, k)
				return len(keys) < pruneBatch, nil
			})
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
		if n < pruneBatch {
			return total, nil
		}
	}
}
