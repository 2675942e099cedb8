// Package bolt is the embedded store.Store: a single bbolt file in the data
// dir holding one bucket, "kv". Every commit is fsynced (bbolt's default), so
// a write that was acknowledged survives a crash or SIGKILL. The file is
// locked exclusively; a second process opening it fails with ErrInUse.
package bolt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bbolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/idcgate/idcgate/internal/store"
)

// ErrInUse is returned by Open when another process holds the file lock.
var ErrInUse = errors.New("data dir is in use by another idcgate process")

// lockTimeout bounds how long Open waits for the file lock.
const lockTimeout = 2 * time.Second

var bucketName = []byte("kv")

// initialMmapSize is how much of the address space the file is mapped
// into at open (see Open): 4 GiB on 64-bit platforms, bbolt's default
// (the file's size) on others.
const initialMmapSize = (4 << 30) * (strconv.IntSize / 64)

// DB is a bbolt-backed store.Store.
type DB struct {
	bdb    *bbolt.DB
	closed atomic.Bool
	// versions holds a *atomic.Uint64 per first key segment written (see
	// store.Versioned): the file is locked to this process, so every
	// write to it passes through Update.
	versions sync.Map
}

var (
	_ store.Store     = (*DB)(nil)
	_ store.Versioned = (*DB)(nil)
)

// Version is the number of committed transactions that wrote under
// segment since Open.
func (d *DB) Version(segment string) uint64 {
	if v, ok := d.versions.Load(segment); ok {
		return v.(*atomic.Uint64).Load()
	}
	return 0
}

// Open opens the store file at path, creating it (mode 0600) and its
// directory (0700) when missing.
func Open(path string) (*DB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("creating its directory: %w", err)
		}
	}
	// As etcd runs bbolt: the free-page list is kept in a hash map and not
	// written on every commit (it is rebuilt by a scan at open). The audit
	// trail grows the file without end, and a freelist that is an array,
	// rewritten into the file on each commit, makes every commit and the
	// heap grow with it.
	//
	// The file is mapped with room to grow into (address space, not
	// memory): growing past the map means remapping it, which waits for
	// every reader and holds back every new one meanwhile: a stall for
	// every request (etcd maps 10 GiB for the same reason).
	bdb, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: lockTimeout, NoFreelistSync: true, FreelistType: bbolt.FreelistMapType, InitialMmapSize: initialMmapSize})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("%w: %s is locked", ErrInUse, path)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	err = bdb.Update(func(tx *bbolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketName)
		return err
	})
	if err != nil {
		bdb.Close()
		return nil, fmt.Errorf("init %s: %w", path, err)
	}
	return &DB{bdb: bdb}, nil
}

func closedErr(err error) error {
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		return store.ErrClosed
	}
	return err
}

// View runs fn in a read-only transaction.
func (d *DB) View(ctx context.Context, fn func(store.Reader) error) error {
	if err := store.Ready(ctx, d.closed.Load()); err != nil {
		return err
	}
	return closedErr(d.bdb.View(func(tx *bbolt.Tx) error {
		return fn(&txn{b: tx.Bucket(bucketName)})
	}))
}

// Update runs fn in a read-write transaction, committing (and fsyncing) when
// fn returns nil and rolling back otherwise, returning fn's error unchanged.
func (d *DB) Update(ctx context.Context, fn func(store.Tx) error) error {
	if err := store.Ready(ctx, d.closed.Load()); err != nil {
		return err
	}
	var written []string
	err := d.bdb.Update(func(tx *bbolt.Tx) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		t := &txn{b: tx.Bucket(bucketName)}
		err := fn(t)
		written = t.segments
		return err
	})
	if err != nil {
		return closedErr(err)
	}
	// After the commit, before Update returns: a reader that starts later
	// sees the new version; one that raced the commit may keep the old
	// one a moment longer, as if it had read just before the write.
	for _, seg := range written {
		v, ok := d.versions.Load(seg)
		if !ok {
			v, _ = d.versions.LoadOrStore(strings.Clone(seg), new(atomic.Uint64))
		}
		v.(*atomic.Uint64).Add(1)
	}
	return nil
}

// Close releases the file and its lock; later View and Update calls return
// store.ErrClosed. Closing twice is a no-op.
func (d *DB) Close() error {
	if d.closed.Swap(true) {
		return nil
	}
	return d.bdb.Close()
}

type txn struct {
	b        *bbolt.Bucket
	segments []string // first segments of the keys written (Update only)
}

// wrote notes key's first segment for the version bump after commit.
func (t *txn) wrote(key string) {
	seg := store.Segment(key)
	for _, s := range t.segments {
		if s == seg {
			return
		}
	}
	t.segments = append(t.segments, seg)
}

func (t *txn) Get(key string) ([]byte, error) {
	v := t.b.Get([]byte(key))
	if v == nil {
		return nil, store.ErrNotFound
	}
	out := make([]byte, len(v))
	copy(out, v)
	return out, nil
}

// Peek is Get without the copy: bbolt's slice points into the memory map
// and is valid only until the transaction ends.
func (t *txn) Peek(key string) ([]byte, error) {
	v := t.b.Get([]byte(key))
	if v == nil {
		return nil, store.ErrNotFound
	}
	return v, nil
}

func (t *txn) Scan(prefix, after string, fn func(key string, value []byte) (bool, error)) error {
	p := []byte(prefix)
	start := prefix
	if after > start {
		start = after
	}
	c := t.b.Cursor()
	for k, v := c.Seek([]byte(start)); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
		if after != "" && string(k) == after {
			continue
		}
		more, err := fn(string(k), v)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

var _ store.ReverseScanner = (*txn)(nil)

// ScanReverse walks the cursor backwards from the end of the prefix range
// (or from before, whichever is lower).
func (t *txn) ScanReverse(prefix, before string, fn func(key string, value []byte) (bool, error)) error {
	p := []byte(prefix)
	target := []byte(before)
	if hi := byteSuccessor(p); hi != nil && (len(target) == 0 || bytes.Compare(hi, target) < 0) {
		target = hi
	}
	c := t.b.Cursor()
	var k, v []byte
	if len(target) == 0 {
		k, v = c.Last()
	} else if k, _ = c.Seek(target); k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev() // Seek lands on the first key >= target
	}
	for ; k != nil && bytes.HasPrefix(k, p); k, v = c.Prev() {
		more, err := fn(string(k), v)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// byteSuccessor is the smallest byte string above every string with prefix
// p, or nil when there is none (p empty or all 0xff).
func byteSuccessor(p []byte) []byte {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] < 0xff {
			out := append([]byte(nil), p[:i+1]...)
			out[i]++
			return out
		}
	}
	return nil
}

func (t *txn) Put(key string, value []byte) error {
	// bbolt keeps a reference to value until commit; the caller may reuse it.
	v := make([]byte, len(value))
	copy(v, value)
	t.wrote(key)
	return t.b.Put([]byte(key), v)
}

func (t *txn) Delete(key string) error {
	t.wrote(key)
	return t.b.Delete([]byte(key))
}
