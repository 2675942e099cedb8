package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"

	"github.com/idcgate/idcgate/internal/audit"
	"github.com/idcgate/idcgate/internal/testserver"
)

var signinCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// pageSignIn signs user in on a fresh device authorization's page, as a
// browser without JavaScript would (GET the page, POST its form), and
// reports whether the sign-in was taken (303 onwards) or refused (401).
func pageSignIn(t *testing.T, srv *testserver.Server, user, password string) bool {
	t.Helper()
	c := srv.UnsignedOIDC()
	ctx := context.Background()
	reg, err := c.RegisterClient(ctx, &ssooidc.RegisterClientInput{ClientName: aws.String("t"), ClientType: aws.String("public")})
	if err != nil {
		t.Fatal(err)
	}
	dev, err := c.StartDeviceAuthorization(ctx, &ssooidc.StartDeviceAuthorizationInput{ClientId: reg.ClientId,
		ClientSecret: reg.ClientSecret, StartUrl: aws.String(srv.URL + "/start")})
	if err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	b := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	link := aws.ToString(dev.VerificationUriComplete)
	resp, err := b.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := signinCSRF.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no sign-in form at %s: %d %s", link, resp.StatusCode, body)
	}
	resp, err = b.PostForm(link, url.Values{"csrf": {string(m[1])}, "action": {"signin"}, "username": {user}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusSeeOther:
		return true
	case http.StatusUnauthorized:
		return false
	}
	t.Fatalf("sign-in post: %d", resp.StatusCode)
	return false
}

// TestSetUserPassword: the administrator operation, its refusals, and a
// user deleted through the Identity Store losing its password.
func TestSetUserPassword(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	set := func(creds aws.Credentials, user, password string) *testserver.RawResponse {
		b, _ := json.Marshal(map[string]string{"userName": user, "password": password})
		return srv.CallAdmin(t, creds, "SetUserPassword", b)
	}
	if !pageSignIn(t, srv, "alice", "alice-demo-pass") {
		t.Fatal("alice's example password does not sign in")
	}
	r := set(srv.Admin, "ALICE", "alice-second-pass")
	if r.Status != 200 {
		t.Fatalf("SetUserPassword: %d %s", r.Status, r.Body)
	}
	if out := r.JSON(t); out["userName"] != "alice" || out["userId"] == "" || out["identityStoreId"] != "d-9067a1b2c3" {
		t.Errorf("answer %v", out)
	}
	if pageSignIn(t, srv, "alice", "alice-demo-pass") || !pageSignIn(t, srv, "alice", "alice-second-pass") {
		t.Error("the new password did not replace the old")
	}
	for _, tc := range []struct {
		name, user, password, code string
		status                     int
		creds                      aws.Credentials
	}{
		{"not an administrator", "alice", "long-enough-1", "AccessDeniedException", 400, srv.App},
		{"unknown user", "nobody", "long-enough-1", "ResourceNotFoundException", 400, srv.Admin},
		{"too short", "alice", "short", "ValidationException", 400, srv.Admin},
	} {
		r := set(tc.creds, tc.user, tc.password)
		if r.Status != tc.status || r.Header.Get("X-Amzn-ErrorType") != tc.code || strings.Contains(string(r.Body), tc.password) {
			t.Errorf("%s: %d %s", tc.name, r.Status, r.Body)
		}
	}

	// A user made by API, given a password, deleted and made again: the
	// new user has no password.
	ids := srv.IdentityStore(srv.Admin)
	ctx := context.Background()
	mk := func() string {
		out, err := ids.CreateUser(ctx, &identitystore.CreateUserInput{IdentityStoreId: aws.String("d-9067a1b2c3"),
			UserName: aws.String("dave"), DisplayName: aws.String("Dave")})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.UserId)
	}
	dave := mk()
	if r := set(srv.Admin, "dave", "dave-pass-123"); r.Status != 200 {
		t.Fatalf("SetUserPassword dave: %d %s", r.Status, r.Body)
	}
	if !pageSignIn(t, srv, "dave", "dave-pass-123") {
		t.Fatal("dave does not sign in")
	}
	if _, err := ids.DeleteUser(ctx, &identitystore.DeleteUserInput{IdentityStoreId: aws.String("d-9067a1b2c3"), UserId: aws.String(dave)}); err != nil {
		t.Fatal(err)
	}
	mk()
	if pageSignIn(t, srv, "dave", "dave-pass-123") {
		t.Error("a deleted user's password signs its successor in")
	}

	// The trail: SetUserPassword without the password; the sign-ins as
	// Identity Center's sign-in events, naming a user only when it exists.
	lookup := func(event string) []map[string]any {
		b, _ := json.Marshal(map[string]any{"eventName": event, "maxResults": 100})
		r := srv.CallAdmin(t, srv.Admin, "LookupEvents", b)
		if r.Status != 200 {
			t.Fatalf("LookupEvents: %d %s", r.Status, r.Body)
		}
		var out struct{ Events []map[string]any }
		if err := json.Unmarshal(r.Body, &out); err != nil {
			t.Fatal(err)
		}
		return out.Events
	}
	for _, e := range lookup("SetUserPassword") {
		if p, _ := e["requestParameters"].(map[string]any); p["password"] != audit.Hidden {
			t.Errorf("SetUserPassword record %v", e)
		}
	}
	var ok, failedAlice, failedDave, failedUnknown int
	pageSignIn(t, srv, "nobody-at-all", "whatever-1")
	for _, e := range lookup("CredentialVerification") {
		id := e["userIdentity"].(map[string]any)
		data := e["additionalEventData"].(map[string]any)
		if e["eventSource"] != "signin.amazonaws.com" || data["CredentialType"] != "PASSWORD" {
			t.Errorf("record %v", e)
		}
		switch {
		case data["CredentialVerification"] == "Success" && id["userName"] != "":
			ok++
		case id["userName"] == "alice" && e["errorCode"] == "InvalidCredentials":
			failedAlice++
		case id["userName"] == "dave" && e["errorCode"] == "InvalidCredentials":
			failedDave++ // the new dave, who has no password
		case id["userName"] == audit.Hidden && id["type"] == "Unknown":
			failedUnknown++
		}
		raw, _ := json.Marshal(e)
		for _, pw := range []string{"alice-demo-pass", "alice-second-pass", "dave-pass-123", "whatever-1"} {
			if strings.Contains(string(raw), pw) {
				t.Errorf("a sign-in record holds a password: %s", raw)
			}
		}
	}
	if ok != 3 || failedAlice != 1 || failedDave != 1 || failedUnknown != 1 {
		t.Errorf("CredentialVerification: %d successes, %d failures of alice, %d of dave, %d of unknown users; want 3, 1, 1, 1",
			ok, failedAlice, failedDave, failedUnknown)
	}
	if n := len(lookup("UserAuthentication")); n != 3 {
		t.Errorf("%d UserAuthentication records, want 3", n)
	}
}

