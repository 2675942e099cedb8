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
