//go:build slow

package e2e

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	oidctypes "github.com/aws/aws-sdk-go-v2/service/ssooidc/types"

	"github.com/idcgate/idcgate/internal/pgtest"
)

// slBotocoreRefresh is what the test runs in Python: botocore's own SSO
// token provider, for the profile of an sso-session, loads the cached
// token and, since it expires within its refresh window, refreshes it
// with CreateToken against AWS_ENDPOINT_URL_SSO_OIDC, writing the cache
// back as the CLI does.
const slBotocoreRefresh = `
import json, botocore.session
from botocore.tokens import SSOTokenProvider
session = botocore.session.Session(profile="idcgate")
token = SSOTokenProvider(session).load_token().get_frozen_token()
print(json.dumps({"token": token.token, "expiration": token.expiration.isoformat()}))
`

// TestSSOLoginBotocoreRefresh: a token cache written as "aws sso login"
// writes it (its access token about to expire) is refreshed by botocore's
// SSOTokenProvider against idcgate: botocore gets a new access token, the
// cache the next refresh token, and the refresh token it used is spent.
func TestSSOLoginBotocoreRefresh(t *testing.T) {
	t.Parallel()
	python, err := pythonWithBotocore()
	if err != nil {
		pgtest.Missing(t, err)
	}
	srv, _, c := slServer(t)
	ctx := context.Background()
	// What "aws sso login" registers and signs in with. (Slow only for
	// Python: botocore takes seconds to import.)
	reg := slRegister(t, c, &ssooidc.RegisterClientInput{ClientName: aws.String("botocore-client-idcgate"), ClientType: aws.String("public"),
		Scopes: []string{"sso:account:access", "redshift:connect"}})
	tok := slDeviceTokens(t, srv, c, reg, "alice")

	home := t.TempDir()
	const session = "idcgate"
	startURL := srv.URL + "/start"
	config := fmt.Sprintf("[profile idcgate]\nsso_session = %s\n\n[sso-session %s]\nsso_start_url = %s\nsso_region = us-east-1\nsso_registration_scopes = sso:account:access, redshift:connect\n",
		session, session, startURL)
	if err := os.WriteFile(filepath.Join(home, "config"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	cacheDir := filepath.Join(home, ".aws", "sso", "cache")
	if err := os.MkdirAll(cacheDir, 0o700); err != nil {
		t.Fatal(err)
	}
	// The cache file is named for the SHA-1 of the session name, as the
	// CLI names it; the access token "expires" in a minute, inside
	// botocore's 15-minute refresh window.
	sum := sha1.Sum([]byte(session))
	cacheFile := filepath.Join(cacheDir, hex.EncodeToString(sum[:])+".json")
	cached := map[string]string{
		"startUrl": startURL, "region": "us-east-1", "accessToken": aws.ToString(tok.AccessToken),
		"expiresAt": time.Now().UTC().Add(time.Minute).Format(time.RFC3339),
		"clientId":  aws.ToString(reg.ClientId), "clientSecret": aws.ToString(reg.ClientSecret),
		"registrationExpiresAt": time.Unix(reg.ClientSecretExpiresAt, 0).UTC().Format(time.RFC3339),
		"refreshToken":          aws.ToString(tok.RefreshToken),
	}
	b, _ := json.Marshal(cached)
	if err := os.WriteFile(cacheFile, b, 0o600); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(python, "-c", slBotocoreRefresh)
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "AWS_") || strings.HasPrefix(kv, "HOME=") })
	cmd.Env = append(env, "HOME="+home, "AWS_CONFIG_FILE="+filepath.Join(home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "credentials"), "AWS_EC2_METADATA_DISABLED=true",
		"AWS_ENDPOINT_URL_SSO_OIDC="+srv.URL)
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("botocore: %v\n%s\n%s", err, out, stderr)
	}
	var got struct{ Token, Expiration string }
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("botocore printed %q: %v", out, err)
	}
	if got.Token == "" || got.Token == aws.ToString(tok.AccessToken) {
		t.Fatalf("botocore did not refresh the token: %s", out)
	}
	exp, err := time.Parse(time.RFC3339, got.Expiration)
	if err != nil || exp.Before(time.Now().Add(50*time.Minute)) {
		t.Fatalf("refreshed token expires %q (%v), want about an hour from now", got.Expiration, err)
	}
	// The cache now holds the new access token and the next refresh token.
	b, err = os.ReadFile(cacheFile)
	if err != nil {
		t.Fatal(err)
	}
	var after map[string]string
	if err := json.Unmarshal(b, &after); err != nil {
		t.Fatal(err)
	}
	if after["accessToken"] != got.Token || after["refreshToken"] == "" || after["refreshToken"] == aws.ToString(tok.RefreshToken) {
		t.Fatalf("cache after the refresh: %s", b)
	}
	// The refresh token botocore spent is refused; the one it cached works.
	refresh := func(rt string) error {
		_, err := c.CreateToken(ctx, &ssooidc.CreateTokenInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret,
			GrantType: aws.String("refresh_token"), RefreshToken: aws.String(rt)})
		return err
	}
	slWant[oidctypes.InvalidGrantException](t, refresh(aws.ToString(tok.RefreshToken)), "invalid_grant")
	if err := refresh(after["refreshToken"]); err != nil {
		t.Fatalf("the refresh token botocore cached: %v", err)
	}
}

// pythonWithBotocore is the first python3 on PATH that imports botocore:
// the system's python3 may come before the one the AWS CLI and boto3 were
// installed for (pyenv's shims, which CI appends to PATH).
func pythonWithBotocore() (string, error) {
	var tried []string
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		p := filepath.Join(dir, "python3")
		if fi, err := os.Stat(p); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			continue
		}
		if exec.Command(p, "-c", "import botocore.tokens").Run() == nil {
			return p, nil
		}
		tried = append(tried, p)
	}
	if len(tried) == 0 {
		return "", errors.New("no python3 on PATH")
	}
	return "", fmt.Errorf("no python3 on PATH has botocore (boto3); tried %s", strings.Join(tried, ", "))
}
