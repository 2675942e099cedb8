package e2e

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/redshiftserverless"
	rstypes "github.com/aws/aws-sdk-go-v2/service/redshiftserverless/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/idcgate/idcgate/internal/authtoken"
	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/keyring"
	"github.com/idcgate/idcgate/internal/masterkey"
	"github.com/idcgate/idcgate/internal/serverless"
	"github.com/idcgate/idcgate/internal/testserver"
)

var scope = serverless.Scope{Account: "123456789012", Region: "us-east-1"}

// tokenWorld seeds extra workgroups: wg-two and wg-three with Identity
// Center, wg-plain without, namespace "four" free for a CREATING workgroup,
// (the role that denies wg-two explicitly is TestExplicitDenyOnOneOfTwo's).
func tokenWorld(extra func(*config.Config)) func(*config.Config) {
	return func(c *config.Config) {
		a := &c.Accounts[0]
		a.Namespaces = append(a.Namespaces,
			config.Namespace{Name: "two", RedshiftIdcApplication: "demo-idc"},
			config.Namespace{Name: "three", RedshiftIdcApplication: "demo-idc"},
			config.Namespace{Name: "four", RedshiftIdcApplication: "demo-idc"},
			config.Namespace{Name: "plain"})
		a.Workgroups = append(a.Workgroups,
			config.Workgroup{Name: "wg-two", Namespace: "two", BaseCapacity: 8},
			config.Workgroup{Name: "wg-three", Namespace: "three", BaseCapacity: 8},
			config.Workgroup{Name: "wg-plain", Namespace: "plain", BaseCapacity: 8})
		c.Serverless.TransitionDelay = &config.Duration{Duration: time.Hour}
		if extra != nil {
			extra(c)
		}
	}
}

func getToken(t *testing.T, srv *testserver.Server, creds aws.Credentials, names ...string) (*redshiftserverless.GetIdentityCenterAuthTokenOutput, error) {
	t.Helper()
	return srv.Serverless(creds).GetIdentityCenterAuthToken(context.Background(), &redshiftserverless.GetIdentityCenterAuthTokenInput{WorkgroupNames: names})
}

