//go:build slow

package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/redshiftserverless"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/idcgate/idcgate/internal/app"
	"github.com/idcgate/idcgate/internal/managedpg"
	"github.com/idcgate/idcgate/internal/testkit"
	"github.com/idcgate/idcgate/internal/testserver"
)

var managedRe = regexp.MustCompile(`managed PostgreSQL running" .*?port=([0-9]+) dir=(\S+)`)

// managedProc is the built binary serving the example config as it is
// (pgUpstream: managed) on dataDir, with its gateway's address and an
// administrator connection to its PostgreSQL (socket, peer).
type managedProc struct {
	*testserver.Process
	pgAddr string
	admin  func(t *testing.T, db string) *pgx.Conn
}

// startManagedFresh is startManaged on a new data dir (needManagedPostgres
// first).
func startManagedFresh(t *testing.T) (p *managedProc, dataDir string) {
	t.Helper()
	needManagedPostgres(t)
	dataDir = filepath.Join(testkit.ReachableDir(t), "data")
	return startManaged(t, dataDir), dataDir
}

func startManaged(t *testing.T, dataDir string) *managedProc {
	t.Helper()
	p := testserver.StartProcess(t, testserver.Options{DataDir: dataDir, ManagedUpstream: true})
	gw := opsPGAddrRe.FindStringSubmatch(p.Logs())
	m := managedRe.FindStringSubmatch(p.Logs())
	if gw == nil || m == nil {
		t.Fatalf("no gateway address or managed PostgreSQL line in the log:\n%s", p.Logs())
	}
	if want := app.ManagedDir(dataDir); m[2] != want {
		t.Fatalf("managed PostgreSQL in %s, want beside the data dir: %s", m[2], want)
	}
	return &managedProc{Process: p, pgAddr: gw[1], admin: func(t *testing.T, db string) *pgx.Conn {
		t.Helper()
		c, err := pgx.Connect(context.Background(), fmt.Sprintf("host=%s port=%s user=%s dbname=%s sslmode=disable", m[2], m[1], managedpg.Superuser, db))
		if err != nil {
			t.Fatalf("admin connection: %v", err)
		}
		t.Cleanup(func() { c.Close(context.Background()) })
		return c
	}}
}

