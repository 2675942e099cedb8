package managedpg

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/idcgate/idcgate/internal/pgtest"
	"github.com/idcgate/idcgate/internal/testkit"
)

// TestFindBinDirMissing: without server binaries the error is the one line
// serve logs, saying how to get them; a wrapper script on PATH is no server.
func TestFindBinDirMissing(t *testing.T) {
	t.Parallel()
	script := t.TempDir()
	for _, tool := range []string{"initdb", "pg_ctl", "postgres"} {
		if err := os.WriteFile(filepath.Join(script, tool), []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name     string
		search   []string
		lookPath func(string) (string, error)
	}{
		{"empty search path", nil, nil},
		{"nothing matches", []string{filepath.Join(t.TempDir(), "*", "bin")}, func(string) (string, error) { return "", exec.ErrNotFound }},
		{"wrapper script on PATH", nil, func(string) (string, error) { return filepath.Join(script, "initdb"), nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := FindBinDir(tc.search, tc.lookPath)
			if !errors.Is(err, ErrNoBinaries) || !strings.Contains(err.Error(), "apt-get install postgresql") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("got %v, want the one-line ErrNoBinaries", err)
			}
		})
	}
	real := t.TempDir()
	for _, tool := range []string{"initdb", "pg_ctl", "postgres"} {
		if err := os.WriteFile(filepath.Join(real, tool), []byte("\x7fELF"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := FindBinDir([]string{real}, nil); err != nil || got != real {
		t.Fatalf("FindBinDir(%s) = %q, %v", real, got, err)
	}
}

// binAndCA is what a test cluster starts from: the server binaries (as
// pgtest.Missing says when there are none) and a client CA.
func binAndCA(t *testing.T) (bin string, ca []byte) {
	t.Helper()
	bin, err := Find()
	if err != nil {
		pgtest.Missing(t, err)
	}
	ca, _, err = serverCert()
	if err != nil {
		t.Fatal(err)
	}
	return bin, ca
}

// TestClusterLifecycle: first start initializes; the service role has no
// password and is no superuser; databases and group roles are made once,
// seed SQL runs once (not again after an operator drops what it made);
// nothing but the socket superuser and certificates gets in; a start over
// a server left running by a killed idcgate, or over a postmaster.pid
// naming another process, works on the remembered port.
func TestClusterLifecycle(t *testing.T) {
	t.Parallel()
	bin, ca := binAndCA(t)
	ctx := context.Background()
	opt := Options{Dir: filepath.Join(testkit.ReachableDir(t), "pg"), BinDir: bin, ClientCA: ca}
	c, err := Start(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			c.Stop()
		}
	})
	if !c.Created {
		t.Error("first start: Created = false")
	}
	if fi, err := os.Stat(c.Dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("cluster dir: %v %v, want 0700", fi.Mode(), err)
	}

	admin := func(db string) *pgx.Conn {
		t.Helper()
		conn, err := c.Admin(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close(context.Background()) })
		return conn
	}
	var super, createRole, signal bool
	var password *string
	if err := admin("postgres").QueryRow(ctx, `SELECT rolsuper, rolcreaterole, rolpassword, pg_has_role(rolname, 'pg_signal_backend', 'MEMBER')
		FROM pg_authid WHERE rolname = $1`, ServiceRole).Scan(&super, &createRole, &password, &signal); err != nil {
		t.Fatal(err)
	}
	if super || !createRole || password != nil || !signal {
		t.Fatalf("service role: superuser %v, createrole %v, password set %v, pg_signal_backend %v", super, createRole, password != nil, signal)
	}

	const seed = `CREATE TABLE public.t (n int); INSERT INTO public.t VALUES (1), (2); GRANT SELECT ON public.t TO "NS:g1";`
	for range 2 {
		if err := c.EnsureGroupRoles(ctx, []string{"NS:g1", "NS:g2", strings.Repeat("x", 64)}); err != nil {
			t.Fatal(err)
		}
		if err := c.EnsureDatabase(ctx, "dev", "demo", seed); err != nil {
			t.Fatal(err)
		}
	}
	var rows int
	if err := admin("dev").QueryRow(ctx, "SELECT count(*) FROM public.t").Scan(&rows); err != nil || rows != 2 {
		t.Fatalf("seeded rows: %d, %v (want 2: seeded once)", rows, err)
	}
	var groups int
	if err := admin("postgres").QueryRow(ctx, `SELECT count(*) FROM pg_roles WHERE rolname IN ('NS:g1', 'NS:g2') AND NOT rolcanlogin`).Scan(&groups); err != nil || groups != 2 {
		t.Fatalf("group roles: %d, %v", groups, err)
	}
	if _, err := admin("dev").Exec(ctx, "DROP TABLE public.t"); err != nil {
		t.Fatal(err)
	}
	if err := c.EnsureDatabase(ctx, "dev", "demo", seed); err != nil {
		t.Fatal(err)
	}
	var exists bool
	if err := admin("dev").QueryRow(ctx, "SELECT to_regclass('public.t') IS NOT NULL").Scan(&exists); err != nil || exists {
		t.Fatalf("a dropped seeded table came back: %v %v", exists, err)
	}

	// Nothing logs in over TCP without a certificate, superuser included.
	for _, user := range []string{Superuser, ServiceRole} {
		dsn := fmt.Sprintf("postgres://%s@127.0.0.1:%d/postgres?sslmode=require", user, c.Port)
		if conn, err := pgx.Connect(ctx, dsn); err == nil {
			conn.Close(ctx)
			t.Fatalf("%s logged in over TCP without a certificate", user)
		}
	}

	// idcgate killed, the server left running: the next start stops it and
	// starts again, on the same port.
	port := c.Port
	c2, err := Start(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	if c2.Created || c2.Port != port {
		t.Fatalf("restart: created %v, port %d (was %d)", c2.Created, c2.Port, port)
	}
	if err := c2.Stop(); err != nil {
		t.Fatal(err)
	}
	stopped = true
	// A postmaster.pid naming a live process that is not this server.
	if err := os.WriteFile(filepath.Join(c.DataDir, "postmaster.pid"), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c3, err := Start(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	stopped = false
	c = c3
	if err := admin("dev").QueryRow(ctx, "SELECT to_regclass('public.t') IS NULL").Scan(&exists); err != nil || !exists {
		t.Fatalf("after restart: %v %v", exists, err)
	}
}

// TestPrivateParent: as root, a directory under one private to root is
// ErrUnreachable (and left as it was), and FallbackDir is a stable place in
// the postgres user's home; as anyone else the server runs as that user,
// so such a directory just works.
func TestPrivateParent(t *testing.T) {
	t.Parallel()
	bin, ca := binAndCA(t)
	private := t.TempDir() // 0700, the test user's
	dir := filepath.Join(private, "data-pg")
	c, err := Start(context.Background(), Options{Dir: dir, BinDir: bin, ClientCA: ca})
	if os.Geteuid() != 0 {
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Stop(); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("Start under a root-private directory: %v, want ErrUnreachable", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the refused start left %s behind (%v)", dir, err)
	}
	a, err := FallbackDir(filepath.Join(private, "data"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := FallbackDir(filepath.Join(private, ".", "data"))
	other, _ := FallbackDir(filepath.Join(private, "other"))
	if a != b || a == other || !strings.HasPrefix(filepath.Base(a), "idcgate-") {
		t.Fatalf("FallbackDir: %q, %q, other data dir %q", a, b, other)
	}
}
