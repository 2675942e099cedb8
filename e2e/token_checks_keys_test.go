package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/redshift"
	"github.com/aws/aws-sdk-go-v2/service/redshiftserverless"
	rstypes "github.com/aws/aws-sdk-go-v2/service/redshiftserverless/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/idcgate/idcgate/internal/authtoken"
	"github.com/idcgate/idcgate/internal/clock"
	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/keyring"
	"github.com/idcgate/idcgate/internal/masterkey"
	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/testserver"
)

const (
	atmInstance      = "arn:aws:sso:::instance/ssoins-7223a1b2c3d4e5f6"
	atmOtherInstance = "arn:aws:sso:::instance/ssoins-00000000000000aa"
	atmNotEnhanced   = " is not authorized to perform: redshift-serverless:GetIdentityCenterAuthToken because the session is not identity-enhanced: use credentials from sts:AssumeRole with an IAM Identity Center context in ProvidedContexts"
)

// atmWorld is tokenWorld plus a role that denies GetIdentityCenterAuthToken
// everywhere, and namespace atm-gone / workgroup atm-gone-wg on their own
// Redshift IdC application (atm-gone-idc), for deleting it.
func atmWorld(extra func(*config.Config)) func(*config.Config) {
	return tokenWorld(func(c *config.Config) {
		a := &c.Accounts[0]
		a.Roles = append(a.Roles, config.Role{
			Name: "atm-deny-all", MaxSessionDuration: &config.Duration{Duration: time.Hour}, TrustPolicy: a.Roles[0].TrustPolicy,
			Policies: []config.Policy{{Name: "p", Document: config.Document{JSON: []byte(`{"Version":"2012-10-17","Statement":[
				{"Effect":"Allow","Action":"redshift-serverless:*","Resource":"*"},
				{"Effect":"Deny","Action":"redshift-serverless:GetIdentityCenterAuthToken","Resource":"*"}]}`)}}},
		})
		a.RedshiftIdcApplications = append(a.RedshiftIdcApplications, config.RedshiftIdcApplication{
			Name: "atm-gone-idc", IdentityNamespace: "AWSIDC", IdcInstanceArn: c.IdentityCenter.InstanceArn})
		a.Namespaces = append(a.Namespaces, config.Namespace{Name: "atm-gone", RedshiftIdcApplication: "atm-gone-idc"})
		a.Workgroups = append(a.Workgroups, config.Workgroup{Name: "atm-gone-wg", Namespace: "atm-gone", BaseCapacity: 8})
		if extra != nil {
			extra(c)
		}
	})
}

// atmPlainSession is a role session without an identity context.
func atmPlainSession(t *testing.T, srv *testserver.Server, roleArn string) aws.Credentials {
	t.Helper()
	ar, err := srv.STS(srv.App).AssumeRole(context.Background(), &sts.AssumeRoleInput{RoleArn: aws.String(roleArn), RoleSessionName: aws.String("plain")})
	if err != nil {
		t.Fatal(err)
	}
	return aws.Credentials{AccessKeyID: aws.ToString(ar.Credentials.AccessKeyId), SecretAccessKey: aws.ToString(ar.Credentials.SecretAccessKey), SessionToken: aws.ToString(ar.Credentials.SessionToken)}
}

func atmSetFaults(t *testing.T, srv *testserver.Server, rules string) {
	t.Helper()
	if r := srv.CallAdmin(t, srv.Admin, "SetFaults", []byte(`{"rules":`+rules+`}`)); r.Status != 200 {
		t.Fatalf("SetFaults: %d %s", r.Status, r.Body)
	}
}

func atmDryRun(t *testing.T, srv *testserver.Server, creds aws.Credentials, body string) error {
	req := srv.ServerlessRequest(t, "GetIdentityCenterAuthToken", []byte(body))
	req.Header.Set("X-Idcgate-Dry-Run", "true")
	testserver.Sign(t, req, []byte(body), creds, "redshift-serverless", "us-east-1", time.Now())
	return &rawAPIError{resp: testserver.Do(t, req), t: t}
}

type atmCase struct {
	name   string
	err    func() error
	code   string
	status int
	msg    string
}

func atmRun(t *testing.T, cases []atmCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.msg == "" {
				t.Fatal("every case asserts its message")
			}
			wantAPIError(t, tc.err(), tc.code, tc.status, tc.msg)
		})
	}
}

