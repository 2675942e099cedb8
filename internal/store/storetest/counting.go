package storetest

import (
	"context"

	"github.com/idcgate/idcgate/internal/store"
)

// Counting counts a store's read transactions, for tests of caches that
// answer without one. Unwrap lets store.VersionOf find the store
// underneath; with Opaque it does not, as with a shared store that cannot
// vouch for its reads.
type Counting struct {
	store.Store
	Views  int
	Opaque bool
}

// View counts, then reads.
func (c *Counting) View(ctx context.Context, fn func(store.Reader) error) error {
	c.Views++
	return c.Store.View(ctx, fn)
}

// Unwrap is the counted store, or nil when Opaque.
func (c *Counting) Unwrap() store.Store {
	if c.Opaque {
		return nil
	}
	return c.Store
}
