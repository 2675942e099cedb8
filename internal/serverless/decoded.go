package serverless

import (
	"errors"
	"strings"
	"sync"

	"github.com/idcgate/idcgate/internal/store"
)

// viewRecord is loadRecord for read-only callers, through a decoded-record
// cache (the issuance path's reads are dominated by JSON decoding
// otherwise): the value it returns shares its slices with the cache, so the
// caller must not modify them.
func viewRecord[T any](s *Service, cache *store.Decoded[T], r store.Reader, key string, state func(*T) (*Status, **transition), notFound func(string) error, name string) (T, error) {
	var rec T
	raw, err := store.Peek(r, key) // only compared and decoded inside the transaction
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return rec, notFound(name)
		}
		return rec, err
	}
	if rec, err = cache.Decode(key, raw); err != nil {
		return rec, err
	}
	// settle changes only this copy's status and pending pointer.
	st, pending := state(&rec)
	if !settle(st, pending, s.now()) {
		return rec, notFound(name)
	}
	return rec, nil
}

// setCache keeps resolved workgroup sets (WorkgroupsWithNamespaces) by
// scope and names, each under the store version it was read at.
type setCache struct {
	mu sync.RWMutex
	m  map[string]resolvedSet
}

type resolvedSet struct {
	version uint64
	wgs     []Workgroup
	nss     []Namespace
}

// maxSets bounds the cache; past it the cache starts over (a deployment
// asks for a few sets of its workgroups, over and over).
const maxSets = 4096

func (c *setCache) get(key string, version uint64) (resolvedSet, bool) {
	c.mu.RLock()
	e, ok := c.m[key]
	c.mu.RUnlock()
	return e, ok && e.version == version
}

func (c *setCache) put(key string, e resolvedSet) {
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxSets {
		c.m = make(map[string]resolvedSet)
	}
	c.m[key] = e
	c.mu.Unlock()
}

// setKey names a set; a name holding NUL (never a workgroup's) makes it
// ambiguous, so such a set is not kept.
func setKey(sc Scope, names []string) (string, bool) {
	key := sc.Account + "\x00" + sc.Region + "\x00" + strings.Join(names, "\x00")
	return key, strings.Count(key, "\x00") == len(names)+1
}

// settled tells whether no record of a set is in a transition: one that is
// changes status with the clock alone, without a write, so it is read
// afresh each time.
func settled(wgs []Workgroup, nss []Namespace) bool {
	for i := range wgs {
		if wgs[i].Pending != nil || nss[i].Pending != nil {
			return false
		}
	}
	return true
}
