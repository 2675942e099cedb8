package keyring

import (
	"bytes"
	"context"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/idcgate/idcgate/internal/masterkey"
	"github.com/idcgate/idcgate/internal/seal"
	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/testkit"
)

func setup(t *testing.T) (*Keyring, store.Store, *masterkey.Key) {
	st := testkit.Store(t)
	mk := testkit.MasterKey(t)
	k, err := New(st, mk, func() time.Time { return time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC) }, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k, st, mk
}

// setupRing is setup with the ring of workgroup wg-1, whose id it
// returns, created.
func setupRing(t *testing.T) (*Keyring, store.Store, ID) {
	t.Helper()
	k, st, _ := setup(t)
	id := ID{"123456789012", "us-east-1", "wg-1"}
	create(t, k, id)
	return k, st, id
}

func create(t *testing.T, k *Keyring, id ID) {
	t.Helper()
	if err := k.Store.Update(context.Background(), func(tx store.Tx) error { return k.Create(tx, id) }); err != nil {
		t.Fatal(err)
	}
}

func TestRotateRetireDestroy(t *testing.T) {
	k, st, id := setupRing(t)
	ctx := context.Background()
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
	k, st, id := setupRing(t)
	ctx := context.Background()
	other := testkit.MasterKey(t)
	k2, _ := New(st, other, k.Clock, rand.Reader)
	if _, err := k2.Key(ctx, id, 1); err == nil || !strings.Contains(err.Error(), "wrong master key") {
		t.Fatalf("err = %v", err)
	}
}

