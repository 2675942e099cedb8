package idp

import (
	"encoding/base64"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/idcgate/idcgate/internal/identitycenter"
	"github.com/idcgate/idcgate/internal/masterkey"
)

func key(t *testing.T, b byte) *masterkey.Key {
	t.Helper()
	raw := make([]byte, 32)
	for i := range raw {
		raw[i] = b
	}
	k, err := masterkey.Parse(b64(raw))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestOneKeyPerMasterKey: replicas sharing a master key sign with one key
// (a JWT one issues verifies with another's JWKS); another master key
// gives another.
func TestOneKeyPerMasterKey(t *testing.T) {
	t.Parallel()
	a, _, err := Open(key(t, 1), "", "http://a/idp")
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := Open(key(t, 1), "", "http://a/idp")
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := Open(key(t, 2), "", "http://a/idp")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := a.Issue(&identitycenter.User{UserName: "alice"}, "aud", time.Minute, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := jwt.ParseSigned(tok.JWT, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := parsed.Claims(b.KeySet().Keys[0].Key, &claims); err != nil || claims["sub"] != "alice" {
		t.Fatalf("a JWT of one replica does not verify with the other's key: %v %v", claims, err)
	}
	if err := parsed.Claims(c.KeySet().Keys[0].Key, &claims); err == nil {
		t.Fatal("a JWT verified with the key of another master key")
	}
}

// TestOpenRemovesOldKeyFile: the key file an older idcgate kept is removed,
// and said so; without one nothing is.
func TestOpenRemovesOldKeyFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, OldKeyFile), []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, removed, err := Open(key(t, 3), dir, "http://a/idp"); err != nil || !removed {
		t.Fatalf("removed %v, %v", removed, err)
	}
	if _, err := os.Stat(filepath.Join(dir, OldKeyFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("old key file still there: %v", err)
	}
	if _, removed, err := Open(key(t, 3), dir, "http://a/idp"); err != nil || removed {
		t.Fatalf("second start: removed %v, %v", removed, err)
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
