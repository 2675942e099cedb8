package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/redshiftserverless"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/testserver"
)

// TestLoginCredentialProcess runs `idcgate login` as the Go SDK's
// credential_process, signed as the example IAM user "app".
func TestLoginCredentialProcess(t *testing.T) {
	p := testserver.StartProcess(t, testserver.Options{})
	bin := idcgateBinary(t)
	dir := t.TempDir()
	credFile := filepath.Join(dir, "credentials")
	os.WriteFile(credFile, []byte(fmt.Sprintf("[app]\naws_access_key_id = %s\naws_secret_access_key = %s\n", testserver.AppKeyID, testserver.AppSecretKey)), 0o600)
	login := fmt.Sprintf("%s login --user alice --output credential-process --config %s --endpoint %s --profile app --admin-credentials-file %s",
		bin, testserver.ExampleConfig(), p.URL, filepath.Join(p.DataDir, "credentials"))
	cfgFile := filepath.Join(dir, "config")
	os.WriteFile(cfgFile, []byte("[profile tip]\nregion = us-east-1\ncredential_process = "+login+"\n"), 0o600)
	useAWSFiles(t, credFile, cfgFile)

	ctx := context.Background()
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithSharedConfigProfile("tip"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.BaseEndpoint = aws.String(p.URL)
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity through credential_process: %v", err)
	}
	if aws.ToString(id.Arn) != "arn:aws:sts::123456789012:assumed-role/analyst/alice" {
		t.Fatalf("caller %s", aws.ToString(id.Arn))
	}
	creds, _ := cfg.Credentials.Retrieve(ctx)
	if !strings.HasPrefix(creds.AccessKeyID, "ASIA") || !creds.CanExpire || time.Until(creds.Expires) < 50*time.Minute {
		t.Fatalf("credentials %s expire %v", creds.AccessKeyID, creds.Expires)
	}
	// The session `idcgate login` printed is identity-enhanced: it gets alice
	// an Identity Center token for demo, expiring with or before the session.
	tok, err := redshiftserverless.NewFromConfig(cfg).GetIdentityCenterAuthToken(ctx, &redshiftserverless.GetIdentityCenterAuthTokenInput{WorkgroupNames: []string{"demo"}})
	if err != nil {
		t.Fatalf("GetIdentityCenterAuthToken with the credential_process session: %v", err)
	}
	if !strings.HasPrefix(aws.ToString(tok.Token), "IDC2.") || tok.ExpirationTime == nil || tok.ExpirationTime.After(creds.Expires) {
		t.Fatalf("token %.12s… expiring %v (session expires %v)", aws.ToString(tok.Token), tok.ExpirationTime, creds.Expires)
	}

	t.Run("env output", func(t *testing.T) {
		out, err := exec.Command(bin, strings.Fields(strings.Replace(login, "credential-process", "env", 1))[1:]...).Output()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(out, []byte("export AWS_ACCESS_KEY_ID=ASIA")) || !bytes.Contains(out, []byte("export AWS_SESSION_TOKEN=")) {
			t.Fatalf("output %s", out)
		}
	})

	t.Run("root credentials are refused", func(t *testing.T) {
		args := strings.Fields(strings.Replace(login, "--profile app", "--profile default", 1))[1:]
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(p.DataDir, "credentials"))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Fatalf("exit: %v", err)
		}
		if !strings.Contains(stderr.String(), "AccessDenied") || !strings.Contains(stderr.String(), "Roles may not be assumed by root accounts.") {
			t.Fatalf("stderr %s", stderr.String())
		}
	})

	t.Run("idp token", func(t *testing.T) {
		cmd := exec.Command(bin, "idp", "token", "--user", "bob", "--endpoint", p.URL, "--profile", "default")
		cmd.Env = append(os.Environ(), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(p.DataDir, "credentials"))
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		claims := testserver.IDTokenClaims(t, strings.TrimSpace(string(out)))
		if claims["email"] != "bob@example.com" || claims["iss"] != p.URL+"/idp" {
			b, _ := json.Marshal(claims)
			t.Fatalf("claims %s", b)
		}
		// The app user is not an administrator.
		cmd = exec.Command(bin, "idp", "token", "--user", "bob", "--endpoint", p.URL, "--profile", "app")
		if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "AccessDeniedException") {
			t.Fatalf("app user got an IdP token: %s", out)
		}
	})
}

