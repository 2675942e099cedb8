package keyring

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idcgate/idcgate/internal/masterkey"
	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/store/bolt"
)

func setup(t *testing.T) (*Keyring, store.Store, *masterkey.Key) {
	st, err := bolt.Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	text, _ := masterkey.Generate(rand.Reader)
	mk, _ := masterkey.Parse(text)
	k, err := New(st, mk, func() time.Time { return time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC) }, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k, st, mk
}

func TestRotateRetireDestroy(t *testing.T) {
	k, st, _ := setup(t)
	ctx := context.Background()
	id := ID{"123456789012", "us-east-1", "wg-1"}
	v1, k1, err := k.Current(ctx, id)
	if err != nil || v1 != 1 || len(k1) != KeySize {
		t.Fatalf("current: %d %v", v1, err)
	}
	again, k1b, _ := k.Current(ctx, id)
	if again != 1 || !bytes.Equal(k1, k1b) {
		t.Fatal("current changed without rotation")
	}
	v2, err := k.Rotate(ctx, id)
	if err != nil || v2 != 2 {
		t.Fatalf("rotate: %d %v", v2, err)
	}
	cur, k2, _ := k.Current(ctx, id)
	if cur != 2 || bytes.Equal(k1, k2) {
		t.Fatal("rotation did not change the current key")
	}
	if old, err := k.Key(ctx, id, 1); err != nil || !bytes.Equal(old, k1) {
		t.Fatalf("old version: %v", err)
	}
	if err := k.Retire(ctx, id, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Key(ctx, id, 1); !errors.Is(err, ErrRetired) {
		t.Fatalf("retired version: %v", err)
	}
	if err := k.Retire(ctx, id, 5); !errors.Is(err, ErrBadVersion) {
		t.Fatalf("retire beyond latest: %v", err)
	}
	// Keys are never stored in plain text.
	st.View(ctx, func(r store.Reader) error {
		return r.Scan("", "", func(key string, v []byte) (bool, error) {
			if bytes.Contains(v, k1) || bytes.Contains(v, k2) {
				t.Errorf("plain key stored at %s", key)
			}
			return true, nil
		})
	})
	if err := st.Update(ctx, func(tx store.Tx) error { return Destroy(tx, id) }); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Key(ctx, id, 2); !errors.Is(err, ErrNoKeyring) {
		t.Fatalf("destroyed: %v", err)
	}
}

func TestWrongMasterKeyCannotUnwrap(t *testing.T) {
	k, st, _ := setup(t)
	ctx := context.Background()
	id := ID{"123456789012", "us-east-1", "wg-1"}
	k.Current(ctx, id)
	text, _ := masterkey.Generate(rand.Reader)
	other, _ := masterkey.Parse(text)
	k2, _ := New(st, other, k.Now, rand.Reader)
	if _, err := k2.Key(ctx, id, 1); err == nil || !strings.Contains(err.Error(), "wrong master key") {
		t.Fatalf("err = %v", err)
	}
}

func TestRotateDue(t *testing.T) {
	k, _, _ := setup(t)
	now := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	k.Now = func() time.Time { return now }
	ctx := context.Background()
	id := ID{"123456789012", "us-east-1", "wg-1"}
	k.Current(ctx, id)
	if n, err := k.RotateDue(ctx, 24*time.Hour, time.Hour); err != nil || n != 0 {
		t.Fatalf("fresh ring rotated: %d %v", n, err)
	}
	now = now.Add(25 * time.Hour)
	if n, _ := k.RotateDue(ctx, 24*time.Hour, time.Hour); n != 1 {
		t.Fatalf("due ring not rotated: %d", n)
	}
	info, _ := k.Describe(ctx, id)
	if info.Latest != 2 || info.MinDecrypt != 1 {
		t.Fatalf("after rotation %+v", info)
	}
	now = now.Add(2 * time.Hour)
	k.RotateDue(ctx, 24*time.Hour, time.Hour)
	if info, _ := k.Describe(ctx, id); info.Latest != 2 || info.MinDecrypt != 2 {
		t.Fatalf("old version not retired after its successor aged: %+v", info)
	}
}
