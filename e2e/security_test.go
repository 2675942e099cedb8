package e2e

import (
	"context"
	"encoding/xml"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/redshiftserverless"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/idcgate/idcgate/internal/authtoken"
	"github.com/idcgate/idcgate/internal/clock"
	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/masterkey"
	"github.com/idcgate/idcgate/internal/serverless"
	"github.com/idcgate/idcgate/internal/testserver"
)

// TestReplayAfterFifteenMinutes: a captured signed request works once in
// its window and is refused when replayed 16 minutes later.
func TestReplayAfterFifteenMinutes(t *testing.T) {
	t.Parallel()
	clk := &clock.Offset{}
	srv := testserver.Start(t, testserver.Options{Clock: clk.Now})
	body := []byte(`{"workgroupName":"demo"}`)
	req := srv.ServerlessRequest(t, "GetWorkgroup", body)
	testserver.Sign(t, req, body, srv.Admin, "redshift-serverless", "us-east-1", time.Now())
	if r := testserver.Do(t, req); r.Status != 200 {
		t.Fatalf("first use: %d %s", r.Status, r.Body)
	}
	clk.Set(16 * time.Minute)
	replay := srv.ServerlessRequest(t, "GetWorkgroup", body)
	replay.Header = req.Header.Clone()
	r := testserver.Do(t, replay)
	if r.Status != 400 || r.JSON(t)["__type"] != "InvalidSignatureException" || !strings.HasPrefix(r.JSON(t)["message"].(string), "Signature expired") {
		t.Fatalf("replay: %d %s", r.Status, r.Body)
	}
}

// TestCrossAccountTokenRefused: account B has a workgroup named demo too,
// so the name resolves in both accounts and only the token's account
// binding (its wrapped keys are for account A's demo) can refuse it.
func TestCrossAccountTokenRefused(t *testing.T) {
	t.Parallel()
	srv, _ := gatewayWorld(t, func(c *config.Config) {
		c.Accounts = append(c.Accounts, config.Account{
			ID:                      scopeB.Account,
			RedshiftIdcApplications: []config.RedshiftIdcApplication{{Name: "b-idc", IdentityNamespace: "AWSIDC", IdcInstanceArn: c.IdentityCenter.InstanceArn}},
			Namespaces:              []config.Namespace{{Name: "demo", RedshiftIdcApplication: "b-idc"}},
			Workgroups:              []config.Workgroup{{Name: "demo", Namespace: "demo", BaseCapacity: 8}},
		})
	})
	ctx := context.Background()
	wgA, err := srv.Instance.Issuer.Serverless.GetWorkgroup(ctx, scope, "demo")
	if err != nil {
		t.Fatal(err)
	}
	wgB, err := srv.Instance.Issuer.Serverless.GetWorkgroup(ctx, scopeB, "demo")
	if err != nil {
		t.Fatalf("account B has no demo workgroup: %v", err)
	}
	if wgA.WorkgroupId == wgB.WorkgroupId || wgA.WorkgroupArn == wgB.WorkgroupArn {
		t.Fatalf("the two demo workgroups are one: %s %s", wgA.WorkgroupArn, wgB.WorkgroupArn)
	}
	tok := tokenFor(t, srv, "alice", "demo")
	connect := func(account string) error {
		conn, err := connectAs(t, srv, "alice", tok, "dev", "demo."+account+".us-east-1.redshift-serverless.amazonaws.com")
		if err == nil {
			conn.Close(ctx)
		}
		return err
	}
	// The same token, the same workgroup name: account A's gateway name works…
	if err := connect(scope.Account); err != nil {
		t.Fatalf("account A's token on account A's demo: %v", err)
	}
	// …account B's is refused as a token not valid for that workgroup.
	err = connect(scopeB.Account)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "28P01" || pe.Message != "the Identity Center token is not valid for this workgroup" {
		t.Fatalf("account A's token on account B's demo: %v", err)
	}
	_, _, err = srv.Instance.Issuer.Open(ctx, scopeB, "demo", tok)
	if !errors.Is(err, authtoken.ErrForeignWorkgroup) && !errors.Is(err, authtoken.ErrWrongAccount) {
		t.Fatalf("account B's issuer opened account A's token for demo: %v", err)
	}
	if _, c, err := srv.Instance.Issuer.Open(ctx, scope, "demo", tok); err != nil || c.Account != scope.Account {
		t.Fatalf("account A's issuer: %v (account %q)", err, c.Account)
	}
}