// TestUsersSetPasswordCLI: `idcgate users set-password` reads the password
// from standard input, never from a flag.
func TestUsersSetPasswordCLI(t *testing.T) {
	t.Parallel()
	p := testserver.StartProcess(t, testserver.Options{})
	run := func(stdin string, args ...string) (string, string, int) {
		cmd := adminCmd(t, p, args...)
		cmd.Stdin = strings.NewReader(stdin)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		cmd.Run()
		return stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()
	}
	out, errOut, code := run("bob-cli-password\n", "users", "set-password", "--user", "bob")
	if code != 0 || !strings.Contains(out, `"userName": "bob"`) || strings.Contains(out+errOut, "bob-cli-password") {
		t.Fatalf("set-password: exit %d\n%s%s", code, out, errOut)
	}
	if !pageSignIn(t, p.Server, "bob", "bob-cli-password") || pageSignIn(t, p.Server, "bob", "bob-demo-pass") {
		t.Error("the CLI's password is not bob's")
	}
	if _, errOut, code := run("", "users", "set-password", "--user", "bob"); code != 2 || !strings.Contains(errOut, "standard input") {
		t.Errorf("no password on stdin: exit %d %s", code, errOut)
	}
	if _, errOut, code := run("x\n", "users", "set-password", "--user", "bob", "--password", "x"); code != 2 {
		t.Errorf("a --password flag: exit %d %s", code, errOut)
	}
	if _, errOut, code := run("short\n", "users", "set-password", "--user", "bob"); code != 1 || !strings.Contains(errOut, "ValidationException") {
		t.Errorf("too short: exit %d %s", code, errOut)
	}
}
