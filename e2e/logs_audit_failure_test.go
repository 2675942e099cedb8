package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/redshiftserverless"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/idcgate/idcgate/internal/audit/journal"
	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/testserver"
)

// opsBinary is idcgate serve run by the test itself (any log format), with
// its stderr lines collected.
type opsBinary struct {
	srv   *testserver.Server
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines []string
	done  chan struct{}
}

func (b *opsBinary) Lines() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.lines...)
}

var opsTextAddrRe = regexp.MustCompile(`msg="serving AWS APIs" addr=(127\.0\.0\.1:[0-9]+)`)

func opsStartBinary(t *testing.T, env map[string]string) *opsBinary {
	t.Helper()
	bin := idcgateBinary(t)
	dir := filepath.Join(t.TempDir(), "data")
	cmd := exec.Command(bin, "serve", "--config", testserver.ExampleConfig(), "--data-dir", dir, "--listen", "127.0.0.1:0", "--pg-listen", "127.0.0.1:0", "--pg-upstream", "none")
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	b := &opsBinary{cmd: cmd, done: make(chan struct{})}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-b.done
			cmd.Wait()
		}
	})
	addrc := make(chan string, 1)
	go func() {
		defer close(b.done)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			b.mu.Lock()
			b.lines = append(b.lines, line)
			b.mu.Unlock()
			var j struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &j) == nil && j.Msg == "serving AWS APIs" {
				addrc <- j.Addr
			} else if m := opsTextAddrRe.FindStringSubmatch(line); m != nil {
				addrc <- m[1]
			}
		}
	}()
	select {
	case addr := <-addrc:
		b.srv = &testserver.Server{URL: "http://" + addr, DataDir: dir}
	case <-b.done:
		t.Fatalf("idcgate exited before listening:\n%s", strings.Join(b.Lines(), "\n"))
	case <-time.After(60 * time.Second):
		t.Fatal("idcgate did not start listening")
	}
	b.srv.Admin = opsAdminCredentials(t, dir)
	b.srv.App = aws.Credentials{AccessKeyID: testserver.AppKeyID, SecretAccessKey: testserver.AppSecretKey}
	return b
}

// opsAdminCredentials reads the default profile of <data-dir>/credentials.
func opsAdminCredentials(t *testing.T, dir string) aws.Credentials {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "credentials"))
	if err != nil {
		t.Fatal(err)
	}
	var c aws.Credentials
	profile := ""
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "[") {
			profile = strings.Trim(l, "[]")
		} else if k, v, ok := strings.Cut(l, "="); ok && profile == "default" {
			switch strings.TrimSpace(k) {
			case "aws_access_key_id":
				c.AccessKeyID = strings.TrimSpace(v)
			case "aws_secret_access_key":
				c.SecretAccessKey = strings.TrimSpace(v)
			}
		}
	}
	if c.AccessKeyID == "" {
		t.Fatal("no default profile")
	}
	return c
}

// stop sends SIGTERM and waits for the exit and the last log line.
func (b *opsBinary) stop(t *testing.T) {
	t.Helper()
	b.cmd.Process.Signal(syscall.SIGTERM)
	<-b.done
	if err := b.cmd.Wait(); err != nil {
		t.Fatalf("exit: %v", err)
	}
}

