// Package testkit holds the fixtures that many packages' tests build the
// same way: an embedded store in a temporary directory, a fresh master key,
// a log buffer safe for concurrent writers. It is imported by tests only;
// the store and masterkey packages' own tests cannot use it (an import
// cycle) and build theirs by hand.
package testkit

import (
	"bytes"
	"crypto/rand"
	"path/filepath"
	"sync"
	"testing"

	"github.com/idcgate/idcgate/internal/masterkey"
	"github.com/idcgate/idcgate/internal/store/bolt"
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
