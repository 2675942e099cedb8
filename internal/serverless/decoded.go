package serverless

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/idcgate/idcgate/internal/store"
)

// decodedCache keeps records as decoded from the store, each beside the
// exact bytes it came from. A hit needs the store to hold those same bytes
// now, so a change made by any replica is seen at once: only the JSON
// decoding, which dominates the issuance path, is saved, never a read.
type decodedCache struct {
	mu sync.RWMutex
	m  map[string]decodedEntry
}

type decodedEntry struct {
	raw []byte
	v   any
}

// maxDecoded bounds the cache; past it the cache starts over (records are
// small and the working set of a deployment is its live resources).
const maxDecoded = 8192

func (c *decodedCache) get(key string, raw []byte) (any, bool) {
	c.mu.RLock()
	e, ok := c.m[key]
	c.mu.RUnlock()
	if !ok || !bytes.Equal(e.raw, raw) {
		return nil, false
	}
	return e.v, true
}

func (c *decodedCache) put(key string, raw []byte, v any) {
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxDecoded {
		c.m = make(map[string]decodedEntry)
	}
	c.m[key] = decodedEntry{raw: bytes.Clone(raw), v: v}
	c.mu.Unlock()
}

// viewRecord is loadRecord for read-only callers: the value it returns
// shares its slices with the cache, so the caller must not modify them.
func viewRecord[T any](s *Service, r store.Reader, key string, state func(*T) (*Status, **transition), notFound func(string) error, name string) (T, error) {
	var rec T
	raw, err := store.Peek(r, key) // only compared and decoded inside the transaction
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return rec, notFound(name)
		}
		return rec, err
	}
	if v, ok := s.decoded.get(key, raw); ok {
		rec = v.(T)
	} else {
		if err := json.Unmarshal(raw, &rec); err != nil {
			return rec, fmt.Errorf("store: decode %q: %w", key, err)
		}
		s.decoded.put(key, raw, rec)
	}
	// settle changes only this copy's status and pending pointer.
	st, pending := state(&rec)
	if !settle(st, pending, s.now()) {
		return rec, notFound(name)
	}
	return rec, nil
}
