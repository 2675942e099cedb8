package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"
)

// Decoded keeps JSON records as decoded from the store, each beside the
// exact bytes it came from. A hit needs the store to hold those same bytes
// now, so a change made by any replica is seen at once: only the decoding
// is saved, never a read. Values handed out share their slices and maps
// with the cache: callers must not modify them. The zero value is ready.
type Decoded[T any] struct {
	mu sync.RWMutex
	m  map[string]decodedEntry[T]
}

type decodedEntry[T any] struct {
	raw []byte
	v   T
}

// maxDecoded bounds a cache; past it the cache starts over (records are
// small and the working set is a deployment's live resources).
const maxDecoded = 8192

// Decode returns the record stored at key as raw, decoding it only when
// raw differs from what was decoded last for key. raw may be a Peek slice:
// it is copied when kept.
func (c *Decoded[T]) Decode(key string, raw []byte) (T, error) {
	c.mu.RLock()
	e, ok := c.m[key]
	c.mu.RUnlock()
	if ok && bytes.Equal(e.raw, raw) {
		return e.v, nil
	}
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, fmt.Errorf("store: decode %q: %w", key, err)
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxDecoded {
		c.m = make(map[string]decodedEntry[T])
	}
	c.m[key] = decodedEntry[T]{raw: bytes.Clone(raw), v: v}
	c.mu.Unlock()
	return v, nil
}

// Len is the number of cached records.
func (c *Decoded[T]) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