// opsLogWorkload makes calls that log at every level (success, refusal,
// injected internal error) and returns their request ids and the secrets
// that must not be logged.
func opsLogWorkload(t *testing.T, srv *testserver.Server) ([]string, []string) {
	t.Helper()
	ctx := context.Background()
	var ids []string
	note := func(md func() (string, bool), err error) {
		t.Helper()
		var re *awshttp.ResponseError
		if errors.As(err, &re) {
			ids = append(ids, re.ServiceRequestID())
			return
		}
		id, _ := md()
		ids = append(ids, id)
	}
	alice := srv.IdentitySession(t, "alice", testserver.AnalystRoleArn)
	sl := srv.Serverless(srv.Admin)
	out, err := sl.GetWorkgroup(ctx, &redshiftserverless.GetWorkgroupInput{WorkgroupName: aws.String("demo")})
	note(func() (string, bool) { return opsRequestID(out.ResultMetadata) }, err)
	_, err = srv.Serverless(srv.App).ListWorkgroups(ctx, &redshiftserverless.ListWorkgroupsInput{})
	note(nil, err)
	if r := srv.CallAdmin(t, srv.Admin, "SetFaults", []byte(`{"rules":[{"operation":"ListNamespaces","error":"InternalServerException","rate":1}]}`)); r.Status != 200 {
		t.Fatalf("SetFaults: %s", r.Body)
	}
	_, err = sl.ListNamespaces(ctx, &redshiftserverless.ListNamespacesInput{})
	note(nil, err)
	tok, err := getToken(t, srv, alice, "demo")
	note(func() (string, bool) { return opsRequestID(tok.ResultMetadata) }, err)
	who, err := srv.STS(alice).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	note(func() (string, bool) { return opsRequestID(who.ResultMetadata) }, err)
	for _, id := range ids {
		if id == "" {
			t.Fatal("a call without a request id")
		}
	}
	return ids, []string{srv.Admin.SecretAccessKey, testserver.AppSecretKey, alice.SecretAccessKey, alice.SessionToken[:40], aws.ToString(tok.Token)[:40]}
}

// --log-format json: every line is one JSON object with time, level and
// msg; every line about a request carries its request_id; no secret.
func TestLogFormatJSON(t *testing.T) {
	t.Parallel()
	b := opsStartBinary(t, map[string]string{"IDCGATE_LOG_FORMAT": "json", "IDCGATE_LOG_LEVEL": "debug"})
	ids, secrets := opsLogWorkload(t, b.srv)
	b.stop(t)
	lines := b.Lines()
	logged := map[string]bool{}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not JSON: %q", l)
		}
		if m["time"] == nil || m["level"] == nil || m["msg"] == nil {
			t.Fatalf("line without time, level or msg: %s", l)
		}
		id, _ := m["request_id"].(string)
		if m["msg"] == "request" || m["principal"] != nil {
			if id == "" {
				t.Fatalf("request line without request_id: %s", l)
			}
		}
		if m["msg"] == "request" {
			logged[id] = true
		}
		opsNoSecret(t, l, secrets)
	}
	opsAllLogged(t, ids, logged)
	levels := map[string]bool{}
	for _, l := range lines {
		var m struct{ Level string }
		json.Unmarshal([]byte(l), &m)
		levels[m.Level] = true
	}
	if !levels["DEBUG"] || !levels["INFO"] || !levels["WARN"] {
		t.Fatalf("levels seen %v: the workload did not log at every level", levels)
	}
}

// opsNoSecret fails when a log line holds any of secrets.
func opsNoSecret(t *testing.T, line string, secrets []string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(line, s) {
			t.Fatalf("a secret in the log: %s", line)
		}
	}
}

// opsAllLogged fails for every request id without its request line.
func opsAllLogged(t *testing.T, ids []string, logged map[string]bool) {
	t.Helper()
	for _, id := range ids {
		if !logged[id] {
			t.Errorf("request %s has no request line", id)
		}
	}
}

var (
	opsTextLineRe = regexp.MustCompile(`^time=\S+ level=(DEBUG|INFO|WARN|ERROR) msg=`)
	opsTextReqRe  = regexp.MustCompile(` request_id=([0-9a-f-]{36})( |$)`)
)

// The text format: logfmt lines, request lines with request_id.
func TestLogFormatText(t *testing.T) {
	t.Parallel()
	b := opsStartBinary(t, map[string]string{"IDCGATE_LOG_LEVEL": "debug"})
	ids, secrets := opsLogWorkload(t, b.srv)
	b.stop(t)
	logged := map[string]bool{}
	for _, l := range b.Lines() {
		if !opsTextLineRe.MatchString(l) {
			t.Fatalf("not a text log line: %q", l)
		}
		m := opsTextReqRe.FindStringSubmatch(l)
		if (strings.Contains(l, " msg=request ") || strings.Contains(l, " principal=")) && m == nil {
			t.Fatalf("request line without request_id: %s", l)
		}
		if m != nil && strings.Contains(l, " msg=request ") {
			logged[m[1]] = true
		}
		opsNoSecret(t, l, secrets)
	}
	opsAllLogged(t, ids, logged)
}

