package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestExampleLoads(t *testing.T) {
	c, err := LoadFile(filepath.Join("..", "..", "examples", "idcgate.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Region != "us-east-1" || c.Accounts[0].ID != "123456789012" {
		t.Fatalf("region/account = %s/%s", c.Region, c.Accounts[0].ID)
	}
	if got := c.Accounts[0].Users[0].AccessKeys[0].AccessKeyID; got != "AKIAIOSFODNN7EXAMPLE" {
		t.Fatalf("access key = %s", got)
	}
	if !strings.Contains(string(c.Accounts[0].Roles[0].TrustPolicy.JSON), `"sts:SetContext"`) {
		t.Fatalf("trust policy JSON = %s", c.Accounts[0].Roles[0].TrustPolicy.JSON)
	}
	if c.Serverless.TransitionDelay.Duration != 300*time.Millisecond || c.Tokens.TTL.Duration != time.Hour {
		t.Fatalf("durations = %v %v", c.Serverless.TransitionDelay, c.Tokens.TTL)
	}
	if v := c.Accounts[0].VPC; v == nil || len(v.Subnets) != 3 || v.Subnets[0].IPv6CidrBlock == "" || v.Subnets[2].IPv6CidrBlock != "" {
		t.Fatalf("example VPC = %+v (want three subnets, the last without IPv6)", v)
	}
	if c.HTTP.PublicMetrics == nil || !*c.HTTP.PublicMetrics {
		t.Fatal("example config does not serve public metrics")
	}
	if c.AuditLog != filepath.Join(c.DataDir, "audit.log") {
		t.Fatalf("audit log default = %s", c.AuditLog)
	}
}

func TestPrecedence(t *testing.T) {
	c, err := Parse([]byte("listen: 127.0.0.1:1\nregion: eu-west-1\n"))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"IDCGATE_LISTEN": "127.0.0.1:2", "IDCGATE_DATA_DIR": "/tmp/x"}
	if err := c.Override(func(k string) string { return env[k] }, map[string]string{"data-dir": "/tmp/flag"}); err != nil {
		t.Fatal(err)
	}
	c.ApplyDefaults()
	if c.Listen != "127.0.0.1:2" || c.DataDir != "/tmp/flag" || c.Region != "eu-west-1" || c.PGListen != DefaultPGListen {
		t.Fatalf("got listen=%s dataDir=%s region=%s pg=%s", c.Listen, c.DataDir, c.Region, c.PGListen)
	}
}