// TestTokenCheckOrder proves BEHAVIOUR 4.2's order with requests that fail two
// checks at once: each gets the earlier check's error.
func TestTokenCheckOrder(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{Env: map[string]string{masterkey.EnvVar: fixedMasterKey}, Edit: atmWorld(nil)})
	ctx := context.Background()
	if _, err := srv.Serverless(srv.Admin).CreateWorkgroup(ctx, &redshiftserverless.CreateWorkgroupInput{
		WorkgroupName: aws.String("wg-creating"), NamespaceName: aws.String("four"), BaseCapacity: aws.Int32(8)}); err != nil {
		t.Fatal(err)
	}
	alice := srv.IdentitySession(t, "alice", testserver.AnalystRoleArn)
	noRS := srv.IdentitySession(t, "alice", testserver.NoRedshiftRole)
	deny := srv.IdentitySession(t, "alice", "arn:aws:iam::123456789012:role/atm-deny-all")
	plainNoRS := atmPlainSession(t, srv, testserver.NoRedshiftRole)
	plainAnalyst := atmPlainSession(t, srv, testserver.AnalystRoleArn)
	demoArn, creatingArn := workgroupARN(t, srv, "demo"), workgroupARN(t, srv, "wg-creating")
	get := func(creds aws.Credentials, names ...string) func() error {
		return func() error { _, err := getToken(t, srv, creds, names...); return err }
	}
	const v = "1 validation error detected: "
	notAllowed := func(who, arn string) string {
		return "User: " + who + " is not authorized to perform: redshift-serverless:GetIdentityCenterAuthToken on resource: " + arn +
			" because no identity-based policy allows the redshift-serverless:GetIdentityCenterAuthToken action"
	}
	const creating = "Workgroup wg-creating is CREATING; it must be AVAILABLE to issue an Identity Center token."
	const plainNoIdc = "Workgroup wg-plain does not have Identity Center integration enabled: its namespace plain has no Redshift IdC application."

	atmRun(t, []atmCase{
		{"3 input before 4 existence", get(alice, "nowhere", "Bad_Name"), "ValidationException", 400,
			v + "Value 'Bad_Name' at 'workgroupNames.2.member' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-z0-9-]+"},
		{"3 input before 5 IAM", func() error { return rawCall(t, srv, noRS, `{"workgroupNames":[]}`) }, "ValidationException", 400,
			v + "Value '[]' at 'workgroupNames' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"4 existence before 5 IAM (role no-redshift, unknown name)", func() error {
			_, err := getToken(t, srv, noRS, "demo", "nowhere")
			var rnf *rstypes.ResourceNotFoundException
			if errors.As(err, &rnf) && aws.ToString(rnf.ResourceName) != "nowhere" {
				return fmt.Errorf("resourceName %q", aws.ToString(rnf.ResourceName))
			}
			return err
		}, "ResourceNotFoundException", 400, "Workgroup nowhere not found."},
		{"4 existence before 7 state", get(alice, "wg-creating", "nowhere"), "ResourceNotFoundException", 400, "Workgroup nowhere not found."},
		{"5 IAM before 6 identity-enhanced", get(plainNoRS, "demo"), "AccessDeniedException", 400,
			notAllowed("arn:aws:sts::123456789012:assumed-role/no-redshift/plain", demoArn)},
		{"5 explicit deny before 7 state", get(deny, "wg-creating"), "AccessDeniedException", 400,
			"User: arn:aws:sts::123456789012:assumed-role/atm-deny-all/alice is not authorized to perform: redshift-serverless:GetIdentityCenterAuthToken on resource: " + creatingArn + " with an explicit deny in an identity-based policy"},
		{"5 IAM before 8 Identity Center", get(noRS, "wg-plain"), "AccessDeniedException", 400,
			notAllowed("arn:aws:sts::123456789012:assumed-role/no-redshift/alice", workgroupARN(t, srv, "wg-plain"))},
		{"6 administrator before 7 state", get(srv.Admin, "wg-creating"), "AccessDeniedException", 400, "User: arn:aws:iam::123456789012:root" + atmNotEnhanced},
		{"6 role session without context before 7 state", get(plainAnalyst, "wg-creating"), "AccessDeniedException", 400,
			"User: arn:aws:sts::123456789012:assumed-role/analyst/plain" + atmNotEnhanced},
		{"6 administrator before 8 Identity Center", get(srv.Admin, "wg-plain"), "AccessDeniedException", 400, "User: arn:aws:iam::123456789012:root" + atmNotEnhanced},
		{"7 state before 8 Identity Center (CREATING and no Identity Center)", get(alice, "wg-plain", "wg-creating"), "ConflictException", 400, creating},
		{"8 Identity Center, application deleted", func() error {
			rs := srv.Redshift(srv.Admin)
			list, err := rs.DescribeRedshiftIdcApplications(ctx, &redshift.DescribeRedshiftIdcApplicationsInput{})
			if err != nil {
				return err
			}
			for _, a := range list.RedshiftIdcApplications {
				if aws.ToString(a.RedshiftIdcApplicationName) == "atm-gone-idc" {
					if _, err := rs.DeleteRedshiftIdcApplication(ctx, &redshift.DeleteRedshiftIdcApplicationInput{RedshiftIdcApplicationArn: a.RedshiftIdcApplicationArn}); err != nil {
						return err
					}
				}
			}
			_, err = getToken(t, srv, alice, "demo", "atm-gone-wg")
			return err
		}, "ValidationException", 400, "Workgroup atm-gone-wg does not have Identity Center integration enabled: the Redshift IdC application of namespace atm-gone no longer exists."},
	})
	// Nothing above issued a token or changed a workgroup.
	if _, err := getToken(t, srv, alice, "demo", "wg-two"); err != nil {
		t.Fatalf("after the refusals: %v", err)
	}

	// Faults are check 10: with a rule firing on every call, a request that
	// fails an earlier check still gets that check's error.
	atmSetFaults(t, srv, `[{"operation":"GetIdentityCenterAuthToken","error":"InternalServerException","rate":1}]`)
	const internal = "The request processing has failed because of an unknown error, exception or failure."
	atmRun(t, []atmCase{
		{"fault: 3 input first", func() error { return rawCall(t, srv, alice, `{"workgroupNames":[]}`) }, "ValidationException", 400,
			v + "Value '[]' at 'workgroupNames' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"fault: invalid name first", get(alice, "Demo"), "ValidationException", 400,
			v + "Value 'Demo' at 'workgroupNames.1.member' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-z0-9-]+"},
		{"fault: 4 existence first", get(alice, "nowhere"), "ResourceNotFoundException", 400, "Workgroup nowhere not found."},
		{"fault: 5 IAM first", get(noRS, "demo"), "AccessDeniedException", 400, notAllowed("arn:aws:sts::123456789012:assumed-role/no-redshift/alice", demoArn)},
		{"fault: 6 identity-enhanced first", get(srv.Admin, "demo"), "AccessDeniedException", 400, "User: arn:aws:iam::123456789012:root" + atmNotEnhanced},
		{"fault: 7 state first", get(alice, "wg-creating"), "ConflictException", 400, creating},
		{"fault: 8 Identity Center first", get(alice, "wg-plain"), "ValidationException", 400, plainNoIdc},
		{"fault: fires when every check passed", get(alice, "demo"), "InternalServerException", 500, internal},
		// A dry run says "would have succeeded" only when the call could have.
		{"fault: before the dry run", func() error { return atmDryRun(t, srv, alice, `{"workgroupNames":["demo"]}`) }, "InternalServerException", 500, internal},
	})
	atmSetFaults(t, srv, `[{"operation":"GetIdentityCenterAuthToken","error":"ThrottlingException","rate":1}]`)
	atmRun(t, []atmCase{
		{"throttling fault: 8 first", get(alice, "wg-plain"), "ValidationException", 400, plainNoIdc},
		{"throttling fault: fires last", get(alice, "demo"), "ThrottlingException", 400, "Rate exceeded"},
	})
	// Injected latency is check 10's too: a refused request is not delayed.
	atmSetFaults(t, srv, `[{"operation":"GetIdentityCenterAuthToken","latency":2000000000,"rate":1}]`)
	start := time.Now()
	wantAPIError(t, rawCall(t, srv, alice, `{"workgroupNames":[]}`), "ValidationException", 400,
		v+"Value '[]' at 'workgroupNames' failed to satisfy constraint: Member must have length greater than or equal to 1")
	if d := time.Since(start); d >= 2*time.Second {
		t.Fatalf("a refused request waited out the injected latency (%s)", d)
	}
	start = time.Now()
	mustToken(t, srv, alice, "demo")
	if d := time.Since(start); d < 2*time.Second {
		t.Fatalf("latency not injected on a call that passed every check (%s)", d)
	}
	atmSetFaults(t, srv, `[]`)
	wantAPIError(t, atmDryRun(t, srv, alice, `{"workgroupNames":["demo"]}`), "DryRunException", 400, "Request would have succeeded, but the DryRun flag is set.")
}

