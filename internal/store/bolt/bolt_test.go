package bolt

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/store/storetest"
)

func openPath(t *testing.T, path string) *DB {
	t.Helper()
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openPath(t, filepath.Join(t.TempDir(), "store.db"))
	})
}

func TestDurable(t *testing.T) {
	var path string
	storetest.RunDurable(t,
		func(t *testing.T) store.Store {
			path = filepath.Join(t.TempDir(), "store.db")
			return openPath(t, path)
		},
		func(t *testing.T) store.Store { return openPath(t, path) })
}

func TestFileMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	openPath(t, path)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m != 0o600 {
		t.Fatalf("mode %o, want 600", m)
	}
}

func TestSecondOpenFailsClearly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	openPath(t, path)
	start := time.Now()
	db, err := Open(path)
	if err == nil {
		db.Close()
		t.Fatal("second Open of a locked file succeeded")
	}
	if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), "data dir is in use by another idcgate process") {
		t.Fatalf("second Open: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("second Open took %v", d)
	}
}

func TestReopenAfterClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	openPath(t, path) // the lock is released by Close
}

// TestVersion: a segment's version grows with each committed transaction
// that wrote under it, and only then.
func TestVersion(t *testing.T) {
	db := openPath(t, filepath.Join(t.TempDir(), "v.db"))
	ctx := context.Background()
	put := func(keys ...string) error {
		return db.Update(ctx, func(tx store.Tx) error {
			for _, k := range keys {
				if err := tx.Put(k, []byte("x")); err != nil {
					return err
				}
			}
			return nil
		})
	}
	var vs store.Versioned = db // the embedded store can vouch for its reads
	if v := vs.Version("rs"); v != 0 {
		t.Fatalf("fresh store: version %d", v)
	}
	if err := put("rs/a", "rs/b", "audit/1"); err != nil {
		t.Fatal(err)
	}
	if rs, au := db.Version("rs"), db.Version("audit"); rs != 1 || au != 1 {
		t.Fatalf("after one commit: rs %d audit %d, want 1 1", rs, au)
	}
	for range 3 {
		if err := put("audit/2"); err != nil {
			t.Fatal(err)
		}
	}
	if got := db.Version("rs"); got != 1 {
		t.Fatalf("writes elsewhere moved rs to %d", got)
	}
	boom := errors.New("boom")
	err := db.Update(ctx, func(tx store.Tx) error {
		tx.Put("rs/c", []byte("y"))
		return boom
	})
	if !errors.Is(err, boom) || db.Version("rs") != 1 {
		t.Fatalf("rolled back write: err %v, version %d", err, db.Version("rs"))
	}
	if err := db.Update(ctx, func(tx store.Tx) error { return tx.Delete("rs/a") }); err != nil {
		t.Fatal(err)
	}
	if got := db.Version("rs"); got != 2 {
		t.Fatalf("after a delete: %d, want 2", got)
	}
	if got := db.Version("norecord"); got != 0 {
		t.Fatalf("untouched segment: %d", got)
	}
}
