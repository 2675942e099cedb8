package metrics

import (
	"context"
	"time"

	"github.com/idcgate/idcgate/internal/store"
)

// Store times a store's transactions.
type Store struct {
	store.Store
	M *Metrics
}

// View times the read transaction.
func (s Store) View(ctx context.Context, fn func(store.Reader) error) error {
	t := time.Now()
	err := s.Store.View(ctx, fn)
	s.M.StoreLatency.WithLabelValues("view").Observe(time.Since(t).Seconds())
	return err
}

// Update times the read-write transaction.
func (s Store) Update(ctx context.Context, fn func(store.Tx) error) error {
	t := time.Now()
	err := s.Store.Update(ctx, fn)
	s.M.StoreLatency.WithLabelValues("update").Observe(time.Since(t).Seconds())
	return err
}