// mustToken is getToken for a call the test needs to succeed.
func mustToken(t *testing.T, srv *testserver.Server, creds aws.Credentials, names ...string) *redshiftserverless.GetIdentityCenterAuthTokenOutput {
	t.Helper()
	out, err := getToken(t, srv, creds, names...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestGetIdentityCenterAuthToken(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{Env: map[string]string{masterkey.EnvVar: fixedMasterKey}, Edit: tokenWorld(nil)})
	ctx := context.Background()
	alice := srv.IdentitySession(t, "alice", testserver.AnalystRoleArn)
	iss := srv.Instance.Issuer

	out := mustToken(t, srv, alice, "demo")
	tok := aws.ToString(out.Token)
	_, c, err := iss.Open(ctx, scope, "demo", tok)
	if err != nil {
		t.Fatal(err)
	}
	if c.UserID != userID(t, "alice") || c.UserName != "alice" || fmt.Sprint(c.Groups) != "[analysts]" ||
		c.InstanceArn != "arn:aws:sso:::instance/ssoins-7223a1b2c3d4e5f6" || c.Workgroups[0].IdentityNamespace != "AWSIDC" ||
		c.RoleSessionArn != "arn:aws:sts::123456789012:assumed-role/analyst/alice" {
		t.Fatalf("claims %+v", c)
	}
	if out.ExpirationTime == nil || !out.ExpirationTime.Equal(c.Expires) {
		t.Fatalf("expirationTime %v, sealed %v", out.ExpirationTime, c.Expires)
	}
	if d := time.Until(c.Expires); d < 55*time.Minute || d > time.Hour+time.Minute {
		t.Fatalf("expires in %s", d)
	}
	if _, _, err := iss.Open(ctx, scope, "wg-two", tok); !errors.Is(err, authtoken.ErrForeignWorkgroup) {
		t.Fatalf("opened with another workgroup's key: %v", err)
	}
	for _, r := range []byte(tok) {
		if r < 0x21 || r > 0x7e {
			t.Fatal("token is not printable ASCII")
		}
	}

	many := mustToken(t, srv, alice, "demo", "wg-two", "wg-three", "demo")
	for _, wg := range []string{"demo", "wg-two", "wg-three"} {
		_, c, err := iss.Open(ctx, scope, wg, aws.ToString(many.Token))
		if err != nil || len(c.Workgroups) != 3 {
			t.Fatalf("%s: %v (%d workgroups; duplicates must count once)", wg, err, len(c.Workgroups))
		}
	}
	if _, _, err := iss.Open(ctx, scope, "wg-plain", aws.ToString(many.Token)); !errors.Is(err, authtoken.ErrForeignWorkgroup) {
		t.Fatalf("wg-plain: %v", err)
	}

	// The raw wire form: ISO-8601 string.
	raw := srv.CallServerless(t, alice, "GetIdentityCenterAuthToken", []byte(`{"workgroupNames":["demo"],"extra":1}`))
	m := raw.JSON(t)
	if raw.Status != 200 || !strings.HasSuffix(m["expirationTime"].(string), "Z") {
		t.Fatalf("%d %s", raw.Status, raw.Body)
	}

	// Administrators inspect tokens through the server.
	ins := srv.CallAdmin(t, srv.Admin, "InspectToken", []byte(`{"token":"`+tok+`"}`))
	im := ins.JSON(t)
	if ins.Status != 200 || im["valid"] != true || im["claims"].(map[string]any)["userName"] != "alice" {
		t.Fatalf("inspect %d %s", ins.Status, ins.Body)
	}
}

func TestGetIdentityCenterAuthTokenChecks(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{Env: map[string]string{masterkey.EnvVar: fixedMasterKey}, Edit: tokenWorld(nil)})
	ctx := context.Background()
	alice := srv.IdentitySession(t, "alice", testserver.AnalystRoleArn)
	if _, err := srv.Serverless(srv.Admin).CreateWorkgroup(ctx, &redshiftserverless.CreateWorkgroupInput{
		WorkgroupName: aws.String("wg-creating"), NamespaceName: aws.String("four"), BaseCapacity: aws.Int32(8)}); err != nil {
		t.Fatal(err)
	}
	names21 := make([]string, 21)
	for i := range names21 {
		names21[i] = fmt.Sprintf("wg-%02d", i)
	}
	const vPrefix = "1 validation error detected: "
	cases := []struct {
		name   string
		err    func() error
		code   string
		status int
		msg    string
	}{
		{"no names", func() error { return rawCall(t, srv, alice, `{"workgroupNames":[]}`) }, "ValidationException", 400,
			vPrefix + "Value '[]' at 'workgroupNames' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"21 names", func() error { _, err := getToken(t, srv, alice, names21...); return err }, "ValidationException", 400,
			vPrefix + "Value '[" + strings.Join(names21, ", ") + "]' at 'workgroupNames' failed to satisfy constraint: Member must have length less than or equal to 20"},
		{"2 characters", func() error { _, err := getToken(t, srv, alice, "ab"); return err }, "ValidationException", 400,
			vPrefix + "Value 'ab' at 'workgroupNames.1.member' failed to satisfy constraint: Member must have length greater than or equal to 3"},
		{"65 characters", func() error { _, err := getToken(t, srv, alice, "demo", strings.Repeat("a", 65)); return err }, "ValidationException", 400,
			vPrefix + "Value '" + strings.Repeat("a", 65) + "' at 'workgroupNames.2.member' failed to satisfy constraint: Member must have length less than or equal to 64"},
		{"upper case", func() error { _, err := getToken(t, srv, alice, "Demo"); return err }, "ValidationException", 400,
			vPrefix + "Value 'Demo' at 'workgroupNames.1.member' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-z0-9-]+"},
		{"underscore", func() error { _, err := getToken(t, srv, alice, "de_mo"); return err }, "ValidationException", 400,
			vPrefix + "Value 'de_mo' at 'workgroupNames.1.member' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-z0-9-]+"},
		{"missing member", func() error { return rawCall(t, srv, alice, `{"workgroupName":"demo"}`) }, "ValidationException", 400,
			vPrefix + "Value null at 'workgroupNames' failed to satisfy constraint: Member must not be null"},
		{"wrong type", func() error { return rawCall(t, srv, alice, `{"workgroupNames":"demo"}`) }, "ValidationException", 400,
			vPrefix + "Value '\"demo\"' at 'workgroupNames' failed to satisfy constraint: Member must be a list of strings"},
		{"unknown workgroup", func() error {
			_, err := getToken(t, srv, alice, "demo", "nowhere", "nowhere-else")
			var rnf *rstypes.ResourceNotFoundException
			if errors.As(err, &rnf) && aws.ToString(rnf.ResourceName) != "nowhere" {
				return fmt.Errorf("resourceName %q", aws.ToString(rnf.ResourceName))
			}
			return err
		}, "ResourceNotFoundException", 400, "Workgroup nowhere not found."},
		{"role no-redshift", func() error {
			_, err := getToken(t, srv, srv.IdentitySession(t, "alice", testserver.NoRedshiftRole), "demo")
			return err
		}, "AccessDeniedException", 400, "User: arn:aws:sts::123456789012:assumed-role/no-redshift/alice is not authorized to perform: redshift-serverless:GetIdentityCenterAuthToken on resource: " + workgroupARN(t, srv, "demo") + " because no identity-based policy allows the redshift-serverless:GetIdentityCenterAuthToken action"},
		{"administrator credentials", func() error { _, err := getToken(t, srv, srv.Admin, "demo"); return err }, "AccessDeniedException", 400,
			"User: arn:aws:iam::123456789012:root is not authorized to perform: redshift-serverless:GetIdentityCenterAuthToken because the session is not identity-enhanced: use credentials from sts:AssumeRole with an IAM Identity Center context in ProvidedContexts"},
		{"role session without context", func() error {
			ar, err := srv.STS(srv.App).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(testserver.AnalystRoleArn), RoleSessionName: aws.String("plain")})
			if err != nil {
				return err
			}
			_, err = getToken(t, srv, aws.Credentials{AccessKeyID: aws.ToString(ar.Credentials.AccessKeyId), SecretAccessKey: aws.ToString(ar.Credentials.SecretAccessKey), SessionToken: aws.ToString(ar.Credentials.SessionToken)}, "demo")
			return err
		}, "AccessDeniedException", 400,
			"User: arn:aws:sts::123456789012:assumed-role/analyst/plain is not authorized to perform: redshift-serverless:GetIdentityCenterAuthToken because the session is not identity-enhanced: use credentials from sts:AssumeRole with an IAM Identity Center context in ProvidedContexts"},
		{"workgroup still creating", func() error { _, err := getToken(t, srv, alice, "demo", "wg-creating"); return err }, "ConflictException", 400,
			"Workgroup wg-creating is CREATING; it must be AVAILABLE to issue an Identity Center token."},
		{"namespace without Identity Center", func() error { _, err := getToken(t, srv, alice, "wg-plain"); return err }, "ValidationException", 400,
			"Workgroup wg-plain does not have Identity Center integration enabled: its namespace plain has no Redshift IdC application."},
		{"dry run", func() error {
			req := srv.ServerlessRequest(t, "GetIdentityCenterAuthToken", []byte(`{"workgroupNames":["demo"]}`))
			req.Header.Set("X-Idcgate-Dry-Run", "true")
			testserver.Sign(t, req, []byte(`{"workgroupNames":["demo"]}`), alice, "redshift-serverless", "us-east-1", time.Now())
			return &rawAPIError{resp: testserver.Do(t, req), t: t}
		}, "DryRunException", 400, "Request would have succeeded, but the DryRun flag is set."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { wantAPIError(t, tc.err(), tc.code, tc.status, tc.msg) })
	}
}