// login gets user's token for demo (polling while the workgroup is
// still being created) and logs in through the gateway to dev.
func (p *managedProc) login(t *testing.T, user string) *pgx.Conn {
	t.Helper()
	creds := p.IdentitySession(t, user, testserver.AnalystRoleArn)
	var token string
	eventually(t, 10*time.Second, "a token for "+user, func() (bool, error) {
		out, err := getToken(t, p.Server, creds, "demo")
		if err != nil {
			return false, nil
		}
		token = aws.ToString(out.Token)
		return true, nil
	})
	host, port, _ := net.SplitHostPort(p.pgAddr)
	c, err := pgx.Connect(context.Background(), fmt.Sprintf("host=%s port=%s user=%s dbname=dev sslmode=require password=%s", host, port, user, token))
	if err != nil {
		t.Fatalf("gateway login as %s: %v", user, err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// sigterm stops the server as an operator does and checks it stopped its
// PostgreSQL with it.
func (p *managedProc) sigterm(t *testing.T, dataDir string) {
	t.Helper()
	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, p.Logs())
	}
	if _, err := os.Stat(filepath.Join(app.ManagedDir(dataDir), "data", "postmaster.pid")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the managed PostgreSQL is still running after idcgate stopped (postmaster.pid: %v)", err)
	}
}

// TestManagedUpstream: `serve --config examples/idcgate.yaml` alone gives a
// working gateway. alice (analysts) logs in as "AWSIDC:alice" and reads
// public.sales; bob (engineers) is refused it; a namespace created by API
// gets its database; after SIGTERM and a restart on the same data dir the
// data is kept and the seed did not run again; after SIGKILL (its
// PostgreSQL left running) the next start still works.
func TestManagedUpstream(t *testing.T) {
	t.Parallel()
	p, dataDir := startManagedFresh(t)
	ctx := context.Background()
	if fi, err := os.Stat(dataDir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("data dir mode %v (%v), want 0700", fi.Mode().Perm(), err)
	}

	alice := p.login(t, "alice")
	var user string
	var rows int
	if err := alice.QueryRow(ctx, "SELECT current_user").Scan(&user); err != nil || user != "AWSIDC:alice" {
		t.Fatalf("current_user = %q, %v", user, err)
	}
	if err := alice.QueryRow(ctx, "SELECT count(*) FROM public.sales").Scan(&rows); err != nil || rows != 4 {
		t.Fatalf("alice: count(*) FROM public.sales = %d, %v", rows, err)
	}
	bob := p.login(t, "bob")
	var pe *pgconn.PgError
	if err := bob.QueryRow(ctx, "SELECT count(*) FROM public.sales").Scan(&rows); !errors.As(err, &pe) || pe.Code != "42501" {
		t.Fatalf("bob reading public.sales: %v, want permission denied (42501)", err)
	}

	// A namespace made by API gets its database.
	sl := p.Serverless(p.Admin)
	if _, err := sl.CreateNamespace(ctx, &redshiftserverless.CreateNamespaceInput{NamespaceName: aws.String("books"), DbName: aws.String("ledger")}); err != nil {
		t.Fatal(err)
	}
	admin := p.admin(t, "postgres")
	eventuallyCount(t, 30*time.Second, admin, "database ledger", 1, "SELECT count(*) FROM pg_database WHERE datname = 'ledger'")
	if _, err := p.admin(t, "dev").Exec(ctx, "INSERT INTO public.sales VALUES (5, 'us-east', 'widget', 99.99, '2026-04-01')"); err != nil {
		t.Fatal(err)
	}
	// Ended first: open sessions would hold the shutdown for its grace period.
	alice.Close(ctx)
	bob.Close(ctx)
	p.sigterm(t, dataDir)

	// Restarted: the operator's row is there, the seed's rows not doubled.
	p = startManaged(t, dataDir)
	if err := p.login(t, "alice").QueryRow(ctx, "SELECT count(*) FROM public.sales").Scan(&rows); err != nil || rows != 5 {
		t.Fatalf("after a restart: %d rows, %v (want 4 seeded + 1 inserted)", rows, err)
	}

	// Killed: its PostgreSQL runs on; the next start takes over.
	p.Kill()
	p = startManaged(t, dataDir)
	alice = p.login(t, "alice")
	if err := alice.QueryRow(ctx, "SELECT current_user").Scan(&user); err != nil || user != "AWSIDC:alice" {
		t.Fatalf("after SIGKILL and a restart: %q, %v", user, err)
	}
	alice.Close(ctx)
	p.sigterm(t, dataDir)
	// Nothing a user could log in with ever reached PostgreSQL's log.
	logText, err := os.ReadFile(filepath.Join(app.ManagedDir(dataDir), "postgres.log"))
	if err != nil || len(logText) == 0 {
		t.Fatalf("the managed PostgreSQL's log: %v", err)
	}
	for _, secret := range []string{"IDC2.", "PRIVATE KEY", "password"} {
		if strings.Contains(string(logText), secret) {
			t.Errorf("the managed PostgreSQL's log mentions %q", secret)
		}
	}
}

// TestManagedUpstreamFailedFirstStart: a first start that fails after its
// PostgreSQL was made (the gateway's port is taken) leaves neither the data
// dir nor the cluster behind. The data dir is under a directory private to
// the test's user: as root that puts the cluster in the postgres user's
// home (FallbackDir), which must go too.
func TestManagedUpstreamFailedFirstStart(t *testing.T) {
	t.Parallel()
	needManagedPostgres(t)
	bin := idcgateBinary(t)
	busy := loopbackListener(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	fallback, err := managedpg.FallbackDir(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(fallback) })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "serve", "--config", testserver.ExampleConfig(), "--data-dir", dataDir,
		"--listen", "127.0.0.1:0", "--pg-listen", busy.Addr().String())
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), busy.Addr().String()) {
		t.Fatalf("serve: %v (want exit code 1 naming %s)\n%s", err, busy.Addr(), out)
	}
	if !strings.Contains(string(out), "managed PostgreSQL running") {
		t.Fatalf("the managed PostgreSQL did not start before the gateway's port was tried:\n%s", out)
	}
	for _, dir := range []string{dataDir, app.ManagedDir(dataDir), fallback} {
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left behind by a failed first start (%v)", dir, err)
		}
	}
}
