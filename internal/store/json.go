package store

import (
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