func TestRotateDue(t *testing.T) {
	k, _, _ := setup(t)
	now := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	k.Clock = func() time.Time { return now }
	ctx := context.Background()
	id := ID{"123456789012", "us-east-1", "wg-1"}
	create(t, k, id)
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

// TestMissingRingIsNeverCreated: only Create makes a ring; every other
// operation on a workgroup without one (never created, or destroyed) is
// ErrNoKeyring and leaves it without one.
func TestMissingRingIsNeverCreated(t *testing.T) {
	k, st, _ := setup(t)
	ctx := context.Background()
	id := ID{"123456789012", "us-east-1", "wg-gone"}
	ops := map[string]func() error{
		"Current":     func() error { _, _, err := k.Current(ctx, id); return err },
		"CurrentAEAD": func() error { _, _, err := k.CurrentAEAD(ctx, id); return err },
		"Key":         func() error { _, err := k.Key(ctx, id, 1); return err },
		"KeyAEAD":     func() error { _, err := k.KeyAEAD(ctx, id, 1); return err },
		"Rotate":      func() error { _, err := k.Rotate(ctx, id); return err },
		"Retire":      func() error { return k.Retire(ctx, id, 1) },
		"Describe":    func() error { _, err := k.Describe(ctx, id); return err },
	}
	check := func(when string) {
		t.Helper()
		for name, op := range ops {
			if err := op(); !errors.Is(err, ErrNoKeyring) {
				t.Fatalf("%s %s: %v, want ErrNoKeyring", when, name, err)
			}
		}
		if n, err := k.RotateDue(ctx, 0, 0); err != nil || n != 0 {
			t.Fatalf("%s RotateDue: %d %v", when, n, err)
		}
		if _, err := k.Describe(ctx, id); !errors.Is(err, ErrNoKeyring) {
			t.Fatalf("%s: a ring came back: %v", when, err)
		}
	}
	check("never created")

	k.CacheFor = time.Hour
	create(t, k, id)
	if _, _, err := k.Current(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := st.Update(ctx, func(tx store.Tx) error { return Destroy(tx, id) }); err != nil {
		t.Fatal(err)
	}
	k.Forget(id)
	check("destroyed")
}

func TestCreateIsIdempotent(t *testing.T) {
	k, _, id := setupRing(t)
	ctx := context.Background()
	_, k1, _ := k.Current(ctx, id)
	if _, err := k.Rotate(ctx, id); err != nil {
		t.Fatal(err)
	}
	create(t, k, id)
	info, err := k.Describe(ctx, id)
	if err != nil || info.Latest != 2 || info.MinDecrypt != 1 {
		t.Fatalf("create over an existing ring changed it: %+v %v", info, err)
	}
	if old, _ := k.Key(ctx, id, 1); !bytes.Equal(old, k1) {
		t.Fatal("create replaced version 1")
	}
}

// TestCacheUsesInjectedClock: a cached ring is served until CacheFor has
// passed on the injected clock, then re-read (another replica's rotation
// shows up), with no sleeping.
func TestCacheUsesInjectedClock(t *testing.T) {
	k, st, mk := setup(t)
	now := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	k.Clock = func() time.Time { return now }
	k.CacheFor = time.Minute
	ctx := context.Background()
	id := ID{"123456789012", "us-east-1", "wg-1"}
	create(t, k, id)
	if v, _, _ := k.Current(ctx, id); v != 1 {
		t.Fatalf("current %d", v)
	}
	other, _ := New(st, mk, k.Clock, rand.Reader) // another replica
	if v, err := other.Rotate(ctx, id); err != nil || v != 2 {
		t.Fatalf("rotate elsewhere: %d %v", v, err)
	}
	now = now.Add(59 * time.Second)
	if v, _, _ := k.Current(ctx, id); v != 1 {
		t.Fatalf("cache not used within CacheFor: %d", v)
	}
	now = now.Add(2 * time.Second)
	if v, _, _ := k.Current(ctx, id); v != 2 {
		t.Fatalf("cache not refreshed after CacheFor: %d", v)
	}
}

// TestForgetBeatsAnInFlightRead: a ring read before a forget (a reader
// racing the workgroup's deletion) is returned to that reader but not
// cached, so the next call sees the deletion.
func TestForgetBeatsAnInFlightRead(t *testing.T) {
	k, st, id := setupRing(t)
	k.CacheFor = time.Hour
	ctx := context.Background()
	gen := k.generation()
	var ring Ring
	st.View(ctx, func(r store.Reader) error { var err error; ring, err = k.load(r, id); return err })
	if err := st.Update(ctx, func(tx store.Tx) error { return Destroy(tx, id) }); err != nil {
		t.Fatal(err)
	}
	k.Forget(id)
	if _, err := k.remember(id, ring, gen); err != nil {
		t.Fatal(err)
	}
	if _, _, err := k.Current(ctx, id); !errors.Is(err, ErrNoKeyring) {
		t.Fatalf("a stale read was cached after the forget: %v", err)
	}
}

// TestAEADMatchesKey: the cached AEAD is the key's AES-256-GCM.
func TestAEADMatchesKey(t *testing.T) {
	k, _, id := setupRing(t)
	ctx := context.Background()
	v, aead, err := k.CurrentAEAD(ctx, id)
	if err != nil || v != 1 {
		t.Fatal(v, err)
	}
	key, _ := k.Key(ctx, id, 1)
	wantAEADOf(t, aead, key, "AEAD and key differ")
	if a2, err := k.KeyAEAD(ctx, id, 1); err != nil || a2 == nil {
		t.Fatalf("KeyAEAD: %v", err)
	}
	if _, err := k.KeyAEAD(ctx, id, 7); !errors.Is(err, ErrNoVersion) {
		t.Fatalf("unknown version: %v", err)
	}
}

// TestKeysAreTheCallersCopies: the key bytes Current and Key hand out are
// copies, so a caller that changes (or zeroes) them cannot change what the
// cache seals and opens with.
func TestKeysAreTheCallersCopies(t *testing.T) {
	k, _, id := setupRing(t)
	k.CacheFor = time.Hour
	ctx := context.Background()
	_, first, err := k.Current(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Clone(first)
	clear(first)
	_, again, _ := k.Current(ctx, id)
	key, _ := k.Key(ctx, id, 1)
	if !bytes.Equal(again, want) || !bytes.Equal(key, want) {
		t.Fatal("a caller's change to Current's key reached the cache")
	}
	clear(key)
	if _, again, _ := k.Current(ctx, id); !bytes.Equal(again, want) {
		t.Fatal("a caller's change to Key's key reached the cache")
	}
	// The cached AEAD still seals with the stored key.
	_, aead, _ := k.CurrentAEAD(ctx, id)
	wantAEADOf(t, aead, want, "the cached AEAD no longer matches the key")
}

// wantAEADOf checks that what aead seals, key's AES-256-GCM opens.
func wantAEADOf(t *testing.T, aead cipher.AEAD, key []byte, what string) {
	t.Helper()
	ref, err := seal.NewGCM(key)
	if err != nil {
		t.Fatal(err)
	}
	nonce := make([]byte, aead.NonceSize())
	if got, err := ref.Open(nil, nonce, aead.Seal(nil, nonce, []byte("x"), nil), nil); err != nil || string(got) != "x" {
		t.Fatalf("%s: %v", what, err)
	}
}
