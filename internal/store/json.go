package store

import (
	"context"
	"encoding/json"
	"fmt"
)

// GetJSON reads key and decodes its JSON value into v.
func GetJSON(r Reader, key string, v any) error {
	b, err := r.Get(key)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("store: decode %q: %w", key, err)
	}
	return nil
}

// PutJSON encodes v as JSON and stores it at key.
func PutJSON(tx Tx, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("store: encode %q: %w", key, err)
	}
	return tx.Put(key, b)
}

// Keys lists in key order the first keys under prefix: at most limit of
// them, and none from the first for which while is false (nil: no such
// bound). A batch job collects its keys so before it changes any of them.
func Keys(r Reader, prefix string, limit int, while func(key string) bool) ([]string, error) {
	if limit <= 0 {
		return nil, nil // the scan below would take one key before counting
	}
	var keys []string
	err := r.Scan(prefix, "", func(k string, _ []byte) (bool, error) {
		if while != nil && !while(k) {
			return false, nil
		}
		keys = append(keys, k)
		return len(keys) < limit, nil
	})
	return keys, err
}

// Select decodes every record under prefix into a T and returns, in key
// order, the keys and values pick keeps. It reads the whole range before the
// caller changes any of it: the config re-applies collect what a config no
// longer names this way, then delete it.
func Select[T any](r Reader, prefix string, pick func(T) bool) ([]string, []T, error) {
	var keys []string
	var vals []T
	err := r.Scan(prefix, "", func(k string, b []byte) (bool, error) {
		var v T
		if err := json.Unmarshal(b, &v); err != nil {
			return false, fmt.Errorf("store: decode %q: %w", k, err)
		}
		if pick(v) {
			keys, vals = append(keys, k), append(vals, v)
		}
		return true, nil
	})
	return keys, vals, err
}

// DropSelected selects the records under prefix as Select does and, once
// the whole range is read, hands each to drop with its key; a nil drop
// deletes the key. The config re-applies remove what a config no longer
// names this way.
func DropSelected[T any](tx Tx, prefix string, pick func(T) bool, drop func(key string, v T) error) error {
	keys, vals, err := Select(tx, prefix, pick)
	if err != nil {
		return err
	}
	for i, k := range keys {
		if drop == nil {
			err = tx.Delete(k)
		} else {
			err = drop(k, vals[i])
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Read runs read in a read transaction of s and returns what it returns.
func Read[T any](ctx context.Context, s Store, read func(Reader) (T, error)) (T, error) {
	var v T
	err := s.View(ctx, func(r Reader) error {
		var err error
		v, err = read(r)
		return err
	})
	return v, err
}

// ViewJSON reads key in a read transaction of s and decodes its JSON value
// into a T; ErrNotFound when there is none.
func ViewJSON[T any](ctx context.Context, s Store, key string) (T, error) {
	return Read(ctx, s, func(r Reader) (T, error) {
		var v T
		err := GetJSON(r, key, &v)
		return v, err
	})
}