func TestInvalid(t *testing.T) {
	cases := []struct{ name, doc, want string }{
		{"unknown field", "lisen: x\n", "field lisen not found"},
		{"bad account", "accounts: [{id: '12'}]\n", "want 12 digits"},
		{"bad key", "accounts: [{id: '123456789012', users: [{name: u, accessKeys: [{accessKeyId: ASIA, secretAccessKey: xxxxxxxxxxxxxxxxxxxx}]}]}]\n", "want AKIA"},
		{"bad region", "region: mars\n", "not an AWS region"},
		{"oidc provider not a URL", "accounts: [{id: '123456789012', oidcProviders: [{url: 'token.example', clientIds: [a]}]}]\n", "oidcProviders[0].url"},
		{"oidc provider twice", "accounts: [{id: '123456789012', oidcProviders: [{url: 'https://t.example'}, {url: 'https://T.example/'}]}]\n", "duplicate provider"},
		{"oidc thumbprint", "accounts: [{id: '123456789012', oidcProviders: [{url: 'https://t.example', thumbprints: [abc]}]}]\n", "want 40 hex digits"},
		{"bad duration", "serverless: {transitionDelay: soon}\n", "not a duration"},
		{"audit retention too short", "audit: {retention: 10s}\n", "audit.retention 10s"},
		{"workgroup without namespace", "accounts: [{id: '123456789012', workgroups: [{name: wg1, namespace: nope}]}]\n", "no such namespace"},
		{"bad vpc id", "accounts: [{id: '123456789012', vpc: {id: vpc-1, subnets: [{id: subnet-0a1b2c3d}]}}]\n", "want vpc- followed by"},
		{"vpc without subnets", "accounts: [{id: '123456789012', vpc: {id: vpc-0a1b2c3d}}]\n", "subnets: at least one"},
		{"duplicate subnet", "accounts: [{id: '123456789012', vpc: {id: vpc-0a1b2c3d, subnets: [{id: subnet-0a1b2c3d}, {id: subnet-0a1b2c3d}]}}]\n", "unique"},
		{"ipv4 block as ipv6", "accounts: [{id: '123456789012', vpc: {id: vpc-0a1b2c3d, subnets: [{id: subnet-0a1b2c3d, ipv6CidrBlock: 10.0.0.0/24}]}}]\n", "not an IPv6 CIDR block"},
		{"foreign availability zone", "accounts: [{id: '123456789012', vpc: {id: vpc-0a1b2c3d, subnets: [{id: subnet-0a1b2c3d, availabilityZone: eu-west-1a}]}}]\n", "want us-east-1 followed by a letter"},
		{"group member unknown", "identityCenter: {instanceArn: 'arn:aws:sso:::instance/ssoins-7223a1b2c3d4e5f6', identityStoreId: d-9067a1b2c3, groups: [{name: g, members: [zed]}]}\n", "not a directory user"},
		{"application scope", "identityCenter: {instanceArn: 'arn:aws:sso:::instance/ssoins-7223a1b2c3d4e5f6', identityStoreId: d-9067a1b2c3, applications: [{arn: 'arn:aws:sso::123456789012:application/ssoins-7223a1b2c3d4e5f6/apl-1a2b3c4d5e6f7a8b', name: a, scopes: ['redshift connect']}]}\n", "scopes[0]"},
		{"application actor policy without principal", "identityCenter: {instanceArn: 'arn:aws:sso:::instance/ssoins-7223a1b2c3d4e5f6', identityStoreId: d-9067a1b2c3, applications: [{arn: 'arn:aws:sso::123456789012:application/ssoins-7223a1b2c3d4e5f6/apl-1a2b3c4d5e6f7a8b', name: a, actorPolicy: {Version: '2012-10-17', Statement: [{Effect: Allow, Action: '*', Resource: '*'}]}}]}\n", "actorPolicy"},
		{"application assigns an unknown user", "identityCenter: {instanceArn: 'arn:aws:sso:::instance/ssoins-7223a1b2c3d4e5f6', identityStoreId: d-9067a1b2c3, applications: [{arn: 'arn:aws:sso::123456789012:application/ssoins-7223a1b2c3d4e5f6/apl-1a2b3c4d5e6f7a8b', name: a, assignments: {users: [zed]}}]}\n", "is not a directory user"},
		{"application assigns an unknown group", "identityCenter: {instanceArn: 'arn:aws:sso:::instance/ssoins-7223a1b2c3d4e5f6', identityStoreId: d-9067a1b2c3, applications: [{arn: 'arn:aws:sso::123456789012:application/ssoins-7223a1b2c3d4e5f6/apl-1a2b3c4d5e6f7a8b', name: a, assignments: {groups: [nobody]}}]}\n", "is not a directory group"},
		{"application of another account", "identityCenter: {instanceArn: 'arn:aws:sso:::instance/ssoins-7223a1b2c3d4e5f6', identityStoreId: d-9067a1b2c3, applications: [{arn: 'arn:aws:sso::210987654321:application/ssoins-7223a1b2c3d4e5f6/apl-1a2b3c4d5e6f7a8b', name: a}]}\n", "not in identityCenter.account"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.doc))
			if err == nil {
				c.ApplyDefaults()
				err = c.Validate()
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestAuditRetentionDefault(t *testing.T) {
	c := &Config{}
	c.ApplyDefaults()
	if d := c.Audit.Retention.Duration; d != 90*24*time.Hour {
		t.Fatalf("audit.retention defaults to %s, want CloudTrail's 90 days", d)
	}
	c, err := Parse([]byte("audit: {retention: 0s}\n"))
	if err != nil {
		t.Fatal(err)
	}
	c.ApplyDefaults()
	if err := c.Validate(); err != nil || c.Audit.Retention.Duration != 0 {
		t.Fatalf("retention 0s (keep forever): %v, %s", err, c.Audit.Retention.Duration)
	}
}

func TestEmptyFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "empty.yaml")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFile(p, nil); err != nil {
		t.Fatal(err)
	}
}

func TestPublicMetricsDefault(t *testing.T) {
	c, err := Parse([]byte("http: {publicMetrics: false}\n"))
	if err != nil {
		t.Fatal(err)
	}
	c.ApplyDefaults()
	if *c.HTTP.PublicMetrics {
		t.Fatal("publicMetrics: false was overridden by the default")
	}
	c = &Config{}
	c.ApplyDefaults()
	if !*c.HTTP.PublicMetrics {
		t.Fatal("publicMetrics does not default to true")
	}
}