// loginRun runs the idcgate binary with env (on top of a clean AWS
// environment) and returns stdout, stderr and the exit code.
func loginRun(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	return loginRunIn(t, "", env, args...)
}

// loginRunIn is loginRun in the working directory dir.
func loginRunIn(t *testing.T, dir string, env []string, args ...string) (string, string, int) {
	t.Helper()
	bin := idcgateBinary(t)
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_SESSION_TOKEN=", "AWS_PROFILE=", "IDCGATE_CONFIG=", "IDCGATE_DATA_DIR=")
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

// TestIdPTokenCLI: `idcgate idp token --audience A --ttl D` prints a JWT
// with that aud and exp, signed by a key of the JWKS the server publishes at
// /idp/jwks; a ttl out of range or not a duration is a usage error.
func TestIdPTokenCLI(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	admin := []string{"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(srv.DataDir, "credentials"), "AWS_PROFILE=default"}

	// The JWKS, found as any relying party would: discovery document, then jwks_uri.
	disc := testserver.Do(t, mustGet(t, srv.URL+"/idp/.well-known/openid-configuration")).JSON(t)
	jwksURI, _ := disc["jwks_uri"].(string)
	if jwksURI != srv.URL+"/idp/jwks" {
		t.Fatalf("jwks_uri %q", jwksURI)
	}
	resp := testserver.Do(t, mustGet(t, jwksURI))
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(resp.Body, &set); resp.Status != 200 || err != nil || len(set.Keys) == 0 {
		t.Fatalf("JWKS: %d %v %s", resp.Status, err, resp.Body)
	}

	for _, tc := range []struct {
		ttl  string
		secs int64
	}{{"90s", 90}, {"24h", 86400}} {
		before := time.Now().Unix()
		out, stderr, code := loginRun(t, admin, "idp", "token", "--user", "alice", "--audience", "corp-x", "--ttl", tc.ttl, "--endpoint", srv.URL)
		after := time.Now().Unix()
		if code != 0 {
			t.Fatalf("--ttl %s: exit %d: %s", tc.ttl, code, stderr)
		}
		tok, err := jwt.ParseSigned(strings.TrimSpace(out), []jose.SignatureAlgorithm{jose.ES256})
		if err != nil {
			t.Fatalf("not a JWS: %v: %q", err, out)
		}
		keys := set.Key(tok.Headers[0].KeyID)
		if len(keys) != 1 {
			t.Fatalf("kid %q not in the published JWKS", tok.Headers[0].KeyID)
		}
		var claims struct {
			jwt.Claims
			Email string `json:"email"`
		}
		if err := tok.Claims(keys[0].Key, &claims); err != nil {
			t.Fatalf("signature does not verify with the published key: %v", err)
		}
		if len(claims.Audience) != 1 || claims.Audience[0] != "corp-x" || claims.Issuer != srv.URL+"/idp" || claims.Email != "alice@example.com" {
			t.Fatalf("claims %+v", claims)
		}
		exp, iat := claims.Expiry.Time().Unix(), claims.IssuedAt.Time().Unix()
		if exp-iat != tc.secs || exp < before+tc.secs || exp > after+tc.secs {
			t.Fatalf("--ttl %s: iat %d exp %d (called between %d and %d)", tc.ttl, iat, exp, before, after)
		}
	}

	for ttl, msg := range map[string]string{
		"25h":    `invalid value "25h" for flag -ttl: must be from 1s to 24h`,
		"86401s": `invalid value "86401s" for flag -ttl: must be from 1s to 24h`,
		"0s":     `invalid value "0s" for flag -ttl: must be from 1s to 24h`,
		"-5m":    `invalid value "-5m" for flag -ttl: must be from 1s to 24h`,
		"soon":   `invalid value "soon" for flag -ttl: want a duration such as 90s, 10m or 1h`,
		"10":     `invalid value "10" for flag -ttl: want a duration such as 90s, 10m or 1h`,
	} {
		out, stderr, code := loginRun(t, admin, "idp", "token", "--user", "alice", "--ttl", ttl, "--endpoint", srv.URL)
		if code != 2 || out != "" || stderr != "idcgate idp: "+msg+"\n" {
			t.Errorf("--ttl %s: exit %d, stdout %q, stderr %q", ttl, code, out, stderr)
		}
	}
}

// TestLoginUsage: a usage mistake is exit code 2 and one line saying it.
func TestLoginUsage(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"login", "--role", testserver.AnalystRoleArn},
			"idcgate login: --user is required\n"},
		{[]string{"login", "--user", "alice", "--output", "yaml"},
			"idcgate login: --output must be env or credential-process\n"},
		{[]string{"login", "--user", "alice", "--duration", "forever"},
			"idcgate login: invalid value \"forever\" for flag -duration: parse error\n"},
	}
	for _, tc := range cases {
		out, stderr, code := loginRun(t, nil, tc.args...)
		if code != 2 || out != "" || stderr != tc.want {
			t.Errorf("%v: exit %d, stdout %q\nstderr %q\nwant   %q", tc.args, code, out, stderr, tc.want)
		}
	}
}

