// Package pgtest starts a throwaway, real PostgreSQL server for tests:
// initdb into a temporary directory, pg_ctl start on a free loopback port,
// pg_ctl stop -m immediate at cleanup. The superuser "postgres" logs in
// without a password (trust); every other role connecting over 127.0.0.1
// must pass SCRAM-SHA-256, as on a real server.
//
// The server runs with TLS (ssl=on, a throwaway server certificate for
// 127.0.0.1 signed by a throwaway CA, see ServerCAFile) and is configured
// as README asks of an upstream of idcgate's gateway: members of
// "idcgate_users" (idcgate's user roles) log in only over TLS with a client
// certificate from a CA in ssl_ca_file (TrustClientCA adds idcgate's), and
// are refused any other way, ahead of every other pg_hba.conf line.
//
// PostgreSQL refuses to run as root, so when the test runs as root the
// server tools run as the "postgres" OS user (via runuser), created with
// useradd -r if missing. When no server binaries are installed the test is
// skipped, unless env CI is set, where it fails: CI must not skip silently.
// On Debian: apt-get install postgresql (the packaged service need not run).
package pgtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/idcgate/idcgate/internal/pgbin"
)

const (
	superuser    = "postgres"
	osUser       = "postgres"
	startTimeout = 30 * time.Second
)

// Server is a running throwaway PostgreSQL.
type Server struct {
	// Port is the TCP port on 127.0.0.1.
	Port int
	// BinDir holds the server binaries used (initdb, pg_ctl, postgres).
	BinDir string
	// DataDir is the cluster directory.
	DataDir string
	// SocketDir is the Unix socket directory.
	SocketDir string
	// LogFile is the server's log (stderr), for tests that check what
	// PostgreSQL wrote.
	LogFile string
	// ServerCAFile holds the CA certificate that signed the server's TLS
	// certificate (sslrootcert for sslmode=verify-full).
	ServerCAFile string

	mu           sync.Mutex // over the two below
	clientCAFile string     // ssl_ca_file, in the data dir
	clientCAs    []byte     // what it holds

	runAs string // OS user the tools run as; "" for the current user
}

// FindBinDir finds PostgreSQL's server binaries as the managed upstream
// does (internal/pgbin).
func FindBinDir() (string, error) { return pgbin.Find() }

// Missing ends a test that needs a tool this machine lacks: a failure
// under CI (.ci/run sets CI and installs every tool, so nothing is skipped
// there), a skip on a developer's machine without it.
func Missing(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatal(err)
	}
	t.Skip(err)
}