// TestTokenCheckOrderAcrossDirectoryChanges: checks 8 and 9 against a
// directory that changed under a live session (restarts with the same
// master key keep sessions valid): a removed user, another identity store,
// another Identity Center instance.
func TestTokenCheckOrderAcrossDirectoryChanges(t *testing.T) {
	t.Parallel()
	env := map[string]string{masterkey.EnvVar: fixedMasterKey}
	dir := t.TempDir() + "/data"
	srv := testserver.Start(t, testserver.Options{Env: env, DataDir: dir, Edit: tokenWorld(nil)})
	alice := srv.IdentitySession(t, "alice", testserver.AnalystRoleArn)
	carol := srv.IdentitySession(t, "carol", testserver.AnalystRoleArn)
	srv.Stop()
	restart := func(edit func(*config.Config)) *testserver.Server {
		t.Helper()
		return testserver.Start(t, testserver.Options{Env: env, DataDir: dir, Edit: tokenWorld(edit)})
	}
	get := func(srv *testserver.Server, creds aws.Credentials, names ...string) func() error {
		return func() error { _, err := getToken(t, srv, creds, names...); return err }
	}
	const plainNoIdc = "Workgroup wg-plain does not have Identity Center integration enabled: its namespace plain has no Redshift IdC application."

	// carol removed from the directory.
	srv = restart(withoutCarol)
	atmRun(t, []atmCase{
		{"8 Identity Center before 9 user removed", get(srv, carol, "wg-plain"), "ValidationException", 400, plainNoIdc},
		{"9 user removed", get(srv, carol, "demo"), "AccessDeniedException", 400, carolGone(t)},
	})
	if _, err := getToken(t, srv, alice, "demo"); err != nil {
		t.Fatalf("alice is still in the directory: %v", err)
	}
	srv.Stop()

	// Another identity store behind the same instance.
	srv = restart(func(c *config.Config) { c.IdentityCenter.IdentityStoreID = "d-00000000aa" })
	atmRun(t, []atmCase{
		{"8 Identity Center before 9 identity store", get(srv, alice, "wg-plain"), "ValidationException", 400, plainNoIdc},
		{"9 identity store", get(srv, alice, "demo"), "AccessDeniedException", 400,
			"User: arn:aws:sts::123456789012:assumed-role/analyst/alice is not authorized to perform: redshift-serverless:GetIdentityCenterAuthToken because the identity context's identity store d-9067a1b2c3 is not this Identity Center instance's identity store d-00000000aa"},
	})
	srv.Stop()

	// Another Identity Center instance: the config moves demo's Redshift
	// IdC application to it too (the config wins for what it names,
	// BEHAVIOUR 7.2), and atm-i2-wg's is made on it.
	srv = restart(func(c *config.Config) {
		c.IdentityCenter.InstanceArn = atmOtherInstance
		for i := range c.IdentityCenter.Applications {
			c.IdentityCenter.Applications[i].Arn = strings.Replace(c.IdentityCenter.Applications[i].Arn, "ssoins-7223a1b2c3d4e5f6", "ssoins-00000000000000aa", 1)
		}
		a := &c.Accounts[0]
		for i := range a.RedshiftIdcApplications {
			a.RedshiftIdcApplications[i].IdcInstanceArn = atmOtherInstance
		}
		a.RedshiftIdcApplications = append(a.RedshiftIdcApplications, config.RedshiftIdcApplication{Name: "atm-i2-idc", IdentityNamespace: "AWSIDC", IdcInstanceArn: atmOtherInstance})
		a.Namespaces = append(a.Namespaces, config.Namespace{Name: "atm-i2", RedshiftIdcApplication: "atm-i2-idc"})
		a.Workgroups = append(a.Workgroups, config.Workgroup{Name: "atm-i2-wg", Namespace: "atm-i2", BaseCapacity: 8})
	})
	atmRun(t, []atmCase{
		{"8 another instance", get(srv, alice, "atm-i2-wg"), "ValidationException", 400,
			"Workgroup atm-i2-wg is integrated with Identity Center instance " + atmOtherInstance + ", not with the caller's " + atmInstance + "."},
		{"8 another instance before 9 user removed", get(srv, carol, "atm-i2-wg"), "ValidationException", 400,
			"Workgroup atm-i2-wg is integrated with Identity Center instance " + atmOtherInstance + ", not with the caller's " + atmInstance + "."},
		{"8 another instance, re-applied from the config", get(srv, alice, "demo"), "ValidationException", 400,
			"Workgroup demo is integrated with Identity Center instance " + atmOtherInstance + ", not with the caller's " + atmInstance + "."},
	})
}

