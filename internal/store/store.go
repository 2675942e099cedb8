// Package store is idcgate's persistence boundary: an ordered key/value space
// with read and read-write transactions. Domain packages keep their records in
// it as JSON under hierarchical keys ("rs/123456789012/us-east-1/wg/demo").
// Backends live in subpackages; every backend passes storetest.Run.
package store

import (
	"context"
	"errors"
)

// ErrNotFound is returned by Get when the key does not exist.
var ErrNotFound = errors.New("store: not found")

// ErrClosed is returned by a store that has been closed.
var ErrClosed = errors.New("store: closed")

// Ready is a backend's check before it starts a transaction: the
// context's error once it is done, ErrClosed once the store is closed.
func Ready(ctx context.Context, closed bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if closed {
		return ErrClosed
	}
	return nil
}

// Store is a transactional, ordered key/value store.
//
// View and Update run fn inside a transaction; Update commits when fn returns
// nil and rolls back otherwise, returning fn's error unchanged (so domain
// sentinels survive). A backend may run fn more than once when it must retry a
// serialization conflict, so fn must not have side effects outside the Tx.
type Store interface {
	View(ctx context.Context, fn func(Reader) error) error
	Update(ctx context.Context, fn func(Tx) error) error
	Close() error
}

// Reader reads within a transaction.
type Reader interface {
	// Get returns the value stored at key, or ErrNotFound. The returned slice
	// is owned by the caller.
	Get(key string) ([]byte, error)
	// Scan calls fn for each key that starts with prefix and sorts strictly
	// after `after` ("" means from the beginning), in ascending byte order,
	// until fn returns false or an error. Values passed to fn are only valid
	// during the call.
	Scan(prefix, after string, fn func(key string, value []byte) (bool, error)) error
}

// Tx reads and writes within a read-write transaction.
type Tx interface {
	Reader
	// Put stores value at key, replacing any previous value.
	Put(key string, value []byte) error
	// Delete removes key; deleting a missing key is not an error.
	Delete(key string) error
}

// Peeker is implemented by the Reader (and Tx) of backends that can hand out
// a stored value without copying it: the slice is valid only until the
// transaction ends and must not be modified. Use Peek, which falls back to
// Get.
type Peeker interface {
	Peek(key string) ([]byte, error)
}

// Peek is Get without the copy where the backend allows it (see Peeker).
func Peek(r Reader, key string) ([]byte, error) {
	if p, ok := r.(Peeker); ok {
		return p.Peek(key)
	}
	return r.Get(key)
}

// Versioned is implemented by stores that see every write made to them —
// the embedded store, whose file one process owns — and so can tell
// cheaply whether anything under a key's first segment ("rs" of "rs/…")
// changed: Version grows with every committed transaction that wrote under
// segment, and is read before the transaction whose result it vouches for.
// Shared stores do not implement it (another replica's write would go
// unseen).
//
// Being versioned is an explicit option, never discovered: the wiring
// passes the embedded store to the services that keep reads (their
// Versions field) beside the wrapped store they read and write through,
// and leaves it nil for a shared store, whose callers read every time.
type Versioned interface {
	Version(segment string) uint64
}

// Segment is key's first segment: everything before its first '/'.
func Segment(key string) string {
	for i := 0; i < len(key); i++ {
		if key[i] == '/' {
			return key[:i]
		}
	}
	return key
}

// ReverseScanner is implemented by the Reader (and Tx) of backends that can
// scan in descending key order, so "the latest N" costs N rows, not a scan
// of everything. Use ScanReverse, which falls back for readers without it.
type ReverseScanner interface {
	// ScanReverse calls fn for each key that starts with prefix and sorts
	// strictly before `before` ("" means from the end), in descending byte
	// order, until fn returns false or an error. Values passed to fn are only
	// valid during the call.
	ScanReverse(prefix, before string, fn func(key string, value []byte) (bool, error)) error
}

// ScanReverse scans r in descending key order (see ReverseScanner). A
// reader without the ability is scanned forward into memory first.
func ScanReverse(r Reader, prefix, before string, fn func(key string, value []byte) (bool, error)) error {
	if rs, ok := r.(ReverseScanner); ok {
		return rs.ScanReverse(prefix, before, fn)
	}
	type kv struct {
		k string
		v []byte
	}
	var all []kv
	err := r.Scan(prefix, "", func(k string, v []byte) (bool, error) {
		if before != "" && k >= before {
			return false, nil
		}
		all = append(all, kv{k, append([]byte(nil), v...)})
		return true, nil
	})
	if err != nil {
		return err
	}
	for i := len(all) - 1; i >= 0; i-- {
		more, err := fn(all[i].k, all[i].v)
		if err != nil || !more {
			return err
		}
	}
	return nil
}
