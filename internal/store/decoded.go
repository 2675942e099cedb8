package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"

	lru "github.com/hashicorp/golang-lru/v2"
)

// Decoded keeps JSON records as decoded from the store, each beside the
// exact bytes it came from. A hit needs the store to hold those same bytes
// now, so a change made by any replica is seen at once: only the decoding
// is saved, never a read. It is a bounded LRU (golang-lru, maxDecoded
// records). The zero value is ready.
//
// Values are immutable: every caller gets the same value, slices and maps
// included, so a user of Decoded never modifies one and copies it before it
// leaves its package (serverless and redshiftidc do, at their boundary).
type Decoded[T any] struct {
	once sync.Once
	c    *lru.Cache[string, decodedEntry[T]]
}

type decodedEntry[T any] struct {
	raw []byte
	v   T
}

// maxDecoded bounds a cache (records are small and the working set is a
// deployment's live resources).
const maxDecoded = 8192

func (c *Decoded[T]) cache() *lru.Cache[string, decodedEntry[T]] {
	c.once.Do(func() { c.c = mustLRU[string, decodedEntry[T]](maxDecoded) })
	return c.c
}

// Decode returns the record stored at key as raw, decoding it only when
// raw differs from what was decoded last for key. raw may be a Peek slice:
// it is copied when kept.
func (c *Decoded[T]) Decode(key string, raw []byte) (T, error) {
	cache := c.cache()
	if e, ok := cache.Get(key); ok && bytes.Equal(e.raw, raw) {
		return e.v, nil
	}
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, fmt.Errorf("store: decode %q: %w", key, err)
	}
	cache.Add(key, decodedEntry[T]{raw: bytes.Clone(raw), v: v})
	return v, nil
}

// Len is the number of cached records.
func (c *Decoded[T]) Len() int { return c.cache().Len() }

// mustLRU is lru.New for a size known to be positive (its only error).
func mustLRU[K comparable, V any](size int) *lru.Cache[K, V] {
	c, err := lru.New[K, V](size)
	if err != nil {
		panic(err)
	}
	return c
}