// TestDeletedWorkgroupKeys: deleting a workgroup destroys its keys at
// once: its tokens stop opening (issuer and gateway), key operations
// during DELETING are ConflictException and never bring keys back, not
// even a restart's migration does; other workgroups are untouched.
func TestDeletedWorkgroupKeys(t *testing.T) {
	t.Parallel()
	srv, _ := gatewayWorld(t, func(c *config.Config) { c.Serverless.TransitionDelay = &config.Duration{Duration: time.Hour} })
	ctx := context.Background()
	iss := srv.Instance.Issuer
	alice := srv.IdentitySession(t, "alice", testserver.AnalystRoleArn)
	two := mustToken(t, srv, alice, "wg-two")
	both := mustToken(t, srv, alice, "demo", "wg-two")
	c, err := connectGateway(t, srv, aws.ToString(two.Token), "")
	if err != nil {
		t.Fatalf("before the delete: %v", err)
	}
	c.Close(ctx)
	wg, err := iss.Serverless.GetWorkgroup(ctx, scope, "wg-two")
	if err != nil {
		t.Fatal(err)
	}
	id := keyring.ID{Account: scope.Account, Region: scope.Region, WorkgroupID: wg.WorkgroupId}

	if _, err := srv.Serverless(srv.Admin).DeleteWorkgroup(ctx, &redshiftserverless.DeleteWorkgroupInput{WorkgroupName: aws.String("wg-two")}); err != nil {
		t.Fatal(err)
	}
	// Still DELETING (an hour), but its keys are gone now, not later.
	if _, _, err := iss.Open(ctx, scope, "wg-two", aws.ToString(two.Token)); !errors.Is(err, authtoken.ErrKeyUnavailable) || !errors.Is(err, keyring.ErrNoKeyring) {
		t.Fatalf("token of a deleted workgroup: %v", err)
	}
	_, err = connectGateway(t, srv, aws.ToString(two.Token), "")
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "28P01" {
		t.Fatalf("gateway with a deleted workgroup's token: %v", err)
	}
	if _, _, err := iss.Open(ctx, scope, "demo", aws.ToString(both.Token)); err != nil {
		t.Fatalf("the other workgroup's key: %v", err)
	}
	const gone = "Workgroup wg-two is currently DELETING; its keys were destroyed when its deletion began."
	for _, op := range []string{"RotateWorkgroupKey", "DescribeWorkgroupKeys", "RetireWorkgroupKeys"} {
		r := srv.CallAdmin(t, srv.Admin, op, []byte(`{"workgroupName":"wg-two","minVersion":1}`))
		wantAPIError(t, &rawAPIError{resp: r, t: t}, "ConflictException", 400, gone)
	}
	_, err = getToken(t, srv, alice, "wg-two")
	wantAPIError(t, err, "ConflictException", 400, "Workgroup wg-two is DELETING; it must be AVAILABLE to issue an Identity Center token.")
	// Directly too: no keyring operation recreates the ring.
	if _, err := srv.Instance.Keys.Rotate(ctx, id); !errors.Is(err, keyring.ErrNoKeyring) {
		t.Fatalf("rotate of a destroyed ring: %v", err)
	}
	if _, err := srv.Instance.Keys.Describe(ctx, id); !errors.Is(err, keyring.ErrNoKeyring) {
		t.Fatalf("a destroyed ring came back: %v", err)
	}
	if c, err := connectGateway(t, srv, aws.ToString(both.Token), "options='-c workgroup=demo'"); err != nil {
		t.Fatalf("demo with the two-workgroup token: %v", err)
	} else {
		c.Close(ctx)
	}
}

