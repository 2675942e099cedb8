// Package masterkey holds the deployment's master key: the root from which
// every other secret of idcgate is derived or under which it is wrapped
// (administrator secret keys, page-token MACs, workgroup keys, session tokens).
//
// The key comes from IDCGATE_MASTER_KEY (base64 of 32 bytes) when set, so that
// replicas sharing a PostgreSQL store share it without it ever entering the
// database; otherwise from <data-dir>/master.key, created on first start with
// mode 0600. Sub-keys are derived with HKDF-SHA256, one per purpose.
package masterkey

import (
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/idcgate/idcgate/internal/store"
)

// Size is the master key length in bytes.
const Size = 32

// EnvVar names the environment variable that overrides the key file.
const EnvVar = "IDCGATE_MASTER_KEY"

// FileName is the key file's name inside the data dir.
const FileName = "master.key"

// Key is a loaded master key.
type Key struct {
	secret [Size]byte
	// Source says where the key came from ("env" or the file path), for logs.
	Source string
}

// ErrInvalid is returned for a key of the wrong form.
var ErrInvalid = errors.New("masterkey: invalid key")

// Load returns the key from getenv(EnvVar) if set, else from dataDir's key
// file, creating it (0600) from random bytes if it does not exist.
func Load(dataDir string, getenv func(string) string, random io.Reader) (*Key, error) {
	if v := strings.TrimSpace(getenv(EnvVar)); v != "" {
		k, err := Parse(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvVar, err)
		}
		k.Source = "env"
		return k, nil
	}
	path := filepath.Join(dataDir, FileName)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return create(path, random)
	}
	if err != nil {
		return nil, err
	}
	k, err := Parse(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	k.Source = path
	return k, nil
}

// Parse decodes a base64 (standard or URL alphabet) 32-byte key.
func Parse(s string) (*Key, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != Size {
				return nil, fmt.Errorf("%w: want %d bytes, got %d", ErrInvalid, Size, len(b))
			}
			k := &Key{}
			copy(k.secret[:], b)
			return k, nil
		}
	}
	return nil, fmt.Errorf("%w: not base64", ErrInvalid)
}

// Generate returns the base64 text of a fresh random key.
func Generate(random io.Reader) (string, error) {
	var b [Size]byte
	if _, err := io.ReadFull(random, b[:]); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b[:]), nil
}

func create(path string, random io.Reader) (*Key, error) {
	text, err := Generate(random)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	// O_EXCL: two processes racing on a fresh data dir must not both win.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return Load(filepath.Dir(path), func(string) string { return "" }, random)
	}
	if err != nil {
		return nil, err
	}
	if _, err := f.WriteString(text + "\n"); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	k, err := Parse(text)
	if err != nil {
		return nil, err
	}
	k.Source = path
	return k, nil
}

// Derive returns n bytes bound to purpose (and optional context parts);
// different purposes give independent keys.
func (k *Key) Derive(n int, purpose string, context ...string) []byte {
	info := "idcgate/v1/" + purpose
	for _, c := range context {
		info += "\x00" + c
	}
	out, err := hkdf.Key(sha256.New, k.secret[:], nil, info, n)
	if err != nil {
		// Only possible for n > 255*32, a programming error.
		panic(fmt.Sprintf("masterkey: derive %d bytes: %v", n, err))
	}
	return out
}

// ErrMismatch: the store was initialized under another master key.
var ErrMismatch = errors.New("master key does not match the store's key check value")

// checkKey is where the store keeps the key check value.
const checkKey = "meta/master-key-check"

// CheckValue is a public fingerprint of the key: an HMAC-SHA256 of a fixed
// label under a sub-key derived for this purpose only, so it reveals
// nothing of the key or of any other sub-key.
func (k *Key) CheckValue() string {
	mac := hmac.New(sha256.New, k.Derive(32, "key-check"))
	mac.Write([]byte("idcgate master key check"))
	return "v1:" + base64.RawStdEncoding.EncodeToString(mac.Sum(nil))
}

// Verify compares k with the key check value in st, storing it when the
// store has none (its first start). A replica with another key would
// otherwise start and fail only later, at the first unwrap, with errors
// that do not say why.
func Verify(ctx context.Context, st store.Store, k *Key) error {
	want := k.CheckValue()
	return st.Update(ctx, func(tx store.Tx) error {
		got, err := tx.Get(checkKey)
		if errors.Is(err, store.ErrNotFound) {
			return tx.Put(checkKey, []byte(want))
		}
		if err != nil {
			return err
		}
		if !hmac.Equal(got, []byte(want)) {
			return fmt.Errorf("%w: the store was initialized with another master key (this one is from %s); start every replica with the deployment's %s",
				ErrMismatch, k.Source, EnvVar)
		}
		return nil
	})
}

// String never reveals the key.
func (k *Key) String() string { return "masterkey(" + k.Source + ")" }

// randReader is the default randomness source.
var _ io.Reader = rand.Reader
