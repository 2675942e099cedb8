// Package testkit holds the fixtures that many packages' tests build the
// same way: an embedded store in a temporary directory, a shared store on a
// new database of a test PostgreSQL, a directory a managed PostgreSQL can
// live in, a fresh master key, a log buffer safe for concurrent writers.
// Only tests import it; the in-package tests of store/bolt, store/postgres,
// masterkey and pgtest cannot (an import cycle) and build theirs by hand.
package testkit

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/idcgate/idcgate/internal/masterkey"
	"github.com/idcgate/idcgate/internal/pgtest"
	"github.com/idcgate/idcgate/internal/store/bolt"
	"github.com/idcgate/idcgate/internal/store/postgres"
)

// Store is a new embedded store in the test's temporary directory, closed
// when the test and its subtests end.
func Store(tb testing.TB) *bolt.DB {
	tb.Helper()
	return StoreAt(tb, filepath.Join(tb.TempDir(), "s.db"))
}

// StoreAt opens the embedded store at path (a test that reopens the same
// file names it), closed when the test ends.
func StoreAt(tb testing.TB, path string) *bolt.DB {
	tb.Helper()
	st, err := bolt.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// PostgresStore is the shared store on a new database of pg named name,
// closed when the test ends.
func PostgresStore(tb testing.TB, pg *pgtest.Server, name string) *postgres.DB {
	tb.Helper()
	pg.CreateDatabase(tb, name)
	st, err := postgres.Open(context.Background(), pg.DSN(name))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// ReachableDir is a new directory (removed at cleanup) whose parents the
// postgres OS user can search, for a managed PostgreSQL's directory:
// t.TempDir's parents are private to the test's user.
func ReachableDir(tb testing.TB) string {
	tb.Helper()
	base, err := os.MkdirTemp("", "idcgate-managed-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o711); err != nil {
		tb.Fatal(err)
	}
	return base
}

// MasterKey is a new random master key.
func MasterKey(tb testing.TB) *masterkey.Key {
	tb.Helper()
	text, err := masterkey.Generate(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	mk, err := masterkey.Parse(text)
	if err != nil {
		tb.Fatal(err)
	}
	return mk
}

// SyncBuffer is a bytes.Buffer that a logger on other goroutines may write
// while the test reads it.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String is what has been written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