// When the audit write fails after a call committed its change, the change
// is still recorded: its journal entry committed with it; the client is
// told the truth (success), and the record is recovered at the next start.
// A call that changed nothing is refused instead (a retry is safe).
func TestAuditFailureAfterCommit(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	edit := func(c *config.Config) { c.Serverless.TransitionDelay = &config.Duration{} }
	srv := testserver.Start(t, testserver.Options{DataDir: dir, Edit: edit})
	ctx := context.Background()
	c := srv.Serverless(srv.Admin)
	if err := srv.Instance.Audit.Close(); err != nil { // every audit write fails from now on
		t.Fatal(err)
	}
	out, err := c.CreateNamespace(ctx, &redshiftserverless.CreateNamespaceInput{NamespaceName: aws.String("journaled")})
	if err != nil {
		t.Fatalf("a create that committed was answered %v", err)
	}
	createID, _ := opsRequestID(out.ResultMetadata)
	_, err = c.GetNamespace(ctx, &redshiftserverless.GetNamespaceInput{NamespaceName: aws.String("journaled")})
	wantAPIError(t, err, "InternalServerException", 500, "The request processing has failed because of an unknown error, exception or failure.")
	_, err = c.CreateNamespace(ctx, &redshiftserverless.CreateNamespaceInput{NamespaceName: aws.String("journaled")})
	wantAPIError(t, err, "InternalServerException", 500, "")
	pending, err := journal.Pending(ctx, srv.Instance.Store)
	if err != nil || len(pending) != 1 || pending[0].RequestID != createID || pending[0].EventName != "CreateNamespace" {
		t.Fatalf("journal: %+v %v", pending, err)
	}
	recs := auditRecords(t, dir)
	if len(recs) != 0 {
		t.Fatalf("%d records written through a closed log", len(recs))
	}
	srv.Stop()

	srv2 := testserver.Start(t, testserver.Options{DataDir: dir, Edit: edit})
	recs = auditRecords(t, dir)
	if len(recs) != 1 || recs[0].RequestID != createID || recs[0].EventName != "CreateNamespace" || recs[0].ErrorCode != "" ||
		recs[0].RequestParameters["namespaceName"] != "journaled" || recs[0].AdditionalEventData["recoveredFromJournal"] != true {
		t.Fatalf("recovered records %+v", recs)
	}
	stored := opsStoreRecords(t, srv2)
	if len(stored) != 1 || stored[0].EventID != recs[0].EventID {
		t.Fatalf("store holds %+v", stored)
	}
	if p, _ := journal.Pending(ctx, srv2.Instance.Store); len(p) != 0 {
		t.Fatalf("journal after recovery: %+v", p)
	}
	if _, err := srv2.Serverless(srv2.Admin).GetNamespace(ctx, &redshiftserverless.GetNamespaceInput{NamespaceName: aws.String("journaled")}); err != nil {
		t.Fatal(err)
	}
}

// TestGCTarget: with GOGC unset the server runs the collector at its own
// target for a small live heap; an operator's GOGC wins.
func TestGCTarget(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ env, want string }{{"", "gogc=400"}, {"250", "gogc=250"}, {"off", "gogc=-1"}} {
		t.Run("GOGC="+tc.env, func(t *testing.T) {
			p := testserver.StartProcess(t, testserver.Options{Env: map[string]string{"GOGC": tc.env}})
			if !strings.Contains(p.Logs(), tc.want) {
				t.Fatalf("want %q in the start-up log:\n%s", tc.want, p.Logs())
			}
		})
	}
}

// At the default info level an API request writes no log line of its own
// (the audit trail has every call): a flood of requests cannot fill the
// log, nor cost the CPU of formatting a line each. Debug level has them
// (TestLogFormatJSON).
func TestInfoLevelLogsNoRequestLines(t *testing.T) {
	t.Parallel()
	b := opsStartBinary(t, map[string]string{"IDCGATE_LOG_FORMAT": "json"})
	ids, _ := opsLogWorkload(t, b.srv)
	b.stop(t)
	infos := 0
	for _, l := range b.Lines() {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not JSON: %q", l)
		}
		if m["msg"] == "request" {
			t.Fatalf("a request line at info level: %s", l)
		}
		if m["level"] == "INFO" {
			infos++
		}
	}
	if len(ids) == 0 || infos == 0 {
		t.Fatalf("%d calls, %d info lines: the workload or the server's lifecycle lines are missing", len(ids), infos)
	}
}
