package e2e

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idcgate/idcgate/internal/testserver"
)

// A first start that fails (a port in use) exits 1 with one clear line and
// leaves no half-made data dir: no master key or credentials of a
// deployment that never ran. A data dir that already held something is
// left as it was found.
func TestFailedFirstStartLeavesNoDataDir(t *testing.T) {
	t.Parallel()
	bin, err := testserver.Binary()
	if err != nil {
		t.Fatal(err)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// Parallel subtests run after this function returns: close at cleanup.
	t.Cleanup(func() { busy.Close() })
	serveFails := func(t *testing.T, dataDir, listen, pgListen, want string) {
		t.Helper()
		cmd := exec.Command(bin, "serve", "--config", testserver.ExampleConfig(), "--data-dir", dataDir, "--listen", listen, "--pg-listen", pgListen, "--pg-upstream", "none")
		cmd.Env = os.Environ()
		done := make(chan struct{})
		var out []byte
		var err error
		go func() { out, err = cmd.CombinedOutput(); close(done) }()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Fatalf("idcgate serve did not exit\n%s", out)
		}
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), want) {
			t.Fatalf("idcgate serve: %v (want exit code 1 and %q)\n%s", err, want, out)
		}
	}
	t.Run("API port in use", func(t *testing.T) {
		t.Parallel()
		parent := t.TempDir()
		dataDir := filepath.Join(parent, "fresh", "data")
		serveFails(t, dataDir, busy.Addr().String(), "127.0.0.1:0", "listen "+busy.Addr().String())
		if _, err := os.Stat(filepath.Join(parent, "fresh")); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s left behind (%v)", filepath.Join(parent, "fresh"), err)
		}
	})
	t.Run("gateway port in use, empty data dir", func(t *testing.T) {
		t.Parallel()
		dataDir := t.TempDir()
		serveFails(t, dataDir, "127.0.0.1:0", busy.Addr().String(), busy.Addr().String())
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
		serveFails(t, dataDir, busy.Addr().String(), "127.0.0.1:0", "listen "+busy.Addr().String())
		if b, err := os.ReadFile(keep); err != nil || string(b) != "mine" {
			t.Fatalf("the operator's file: %q, %v", b, err)
		}
	})
}
