//go:build readme

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/idcgate/idcgate/internal/managedpg"
	"github.com/idcgate/idcgate/internal/pgtest"
	"github.com/idcgate/idcgate/internal/testserver"
)

// readmeBlock is one ```sh block of README.md and how a reader runs it.
type readmeBlock struct {
	line       int // of the opening fence
	code       string
	background bool   // <!-- run in the background -->
	notRun     string // <!-- not run: why -->
}

// readmeBlocks reads the sh blocks of a README in order. The line before a
// fence may say how the block runs: "<!-- run in the background -->" or
// "<!-- not run: why -->".
func readmeBlocks(t *testing.T, text string) []readmeBlock {
	t.Helper()
	var out []readmeBlock
	var cur *readmeBlock
	prev := ""
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur == nil && strings.HasPrefix(line, "```sh"):
			cur = &readmeBlock{line: n}
			if strings.HasPrefix(prev, "<!-- run in the background -->") {
				cur.background = true
			}
			if why, ok := strings.CutPrefix(prev, "<!-- not run:"); ok {
				cur.notRun = strings.TrimSpace(strings.TrimSuffix(why, "-->"))
			}
		case cur != nil && strings.HasPrefix(line, "```"):
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.code += line + "\n"
		}
		if strings.TrimSpace(line) != "" {
			prev = line
		}
	}
	if cur != nil {
		t.Fatalf("README: the sh block at line %d is not closed", cur.line)
	}
	return out
}

// TestREADMEWalkthrough does what a new user does: a fresh clone, the
// README's run command in the background, then every sh block of the
// README, in order, in one shell (those marked "not run" aside): the first
// hour's profiles, alice's token and psql through the gateway to the
// managed upstream, bob refused the sales table, the CLI walk-through and
// the administrator's commands. Then the server is restarted on the same
// data dir and alice reads the same table again (the managed upstream's
// data kept). The README's ports (7439, 5439) must be free.
func TestREADMEWalkthrough(t *testing.T) {
	for _, tool := range []string{"aws", "psql", "git"} {
		if _, err := exec.LookPath(tool); err != nil {
			pgtest.Missing(t, err)
		}
	}
	needManagedPostgres(t)
	for _, addr := range []string{"127.0.0.1:7439", "127.0.0.1:5439"} {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("the README's address %s is taken: %v", addr, err)
		}
		ln.Close()
	}

	// A fresh clone, with the working tree's uncommitted changes to tracked
	// files (so that a README being edited is what is tested).
	repo := testserver.RepoRoot()
	clone := filepath.Join(t.TempDir(), "idcgate")
	readmeRun(t, repo, nil, "git", "clone", "-q", repo, clone)
	changed, _ := exec.Command("git", "-C", repo, "diff", "--name-only", "HEAD").Output()
	for _, f := range strings.Fields(string(changed)) {
		if b, err := os.ReadFile(filepath.Join(repo, f)); err == nil {
			os.MkdirAll(filepath.Dir(filepath.Join(clone, f)), 0o755)
			os.WriteFile(filepath.Join(clone, f), b, 0o644)
		}
	}
	dataDir := filepath.Join(clone, "idcgate-data")
	// As root in a temp dir the postgres user cannot reach, the managed
	// cluster lives outside it: remove it too.
	t.Cleanup(func() {
		if dir, err := managedpg.FallbackDir(dataDir); err == nil {
			os.RemoveAll(dir)
		}
	})

	readme, err := os.ReadFile(filepath.Join(clone, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := readmeBlocks(t, string(readme))
	var serve *readmeBlock
	var script strings.Builder
	script.WriteString("set -euo pipefail\n")
	var setup, aliceReads string
	for i := range blocks {
		b := &blocks[i]
		switch {
		case b.notRun != "":
			t.Logf("README line %d: not run (%s)", b.line, b.notRun)
		case b.background:
			if serve != nil {
				t.Fatalf("README lines %d and %d: two blocks run in the background", serve.line, b.line)
			}
			serve = b
		default:
			script.WriteString("# README line " + strconv.Itoa(b.line) + "\n" + b.code)
			if strings.Contains(b.code, `cat > "$AWS_CONFIG_FILE"`) {
				setup = b.code
			}
			if strings.Contains(b.code, "--profile alice --query token") {
				aliceReads = b.code
			}
		}
	}
	if serve == nil || setup == "" || aliceReads == "" {
		t.Fatalf("README: the run command, the profiles block or alice's psql block is missing")
	}

	home := t.TempDir()
	// `go install` in the walk-through puts idcgate here, not into the
	// developer's GOPATH/bin.
	env := append(readmeEnv(home), "GOBIN="+filepath.Join(home, "bin"))
	stop := readmeServe(t, clone, env, serve.code)
	out := readmeRun(t, clone, env, "bash", "-c", script.String())
	for _, want := range []string{
		"arn:aws:iam::123456789012:root",                       // the administrator
		"arn:aws:sts::123456789012:assumed-role/analyst/alice", // alice's profile
		" AWSIDC:alice\n",                                      // psql as alice through the gateway
		"bob was refused, as he should be",                     // bob and the sales table
		"permission denied for table sales",
		`"stringValue": "AWSIDC:alice"`, // the Data API as alice
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the walk-through's output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Fatalf("output:\n%s", out)
	}

	// Restarted on the same data dir: the managed upstream and its data
	// are still there.
	stop()
	stop = readmeServe(t, clone, env, serve.code)
	defer stop()
	out = readmeRun(t, clone, env, "bash", "-c", "set -euo pipefail\n"+setup+aliceReads)
	if !strings.Contains(out, " AWSIDC:alice\n") || !strings.Contains(out, "     4\n") {
		t.Fatalf("after a restart, alice's psql:\n%s", out)
	}
}

// readmeEnv is the environment of a new user's shell: none of the
// developer's AWS or idcgate settings, a HOME of its own.
func readmeEnv(home string) []string {
	env := []string{"HOME=" + home}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AWS_") || strings.HasPrefix(k, "IDCGATE_") || strings.HasPrefix(k, "PG") || k == "HOME" || k == "GOBIN" {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// readmeServe runs the README's run command in the background in dir and
// waits until the API and the gateway answer; the returned stop sends
// SIGTERM to its process group and waits for it.
func readmeServe(t *testing.T, dir string, env []string, code string) func() {
	t.Helper()
	var log bytes.Buffer
	cmd := exec.Command("bash", "-c", code)
	cmd.Dir, cmd.Env = dir, env
	cmd.Stdout, cmd.Stderr = &log, &log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
	t.Cleanup(stop)
	deadline := time.Now().Add(4 * time.Minute) // `go run` compiles first
	for {
		ready := false
		if resp, err := http.Get("http://127.0.0.1:7439/readyz"); err == nil {
			resp.Body.Close()
			if c, err := net.DialTimeout("tcp", "127.0.0.1:5439", time.Second); err == nil {
				c.Close()
				ready = resp.StatusCode == http.StatusOK
			}
		}
		if ready {
			return stop
		}
		select {
		case err := <-done:
			t.Fatalf("the README's run command ended (%v):\n%s", err, log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the README's run command did not get ready in 4 minutes:\n%s", log.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// readmeRun runs a command in dir with env (nil: this process's), fails the
// test on a non-zero exit, and returns its combined output.
func readmeRun(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = dir, env
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && (errors.As(err, &ee) || ctx.Err() != nil) {
		t.Fatalf("%s: %v\n%s", name, err, out)
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out)
}
