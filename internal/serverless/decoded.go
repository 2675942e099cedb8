package serverless

import (
	"errors"
	"strings"

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

// resolvedSet is a resolved workgroup set (WorkgroupsWithNamespaces),
// kept by scope and names (setKey) in a store.Kept.
type resolvedSet struct {
	wgs []Workgroup
	nss []Namespace
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
