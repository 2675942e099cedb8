package e2e

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/redshiftserverless"
	"github.com/aws/aws-sdk-go-v2/service/redshiftserverless/types"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	"github.com/aws/smithy-go"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/idcgate/idcgate/internal/audit"
	"github.com/idcgate/idcgate/internal/managedpg"
	"github.com/idcgate/idcgate/internal/pgtest"
	"github.com/idcgate/idcgate/internal/testserver"
)

// wantAPIError asserts err is an AWS API error with this code, HTTP status
// and (when msg is not empty) exact message.
func wantAPIError(t *testing.T, err error, code string, status int, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want %s, got success", code)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want API error %s, got %v", code, err)
	}
	if ae.ErrorCode() != code {
		t.Fatalf("error code = %s, want %s (message %q)", ae.ErrorCode(), code, ae.ErrorMessage())
	}
	var re *awshttp.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("no HTTP response in %v", err)
	}
	if re.HTTPStatusCode() != status {
		t.Fatalf("%s: status = %d, want %d", code, re.HTTPStatusCode(), status)
	}
	if re.ServiceRequestID() == "" {
		t.Fatalf("%s: no request id", code)
	}
	if msg != "" && ae.ErrorMessage() != msg {
		t.Fatalf("%s: message = %q\nwant %q", code, ae.ErrorMessage(), msg)
	}
}

// eventually polls cond until it returns true or the deadline passes; there
// is no fixed sleep to tune, only a poll interval.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, err := cond()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if ok {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not reached within %s", what, timeout)
		case <-tick.C:
		}
	}
}

// waitWorkgroup waits until the workgroup has status want. The Go SDK has no
// waiter for Redshift Serverless, so this polls GetWorkgroup as one would.
func waitWorkgroup(t *testing.T, c *redshiftserverless.Client, name string, want types.WorkgroupStatus) {
	t.Helper()
	waitResourceStatus(t, "workgroup "+name, want, func() (types.WorkgroupStatus, error) {
		out, err := c.GetWorkgroup(context.Background(), &redshiftserverless.GetWorkgroupInput{WorkgroupName: &name})
		if err != nil {
			return "", err
		}
		return out.Workgroup.Status, nil
	})
}

func waitNamespace(t *testing.T, c *redshiftserverless.Client, name string, want types.NamespaceStatus) {
	t.Helper()
	waitResourceStatus(t, "namespace "+name, want, func() (types.NamespaceStatus, error) {
		out, err := c.GetNamespace(context.Background(), &redshiftserverless.GetNamespaceInput{NamespaceName: &name})
		if err != nil {
			return "", err
		}
		return out.Namespace.Status, nil
	})
}

// waitResourceStatus waits until status answers want (an error ends the test).
func waitResourceStatus[S ~string](t *testing.T, what string, want S, status func() (S, error)) {
	t.Helper()
	eventually(t, 10*time.Second, what+" "+string(want), func() (bool, error) {
		got, err := status()
		return err == nil && got == want, err
	})
}

// waitGone waits until get reports ResourceNotFoundException.
func waitGone(t *testing.T, what string, get func() error) {
	t.Helper()
	eventually(t, 10*time.Second, what+" gone", func() (bool, error) {
		err := get()
		var rnf *types.ResourceNotFoundException
		if errors.As(err, &rnf) {
			return true, nil
		}
		return false, err
	})
}

func mustGet(t *testing.T, url string) *http.Request {
	t.Helper()
	r, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// errOf is the error of a call whose other result does not matter, so
// that a table of calls that only check the error reads one line a call.
func errOf[T any](_ T, err error) error { return err }

// signJWT is claims signed as a compact JWT with key.
func signJWT(t *testing.T, key jose.SigningKey, opts *jose.SignerOptions, claims any) string {
	t.Helper()
	signer, err := jose.NewSigner(key, opts)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// adminCmd is the idcgate binary run against p with its administrator's
// credentials (the data dir's credentials file), and nothing of the
// environment's AWS keys.
func adminCmd(t *testing.T, p *testserver.Process, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(idcgateBinary(t), append(args, "--endpoint", p.URL)...)
	cmd.Env = append(os.Environ(), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(p.DataDir, "credentials"), "AWS_PROFILE=default",
		"AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_SESSION_TOKEN=")
	return cmd
}

// pager is what every SDK v2 paginator is.
type pager[O, F any] interface {
	HasMorePages() bool
	NextPage(context.Context, ...F) (O, error)
}

// pagedItems walks p to its end and returns the items of every page, in
// order, and how many pages there were; a failed page ends the test.
func pagedItems[O, F, I any](t *testing.T, p pager[O, F], items func(O) []I) ([]I, int) {
	t.Helper()
	var all []I
	pages := 0
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		pages++
		all = append(all, items(page)...)
	}
	return all, pages
}

// pagedNames is pagedItems with each item told by name.
func pagedNames[O, F, I any](t *testing.T, p pager[O, F], items func(O) []I, name func(I) string) ([]string, int) {
	t.Helper()
	all, pages := pagedItems(t, p, items)
	return namesOf(all, name), pages
}

// namesOf is each item told by name, in order.
func namesOf[I any](items []I, name func(I) string) []string {
	names := make([]string, 0, len(items))
	for _, it := range items {
		names = append(names, name(it))
	}
	return names
}

// receiveWithin is the next value on ch; if none comes within d the test
// ends with what went missing.
func receiveWithin[T any](t *testing.T, ch <-chan T, d time.Duration, missing string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(d):
		t.Fatal(missing)
		panic("unreachable")
	}
}

// auditRecords is every record of the audit log in dataDir.
func auditRecords(t *testing.T, dataDir string) []audit.Record {
	t.Helper()
	recs, err := audit.ReadFile(filepath.Join(dataDir, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// ssoExchange is CreateTokenWithIAM as the server's application (the
// JWT bearer grant) for app with assertion.
func ssoExchange(srv *testserver.Server, app, assertion string, scope ...string) (*ssooidc.CreateTokenWithIAMOutput, error) {
	return srv.OIDC(srv.App).CreateTokenWithIAM(context.Background(), &ssooidc.CreateTokenWithIAMInput{
		ClientId: aws.String(app), GrantType: aws.String(testserver.JWTBearer), Assertion: aws.String(assertion), Scope: scope})
}

// idcgateBinary is the path of the idcgate binary the tests run (built once).
func idcgateBinary(t *testing.T) string {
	t.Helper()
	bin, err := testserver.Binary()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// loopbackListener listens on a free loopback port until the test ends.
func loopbackListener(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// freeLoopbackAddr is a loopback address that was free a moment ago, for a
// listener the server under test opens itself.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// serveFails runs `idcgate serve` of the example config with no upstream,
// args and env, which must refuse to start (exit code 1 within a minute),
// and returns its output.
func serveFails(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	cmd := exec.Command(idcgateBinary(t), append([]string{"serve", "--config", testserver.ExampleConfig(), "--pg-upstream", "none"}, args...)...)
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
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
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("idcgate serve: %v (want exit code 1)\n%s", err, out)
	}
	return string(out)
}

// needManagedPostgres skips the test (or fails it, as pgtest.Missing
// decides) where the PostgreSQL binaries a managed upstream runs are absent.
func needManagedPostgres(t *testing.T) {
	t.Helper()
	if _, err := managedpg.Find(); err != nil {
		pgtest.Missing(t, err)
	}
}
