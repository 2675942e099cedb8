// Package testserver starts idcgate for end-to-end tests, in-process or as
// the built binary, and hands back clients of the official AWS SDK for Go v2
// pointed at it. Test bodies take a *Server and do not care which it is.
package testserver

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/redshift"
	"github.com/aws/aws-sdk-go-v2/service/redshiftserverless"

	"github.com/idcgate/idcgate/internal/app"
	"github.com/idcgate/idcgate/internal/clock"
	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/passwords/phc"
	"github.com/idcgate/idcgate/internal/pgtest"
	"github.com/idcgate/idcgate/internal/testkit"
)

// Example-config facts (BEHAVIOUR 13) that tests rely on.
const (
	Region       = "us-east-1"
	Account      = "123456789012"
	AppKeyID     = "AKIAIOSFODNN7EXAMPLE"
	AppSecretKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// Server is a running idcgate.
type Server struct {
	URL     string
	DataDir string
	// Admin is the first account's administrator (root) credentials.
	Admin aws.Credentials
	// App is the example IAM user "app".
	App aws.Credentials
	// Instance is set for in-process servers.
	Instance *app.App

	stop func()
}

// Options tune a server.
type Options struct {
	// ConfigYAML replaces the example config when set.
	ConfigYAML string
	// Edit changes the loaded config before start (in-process only).
	Edit func(*config.Config)
	// DataDir reuses a data dir (restart tests); default a new temp dir.
	DataDir string
	// Clock is the server's clock (in-process only), typically a
	// clock.Offset's Now; zero is the wall clock.
	Clock clock.Clock
	// Env adds environment variables.
	Env map[string]string
	// ManagedUpstream lets the server run its managed PostgreSQL (as the
	// example config asks). Off, pgUpstream "managed" or unset becomes
	// "none" (StartProcess: IDCGATE_PG_UPSTREAM=none unless Env sets it), so
	// the many tests that need no upstream start no PostgreSQL. With it and
	// no DataDir, the data dir is made where the postgres OS user can reach
	// the managed directory beside it (testkit.ReachableDir).
	ManagedUpstream bool
}

// RepoRoot finds the module root from this source file.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// ExampleConfig is the path of examples/idcgate.yaml.
func ExampleConfig() string { return filepath.Join(RepoRoot(), "examples", "idcgate.yaml") }

func loadConfig(t testing.TB, o Options) *config.Config {
	t.Helper()
	var c *config.Config
	var err error
	if o.ConfigYAML != "" {
		c, err = config.Parse([]byte(o.ConfigYAML))
	} else {
		c, err = config.Load(ExampleConfig())
	}
	if err != nil {
		t.Fatal(err)
	}
	c.DataDir = o.DataDir
	c.Listen = "127.0.0.1:0"
	c.PGListen = "127.0.0.1:0"
	if !o.ManagedUpstream && (c.PGUpstream == "" || c.PGUpstream == config.UpstreamManaged) {
		c.PGUpstream = config.UpstreamNone
	}
	c.ApplyDefaults()
	if o.Edit != nil {
		o.Edit(c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

// CheapPasswords is the argon2id cost of the test servers' sign-in
// passwords: the smallest the algorithm allows, so a start (which hashes
// the config's passwords) costs microseconds, not a core's tens of
// milliseconds each. Production's cost is the passwords package's tests'.
var CheapPasswords = phc.Params{Memory: 8, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

// Start runs idcgate in-process on a free loopback port.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	o.DataDir = dataDir(t, o)
	cfg := loadConfig(t, o)
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	getenv := func(k string) string {
		if v, ok := o.Env[k]; ok {
			return v
		}
		return os.Getenv(k)
	}
	a, err := app.Open(context.Background(), cfg, log, app.Options{Clock: o.Clock, Getenv: getenv, PasswordParams: CheapPasswords})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx) }()
	s := &Server{URL: "http://" + a.Addr(), DataDir: cfg.DataDir, Instance: a}
	s.stop = sync.OnceFunc(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	t.Cleanup(s.Stop)
	s.loadCredentials(t)
	return s
}

func dataDir(t testing.TB, o Options) string {
	switch {
	case o.DataDir != "":
		return o.DataDir
	case o.ManagedUpstream:
		return filepath.Join(testkit.ReachableDir(t), "data")
	}
	return filepath.Join(t.TempDir(), "data")
}

// Stop shuts the server down gracefully (idempotent).
func (s *Server) Stop() { s.stop() }

var addrRe = regexp.MustCompile(`serving AWS APIs" addr=(127\.0\.0\.1:[0-9]+)`)

// Binary builds ./cmd/idcgate once per test binary and returns its path.
var Binary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "idcgate-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "idcgate")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/idcgate")
	cmd.Dir = RepoRoot()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", &buildError{string(out), err}
	}
	return bin, nil
})

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return e.err.Error() + ": " + e.out }

// Process is idcgate running as a separate OS process.
type Process struct {
	*Server
	Cmd *exec.Cmd

	mu       sync.Mutex
	logs     strings.Builder
	logsDone chan struct{} // closed once stderr is read to its end
}

// Wait waits for the process to exit, after reading all it logged: exec's
// Wait closes the stderr pipe, and lines not read by then would be lost.
func (p *Process) Wait() error {
	<-p.logsDone
	return p.Cmd.Wait()
}

// Logs returns everything the process has logged so far.
func (p *Process) Logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