// TestDirectoryUniqueness: user names and email addresses are unique in an
// identity store, compared ignoring ASCII case only; a duplicate is refused
// at load with a line naming both users.
func TestDirectoryUniqueness(t *testing.T) {
	t.Parallel()
	const head = "identityCenter: {instanceArn: 'arn:aws:sso:::instance/ssoins-7223a1b2c3d4e5f6', identityStoreId: d-9067a1b2c3, users: "
	cases := []struct{ name, users, want string }{
		{"same email", `[{userName: kate, emails: [kate@example.com]}, {userName: kim, emails: [kate@example.com]}]`,
			`identityCenter.users[1].emails[0] "kate@example.com": already an email of identityCenter.users[0] ("kate"); email addresses are unique in an identity store, ignoring case`},
		{"email differing in case", `[{userName: kate, emails: [kate@example.com]}, {userName: kim, emails: [kim@example.com, KATE@Example.com]}]`,
			`identityCenter.users[1].emails[1] "KATE@Example.com": already an email of identityCenter.users[0] ("kate"); email addresses are unique in an identity store, ignoring case`},
		{"same userName", `[{userName: kate}, {userName: kate}]`,
			`identityCenter.users[1].userName "kate": already the userName of identityCenter.users[0] ("kate"); user names are unique in an identity store, ignoring case`},
		{"userName differing in case", `[{userName: kate}, {userName: Kate}]`,
			`identityCenter.users[1].userName "Kate": already the userName of identityCenter.users[0] ("kate"); user names are unique in an identity store, ignoring case`},
		{"empty userName", `[{userName: ""}]`, `identityCenter.users[0].userName "": required`},
		{"empty email", `[{userName: kate, emails: [""]}]`, `identityCenter.users[0].emails[0]: empty`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := Parse([]byte(head + tc.users + "}\n"))
			if err != nil {
				t.Fatal(err)
			}
			c.ApplyDefaults()
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v\nwant a line with %s", err, tc.want)
			}
		})
	}
	// ASCII case only: the Kelvin sign K (U+212A) and k are different
	// letters, as are the long s and s; one user may list an address twice.
	for _, ok := range []string{
		`[{userName: kate, emails: [kate@example.com]}, {userName: "\u212Aate", emails: ["\u212Aate@example.com"]}]`,
		`[{userName: sam, emails: [sam@example.com]}, {userName: "\u017Fam", emails: ["\u017Fam@example.com"]}]`,
		`[{userName: solo, emails: [solo@example.com, SOLO@example.com]}]`,
	} {
		c, err := Parse([]byte(head + ok + "}\n"))
		if err != nil {
			t.Fatal(err)
		}
		c.ApplyDefaults()
		if err := c.Validate(); err != nil && strings.Contains(err.Error(), "identityCenter.users") {
			t.Errorf("%s refused: %v", ok, err)
		}
	}
}

// TestPoliciesCheckedByKind: a policy IAM would refuse to store is refused
// at load, in IAM's words, by kind (trust or identity), and so are
// documents over IAM's size quotas.
func TestPoliciesCheckedByKind(t *testing.T) {
	t.Parallel()
	const (
		trust    = `{Version: '2012-10-17', Statement: [{Effect: Allow, Principal: {AWS: 'arn:aws:iam::123456789012:root'}, Action: 'sts:AssumeRole'}]}`
		identity = `{Version: '2012-10-17', Statement: [{Effect: Allow, Action: 's3:GetObject', Resource: '*'}]}`
	)
	role := func(trust, policy string) string {
		return "accounts: [{id: '123456789012', roles: [{name: r, trustPolicy: " + trust + ", policies: [{name: p, document: " + policy + "}]}]}]\n"
	}
	user := func(policy string) string {
		return "accounts: [{id: '123456789012', users: [{name: u, policies: [{name: p, document: " + policy + "}]}]}]\n"
	}
	long := `{Version: '2012-10-17', Statement: [{Effect: Allow, Action: 's3:GetObject', Resource: 'arn:aws:s3:::` + strings.Repeat("b", 2100) + `'}]}`
	cases := []struct{ name, doc, want string }{
		{"valid", role(trust, identity), ""},
		{"trust Allow with NotPrincipal", role(`{Version: '2012-10-17', Statement: [{Effect: Allow, NotPrincipal: {AWS: 'arn:aws:iam::123456789012:user/app'}, Action: 'sts:AssumeRole'}]}`, identity),
			"accounts[0].roles[0].trustPolicy: MalformedPolicyDocument: Has prohibited field NotPrincipal."},
		{"trust without Principal", role(`{Version: '2012-10-17', Statement: [{Effect: Allow, Action: 'sts:AssumeRole'}]}`, identity),
			"accounts[0].roles[0].trustPolicy: MalformedPolicyDocument: Missing required field Principal."},
		{"trust with Resource", role(`{Version: '2012-10-17', Statement: [{Effect: Allow, Principal: {AWS: '123456789012'}, Action: 'sts:AssumeRole', Resource: '*'}]}`, identity),
			"accounts[0].roles[0].trustPolicy: MalformedPolicyDocument: Has prohibited field Resource."},
		{"role policy with Principal", role(trust, `{Version: '2012-10-17', Statement: [{Effect: Allow, Principal: '*', Action: 's3:GetObject', Resource: '*'}]}`),
			"accounts[0].roles[0].policies[0].document: MalformedPolicyDocument: Policy document should not specify a principal."},
		{"user policy without Resource", user(`{Version: '2012-10-17', Statement: [{Effect: Allow, Action: 's3:GetObject'}]}`),
			"accounts[0].users[0].policies[0].document: MalformedPolicyDocument: Policy statement must contain resources."},
		{"user policy bad version", user(`{Version: '2012-10-18', Statement: [{Effect: Allow, Action: 's3:GetObject', Resource: '*'}]}`),
			"MalformedPolicyDocument: The policy must contain a valid version string."},
		{"user policies over 2048", user(long), "accounts[0].users[0].policies: LimitExceeded: Maximum policy size of 2048 bytes exceeded for user u"},
		{"role policies may be longer", role(trust, long), ""},
		{"trust policy over 4096", role(`{Version: '2012-10-17', Statement: [{Effect: Allow, Principal: {AWS: 'arn:aws:iam::123456789012:role/`+strings.Repeat("r", 4100)+`'}, Action: 'sts:AssumeRole'}]}`, identity),
			"accounts[0].roles[0].trustPolicy: LimitExceeded: Cannot exceed quota for ACLSizePerRole: 4096"},
	}
	validateCases(t, cases, "olic")
}