// TestLoginCredentialProcessElsewhere: credential_process runs login from
// whatever directory the SDK's process is in. The administrator credentials
// are found through --data-dir, IDCGATE_DATA_DIR, or next to the config
// file when its dataDir is relative; when they cannot be found the error
// names the paths tried and what to pass.
func TestLoginCredentialProcessElsewhere(t *testing.T) {
	deploy := t.TempDir() // the config file and, beside it, the data dir
	example, err := os.ReadFile(testserver.ExampleConfig())
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(deploy, "idcgate.yaml")
	if err := os.WriteFile(cfgPath, example, 0o600); err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(deploy, "idcgate-data") // the example's default dataDir, relative to deploy
	srv := testserver.Start(t, testserver.Options{DataDir: dataDir})
	bin := idcgateBinary(t)

	awsDir := t.TempDir()
	credFile := filepath.Join(awsDir, "credentials")
	os.WriteFile(credFile, []byte(fmt.Sprintf("[app]\naws_access_key_id = %s\naws_secret_access_key = %s\n", testserver.AppKeyID, testserver.AppSecretKey)), 0o600)
	login := fmt.Sprintf("%s login --user alice --output credential-process --endpoint %s --profile app", bin, srv.URL)
	noConfig := t.TempDir()
	otherCfg := filepath.Join(noConfig, "idcgate.yaml")
	os.WriteFile(otherCfg, example, 0o600)
	profiles := map[string]string{
		"beside-config": login + " --config " + cfgPath,
		"data-dir":      login + " --role " + testserver.AnalystRoleArn + " --application " + testserver.ApplicationArn + " --data-dir " + dataDir,
		"env-data-dir":  "IDCGATE_DATA_DIR=" + dataDir + " " + login + " --config " + otherCfg,
	}
	var cfg strings.Builder
	for name, cmd := range profiles {
		fmt.Fprintf(&cfg, "[profile %s]\nregion = us-east-1\ncredential_process = %s\n", name, cmd)
	}
	cfgFile := filepath.Join(awsDir, "config")
	os.WriteFile(cfgFile, []byte(cfg.String()), 0o600)
	useAWSFiles(t, credFile, cfgFile)
	t.Setenv("IDCGATE_CONFIG", "")
	t.Setenv("IDCGATE_DATA_DIR", "")
	elsewhere := t.TempDir()
	t.Chdir(elsewhere) // neither the config's nor the data dir's directory

	ctx := context.Background()
	for name := range profiles {
		t.Run(name, func(t *testing.T) {
			cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithSharedConfigProfile(name))
			if err != nil {
				t.Fatal(err)
			}
			cfg.BaseEndpoint = aws.String(srv.URL)
			id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			if err != nil {
				t.Fatalf("GetCallerIdentity through credential_process run from %s: %v", elsewhere, err)
			}
			if got := aws.ToString(id.Arn); got != "arn:aws:sts::123456789012:assumed-role/analyst/alice" {
				t.Fatalf("caller %s", got)
			}
		})
	}

	t.Run("not found", func(t *testing.T) {
		_, stderr, code := loginRun(t, []string{"AWS_SHARED_CREDENTIALS_FILE=" + credFile, "AWS_CONFIG_FILE=" + cfgFile},
			"login", "--user", "alice", "--config", otherCfg, "--endpoint", srv.URL, "--profile", "app")
		want := fmt.Sprintf("idcgate login: no administrator credentials at %s or %s: pass --data-dir DIR (the server's data dir; env IDCGATE_DATA_DIR) or --admin-credentials-file FILE\n",
			filepath.Join(elsewhere, "idcgate-data", "credentials"), filepath.Join(noConfig, "idcgate-data", "credentials"))
		if code != 1 || stderr != want {
			t.Fatalf("exit %d\nstderr %q\nwant   %q", code, stderr, want)
		}
	})
}