var scopeB = serverless.Scope{Account: "210987654321", Region: "us-east-1"}

// TestRoleChainingKeepsContext: a chained session keeps the Identity Center
// user; it cannot shed it to act as a plain role.
func TestRoleChainingKeepsContext(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{Edit: func(c *config.Config) {
		a := &c.Accounts[0]
		a.Roles = append(a.Roles, config.Role{Name: "chainer", MaxSessionDuration: &config.Duration{Duration: time.Hour}, TrustPolicy: a.Roles[0].TrustPolicy,
			Policies: []config.Policy{{Name: "p", Document: config.Document{JSON: []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`)}}}})
	}})
	ctx := context.Background()
	first := srv.IdentitySession(t, "alice", "arn:aws:iam::123456789012:role/chainer")
	out, err := srv.STS(first).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(testserver.AnalystRoleArn), RoleSessionName: aws.String("chained")})
	if err != nil {
		t.Fatal(err)
	}
	chained := aws.Credentials{AccessKeyID: aws.ToString(out.Credentials.AccessKeyId), SecretAccessKey: aws.ToString(out.Credentials.SecretAccessKey), SessionToken: aws.ToString(out.Credentials.SessionToken)}
	tok, err := getToken(t, srv, chained, "demo")
	if err != nil {
		t.Fatalf("chained session lost its identity context: %v", err)
	}
	_, c, err := srv.Instance.Issuer.Open(ctx, scope, "demo", aws.ToString(tok.Token))
	if err != nil || c.UserName != "alice" {
		t.Fatalf("chained token user %q %v", c.UserName, err)
	}
}

// TestNothingWithoutSigV4: only health, metrics, the IdP's public
// documents and the operations the SDK models send unsigned (SSO-OIDC's
// RegisterClient, StartDeviceAuthorization, CreateToken, and STS's
// AssumeRoleWithWebIdentity, whose token is its proof: BEHAVIOUR 2.2)
// answer without a signature; every other path refuses in the shape its
// protocol's clients expect.
func TestNothingWithoutSigV4(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	const missing = "Request is missing Authentication Token"
	type want struct {
		status int
		shape  string // open, json (awsJson1_1), rest (restJson1), oauth (restJson1 OAuth error), query (awsQuery XML), plain
		code   string
	}
	query := want{403, "query", "MissingAuthenticationToken"}
	cases := []struct {
		method, path string
		want         want
	}{
		{"GET", "/", query},
		{"POST", "/", query},
		{"GET", "/?Action=GetCallerIdentity&Version=2011-06-15", query},
		{"POST", "/?Action=GetCallerIdentity&Version=2011-06-15", query},
		{"POST", "/?Action=GetSessionToken&Version=2011-06-15", query},
		{"POST", "/?Action=GetAccessKeyInfo&Version=2011-06-15", query},
		{"POST", "/?Action=AssumeRole&Version=2011-06-15", query},
		{"POST", "/?Action=CreateOpenIDConnectProvider&Version=2010-05-08", query},
		{"GET", "/token", want{405, "rest", "UnknownOperationException"}},
		// Unsigned by design: the form body is no JSON object, so the
		// operation itself refuses it, in the OAuth error shape.
		{"POST", "/token", want{400, "oauth", "InvalidRequestException"}},
		{"GET", "/client/register", want{405, "rest", "UnknownOperationException"}},
		{"POST", "/client/register", want{400, "oauth", "InvalidRequestException"}},
		{"GET", "/device_authorization", want{405, "rest", "UnknownOperationException"}},
		{"POST", "/device_authorization", want{400, "oauth", "InvalidRequestException"}},
		// Only the exact paths: nothing below them is an operation.
		{"POST", "/client/register/x", want{404, "json", "UnknownOperationException"}},
		{"POST", "/client", want{404, "json", "UnknownOperationException"}},
		{"GET", "/token?aws_iam=t", want{405, "rest", "UnknownOperationException"}},
		{"POST", "/token?aws_iam=t", want{400, "rest", "MissingAuthenticationTokenException"}},
		{"GET", "/healthz", want{200, "open", "ok\n"}},
		{"POST", "/healthz", want{200, "open", "ok\n"}},
		{"GET", "/readyz", want{200, "open", "ready\n"}},
		{"POST", "/readyz", want{200, "open", "ready\n"}},
		{"GET", "/metrics", want{200, "open", "# HELP "}},
		{"POST", "/metrics", want{200, "open", "# HELP "}},
		{"GET", "/idp/.well-known/openid-configuration", want{200, "open", "{"}},
		{"GET", "/idp/jwks", want{200, "open", `{"keys":`}},
		// The built-in IdP is not an AWS API: plain HTTP refusals.
		{"POST", "/idp/.well-known/openid-configuration", want{405, "plain", ""}},
		{"POST", "/idp/jwks", want{405, "plain", ""}},
		{"GET", "/idp/token", want{404, "plain", ""}},
		{"POST", "/idp/token", want{404, "plain", ""}},
		{"GET", "/admin", want{404, "json", "UnknownOperationException"}},
		{"POST", "/admin", want{404, "json", "UnknownOperationException"}},
		{"GET", "/debug/pprof/", want{404, "json", "UnknownOperationException"}},
		{"POST", "/debug/pprof/", want{404, "json", "UnknownOperationException"}},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader("Action=GetCallerIdentity&Version=2011-06-15"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			secWantShape(t, testserver.Do(t, req), tc.want.status, tc.want.shape, tc.want.code, missing)
		})
	}
	// The one unsigned operation reaches its handler: an empty call is
	// refused for its missing members, not for its missing signature.
	t.Run("AssumeRoleWithWebIdentity", func(t *testing.T) {
		req, _ := http.NewRequest("POST", srv.URL+"/", strings.NewReader("Action=AssumeRoleWithWebIdentity&Version=2011-06-15"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp := testserver.Do(t, req)
		var e queryError
		if err := xml.Unmarshal(resp.Body, &e); err != nil || resp.Status != 400 || e.Error.Code != "ValidationError" ||
			!strings.Contains(e.Error.Message, "'roleArn' failed to satisfy constraint: Member must not be null") {
			t.Fatalf("unsigned AssumeRoleWithWebIdentity: %d %s", resp.Status, resp.Body)
		}
	})
	for _, target := range []string{"RedshiftServerless.ListWorkgroups", "RedshiftServerless.GetIdentityCenterAuthToken", "Idcgate.IssueTestToken"} {
		t.Run(target, func(t *testing.T) {
			req := srv.ServerlessRequest(t, "x", []byte(`{}`))
			req.Header.Set("X-Amz-Target", target)
			resp := testserver.Do(t, req)
			secWantShape(t, resp, 400, "json", "MissingAuthenticationTokenException", missing)
			if m := resp.JSON(t); m["message"] != missing {
				t.Fatalf("message %v", m["message"])
			}
		})
	}
}

// secWantShape checks one unsigned response: an open endpoint's content, or
// a refusal in its protocol's error shape with a request id.
func secWantShape(t *testing.T, resp *testserver.RawResponse, status int, shape, code, missing string) {
	t.Helper()
	if resp.Status != status {
		t.Fatalf("status %d, want %d: %.200s", resp.Status, status, resp.Body)
	}
	switch shape {
	case "open":
		if !strings.HasPrefix(string(resp.Body), code) {
			t.Fatalf("body %.100q, want it to start %q", resp.Body, code)
		}
		return
	case "plain":
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
			t.Fatalf("Content-Type %q", ct)
		}
		return
	case "oauth":
		if resp.Header.Get("X-Amzn-ErrorType") != code {
			t.Fatalf("X-Amzn-ErrorType %q, want %s", resp.Header.Get("X-Amzn-ErrorType"), code)
		}
		m := resp.JSON(t)
		if e, _ := m["error"].(string); e == "" || m["error_description"] == "" {
			t.Fatalf("no OAuth error and error_description: %s", resp.Body)
		}
	case "json", "rest":
		if resp.Header.Get("X-Amzn-ErrorType") != code {
			t.Fatalf("X-Amzn-ErrorType %q, want %s", resp.Header.Get("X-Amzn-ErrorType"), code)
		}
		m := resp.JSON(t)
		if msg, _ := m["message"].(string); msg == "" {
			t.Fatalf("no message: %s", resp.Body)
		}
		if shape == "json" && m["__type"] != code {
			t.Fatalf("__type %v, want %s", m["__type"], code)
		}
		if code == "MissingAuthenticationTokenException" && m["message"] != missing {
			t.Fatalf("message %v", m["message"])
		}
	case "query":
		var e queryError
		if err := xml.Unmarshal(resp.Body, &e); err != nil {
			t.Fatalf("not an awsQuery error: %v: %s", err, resp.Body)
		}
		if e.Error.Type != "Sender" || e.Error.Code != code || e.Error.Message != missing || e.RequestID == "" {
			t.Fatalf("awsQuery error %+v", e)
		}
	default:
		t.Fatalf("unknown shape %q", shape)
	}
	if resp.Header.Get("x-amzn-RequestId") == "" {
		t.Fatal("no request id")
	}
}

// TestSecretsStayPrivate: file modes, and no secret in logs.
func TestSecretsStayPrivate(t *testing.T) {
	t.Parallel()
	p := testserver.StartProcess(t, testserver.Options{Env: map[string]string{masterkey.EnvVar: fixedMasterKey}})
	alice := p.IdentitySession(t, "alice", testserver.AnalystRoleArn)
	tok := mustToken(t, p.Server, alice, "demo")
	p.Serverless(p.Admin).CreateNamespace(context.Background(), &redshiftserverless.CreateNamespaceInput{
		NamespaceName: aws.String("secretive"), AdminUsername: aws.String("admin"), AdminUserPassword: aws.String("Sup3rSecretPassw0rd")})
	if fi, _ := os.Stat(p.DataDir); fi.Mode().Perm() != 0o700 {
		t.Fatalf("data dir %v", fi.Mode().Perm())
	}
	for _, f := range []string{"credentials", "idcgate.db", "gateway-tls.key", "audit.log"} {
		fi, err := os.Stat(filepath.Join(p.DataDir, f))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", f, fi.Mode().Perm(), err)
		}
	}
	// The process's output reaches Logs through a pipe and a copying
	// goroutine: wait for the request lines before reading them all.
	eventually(t, 10*time.Second, "request log lines captured", func() (bool, error) {
		return strings.Contains(p.Logs(), "request_id="), nil
	})
	logs := p.Logs()
	for name, s := range map[string]string{"admin secret": p.Admin.SecretAccessKey, "app secret": testserver.AppSecretKey, "session secret": alice.SecretAccessKey,
		"session token": alice.SessionToken[:32], "auth token": aws.ToString(tok.Token)[:32], "password": "Sup3rSecretPassw0rd", "master key": fixedMasterKey} {
		if strings.Contains(logs, s) {
			t.Errorf("%s appears in the logs", name)
		}
	}
}
