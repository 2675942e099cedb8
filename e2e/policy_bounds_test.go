package e2e

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/redshift"
	"github.com/aws/aws-sdk-go-v2/service/redshiftserverless"
	rstypes "github.com/aws/aws-sdk-go-v2/service/redshiftserverless/types"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/idcgate/idcgate/internal/testserver"
)

// TestSessionPolicyValidatedAsSessionPolicy: AssumeRole's Policy is parsed
// as IAM parses a session policy; what IAM refuses is MalformedPolicyDocument
// (400) in IAM's words, and no session is made.
func TestSessionPolicyValidatedAsSessionPolicy(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	cases := []struct{ name, policy, msg string }{
		{"Principal", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"*","Resource":"*"}]}`,
			"Policy document should not specify a principal."},
		{"NotPrincipal", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"*","Resource":"*"}]}`,
			"Policy document should not specify a principal."},
		{"no Resource", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"redshift-serverless:*"}]}`,
			"Policy statement must contain resources."},
		{"Resource and NotResource", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","NotResource":"*"}]}`,
			"Statement cannot contain both Resource and NotResource."},
		{"unknown Version", `{"Version":"2012-10-18","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`,
			"The policy must contain a valid version string."},
		{"unknown condition operator", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringIsh":{"aws:username":"x"}}}]}`,
			`Unknown condition operator "StringIsh".`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := srv.STS(srv.App).AssumeRole(context.Background(), &sts.AssumeRoleInput{
				RoleArn: aws.String(testserver.AnalystRoleArn), RoleSessionName: aws.String("kinds"), Policy: aws.String(tc.policy),
			})
			wantAPIError(t, err, "MalformedPolicyDocument", 400, tc.msg)
		})
	}
}

// TestAssumeRoleBoundsOverTheWire: members past the STS model's bounds are
// ValidationError (400) before anything is evaluated.
func TestAssumeRoleBoundsOverTheWire(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	base := func() *sts.AssumeRoleInput {
		return &sts.AssumeRoleInput{RoleArn: aws.String(testserver.AnalystRoleArn), RoleSessionName: aws.String("bounds")}
	}
	cases := []struct {
		name string
		edit func(*sts.AssumeRoleInput)
		want string
	}{
		{"RoleArn of 100 KB", func(in *sts.AssumeRoleInput) {
			in.RoleArn = aws.String(testserver.AnalystRoleArn + strings.Repeat("x", 100<<10))
		},
			"at 'roleArn' failed to satisfy constraint: Member must have length less than or equal to 2048"},
		{"ExternalId too long", func(in *sts.AssumeRoleInput) { in.ExternalId = aws.String(strings.Repeat("e", 1225)) },
			"at 'externalId' failed to satisfy constraint: Member must have length less than or equal to 1224"},
		{"SourceIdentity with a space", func(in *sts.AssumeRoleInput) { in.SourceIdentity = aws.String("alice smith") },
			"at 'sourceIdentity' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"},
		{"tag with a control character", func(in *sts.AssumeRoleInput) {
			in.Tags = []ststypes.Tag{{Key: aws.String("team"), Value: aws.String("a\x07b")}}
		}, "at 'tags.1.member.value' failed to satisfy constraint: Member must satisfy regular expression pattern"},
		{"eleven PolicyArns", func(in *sts.AssumeRoleInput) {
			for range 11 {
				in.PolicyArns = append(in.PolicyArns, ststypes.PolicyDescriptorType{Arn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")})
			}
		}, "at 'policyArns' failed to satisfy constraint: Member must have length less than or equal to 10"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := base()
			tc.edit(in)
			_, err := srv.STS(srv.App).AssumeRole(context.Background(), in)
			wantAPIError(t, err, "ValidationError", 400, "")
			if msg := err.Error(); !strings.Contains(msg, "1 validation error detected: ") || !strings.Contains(msg, tc.want) {
				t.Fatalf("message %q\nwant %q", msg, tc.want)
			}
		})
	}
}

// TestWildcardAttackBounded: the quadratic-matching attack end to end — a
// role session whose 2 KB session policy is all adversarial wildcards, then
// CreateTokenWithIAM with a clientId (the resource the policies are matched
// against) of a megabyte, and of the longest allowed length. The megabyte one
// is refused before any policy is evaluated; the other is evaluated (the
// step bound is TestGlobWorkIsLinear's) and denied.
func TestWildcardAttackBounded(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	ctx := context.Background()
	// 28 × "*a{62}b" against a run of 'a's: each star's segment almost
	// matches at every position.
	pattern := strings.Repeat("*"+strings.Repeat("a", 62)+"b", 28) + "*"
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sso-oauth:CreateTokenWithIAM","Resource":"` + pattern + `"}]}`
	if len(policy) > 2048 {
		t.Fatalf("policy of %d characters is over STS's limit", len(policy))
	}
	out, err := srv.STS(srv.App).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String(testserver.AnalystRoleArn), RoleSessionName: aws.String("globber"), Policy: aws.String(policy),
	})
	if err != nil {
		t.Fatal(err)
	}
	sess := aws.Credentials{AccessKeyID: aws.ToString(out.Credentials.AccessKeyId), SecretAccessKey: aws.ToString(out.Credentials.SecretAccessKey), SessionToken: aws.ToString(out.Credentials.SessionToken)}
	oidc := srv.OIDC(sess)
	create := func(clientID string) error {
		_, err := oidc.CreateTokenWithIAM(ctx, &ssooidc.CreateTokenWithIAMInput{
			ClientId: aws.String(clientID), GrantType: aws.String("urn:ietf:params:oauth:grant-type:jwt-bearer"), Assertion: aws.String("x.y.z"),
		})
		return err
	}
	wantAPIError(t, create(strings.Repeat("a", 1<<20-4096)), "InvalidRequestException", 400, "")
	// At the bound the policies are evaluated: the role allows no
	// sso-oauth action, so the answer is AccessDenied.
	wantAPIError(t, create(strings.Repeat("a", 1224)), "AccessDeniedException", 400, "")
}

