package storetest

import (
	"context"

	"github.com/idcgate/idcgate/internal/store"
)

// Counting counts a store's read transactions, for tests of caches that
// answer without one. It is a wrapper, as the assembled server's stores
// are: a test that wants its cache on passes the store underneath as the
// service's version source (store.Versioned) explicitly.
type Counting struct {
	store.Store
	Views int
}

// View counts, then reads.
func (c *Counting) View(ctx context.Context, fn func(store.Reader) error) error {
	c.Views++
	return c.Store.View(ctx, fn)
}