func rawCall(t *testing.T, srv *testserver.Server, creds aws.Credentials, body string) error {
	resp := srv.CallServerless(t, creds, "GetIdentityCenterAuthToken", []byte(body))
	if resp.Status == 200 {
		return nil
	}
	return &rawAPIError{resp: resp, t: t}
}

// TestUserRemovedAfterLogin: carol logs in, is removed from the directory,
// the server restarts; her session is still valid but gets no token.
func TestUserRemovedAfterLogin(t *testing.T) {
	t.Parallel()
	env := map[string]string{masterkey.EnvVar: fixedMasterKey}
	dir := t.TempDir() + "/data"
	srv := testserver.Start(t, testserver.Options{Env: env, DataDir: dir})
	carol := srv.IdentitySession(t, "carol", testserver.AnalystRoleArn)
	mustToken(t, srv, carol, "demo")
	srv.Stop()
	srv = testserver.Start(t, testserver.Options{Env: env, DataDir: dir, Edit: withoutCarol})
	_, err := getToken(t, srv, carol, "demo")
	wantAPIError(t, err, "AccessDeniedException", 400, carolGone(t))
}

// withoutCarol removes carol from the example's directory, and the
// example application's user assignments with her.
func withoutCarol(c *config.Config) {
	users := c.IdentityCenter.Users[:0]
	for _, u := range c.IdentityCenter.Users {
		if u.UserName != "carol" {
			users = append(users, u)
		}
	}
	c.IdentityCenter.Users = users
	c.IdentityCenter.Applications[0].Assignments.Users = nil
}