// TestTrustPolicyNotPrincipalRefusedAtStart: a trust policy AWS refuses
// (Allow with NotPrincipal, which would trust every principal not named,
// in any account) stops idcgate at start with IAM's message, and exit 1.
func TestTrustPolicyNotPrincipalRefusedAtStart(t *testing.T) {
	t.Parallel()
	bin := idcgateBinary(t)
	example, err := os.ReadFile(testserver.ExampleConfig())
	if err != nil {
		t.Fatal(err)
	}
	const trusted = `Principal: {AWS: "arn:aws:iam::123456789012:root"}`
	if !strings.Contains(string(example), trusted) {
		t.Fatalf("the example config no longer has %s", trusted)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "idcgate.yaml")
	bad := strings.Replace(string(example), trusted, `NotPrincipal: {AWS: "arn:aws:iam::123456789012:user/app"}`, 1)
	if err := os.WriteFile(cfg, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	// The deadline only keeps a hung process from hanging the test.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "serve", "--config", cfg, "--data-dir", filepath.Join(dir, "data"), "--listen", "127.0.0.1:0", "--pg-listen", "127.0.0.1:0", "--pg-upstream", "none")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("idcgate serve: %v, want exit code 1\n%s", err, out)
	}
	if want := "accounts[0].roles[0].trustPolicy: MalformedPolicyDocument: Has prohibited field NotPrincipal."; !strings.Contains(string(out), want) {
		t.Fatalf("output lacks %q:\n%s", want, out)
	}
	if strings.Contains(string(out), "goroutine ") {
		t.Fatalf("a stack trace:\n%s", out)
	}
}

// TestStoredFieldsRefuseControlCharacters: tags and IdC application display
// names with control characters or invalid UTF-8 are ValidationException
// (ValidationError on the Redshift API), and nothing is created.
func TestStoredFieldsRefuseControlCharacters(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	ctx := context.Background()
	c := srv.Serverless(srv.Admin)
	tags := map[string][]rstypes.Tag{
		"newline in key":    {{Key: aws.String("team\n"), Value: aws.String("a")}},
		"escape in value":   {{Key: aws.String("team"), Value: aws.String("\x1b[31mred")}},
		"NUL in value":      {{Key: aws.String("team"), Value: aws.String("a\x00")}},
		"invalid UTF-8 key": {{Key: aws.String("te\xffam"), Value: aws.String("a")}},
	}
	i := 0
	for name, tt := range tags {
		i++
		ns, wgns, wg := "ctl-ns-"+string(rune('a'+i)), "ctl-wgns-"+string(rune('a'+i)), "ctl-wg-"+string(rune('a'+i))
		t.Run("CreateNamespace/"+name, func(t *testing.T) {
			t.Parallel()
			_, err := c.CreateNamespace(ctx, &redshiftserverless.CreateNamespaceInput{NamespaceName: aws.String(ns), Tags: tt})
			wantAPIError(t, err, "ValidationException", 400, "")
			if !strings.Contains(err.Error(), "failed to satisfy constraint: Member must satisfy regular expression pattern") {
				t.Fatalf("message: %v", err)
			}
			_, err = c.GetNamespace(ctx, &redshiftserverless.GetNamespaceInput{NamespaceName: aws.String(ns)})
			wantAPIError(t, err, "ResourceNotFoundException", 400, "")
		})
		t.Run("CreateWorkgroup/"+name, func(t *testing.T) {
			t.Parallel()
			// A namespace of its own, free for a workgroup: only the tags are wrong.
			if _, err := c.CreateNamespace(ctx, &redshiftserverless.CreateNamespaceInput{NamespaceName: aws.String(wgns)}); err != nil {
				t.Fatal(err)
			}
			_, err := c.CreateWorkgroup(ctx, &redshiftserverless.CreateWorkgroupInput{WorkgroupName: aws.String(wg), NamespaceName: aws.String(wgns), Tags: tt})
			wantAPIError(t, err, "ValidationException", 400, "")
			_, err = c.GetWorkgroup(ctx, &redshiftserverless.GetWorkgroupInput{WorkgroupName: aws.String(wg)})
			wantAPIError(t, err, "ResourceNotFoundException", 400, "")
		})
	}
	t.Run("IdC application display name", func(t *testing.T) {
		t.Parallel()
		rs := srv.Redshift(srv.Admin)
		before := idcApplications(t, srv)
		for _, name := range []string{"Sales\r\nAdmin", "\x1b[2J", "app\xff"} {
			_, err := rs.CreateRedshiftIdcApplication(ctx, &redshift.CreateRedshiftIdcApplicationInput{
				IdcInstanceArn: aws.String("arn:aws:sso:::instance/ssoins-7223a1b2c3d4e5f6"), RedshiftIdcApplicationName: aws.String("ctl-app"),
				IdcDisplayName: aws.String(name), IamRoleArn: aws.String(testserver.AnalystRoleArn),
			})
			wantAPIError(t, err, "ValidationError", 400, "")
			if !strings.Contains(err.Error(), "at 'idcDisplayName' failed to satisfy constraint") {
				t.Fatalf("%q: %v", name, err)
			}
		}
		if after := idcApplications(t, srv); len(after) != len(before) {
			t.Fatalf("%d applications after refused creates, %d before", len(after), len(before))
		}
	})
}
