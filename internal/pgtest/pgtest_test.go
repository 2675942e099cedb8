package pgtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestStart(t *testing.T) {
	s := Start(t)
	if s.Port == 0 || s.BinDir == "" {
		t.Fatalf("server %+v", s)
	}
	if want := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/app?sslmode=disable", s.Port); s.DSN("app") != want {
		t.Fatalf("DSN %q", s.DSN("app"))
	}
	s.CreateDatabase(t, "app")
	s.Exec(t, "app", "CREATE ROLE tester LOGIN PASSWORD 'pw-1'", "CREATE TABLE t(x int)", "GRANT SELECT ON t TO tester")

	ctx := context.Background()
	if c, err := pgx.Connect(ctx, fmt.Sprintf("postgres://tester:wrong@127.0.0.1:%d/app?sslmode=disable", s.Port)); err == nil {
		c.Close(ctx)
		t.Fatal("a non-superuser logged in over TCP with a wrong password")
	}
	c, err := pgx.Connect(ctx, fmt.Sprintf("postgres://tester:pw-1@127.0.0.1:%d/app?sslmode=disable", s.Port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var who, fsync string
	if err := c.QueryRow(ctx, "SELECT current_user, current_setting('fsync')").Scan(&who, &fsync); err != nil {
		t.Fatal(err)
	}
	if who != "tester" || fsync != "off" {
		t.Fatalf("current_user %q fsync %q", who, fsync)
	}
	var maxConns int
	if err := c.QueryRow(ctx, "SELECT current_setting('max_connections')::int").Scan(&maxConns); err != nil || maxConns != 200 {
		t.Fatalf("max_connections %d %v", maxConns, err)
	}
	if !strings.HasPrefix(s.DataDir, scratchDir()+"/"+dirPrefix()) {
		t.Fatalf("data dir %q, want one under %s named for this process", s.DataDir, scratchDir())
	}
}

func TestFindBinDir(t *testing.T) {
	dir, err := FindBinDir()
	if err != nil {
		Missing(t, err)
	}
	for _, tool := range []string{"initdb", "pg_ctl", "postgres"} {
		if fi, err := os.Stat(filepath.Join(dir, tool)); err != nil || fi.Mode()&0o111 == 0 {
			t.Fatalf("%s lacks %s (%v)", dir, tool, err)
		}
	}
}

// TestSweep: what a test process left behind is removed once it no longer
// runs; a live process's directory and anything else stay.
func TestSweep(t *testing.T) {
	t.Setenv(scratchEnv, t.TempDir())
	dir := scratchDir()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{ // name → kept
		fmt.Sprintf("pgtest-%d-123", dead.Process.Pid):        false,
		fmt.Sprintf("pgtest-%d-template-9", dead.Process.Pid): false,
		fmt.Sprintf("pgtest-%d-456", os.Getpid()):             true,
		fmt.Sprintf("pgtest-%d-789", os.Getppid()):            true,
		"pgtest-notapid-1": true,
		"other":            true,
	}
	for n := range names {
		if err := os.Mkdir(filepath.Join(dir, n), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	sweep()
	for n, kept := range names {
		_, err := os.Stat(filepath.Join(dir, n))
		if (err == nil) != kept {
			t.Errorf("%s: kept %v, want %v", n, err == nil, kept)
		}
	}
}