// StartProcess runs the built binary with the example config (or
// o.ConfigYAML written to a file) on a free port.
func StartProcess(t testing.TB, o Options) *Process {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		t.Fatal(err)
	}
	o.DataDir = dataDir(t, o)
	cfgPath := ExampleConfig()
	if o.ConfigYAML != "" {
		cfgPath = filepath.Join(t.TempDir(), "idcgate.yaml")
		if err := os.WriteFile(cfgPath, []byte(o.ConfigYAML), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if o.ManagedUpstream {
		// Registered before the process's Stop, so it runs after it: a
		// killed idcgate leaves its PostgreSQL running.
		t.Cleanup(func() { stopLeftPostmaster(t, app.ManagedDir(o.DataDir)) })
	}
	cmd := exec.Command(bin, "serve", "--config", cfgPath, "--data-dir", o.DataDir, "--listen", "127.0.0.1:0", "--pg-listen", "127.0.0.1:0")
	cmd.Env = os.Environ()
	for k, v := range o.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if _, set := o.Env["IDCGATE_PG_UPSTREAM"]; !set && !o.ManagedUpstream {
		cmd.Env = append(cmd.Env, "IDCGATE_PG_UPSTREAM="+config.UpstreamNone)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addrc := make(chan string, 1)
	p := &Process{Cmd: cmd, logsDone: make(chan struct{})}
	go func() {
		defer close(p.logsDone)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.logs.WriteString(line + "\n")
			p.mu.Unlock()
			t.Log("idcgate:", line)
			if m := addrRe.FindStringSubmatch(line); m != nil && !sent {
				addrc <- m[1]
				sent = true
			}
		}
		if !sent {
			close(addrc)
		}
	}()
	var addr string
	select {
	case a, ok := <-addrc:
		if !ok {
			p.Wait()
			t.Fatalf("idcgate exited before listening: %v", cmd.ProcessState)
		}
		addr = a
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatal("idcgate did not start listening within 60s")
	}
	p.Server = &Server{URL: "http://" + addr, DataDir: o.DataDir}
	p.stop = sync.OnceFunc(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			p.Wait()
		}
	})
	t.Cleanup(p.Stop)
	p.loadCredentials(t)
	return p
}

// stopLeftPostmaster ends the managed PostgreSQL in dir that a killed
// idcgate left running (fast shutdown), and waits until it is gone.
func stopLeftPostmaster(t testing.TB, dir string) {
	b, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid"))
	if err != nil {
		return
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || pid <= 0 {
		return
	}
	proc := fmt.Sprintf("/proc/%d", pid)
	if cwd, err := os.Readlink(proc + "/cwd"); err != nil || filepath.Base(cwd) != "data" {
		return
	}
	syscall.Kill(pid, syscall.SIGINT)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(proc); err != nil {
			return
		}
	}
	t.Errorf("the managed PostgreSQL (pid %d) left running in %s did not stop", pid, dir)
}

// Kill sends SIGKILL and waits for the process to die.
func (p *Process) Kill() {
	p.Cmd.Process.Kill()
	p.Wait()
}

// loadCredentials reads the administrator keys from <data-dir>/credentials.
func (s *Server) loadCredentials(t testing.TB) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.DataDir, "credentials"))
	if err != nil {
		t.Fatal(err)
	}
	profile := ""
	vals := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "[") {
			profile = strings.Trim(line, "[]")
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok && profile == "default" {
			vals[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	s.Admin = aws.Credentials{AccessKeyID: vals["aws_access_key_id"], SecretAccessKey: vals["aws_secret_access_key"], Source: "idcgate-admin"}
	if s.Admin.AccessKeyID == "" {
		t.Fatal("no default profile in the credentials file")
	}
	s.App = aws.Credentials{AccessKeyID: AppKeyID, SecretAccessKey: AppSecretKey, Source: "idcgate-example-app"}
}

// Config returns an aws.Config for creds, pointed at the server, with
// retries off so tests see the first error.
func (s *Server) Config(creds aws.Credentials) aws.Config {
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.StaticCredentialsProvider{Value: creds},
		BaseEndpoint: aws.String(s.URL),
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
		HTTPClient:   http.DefaultClient,
	}
}

// Serverless returns a Redshift Serverless client signed with creds.
func (s *Server) Serverless(creds aws.Credentials) *redshiftserverless.Client {
	return redshiftserverless.NewFromConfig(s.Config(creds))
}

// Redshift returns a Redshift (provisioned API: Redshift IdC
// applications) client signed with creds.
func (s *Server) Redshift(creds aws.Credentials) *redshift.Client {
	return redshift.NewFromConfig(s.Config(creds))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

var _ io.Writer = testWriter{}

// PGAddr is the gateway's address (in-process servers).
func (s *Server) PGAddr() string {
	if s.Instance == nil || s.Instance.Gateway == nil {
		return ""
	}
	return s.Instance.Gateway.Addr()
}

// TrustUpstreamCA makes pg accept the gateway's certificate logins of
// user roles, as an operator does: idcgate's upstream-ca.crt (written into
// the data dir at start) goes into pg's ssl_ca_file.
func (s *Server) TrustUpstreamCA(t testing.TB, pg *pgtest.Server) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.DataDir, app.UpstreamCAFile))
	if err != nil {
		t.Fatal(err)
	}
	pg.TrustClientCA(t, b)
}