// carolGone is the refusal of carol's analyst session's token once she has
// left the directory.
func carolGone(t *testing.T) string {
	t.Helper()
	return "User: arn:aws:sts::123456789012:assumed-role/analyst/carol is not authorized to perform: redshift-serverless:GetIdentityCenterAuthToken because the Identity Center user " + userID(t, "carol") + " no longer exists in identity store d-9067a1b2c3"
}

func TestKeyRotation(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{Edit: tokenWorld(nil)})
	ctx := context.Background()
	alice := srv.IdentitySession(t, "alice", testserver.AnalystRoleArn)
	iss := srv.Instance.Issuer
	old := mustToken(t, srv, alice, "demo")
	rot := srv.CallAdmin(t, srv.Admin, "RotateWorkgroupKey", []byte(`{"workgroupName":"demo"}`))
	if rot.Status != 200 || rot.JSON(t)["latestVersion"].(float64) != 2 {
		t.Fatalf("rotate %d %s", rot.Status, rot.Body)
	}
	if _, _, err := iss.Open(ctx, scope, "demo", aws.ToString(old.Token)); err != nil {
		t.Fatalf("old token after rotation: %v", err)
	}
	fresh := mustToken(t, srv, alice, "demo")
	h, _, _, _ := authtoken.ParseHeader(aws.ToString(fresh.Token))
	if h.Keys[0].KeyVersion != 2 {
		t.Fatalf("new token key version %d", h.Keys[0].KeyVersion)
	}
	ret := srv.CallAdmin(t, srv.Admin, "RetireWorkgroupKeys", []byte(`{"workgroupName":"demo","minVersion":2}`))
	if ret.Status != 200 {
		t.Fatalf("retire %d %s", ret.Status, ret.Body)
	}
	if _, _, err := iss.Open(ctx, scope, "demo", aws.ToString(old.Token)); !errors.Is(err, authtoken.ErrKeyUnavailable) {
		t.Fatalf("old token after retirement: %v", err)
	}
	if _, _, err := iss.Open(ctx, scope, "demo", aws.ToString(fresh.Token)); err != nil {
		t.Fatalf("new token after retirement: %v", err)
	}
	// Only administrators manage keys.
	if r := srv.CallAdmin(t, srv.App, "RotateWorkgroupKey", []byte(`{"workgroupName":"demo"}`)); r.Status != 400 || r.JSON(t)["__type"] != "AccessDeniedException" {
		t.Fatalf("app rotated keys: %d %s", r.Status, r.Body)
	}

	// Deleting a workgroup destroys its keys.
	two := mustToken(t, srv, alice, "wg-two")
	wg, _ := srv.Instance.Issuer.Serverless.GetWorkgroup(ctx, scope, "wg-two")
	if _, err := srv.Serverless(srv.Admin).DeleteWorkgroup(ctx, &redshiftserverless.DeleteWorkgroupInput{WorkgroupName: aws.String("wg-two")}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Instance.Keys.Key(ctx, keyring.ID{Account: scope.Account, Region: scope.Region, WorkgroupID: wg.WorkgroupId}, 1); !errors.Is(err, keyring.ErrNoKeyring) {
		t.Fatalf("keys of a deleted workgroup: %v", err)
	}
	// Its token no longer opens, though the workgroup is still DELETING.
	if _, _, err := iss.Open(ctx, scope, "wg-two", aws.ToString(two.Token)); !errors.Is(err, authtoken.ErrKeyUnavailable) || !errors.Is(err, keyring.ErrNoKeyring) {
		t.Fatalf("token of a deleted workgroup: %v", err)
	}
	// Rotating does not bring the keys back (TestDeletedWorkgroupKeys has
	// every key operation and the gateway).
	rot = srv.CallAdmin(t, srv.Admin, "RotateWorkgroupKey", []byte(`{"workgroupName":"wg-two"}`))
	wantAPIError(t, &rawAPIError{resp: rot, t: t}, "ConflictException", 400, "Workgroup wg-two is currently DELETING; its keys were destroyed when its deletion began.")
	if _, err := srv.Instance.Keys.Key(ctx, keyring.ID{Account: scope.Account, Region: scope.Region, WorkgroupID: wg.WorkgroupId}, 1); !errors.Is(err, keyring.ErrNoKeyring) {
		t.Fatalf("keys came back after a rotation: %v", err)
	}
}

