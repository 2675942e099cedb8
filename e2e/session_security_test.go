package e2e

import (
	"context"
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/testserver"
)

// smCallerIdentity signs GetCallerIdentity with creds (the SDK's signer, as
// the SDK would send it) and returns the status and the awsQuery error code
// ("" on success).
func smCallerIdentity(t *testing.T, srv *testserver.Server, creds aws.Credentials) (int, string) {
	t.Helper()
	resp := signedQuery(t, srv, creds, "sts", testserver.Region, time.Now(), "Action=GetCallerIdentity&Version=2011-06-15")
	if resp.Status == 200 {
		return 200, ""
	}
	var e queryError
	if err := xml.Unmarshal(resp.Body, &e); err != nil {
		t.Fatalf("not an awsQuery error: %v: %s", err, resp.Body)
	}
	return resp.Status, e.Error.Code
}

const smAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// TestSessionTokenForgery: an identity-enhanced session token cannot be
// edited in any byte, cut short, extended, or moved to another session's
// keys; each attempt is InvalidClientTokenId, as AWS names it.
func TestSessionTokenForgery(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	s1 := srv.IdentitySession(t, "alice", testserver.AnalystRoleArn)
	s2 := srv.IdentitySession(t, "bob", testserver.AnalystRoleArn)
	if st, code := smCallerIdentity(t, srv, s1); st != 200 {
		t.Fatalf("genuine session refused: %d %s", st, code)
	}
	tok := s1.SessionToken
	refused := func(t *testing.T, what, forged string) {
		t.Helper()
		c := s1
		c.SessionToken = forged
		if st, code := smCallerIdentity(t, srv, c); st != 403 || code != "InvalidClientTokenId" {
			t.Fatalf("%s: %d %q, want 403 InvalidClientTokenId", what, st, code)
		}
	}
	t.Run("every position, one bit flipped", func(t *testing.T) {
		for i := range len(tok) {
			b := []byte(tok)
			b[i] ^= 0x01
			refused(t, "bit flip at "+strconv.Itoa(i), string(b))
		}
	})
	t.Run("every position, another base64url character", func(t *testing.T) {
		for i := range len(tok) {
			b := []byte(tok)
			j := strings.IndexByte(smAlphabet, b[i])
			b[i] = smAlphabet[(j+1+len(smAlphabet))%len(smAlphabet)]
			refused(t, "substitution at "+strconv.Itoa(i), string(b))
		}
	})
	t.Run("truncated and extended", func(t *testing.T) {
		for _, n := range []int{len(tok) - 1, len(tok) - 2, len(tok) / 2, 8, 1} {
			refused(t, "truncated to "+strconv.Itoa(n), tok[:n])
		}
		refused(t, "extended", tok+"A")
	})
	t.Run("swapped between sessions", func(t *testing.T) {
		// Keys of session 1 with the token of session 2.
		refused(t, "session 2's token on session 1's keys", s2.SessionToken)
		// Session 2's key id and token, signed with session 1's secret.
		c := s2
		c.SecretAccessKey = s1.SecretAccessKey
		if st, code := smCallerIdentity(t, srv, c); st != 403 || code != "SignatureDoesNotMatch" {
			t.Fatalf("session 2 signed with session 1's secret: %d %q", st, code)
		}
	})
	t.Run("SDK error name", func(t *testing.T) {
		c := s1
		c.SessionToken = s2.SessionToken
		_, err := srv.STS(c).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
		wantAPIError(t, err, "InvalidClientTokenId", 403, "The security token included in the request is invalid.")
	})
	// The genuine tokens still work after all that.
	for _, c := range []aws.Credentials{s1, s2} {
		if st, code := smCallerIdentity(t, srv, c); st != 200 {
			t.Fatalf("genuine session refused afterwards: %d %s", st, code)
		}
	}
}

// TestMetricsConfigurable: with http.publicMetrics false, /metrics answers
// only an administrator's SigV4 signature (service "idcgate"); health stays
// open.
func TestMetricsConfigurable(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{Edit: func(c *config.Config) {
		off := false
		c.HTTP.PublicMetrics = &off
	}})
	get := func(t *testing.T, creds *aws.Credentials, service string) *testserver.RawResponse {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/metrics", nil)
		if creds != nil {
			testserver.Sign(t, req, nil, *creds, service, testserver.Region, time.Now())
		}
		return testserver.Do(t, req)
	}
	const missing = "Request is missing Authentication Token"
	t.Run("unsigned", func(t *testing.T) {
		secWantShape(t, get(t, nil, ""), 400, "json", "MissingAuthenticationTokenException", missing)
	})
	t.Run("IAM user", func(t *testing.T) {
		resp := get(t, &srv.App, "idcgate")
		secWantShape(t, resp, 400, "json", "AccessDeniedException", missing)
		if m := resp.JSON(t); m["message"] != "User: arn:aws:iam::123456789012:user/app is not authorized to perform: idcgate:GetMetrics: administrator (account root) credentials are required" {
			t.Fatalf("message %v", m["message"])
		}
	})
	t.Run("administrator signing for another service", func(t *testing.T) {
		resp := get(t, &srv.Admin, "redshift-serverless")
		secWantShape(t, resp, 400, "json", "InvalidSignatureException", missing)
	})
	t.Run("administrator", func(t *testing.T) {
		resp := get(t, &srv.Admin, "idcgate")
		if resp.Status != 200 || !strings.Contains(string(resp.Body), "# HELP ") {
			t.Fatalf("%d %.200s", resp.Status, resp.Body)
		}
	})
	t.Run("health stays open", func(t *testing.T) {
		for _, p := range []string{"/healthz", "/readyz"} {
			if r := testserver.Do(t, mustGet(t, srv.URL+p)); r.Status != 200 {
				t.Fatalf("%s: %d", p, r.Status)
			}
		}
	})
}

// TestRoleChainingRefusesAnotherUsersContext: a session carrying alice's
// identity context cannot chain into a role with bob's context assertion;
// with her own it can, so the refusal is the context check's.
func TestRoleChainingRefusesAnotherUsersContext(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{Edit: func(c *config.Config) {
		a := &c.Accounts[0]
		a.Roles = append(a.Roles, config.Role{Name: "sm-chainer", MaxSessionDuration: &config.Duration{Duration: time.Hour}, TrustPolicy: a.Roles[0].TrustPolicy,
			Policies: []config.Policy{{Name: "p", Document: config.Document{JSON: []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sts:AssumeRole","sts:SetContext"],"Resource":"*"}]}`)}}}})
	}})
	ctx := context.Background()
	alice := srv.IdentitySession(t, "alice", "arn:aws:iam::123456789012:role/sm-chainer")
	chain := func(assertion string) error {
		_, err := srv.STS(alice).AssumeRole(ctx, &sts.AssumeRoleInput{
			RoleArn: aws.String(testserver.AnalystRoleArn), RoleSessionName: aws.String("sm-chained"),
			ProvidedContexts: []ststypes.ProvidedContext{{ProviderArn: aws.String(testserver.ContextProvider), ContextAssertion: aws.String(assertion)}},
		})
		return err
	}
	err := chain(srv.IdentityContext(t, "bob"))
	wantAPIError(t, err, "AccessDenied", 403, "A session with an identity context cannot assume a role with another user's context.")
	if err := chain(srv.IdentityContext(t, "alice")); err != nil {
		t.Fatalf("chaining with alice's own context: %v", err)
	}
}