// Start starts a server for the test and stops it at cleanup.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := FindBinDir()
	if err != nil {
		Missing(t, err)
	}
	s := &Server{BinDir: bin}

	base, err := os.MkdirTemp(scratchDir(), dirPrefix())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := s.prepareBase(base); err != nil {
		t.Fatal(err)
	}
	s.DataDir = filepath.Join(base, "data")
	s.SocketDir = base
	logFile := filepath.Join(base, "postgres.log")
	s.LogFile = logFile

	if template.enabled {
		tpl, err := templateCluster(s)
		if err != nil {
			t.Fatalf("pgtest: template cluster: %v", err)
		}
		// cp -a keeps the files' owner (the server's OS user, when root).
		if out, err := exec.Command("cp", "-a", tpl, s.DataDir).CombinedOutput(); err != nil {
			t.Fatalf("pgtest: copying the template cluster: %v\n%s", err, out)
		}
	} else if out, err := s.initdb(s.DataDir); err != nil {
		t.Fatalf("pgtest: initdb: %v\n%s", err, out)
	}
	// Pin the exact rules so the server never depends on initdb's defaults.
	// The first three are README's lines for idcgate's user roles (members
	// of gateway.MemberRole): a client certificate over TLS, nothing else.
	hba := "local all +" + memberRole + " reject\n" +
		"hostssl all +" + memberRole + " 127.0.0.1/32 cert\n" +
		"host all +" + memberRole + " all reject\n" +
		"local all all trust\n" +
		"host all " + superuser + " 127.0.0.1/32 trust\n" +
		"host all all 127.0.0.1/32 scram-sha-256\n"
	if out, err := s.writeAsOwner(filepath.Join(s.DataDir, "pg_hba.conf"), hba); err != nil {
		t.Fatalf("pgtest: pg_hba.conf: %v\n%s", err, out)
	}
	sslOpts, err := s.writeTLS(base)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}

	var startErr error
	for attempt := 0; attempt < 3; attempt++ { // the free port may be taken before postgres binds it
		s.Port, err = pgbin.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", s.Port, s.SocketDir) + sslOpts
		out, err := s.tool("pg_ctl", "-D", s.DataDir, "-o", opts, "-l", logFile, "-w", "-t", strconv.Itoa(int(startTimeout/time.Second)), "start")
		if err == nil {
			startErr = nil
			break
		}
		log, _ := os.ReadFile(logFile)
		startErr = fmt.Errorf("pg_ctl start: %v\n%s\n%s", err, out, log)
		s.tool("pg_ctl", "-D", s.DataDir, "-m", "immediate", "stop")
	}
	if startErr != nil {
		t.Fatalf("pgtest: %v", startErr)
	}
	t.Cleanup(func() {
		if out, err := s.tool("pg_ctl", "-D", s.DataDir, "-m", "immediate", "-w", "stop"); err != nil {
			t.Logf("pgtest: pg_ctl stop: %v\n%s", err, out)
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	for {
		c, err := pgx.Connect(ctx, s.DSN("postgres"))
		if err == nil {
			c.Close(ctx)
			return s
		}
		if ctx.Err() != nil {
			log, _ := os.ReadFile(logFile)
			t.Fatalf("pgtest: server on port %d did not accept connections within %v: %v\n%s", s.Port, startTimeout, err, log)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// prepareBase makes base the server's own directory: owned by the OS user
// the tools run as (as root: "postgres"), mode 0700.
func (s *Server) prepareBase(base string) error {
	if os.Geteuid() == 0 {
		uid, gid, err := ensureOSUser()
		if err != nil {
			return err
		}
		if err := os.Chown(base, uid, gid); err != nil {
			return err
		}
		s.runAs = osUser
	}
	return os.Chmod(base, 0o700)
}

// initdb initializes a cluster in dir.
func (s *Server) initdb(dir string) ([]byte, error) {
	return s.tool("initdb", "-D", dir, "-U", superuser, "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
}

// ensureOSUser returns the uid and gid of the postgres OS user, creating it
// as a system user when it does not exist.
func ensureOSUser() (uid, gid int, err error) {
	u, err := user.Lookup(osUser)
	if err != nil {
		out, uerr := exec.Command("useradd", "-r", "-M", "-s", "/bin/false", osUser).CombinedOutput()
		if uerr != nil {
			return 0, 0, fmt.Errorf("pgtest: running as root needs the %q OS user; useradd: %v: %s", osUser, uerr, out)
		}
		if u, err = user.Lookup(osUser); err != nil {
			return 0, 0, fmt.Errorf("pgtest: %w", err)
		}
	}
	uid, err = strconv.Atoi(u.Uid)
	if err != nil {
		return 0, 0, err
	}
	gid, err = strconv.Atoi(u.Gid)
	return uid, gid, err
}

func (s *Server) command(name string, args ...string) *exec.Cmd {
	cmd := pgbin.Command(s.runAs, name, args...)
	cmd.Env = append(cmd.Env, "TZ=UTC")
	return cmd
}

func (s *Server) tool(name string, args ...string) ([]byte, error) {
	return s.command(filepath.Join(s.BinDir, name), args...).CombinedOutput()
}

// writeAsOwner replaces a file in the data dir, keeping it owned by the
// server's OS user.
func (s *Server) writeAsOwner(path, content string) ([]byte, error) {
	if s.runAs == "" {
		return nil, os.WriteFile(path, []byte(content), 0o600)
	}
	// umask: PostgreSQL refuses a private key others may read.
	cmd := s.command("sh", "-c", `umask 077; cat > "$1"`, "sh", path)
	cmd.Stdin = strings.NewReader(content)
	return cmd.CombinedOutput()
}

// DSN is a superuser connection string for database db.
func (s *Server) DSN(db string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", superuser, s.Port, db)
}

// CreateDatabase creates database name.
func (s *Server) CreateDatabase(t testing.TB, name string) {
	t.Helper()
	// FILE_COPY: with fsync off, copying the template's files is several
	// times faster than WAL-logging them (PostgreSQL 15's default).
	s.Exec(t, "postgres", "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" STRATEGY FILE_COPY")
}

// Exec runs each SQL statement as the superuser in database db.
func (s *Server) Exec(t testing.TB, db string, statements ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := pgx.Connect(ctx, s.DSN(db))
	if err != nil {
		t.Fatalf("pgtest: connect %s: %v", db, err)
	}
	defer c.Close(context.Background())
	for _, q := range statements {
		if _, err := c.Exec(ctx, q); err != nil {
			t.Fatalf("pgtest: %s: %v", strings.TrimSpace(q), err)
		}
	}
}