// TestKeyringMigration: at start, a live workgroup without a ring (made by
// a version that created keys on first use) gets one; a DELETING one
// does not get its destroyed ring back.
func TestKeyringMigration(t *testing.T) {
	t.Parallel()
	env := map[string]string{masterkey.EnvVar: fixedMasterKey}
	dir := t.TempDir() + "/data"
	srv := testserver.Start(t, testserver.Options{Env: env, DataDir: dir, Edit: tokenWorld(nil)})
	ctx := context.Background()
	ringOf := func(srv *testserver.Server, name string) keyring.ID {
		wg, err := srv.Instance.Issuer.Serverless.GetWorkgroup(ctx, scope, name)
		if err != nil {
			t.Fatal(err)
		}
		return keyring.ID{Account: scope.Account, Region: scope.Region, WorkgroupID: wg.WorkgroupId}
	}
	// Every seeded workgroup has its ring from its creation.
	for _, name := range []string{"demo", "wg-two", "wg-three", "wg-plain"} {
		if info, err := srv.Instance.Keys.Describe(ctx, ringOf(srv, name)); err != nil || info.Latest != 1 {
			t.Fatalf("%s: %+v %v", name, info, err)
		}
	}
	// A workgroup created through the API has one too, while CREATING.
	if _, err := srv.Serverless(srv.Admin).CreateWorkgroup(ctx, &redshiftserverless.CreateWorkgroupInput{
		WorkgroupName: aws.String("wg-creating"), NamespaceName: aws.String("four"), BaseCapacity: aws.Int32(8)}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Instance.Keys.Describe(ctx, ringOf(srv, "wg-creating")); err != nil {
		t.Fatalf("CreateWorkgroup made no ring: %v", err)
	}
	demo := ringOf(srv, "demo")
	if err := srv.Instance.Store.Update(ctx, func(tx store.Tx) error { return keyring.Destroy(tx, demo) }); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Serverless(srv.Admin).DeleteWorkgroup(ctx, &redshiftserverless.DeleteWorkgroupInput{WorkgroupName: aws.String("wg-two")}); err != nil {
		t.Fatal(err)
	}
	two := ringOf(srv, "wg-two")
	srv.Stop()

	srv = testserver.Start(t, testserver.Options{Env: env, DataDir: dir, Edit: tokenWorld(nil)})
	if info, err := srv.Instance.Keys.Describe(ctx, demo); err != nil || info.Latest != 1 || info.MinDecrypt != 1 {
		t.Fatalf("demo's ring not migrated: %+v %v", info, err)
	}
	if _, err := srv.Instance.Keys.Describe(ctx, two); !errors.Is(err, keyring.ErrNoKeyring) {
		t.Fatalf("DELETING workgroup's ring came back at start: %v", err)
	}
	alice := srv.IdentitySession(t, "alice", testserver.AnalystRoleArn)
	out := mustToken(t, srv, alice, "demo")
	if _, _, err := srv.Instance.Issuer.Open(ctx, scope, "demo", aws.ToString(out.Token)); err != nil {
		t.Fatal(err)
	}
}

// TestScheduledKeyRotation drives tokens.keyRotation's schedule with an
// injected clock and the scheduler's tick (App.RotateKeysDue, what the
// background loop runs): no rotation before keyRotation, one after it, the
// old version opening unexpired tokens until its successor is TTL + 5
// minutes old, then retired.
func TestScheduledKeyRotation(t *testing.T) {
	t.Parallel()
	clk := &clock.Offset{}
	srv := testserver.Start(t, testserver.Options{Clock: clk.Now, Edit: func(c *config.Config) {
		c.Tokens.KeyRotation = &config.Duration{Duration: 10 * time.Minute}
		c.Tokens.TTL = &config.Duration{Duration: time.Hour}
	}})
	ctx := context.Background()
	iss, keys := srv.Instance.Issuer, srv.Instance.Keys
	wg, err := iss.Serverless.GetWorkgroup(ctx, scope, "demo")
	if err != nil {
		t.Fatal(err)
	}
	id := keyring.ID{Account: scope.Account, Region: scope.Region, WorkgroupID: wg.WorkgroupId}
	tick := func(wantRotated int, wantLatest, wantMin int) {
		t.Helper()
		n, err := srv.Instance.RotateKeysDue(ctx)
		if err != nil || n != wantRotated {
			t.Fatalf("tick: rotated %d (%v), want %d", n, err, wantRotated)
		}
		info, err := keys.Describe(ctx, id)
		if err != nil || info.Latest != wantLatest || info.MinDecrypt != wantMin {
			t.Fatalf("after tick: %+v %v, want latest %d, min %d", info, err, wantLatest, wantMin)
		}
	}
	alice := srv.IdentitySession(t, "alice", testserver.AnalystRoleArn)
	first := mustToken(t, srv, alice, "demo")

	clk.Set(9 * time.Minute)
	tick(0, 1, 1)

	// Due: the ring of every workgroup (the example has one) rotates.
	clk.Set(10*time.Minute + time.Second)
	tick(1, 2, 1)
	if _, _, err := iss.Open(ctx, scope, "demo", aws.ToString(first.Token)); err != nil {
		t.Fatalf("an unexpired token of the old version: %v", err)
	}
	// Within SigV4's 15 minutes of skew, so the SDK still signs with the
	// real clock: a new token uses the new version.
	second := mustToken(t, srv, alice, "demo")
	if h, _, _, _ := authtoken.ParseHeader(aws.ToString(second.Token)); h.Keys[0].KeyVersion != 2 {
		t.Fatalf("new token sealed with version %d", h.Keys[0].KeyVersion)
	}

	// One second before version 2 is TTL + 5m old: version 1 still kept
	// (version 2 is itself due, so 3 appears). The first token has expired
	// by then, which Open reports after finding its key.
	clk.Set(10*time.Minute + time.Second + 65*time.Minute - time.Second)
	tick(1, 3, 1)
	if _, _, err := iss.Open(ctx, scope, "demo", aws.ToString(first.Token)); !errors.Is(err, authtoken.ErrExpired) {
		t.Fatalf("version 1 before its retirement: %v", err)
	}
	// Version 2 reaches TTL + 5m: version 1 is retired.
	clk.Set(10*time.Minute + time.Second + 65*time.Minute + time.Second)
	tick(0, 3, 2)
	if _, _, err := iss.Open(ctx, scope, "demo", aws.ToString(first.Token)); !errors.Is(err, authtoken.ErrKeyUnavailable) || !errors.Is(err, keyring.ErrRetired) {
		t.Fatalf("version 1 after its retirement: %v", err)
	}
	if _, _, err := iss.Open(ctx, scope, "demo", aws.ToString(second.Token)); !errors.Is(err, authtoken.ErrExpired) {
		t.Fatalf("version 2 is kept: %v", err)
	}
}

// TestTokenClaimsComplete: an issued token carries every claim of BEHAVIOUR
// 4.3, as the administrator's InspectToken shows them.
func TestTokenClaimsComplete(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{Env: map[string]string{masterkey.EnvVar: fixedMasterKey}, Edit: tokenWorld(nil)})
	alice := srv.IdentitySession(t, "alice", testserver.AnalystRoleArn)
	before := time.Now().Truncate(time.Second)
	out := mustToken(t, srv, alice, "demo", "wg-two")
	other := mustToken(t, srv, alice, "demo", "wg-two")
	h1, c1 := atmInspect(t, srv, aws.ToString(out.Token))
	h2, c2 := atmInspect(t, srv, aws.ToString(other.Token))
	wantWorkgroups := []authtoken.Workgroup{
		{Arn: workgroupARN(t, srv, "demo"), Name: "demo", IdentityNamespace: "AWSIDC"},
		{Arn: workgroupARN(t, srv, "wg-two"), Name: "wg-two", IdentityNamespace: "AWSIDC"},
	}
	wgIDs := []string{strings.TrimPrefix(wantWorkgroups[0].Arn, "arn:aws:redshift-serverless:us-east-1:123456789012:workgroup/"),
		strings.TrimPrefix(wantWorkgroups[1].Arn, "arn:aws:redshift-serverless:us-east-1:123456789012:workgroup/")}
	checks := []struct {
		what      string
		got, want any
	}{
		{"format version", h1.Version, authtoken.FormatVersion},
		{"issuer account (header)", h1.Account, "123456789012"},
		{"issuer region (header)", h1.Region, "us-east-1"},
		{"issuer account", c1.Account, "123456789012"},
		{"issuer region", c1.Region, "us-east-1"},
		{"workgroups", fmt.Sprint(c1.Workgroups), fmt.Sprint(wantWorkgroups)},
		{"wrapped keys", fmt.Sprint(len(h1.Keys), h1.Keys[0].WorkgroupID, h1.Keys[0].KeyVersion, h1.Keys[1].WorkgroupID, h1.Keys[1].KeyVersion), fmt.Sprint(2, wgIDs[0], 1, wgIDs[1], 1)},
		{"Identity Center instance", c1.InstanceArn, atmInstance},
		{"identity store", c1.IdentityStoreArn, "arn:aws:identitystore::123456789012:identitystore/d-9067a1b2c3"},
		{"user id", c1.UserID, userID(t, "alice")},
		{"user name", c1.UserName, "alice"},
		{"groups", fmt.Sprint(c1.Groups), "[analysts]"},
		{"application", c1.ApplicationArn, testserver.ApplicationArn},
		{"role session", c1.RoleSessionArn, "arn:aws:sts::123456789012:assumed-role/analyst/alice"},
		{"expiry is expirationTime", c1.Expires.Equal(aws.ToTime(out.ExpirationTime)), true},
		{"expiry in header", h1.Expires, c1.Expires.Unix()},
		{"issued in header", h1.IssuedAt, c1.IssuedAt.Unix()},
		{"issued now", !c1.IssuedAt.Before(before) && !c1.IssuedAt.After(time.Now()), true},
		{"expires after issue", c1.Expires.After(c1.IssuedAt) && !c1.Expires.After(c1.IssuedAt.Add(time.Hour)), true},
		{"token id in header", h1.TokenID, c1.TokenID},
		{"token id present", len(c1.TokenID) >= 22, true},
		{"token ids differ", c1.TokenID != c2.TokenID && h1.TokenID != h2.TokenID, true},
	}
	for _, ch := range checks {
		if fmt.Sprint(ch.got) != fmt.Sprint(ch.want) {
			t.Errorf("%s: %v, want %v", ch.what, ch.got, ch.want)
		}
	}
}

