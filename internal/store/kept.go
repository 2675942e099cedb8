package store

import "sync"

// Kept is a bounded map of values read from a store, each kept under the
// store version (see Versioned) it was read at: Get answers only while the
// version is still the same, so a kept value is what a fresh read would
// give. Past Max entries it starts over (callers ask for a few keys, over
// and over). The zero value is ready; values are shared: read only.
type Kept[K comparable, V any] struct {
	Max int // 0: 4096

	mu sync.RWMutex
	m  map[K]kept[V]
}

type kept[V any] struct {
	version uint64
	v       V
}

// Get returns the value kept for k at version.
func (c *Kept[K, V]) Get(k K, version uint64) (V, bool) {
	c.mu.RLock()
	e, ok := c.m[k]
	c.mu.RUnlock()
	if !ok || e.version != version {
		var zero V
		return zero, false
	}
	return e.v, true
}

// Put keeps v for k, read at version (read before the read that made v,
// so that a kept value is never older than its version).
func (c *Kept[K, V]) Put(k K, version uint64, v V) {
	max := c.Max
	if max <= 0 {
		max = 4096
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= max {
		c.m = make(map[K]kept[V])
	}
	c.m[k] = kept[V]{version, v}
	c.mu.Unlock()
}