// TestTokenExpiry: min(now + TTL, session expiry).
func TestTokenExpiry(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{Edit: func(c *config.Config) { c.Tokens.TTL = &config.Duration{Duration: 5 * time.Minute} }})
	alice := srv.IdentitySession(t, "alice", testserver.AnalystRoleArn)
	out := mustToken(t, srv, alice, "demo")
	if d := time.Until(aws.ToTime(out.ExpirationTime)); d < 4*time.Minute || d > 5*time.Minute+time.Second {
		t.Fatalf("TTL 5m: expires in %s", d)
	}

	srv2 := testserver.Start(t, testserver.Options{})
	assertion := srv2.IdentityContext(t, "alice")
	ar, err := srv2.STS(srv2.App).AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn: aws.String(testserver.AnalystRoleArn), RoleSessionName: aws.String("short"), DurationSeconds: aws.Int32(900),
		ProvidedContexts: []ststypes.ProvidedContext{{ProviderArn: aws.String(testserver.ContextProvider), ContextAssertion: aws.String(assertion)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	short := aws.Credentials{AccessKeyID: aws.ToString(ar.Credentials.AccessKeyId), SecretAccessKey: aws.ToString(ar.Credentials.SecretAccessKey), SessionToken: aws.ToString(ar.Credentials.SessionToken)}
	out = mustToken(t, srv2, short, "demo")
	if !aws.ToTime(out.ExpirationTime).Equal(aws.ToTime(ar.Credentials.Expiration)) {
		t.Fatalf("token expires %v, session %v", out.ExpirationTime, ar.Credentials.Expiration)
	}
}

// TestExplicitDenyOnOneOfTwo: a role allowed everything but denied on wg-two
// gets no token for [demo, wg-two], with AWS's explicit-deny message.
func TestExplicitDenyOnOneOfTwo(t *testing.T) {
	t.Parallel()
	env := map[string]string{masterkey.EnvVar: fixedMasterKey}
	dir := t.TempDir() + "/data"
	srv := testserver.Start(t, testserver.Options{Env: env, DataDir: dir, Edit: tokenWorld(nil)})
	twoArn := workgroupARN(t, srv, "wg-two")
	srv.Stop()
	srv = testserver.Start(t, testserver.Options{Env: env, DataDir: dir, Edit: tokenWorld(func(c *config.Config) {
		a := &c.Accounts[0]
		a.Roles = append(a.Roles, config.Role{
			Name: "deny-two", MaxSessionDuration: &config.Duration{Duration: time.Hour}, TrustPolicy: a.Roles[0].TrustPolicy,
			Policies: []config.Policy{{Name: "p", Document: config.Document{JSON: []byte(`{"Version":"2012-10-17","Statement":[
				{"Effect":"Allow","Action":"redshift-serverless:*","Resource":"*"},
				{"Effect":"Deny","Action":"redshift-serverless:GetIdentityCenterAuthToken","Resource":"` + twoArn + `"}]}`)}}},
		})
	})})
	s := srv.IdentitySession(t, "alice", "arn:aws:iam::123456789012:role/deny-two")
	if _, err := getToken(t, srv, s, "demo"); err != nil {
		t.Fatalf("demo alone: %v", err)
	}
	_, err := getToken(t, srv, s, "demo", "wg-two")
	wantAPIError(t, err, "AccessDeniedException", 400, "User: arn:aws:sts::123456789012:assumed-role/deny-two/alice is not authorized to perform: redshift-serverless:GetIdentityCenterAuthToken on resource: "+twoArn+" with an explicit deny in an identity-based policy")
}
