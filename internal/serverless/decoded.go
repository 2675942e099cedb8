package serverless

import (
	"errors"

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
