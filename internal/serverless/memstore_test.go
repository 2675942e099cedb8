package serverless

import (
	"context"
	"maps"
	"sort"
	"strings"
	"sync"

	"github.com/idcgate/idcgate/internal/store"
)

// memStore is a minimal store.Store for domain tests: Update works on a
// copy and swaps it in on success.
type memStore struct {
	mu sync.Mutex
	m  map[string][]byte
}

func newMemStore() *memStore { return &memStore{m: map[string][]byte{}} }

type memTx struct{ m map[string][]byte }

func (t *memTx) Get(k string) ([]byte, error) {
	v, ok := t.m[k]
	if !ok {
		return nil, store.ErrNotFound
	}
	return append([]byte(nil), v...), nil
}

func (t *memTx) Scan(prefix, after string, fn func(string, []byte) (bool, error)) error {
	var keys []string
	for k := range t.m {
		if strings.HasPrefix(k, prefix) && k > after {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		ok, err := fn(k, t.m[k])
		if err != nil || !ok {
			return err
		}
	}
	return nil
}

func (t *memTx) Put(k string, v []byte) error { t.m[k] = append([]byte(nil), v...); return nil }
func (t *memTx) Delete(k string) error        { delete(t.m, k); return nil }

func (s *memStore) View(ctx context.Context, fn func(store.Reader) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fn(&memTx{m: s.m})
}

func (s *memStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx := &memTx{m: maps.Clone(s.m)}
	if err := fn(tx); err != nil {
		return err
	}
	s.m = tx.m
	return nil
}

func (s *memStore) Close() error { return nil }
