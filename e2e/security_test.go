package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/redshiftserverless"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/masterkey"
	"github.com/idcgate/idcgate/internal/serverless"
	"github.com/idcgate/idcgate/internal/testserver"
)

// TestReplayAfterFifteenMinutes: a captured signed request works once in
// its window and is refused when replayed 16 minutes later.
func TestReplayAfterFifteenMinutes(t *testing.T) {
	var mu sync.Mutex
	offset := time.Duration(0)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return time.Now().Add(offset) }
	srv := testserver.Start(t, testserver.Options{Now: now})
	body := []byte(`{"workgroupName":"demo"}`)
	req := srv.ServerlessRequest(t, "GetWorkgroup", body)
	testserver.Sign(t, req, body, srv.Admin, "redshift-serverless", "us-east-1", time.Now())
	if r := testserver.Do(t, req); r.Status != 200 {
		t.Fatalf("first use: %d %s", r.Status, r.Body)
	}
	mu.Lock()
	offset = 16 * time.Minute
	mu.Unlock()
	replay := srv.ServerlessRequest(t, "GetWorkgroup", body)
	replay.Header = req.Header.Clone()
	r := testserver.Do(t, replay)
	if r.Status != 400 || r.JSON(t)["__type"] != "InvalidSignatureException" || !strings.HasPrefix(r.JSON(t)["message"].(string), "Signature expired") {
		t.Fatalf("replay: %d %s", r.Status, r.Body)
	}
}

// TestCrossAccountTokenRefused: a token of account A does not open account
// B's workgroup, whatever the client claims.
func TestCrossAccountTokenRefused(t *testing.T) {
	srv, _ := gatewayWorld(t, func(c *config.Config) {
		c.Accounts = append(c.Accounts, config.Account{
			ID:                      "210987654321",
			RedshiftIdcApplications: []config.RedshiftIdcApplication{{Name: "b-idc", IdentityNamespace: "AWSIDC", IdcInstanceArn: c.IdentityCenter.InstanceArn}},
			Namespaces:              []config.Namespace{{Name: "bns", RedshiftIdcApplication: "b-idc"}},
			Workgroups:              []config.Workgroup{{Name: "bwg", Namespace: "bns", BaseCapacity: 8}},
		})
	})
	tok := tokenFor(t, srv, "alice", "demo")
	host, port, _ := net.SplitHostPort(srv.PGAddr())
	cfg, _ := pgx.ParseConfig(fmt.Sprintf("host=%s port=%s user=alice dbname=dev sslmode=require password=%s", host, port, tok))
	cfg.TLSConfig.ServerName = "bwg.210987654321.us-east-1.redshift-serverless.amazonaws.com"
	_, err := pgx.ConnectConfig(context.Background(), cfg)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "28P01" {
		t.Fatalf("account A's token on account B's workgroup: %v", err)
	}
	if _, _, err := srv.Instance.Issuer.Open(context.Background(), scopeB, "bwg", tok); err == nil {
		t.Fatal("account B's key opened account A's token")
	}
}

var scopeB = serverless.Scope{Account: "210987654321", Region: "us-east-1"}

// TestRoleChainingKeepsContext: a chained session keeps the Identity Center
// user; it cannot shed it to act as a plain role.
func TestRoleChainingKeepsContext(t *testing.T) {
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

// TestNothingWithoutSigV4: only health, metrics and the IdP's public
// documents answer without a signature.
func TestNothingWithoutSigV4(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	open := map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true, "/idp/.well-known/openid-configuration": true, "/idp/jwks": true}
	paths := []string{"/", "/token", "/token?aws_iam=t", "/healthz", "/readyz", "/metrics", "/idp/.well-known/openid-configuration", "/idp/jwks",
		"/idp/token", "/?Action=GetCallerIdentity&Version=2011-06-15", "/admin", "/debug/pprof/"}
	for _, p := range paths {
		for _, m := range []string{http.MethodGet, http.MethodPost} {
			req, _ := http.NewRequest(m, srv.URL+p, strings.NewReader("Action=GetCallerIdentity&Version=2011-06-15"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r := testserver.Do(t, req)
			ok := r.Status == 200
			if ok && !(open[strings.SplitN(p, "?", 2)[0]] && (m == http.MethodGet || !strings.HasPrefix(p, "/idp"))) {
				t.Errorf("%s %s answered 200 without a signature: %.200s", m, p, r.Body)
			}
		}
	}
	for _, target := range []string{"RedshiftServerless.ListWorkgroups", "Idcgate.IssueTestToken"} {
		req := srv.ServerlessRequest(t, "x", []byte(`{}`))
		req.Header.Set("X-Amz-Target", target)
		if r := testserver.Do(t, req); r.Status == 200 {
			t.Errorf("%s without a signature: %s", target, r.Body)
		}
	}
}

// TestSecretsStayPrivate: file modes, and no secret in logs.
func TestSecretsStayPrivate(t *testing.T) {
	p := testserver.StartProcess(t, testserver.Options{Env: map[string]string{masterkey.EnvVar: fixedMasterKey}})
	alice := p.IdentitySession(t, "alice", testserver.AnalystRoleArn)
	tok, err := getToken(t, p.Server, alice, "demo")
	if err != nil {
		t.Fatal(err)
	}
	p.Serverless(p.Admin).CreateNamespace(context.Background(), &redshiftserverless.CreateNamespaceInput{
		NamespaceName: aws.String("secretive"), AdminUsername: aws.String("admin"), AdminUserPassword: aws.String("Sup3rSecretPassw0rd")})
	if fi, _ := os.Stat(p.DataDir); fi.Mode().Perm() != 0o700 {
		t.Fatalf("data dir %v", fi.Mode().Perm())
	}
	for _, f := range []string{"credentials", "idcgate.db", "idp-signing-key.pem", "gateway-tls.key", "audit.log"} {
		fi, err := os.Stat(filepath.Join(p.DataDir, f))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", f, fi.Mode().Perm(), err)
		}
	}
	logs := p.Logs()
	for name, s := range map[string]string{"admin secret": p.Admin.SecretAccessKey, "app secret": testserver.AppSecretKey, "session secret": alice.SecretAccessKey,
		"session token": alice.SessionToken[:32], "auth token": aws.ToString(tok.Token)[:32], "password": "Sup3rSecretPassw0rd", "master key": fixedMasterKey} {
		if strings.Contains(logs, s) {
			t.Errorf("%s appears in the logs", name)
		}
	}
	if !strings.Contains(logs, "request_id=") {
		t.Fatal("no request log lines captured")
	}
}
