package masterkey

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/store/bolt"
)

func TestCreateThenReload(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	noenv := func(string) string { return "" }
	k1, err := Load(dir, noenv, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	if di, _ := os.Stat(dir); di.Mode().Perm() != 0o700 {
		t.Fatalf("data dir mode %v, want 0700", di.Mode().Perm())
	}
	k2, err := Load(dir, noenv, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k1.Derive(32, "x"), k2.Derive(32, "x")) {
		t.Fatal("reloaded key differs")
	}
	if bytes.Equal(k1.Derive(32, "x"), k1.Derive(32, "y")) || bytes.Equal(k1.Derive(32, "x", "a"), k1.Derive(32, "x", "b")) {
		t.Fatal("purposes/contexts not separated")
	}
	if strings.Contains(k1.String(), "=") {
		t.Fatal("String leaks key material")
	}
}

func TestEnvOverridesFile(t *testing.T) {
	text, _ := Generate(rand.Reader)
	k, err := Load(t.TempDir(), func(n string) string {
		if n == EnvVar {
			return text
		}
		return ""
	}, rand.Reader)
	if err != nil || k.Source != "env" {
		t.Fatalf("k=%v err=%v", k, err)
	}
	for _, bad := range []string{"short", "!!!", "AAAA"} {
		if _, err := Parse(bad); err == nil {
			t.Fatalf("Parse(%q) accepted", bad)
		}
	}
}

// The first start stores the key check value; the same key passes; another
// key is refused with ErrMismatch and changes nothing; the value is not the
// key nor any sub-key.
func TestVerify(t *testing.T) {
	st, err := bolt.Open(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	k1, _ := Parse(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, Size)))
	k2, _ := Parse(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{2}, Size)))
	k2.Source = "env"
	if err := Verify(ctx, st, k1); err != nil {
		t.Fatalf("first start: %v", err)
	}
	if err := Verify(ctx, st, k1); err != nil {
		t.Fatalf("same key: %v", err)
	}
	err = Verify(ctx, st, k2)
	if !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), "master key does not match the store's") || !strings.Contains(err.Error(), "from env") {
		t.Fatalf("other key: %v", err)
	}
	var stored []byte
	st.View(ctx, func(r store.Reader) error { stored, err = r.Get(checkKey); return err })
	if string(stored) != k1.CheckValue() || k1.CheckValue() == k2.CheckValue() {
		t.Fatalf("check value %q after a refused start", stored)
	}
	for _, secret := range [][]byte{k1.secret[:], k1.Derive(32, "key-check"), []byte(base64.StdEncoding.EncodeToString(k1.secret[:]))} {
		if bytes.Contains(stored, secret) || strings.Contains(string(stored), base64.RawStdEncoding.EncodeToString(secret)) {
			t.Fatal("the check value contains key material")
		}
	}
}
