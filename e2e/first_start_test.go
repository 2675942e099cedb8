package e2e

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A first start that fails (a port in use) exits 1 with one clear line and
// leaves no half-made data dir: no master key or credentials of a
// deployment that never ran. A data dir that already held something is
// left as it was found.
func TestFailedFirstStartLeavesNoDataDir(t *testing.T) {
	t.Parallel()
	// Parallel subtests run after this function returns: it closes at cleanup.
	busy := loopbackListener(t)
	wantServeFails := func(t *testing.T, dataDir, listen, pgListen, want string) {
		t.Helper()
		if out := serveFails(t, nil, "--data-dir", dataDir, "--listen", listen, "--pg-listen", pgListen); !strings.Contains(out, want) {
			t.Fatalf("idcgate serve: want %q\n%s", want, out)
		}
	}
	t.Run("API port in use", func(t *testing.T) {
		t.Parallel()
		parent := t.TempDir()
		dataDir := filepath.Join(parent, "fresh", "data")
		wantServeFails(t, dataDir, busy.Addr().String(), "127.0.0.1:0", "listen "+busy.Addr().String())
		if _, err := os.Stat(filepath.Join(parent, "fresh")); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s left behind (%v)", filepath.Join(parent, "fresh"), err)
		}
	})
	t.Run("gateway port in use, empty data dir", func(t *testing.T) {
		t.Parallel()
		dataDir := t.TempDir()
		wantServeFails(t, dataDir, "127.0.0.1:0", busy.Addr().String(), busy.Addr().String())
		if entries, err := os.ReadDir(dataDir); err != nil || len(entries) != 0 {
			t.Fatalf("data dir holds %v after a failed first start (%v)", entries, err)
		}
	})
	t.Run("data dir in use keeps its files", func(t *testing.T) {
		t.Parallel()
		dataDir := t.TempDir()
		keep := filepath.Join(dataDir, "operator-notes.txt")
		if err := os.WriteFile(keep, []byte("mine"), 0o600); err != nil {
			t.Fatal(err)
		}
		wantServeFails(t, dataDir, busy.Addr().String(), "127.0.0.1:0", "listen "+busy.Addr().String())
		if b, err := os.ReadFile(keep); err != nil || string(b) != "mine" {
			t.Fatalf("the operator's file: %q, %v", b, err)
		}
	})
}