// TestRedshiftIdcApplicationFields: a config's Redshift IdC application
// follows the Redshift API's patterns, as one made by API does: its identity
// namespace prefixes database role names, so no control characters.
func TestRedshiftIdcApplicationFields(t *testing.T) {
	t.Parallel()
	const ic = "identityCenter: {instanceArn: 'arn:aws:sso:::instance/ssoins-7223a1b2c3d4e5f6', identityStoreId: d-9067a1b2c3}\n"
	app := func(name, ns string) string {
		return ic + "accounts: [{id: '123456789012', redshiftIdcApplications: [{name: " + name + ", identityNamespace: " + ns + ", idcInstanceArn: 'arn:aws:sso:::instance/ssoins-7223a1b2c3d4e5f6'}]}]\n"
	}
	cases := []struct{ name, doc, want string }{
		{"valid", app("sales-idc", "AWSIDC"), ""},
		{"namespace with newline", app("sales-idc", `"AWS\nIDC"`), `accounts[0].redshiftIdcApplications[0].identityNamespace "AWS\nIDC": want 1-127 characters of`},
		{"namespace with colon", app("sales-idc", `"AWS:IDC"`), `identityNamespace "AWS:IDC": want 1-127`},
		{"namespace too long", app("sales-idc", strings.Repeat("A", 128)), "identityNamespace"},
		{"name upper case", app("Sales", "AWSIDC"), `accounts[0].redshiftIdcApplications[0].name "Sales": want 1-63 characters of`},
		{"name too long", app(strings.Repeat("a", 64), "AWSIDC"), "want 1-63 characters"},
	}
	validateCases(t, cases, "redshiftIdcApplications")
}

// TestDirectoryKey: ASCII letters only are lowered; every other byte,
// including the Kelvin sign and the long s, stays as it is.
func TestDirectoryKey(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":                  "",
		"kate@example.com":  "kate@example.com",
		"KATE@Example.COM":  "kate@example.com",
		"\u212Aate@X.com":   "\u212Aate@x.com",
		"\u017Fam@example":  "\u017Fam@example",
		"\u00C9lodie@EX.fr": "\u00C9lodie@ex.fr", // É is not ASCII
		"Z[\\]^_`a@b":       "z[\\]^_`a@b",       // the bytes around the letters
		"@AZ\x00\xffaz":     "@az\x00\xffaz",
	} {
		if got := DirectoryKey(in); got != want {
			t.Errorf("DirectoryKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// validateCases parses and validates each case's document: want "" means
// no error line mentions about; otherwise some line must hold want.
func validateCases(t *testing.T, cases []struct{ name, doc, want string }, about string) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := Parse([]byte(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			c.ApplyDefaults()
			err = c.Validate()
			if tc.want == "" {
				if err != nil && strings.Contains(err.Error(), about) {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v\nwant a line with %s", err, tc.want)
			}
		})
	}
}