// TestLoginNeedsOnlyTheUser: against a running server, `idcgate login
// --user alice` needs nothing else: the administrator credentials it finds
// in ./idcgate-data and the server's candidate rule (a role that trusts the
// caller for sts:AssumeRole and sts:SetContext and allows
// GetIdentityCenterAuthToken; an application whose grant accepts the
// built-in IdP) pick the role and the application. --role takes a name;
// two candidates are an error naming both; SSO-OIDC's refusals show AWS's
// error_description.
func TestLoginNeedsOnlyTheUser(t *testing.T) {
	t.Parallel()
	type server struct{ url, dir string }
	start := func(edit func(*config.Config)) server {
		dir := t.TempDir()
		srv := testserver.Start(t, testserver.Options{DataDir: filepath.Join(dir, "idcgate-data"), Edit: edit})
		return server{srv.URL, dir}
	}
	run := func(s server, args ...string) (string, string, int) {
		t.Helper()
		// In the directory ./idcgate-data is in, as after `idcgate serve` there.
		return loginRunIn(t, s.dir, []string{"AWS_ACCESS_KEY_ID=" + testserver.AppKeyID, "AWS_SECRET_ACCESS_KEY=" + testserver.AppSecretKey,
			"AWS_REGION=us-east-1", "IDCGATE_ENDPOINT=" + s.url}, args...)
	}
	example := start(nil)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"user only", nil, "# arn:aws:sts::123456789012:assumed-role/analyst/alice until "},
		{"role by name", []string{"--role", "no-redshift"}, "# arn:aws:sts::123456789012:assumed-role/no-redshift/alice until "},
		{"role by ARN", []string{"--role", testserver.AnalystRoleArn}, "# arn:aws:sts::123456789012:assumed-role/analyst/alice until "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, code := run(example, append([]string{"login", "--user", "alice"}, tc.args...)...)
			if code != 0 || !strings.Contains(out, tc.want) || !strings.Contains(out, "export AWS_SESSION_TOKEN=") {
				t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out, stderr)
			}
		})
	}
	t.Run("SSO-OIDC refusal shows its description", func(t *testing.T) {
		jwtFile := filepath.Join(t.TempDir(), "bad.jwt")
		os.WriteFile(jwtFile, []byte("eyJhbGciOiJSUzI1NiJ9.e30.c2ln"), 0o600)
		_, stderr, code := run(example, "login", "--jwt-file", jwtFile)
		if code != 1 || !strings.HasPrefix(stderr, "idcgate login: CreateTokenWithIAM: InvalidGrantException (invalid_grant): ") ||
			len(strings.TrimSpace(strings.SplitN(stderr, "(invalid_grant): ", 2)[1])) == 0 {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
	})
	t.Run("two candidate roles", func(t *testing.T) {
		two := start(func(c *config.Config) {
			r := c.Accounts[0].Roles[0]
			r.Name = "analyst-2"
			c.Accounts[0].Roles = append(c.Accounts[0].Roles, r)
		})
		_, stderr, code := run(two, "login", "--user", "alice")
		want := "idcgate login: 2 roles would do for arn:aws:iam::123456789012:user/app (arn:aws:iam::123456789012:role/analyst, arn:aws:iam::123456789012:role/analyst-2): pass --role\n"
		if code != 1 || stderr != want {
			t.Fatalf("exit %d, stderr %q\nwant %q", code, stderr, want)
		}
	})
}

// useAWSFiles makes the SDK's default chain read these shared credentials
// and config files and nothing from the environment (the test's own
// credentials and profile would win otherwise).
func useAWSFiles(t *testing.T, credFile, cfgFile string) {
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", credFile)
	t.Setenv("AWS_CONFIG_FILE", cfgFile)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
}