// atmInspect calls the administrator's InspectToken and decodes it.
func atmInspect(t *testing.T, srv *testserver.Server, tok string) (authtoken.Header, authtoken.Claims) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"token": tok})
	r := srv.CallAdmin(t, srv.Admin, "InspectToken", body)
	var out struct {
		Valid   bool             `json:"valid"`
		Problem string           `json:"problem"`
		Header  authtoken.Header `json:"header"`
		Claims  authtoken.Claims `json:"claims"`
	}
	if err := json.Unmarshal(r.Body, &out); err != nil || r.Status != 200 || !out.Valid {
		t.Fatalf("InspectToken: %d %s (%v)", r.Status, r.Body, err)
	}
	return out.Header, out.Claims
}

// The services' store is wrapped (audit journal, metrics); the embedded
// store's versions must still reach the services that keep reads, or every
// issuance re-reads its workgroups in a transaction. Being versioned is an
// explicit option of the wiring, so the test asks the services themselves,
// and checks that their version source sees writes made through the
// wrappers.
func TestAssembledStoreVouchesForItsReads(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	iss := srv.Instance.Issuer
	for _, c := range []struct {
		service  string
		versions store.Versioned
		segment  string
	}{
		{"serverless", iss.Serverless.Versions, "rs"},
		{"redshiftidc", iss.IdcApps.Versions, "redshift"},
		{"identitystore", iss.Dir.Users.Versions, "ids"},
	} {
		if c.versions == nil {
			t.Fatalf("%s: the assembled server gives it no version source (%T cannot vouch for its reads)", c.service, srv.Instance.Store)
		}
		before := c.versions.Version(c.segment)
		if err := srv.Instance.Store.Update(context.Background(), func(tx store.Tx) error {
			return tx.Put(c.segment+"/e2e-version-probe", []byte("{}"))
		}); err != nil {
			t.Fatal(err)
		}
		if after := c.versions.Version(c.segment); after <= before {
			t.Fatalf("%s: a write through %T left the version at %d", c.service, srv.Instance.Store, after)
		}
	}
}
