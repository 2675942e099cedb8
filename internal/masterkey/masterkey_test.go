package masterkey

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
