package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/redshift"
	"github.com/aws/aws-sdk-go-v2/service/redshiftserverless"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/idcgate/idcgate/internal/audit"
	"github.com/idcgate/idcgate/internal/masterkey"
	"github.com/idcgate/idcgate/internal/testserver"
)

func TestAuditTrail(t *testing.T) {
	srv, _ := gatewayWorld(t, nil)
	ctx := context.Background()
	logPath := filepath.Join(srv.DataDir, "audit.log")
	before, _ := audit.ReadFile(logPath)

	// One call of each service, successes and failures.
	jwt := srv.IdPToken(t, "alice", "idcgate-demo", 600)
	alice := srv.IdentitySession(t, "alice", testserver.AnalystRoleArn)
	tok, err := getToken(t, srv, alice, "demo")
	if err != nil {
		t.Fatal(err)
	}
	password := "Sup3rSecretPassw0rd"
	if _, err := srv.Serverless(srv.Admin).CreateNamespace(ctx, &redshiftserverless.CreateNamespaceInput{
		NamespaceName: aws.String("audited"), AdminUsername: aws.String("admin"), AdminUserPassword: aws.String(password)}); err != nil {
		t.Fatal(err)
	}
	srv.Serverless(srv.App).ListWorkgroups(ctx, &redshiftserverless.ListWorkgroupsInput{}) // AccessDenied
	srv.STS(alice).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	redshift.NewFromConfig(srv.Config(srv.Admin)).DescribeRedshiftIdcApplications(ctx, &redshift.DescribeRedshiftIdcApplicationsInput{})
	// Every other operation of every service, once each.
	adm := srv.Serverless(srv.Admin)
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(adm.GetNamespace(ctx, &redshiftserverless.GetNamespaceInput{NamespaceName: aws.String("audited")}))
	must(adm.ListNamespaces(ctx, &redshiftserverless.ListNamespacesInput{}))
	must(adm.UpdateNamespace(ctx, &redshiftserverless.UpdateNamespaceInput{NamespaceName: aws.String("audited"), KmsKeyId: aws.String("k")}))
	must(adm.CreateWorkgroup(ctx, &redshiftserverless.CreateWorkgroupInput{WorkgroupName: aws.String("audited-wg"), NamespaceName: aws.String("four"), BaseCapacity: aws.Int32(8)}))
	must(adm.GetWorkgroup(ctx, &redshiftserverless.GetWorkgroupInput{WorkgroupName: aws.String("audited-wg")}))
	must(adm.UpdateWorkgroup(ctx, &redshiftserverless.UpdateWorkgroupInput{WorkgroupName: aws.String("audited-wg"), BaseCapacity: aws.Int32(16)}))
	must(adm.DeleteWorkgroup(ctx, &redshiftserverless.DeleteWorkgroupInput{WorkgroupName: aws.String("audited-wg")}))
	must(adm.DeleteNamespace(ctx, &redshiftserverless.DeleteNamespaceInput{NamespaceName: aws.String("audited")}))
	rs := redshift.NewFromConfig(srv.Config(srv.Admin))
	app, err := rs.CreateRedshiftIdcApplication(ctx, &redshift.CreateRedshiftIdcApplicationInput{
		IdcInstanceArn: aws.String("arn:aws:sso:::instance/ssoins-7223a1b2c3d4e5f6"), RedshiftIdcApplicationName: aws.String("audited"),
		IdcDisplayName: aws.String("A"), IamRoleArn: aws.String(testserver.AnalystRoleArn)})
	must(app, err)
	must(rs.DeleteRedshiftIdcApplication(ctx, &redshift.DeleteRedshiftIdcApplicationInput{RedshiftIdcApplicationArn: app.RedshiftIdcApplication.RedshiftIdcApplicationArn}))
	for _, op := range []string{"InspectToken", "DescribeWorkgroupKeys", "GetFaults", "LookupEvents"} {
		if r := srv.CallAdmin(t, srv.Admin, op, []byte(`{"token":"`+aws.ToString(tok.Token)+`","workgroupName":"demo"}`)); r.Status != 200 {
			t.Fatalf("%s: %s", op, r.Body)
		}
	}

	c, err := connectGateway(t, srv, aws.ToString(tok.Token), "")
	if err != nil {
		t.Fatal(err)
	}
	c.Close(ctx)
	connectGateway(t, srv, "wrong-token", "")

	all, err := audit.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	recs := all[len(before):]
	count := map[string]int{}
	for _, r := range recs {
		count[r.EventSource+" "+r.EventName]++
		if r.EventID == "" || r.EventTime.IsZero() || r.EventVersion == "" || r.AWSRegion != "us-east-1" || r.SourceIPAddress == "" {
			t.Fatalf("incomplete record %+v", r)
		}
	}
	want := map[string]int{
		"idcgate.amazonaws.com IssueTestToken":                         2, // ours, and IdentitySession's
		"sso-oauth.amazonaws.com CreateTokenWithIAM":                   1,
		"sts.amazonaws.com AssumeRole":                                 1,
		"redshift-serverless.amazonaws.com GetIdentityCenterAuthToken": 1,
		"redshift-serverless.amazonaws.com CreateNamespace":            1,
		"redshift-serverless.amazonaws.com ListWorkgroups":             1,
		"sts.amazonaws.com GetCallerIdentity":                          1,
		"redshift.amazonaws.com DescribeRedshiftIdcApplications":       1,
		"gateway.idcgate Login":                                        2,
	}
	for k, n := range want {
		if count[k] != n {
			t.Errorf("%s: %d records, want %d (all: %v)", k, count[k], n, count)
		}
	}
	for _, r := range recs {
		switch {
		case r.EventName == "GetIdentityCenterAuthToken":
			if r.UserIdentity.OnBehalfOf == nil || r.UserIdentity.OnBehalfOf.UserID == "" || r.UserIdentity.Type != "AssumedRole" || r.RequestID == "" {
				t.Errorf("identity-enhanced call without onBehalfOf: %+v", r.UserIdentity)
			}
		case r.EventName == "ListWorkgroups":
			if r.ErrorCode != "AccessDeniedException" || r.UserIdentity.UserName != "app" {
				t.Errorf("denied call: %+v", r)
			}
		case r.EventName == "Login" && r.ErrorCode == "" && (r.UserIdentity.OnBehalfOf == nil || r.UserIdentity.UserName != "alice"):
			t.Errorf("gateway login: %+v", r.UserIdentity)
		}
	}

	// No secret, key, token or password in any record, in the file or the store.
	raw, _ := os.ReadFile(logPath)
	secrets := map[string]string{
		"admin secret key": srv.Admin.SecretAccessKey, "app secret key": testserver.AppSecretKey,
		"session secret": alice.SecretAccessKey, "session token": alice.SessionToken[:40],
		"auth token": aws.ToString(tok.Token)[:40], "IdP JWT": jwt[:40], "password": password,
	}
	if mk, err := os.ReadFile(filepath.Join(srv.DataDir, masterkey.FileName)); err == nil {
		secrets["master key"] = strings.TrimSpace(string(mk))
	}
	stored, _, _ := audit.Lookup(ctx, srv.Instance.Store, audit.Filter{})
	var storedText strings.Builder
	for _, e := range stored {
		storedText.Write(e)
	}
	for name, s := range secrets {
		if strings.Contains(string(raw), s) || strings.Contains(storedText.String(), s) {
			t.Errorf("%s appears in the audit trail", name)
		}
	}
}

func TestAuditTailCLI(t *testing.T) {
	p := testserver.StartProcess(t, testserver.Options{})
	bin, _ := testserver.Binary()
	p.IdentitySession(t, "alice", testserver.AnalystRoleArn)
	cmd := exec.Command(bin, "audit", "tail", "--event", "AssumeRole", "--endpoint", p.URL)
	cmd.Env = append(os.Environ(), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(p.DataDir, "credentials"), "AWS_PROFILE=default",
		"AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_SESSION_TOKEN=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v %s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], `"eventName":"AssumeRole"`) || !strings.Contains(lines[0], `"userName":"app"`) {
		t.Fatalf("audit tail: %s", out)
	}
}
