package store

import (
	"sync"

	lru "github.com/hashicorp/golang-lru/v2"
)

// Kept is a bounded map of values read from a store, each kept under the
// store version (see Versioned) it was read at: Get answers only while the
// version is still the same, so a kept value is what a fresh read would
// give. It is an LRU (golang-lru) of Max entries (callers ask for a few
// keys, over and over). The zero value is ready.
//
// Values are immutable: every caller of Get shares the value Put kept, so
// a user of Kept never modifies one and copies it before it leaves its
// package (serverless and redshiftidc do, at their boundary).
type Kept[K comparable, V any] struct {
	Max int // 0: 4096; read at the first Get or Put

	once  sync.Once
	cache *lru.Cache[K, kept[V]]
}

type kept[V any] struct {
	version uint64
	v       V
}

func (c *Kept[K, V]) entries() *lru.Cache[K, kept[V]] {
	c.once.Do(func() {
		max := c.Max
		if max <= 0 {
			max = 4096
		}
		c.cache = mustLRU[K, kept[V]](max)
	})
	return c.cache
}

// Get returns the value kept for k at version.
func (c *Kept[K, V]) Get(k K, version uint64) (V, bool) {
	e, ok := c.entries().Get(k)
	if !ok || e.version != version {
		var zero V
		return zero, false
	}
	return e.v, true
}

// Put keeps v for k, read at version (read before the read that made v,
// so that a kept value is never older than its version).
func (c *Kept[K, V]) Put(k K, version uint64, v V) {
	c.entries().Add(k, kept[V]{version, v})
}
