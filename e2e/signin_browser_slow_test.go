//go:build slow

package e2e

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	oidctypes "github.com/aws/aws-sdk-go-v2/service/ssooidc/types"
	"github.com/chromedp/chromedp"

	"github.com/idcgate/idcgate/internal/testserver"
)

// The sign-in pages driven as a person uses them: Debian's Chromium,
// headless, over the DevTools protocol (BEHAVIOUR 18.5).

const chromiumPath = "/usr/bin/chromium"

// browserContext starts a fresh headless Chromium that may reach loopback
// only, so a test never depends on the network: no background networking,
// no component updates, every host but 127.0.0.1 and localhost
// unresolvable. In CI a missing Chromium
// fails the test; elsewhere it skips.
func browserContext(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("Chromium is required in CI (apt-get install chromium): %v", err)
		}
		t.Skipf("no Chromium at %s", chromiumPath)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-proxy-server", true),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.WindowSize(1280, 900),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// Start the browser now, outside any step's timeout.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return ctx
}

// steps runs actions with a deadline, so a page that never shows fails
// the test instead of hanging it.
func steps(t *testing.T, ctx context.Context, what string, a ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, a...); err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
		t.Fatalf("%s: %v (at %s: %q)", what, err, loc, body)
	}
}

func text(t *testing.T, ctx context.Context, id string) string {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	s, err := chromedp.Run(sctx, chromedp.Text(chromedp.ID(id)))
	if err != nil {
		t.Fatalf("text of #%s: %v", id, err)
	}
	return strings.TrimSpace(s)
}

// signInAs fills the sign-in form.
func signInAs(t *testing.T, ctx context.Context, user, password string) {
	t.Helper()
	steps(t, ctx, "sign in as "+user,
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), user),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.ID("sign-in")))
}

// callback is a loopback redirect target, as the Redshift browser plugin
// listens on: it hands the query it receives to the test.
func callback(t *testing.T) (string, <-chan url.Values) {
	t.Helper()
	ln := loopbackListener(t)
	got := make(chan url.Values, 1)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case got <- r.URL.Query():
		default:
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("You may close this window."))
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String() + "/redshift/", got
}

// browserPlugin is the Redshift browser plugin's side of a sign-in on srv:
// its loopback redirect target, its PKCE pair, and the client it
// registered through c.
type browserPlugin struct {
	srv                 *testserver.Server
	redirect            string
	callbacks           <-chan url.Values
	verifier, challenge string
	reg                 *ssooidc.RegisterClientOutput
}

// newBrowserPlugin listens and registers a client as the plugin does.
func newBrowserPlugin(t *testing.T, srv *testserver.Server, c *ssooidc.Client) *browserPlugin {
	t.Helper()
	p := &browserPlugin{srv: srv}
	p.redirect, p.callbacks = callback(t)
	p.verifier, p.challenge = slPKCE()
	reg, err := c.RegisterClient(context.Background(), &ssooidc.RegisterClientInput{
		ClientName: aws.String("Amazon Redshift JDBC driver"), ClientType: aws.String("public"),
		Scopes: []string{"redshift:connect"}, RedirectUris: []string{p.redirect},
		GrantTypes: []string{"authorization_code", "refresh_token"}, IssuerUrl: aws.String(srv.URL)})
	if err != nil {
		t.Fatal(err)
	}
	p.reg = reg
	return p
}

// authorizeLink is the /authorize address the plugin opens in the browser.
func (p *browserPlugin) authorizeLink(state string) string {
	q := url.Values{"response_type": {"code"}, "client_id": {aws.ToString(p.reg.ClientId)}, "redirect_uri": {p.redirect},
		"state": {state}, "code_challenge": {p.challenge}, "code_challenge_method": {"S256"}, "scopes": {"redshift:connect"}}
	return p.srv.URL + "/authorize?" + q.Encode()
}

func waitCallback(t *testing.T, got <-chan url.Values) url.Values {
	t.Helper()
	return receiveWithin(t, got, 20*time.Second, "the redirect never reached the loopback listener")
}

// TestSignInBrowserAuthorizationCode: the authorization code flow with
// PKCE as the Redshift browser plugin runs it; then a denial.
func TestSignInBrowserAuthorizationCode(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	c := srv.UnsignedOIDC()
	ctx := browserContext(t)
	p := newBrowserPlugin(t, srv, c)

	steps(t, ctx, "open /authorize", chromedp.Navigate(p.authorizeLink("s1")))
	signInAs(t, ctx, "alice", "alice-demo-pass")
	steps(t, ctx, "consent", chromedp.WaitVisible(chromedp.ID("allow")))
	if who := text(t, ctx, "signed-in-as"); who != "alice" {
		t.Errorf("consent page signed in as %q", who)
	}
	if name := text(t, ctx, "client-name"); name != "Amazon Redshift JDBC driver" {
		t.Errorf("consent page names the client %q", name)
	}
	steps(t, ctx, "allow", chromedp.Click(chromedp.ID("allow")))
	q := waitCallback(t, p.callbacks)
	if q.Get("state") != "s1" || q.Get("code") == "" || q.Has("error") {
		t.Fatalf("callback query %v", q)
	}
	tok, err := c.CreateToken(context.Background(), &ssooidc.CreateTokenInput{
		ClientId: p.reg.ClientId, ClientSecret: p.reg.ClientSecret, GrantType: aws.String("authorization_code"),
		Code: aws.String(q.Get("code")), CodeVerifier: aws.String(p.verifier), RedirectUri: aws.String(p.redirect)})
	if err != nil {
		t.Fatalf("CreateToken with the code: %v", err)
	}
	if aws.ToString(tok.AccessToken) == "" || aws.ToString(tok.TokenType) != "Bearer" {
		t.Fatalf("token answer %+v", tok)
	}

	// Deny: still signed in, the consent page comes at once.
	steps(t, ctx, "open /authorize again", chromedp.Navigate(p.authorizeLink("s2")),
		chromedp.WaitVisible(chromedp.ID("deny")), chromedp.Click(chromedp.ID("deny")))
	q = waitCallback(t, p.callbacks)
	if q.Get("error") != "access_denied" || q.Get("state") != "s2" || q.Has("code") {
		t.Fatalf("deny: callback query %v", q)
	}
}

// TestSignInBrowserDeviceFlow: StartDeviceAuthorization, the person opens
// verificationUriComplete, signs in and allows; the polling CreateToken
// gets its token. Then a denied one: AccessDeniedException.
func TestSignInBrowserDeviceFlow(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	c := srv.UnsignedOIDC()
	ctx := browserContext(t)
	bg := context.Background()
	reg := slRegister(t, c, &ssooidc.RegisterClientInput{ClientName: aws.String("botocore-client-idcgate"),
		ClientType: aws.String("public"), Scopes: []string{"sso:account:access"}})
	start := func() *ssooidc.StartDeviceAuthorizationOutput {
		out, err := c.StartDeviceAuthorization(bg, &ssooidc.StartDeviceAuthorizationInput{
			ClientId: reg.ClientId, ClientSecret: reg.ClientSecret, StartUrl: aws.String(srv.URL + "/start")})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	// The done page shows after the decision is stored: the client's
	// first poll gets its answer, no waiting.
	poll := func(dev *ssooidc.StartDeviceAuthorizationOutput) (*ssooidc.CreateTokenOutput, error) {
		return c.CreateToken(bg, &ssooidc.CreateTokenInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret,
			GrantType: aws.String("urn:ietf:params:oauth:grant-type:device_code"), DeviceCode: dev.DeviceCode})
	}

	dev := start()
	steps(t, ctx, "open verificationUriComplete", chromedp.Navigate(aws.ToString(dev.VerificationUriComplete)))
	signInAs(t, ctx, "bob", "bob-demo-pass")
	steps(t, ctx, "allow", chromedp.WaitVisible(chromedp.ID("allow")), chromedp.Click(chromedp.ID("allow")),
		chromedp.WaitVisible(chromedp.ID("done")))
	if h := text(t, ctx, "done"); h != "Request approved" {
		t.Errorf("done page says %q", h)
	}
	tok, err := poll(dev)
	if err != nil || aws.ToString(tok.AccessToken) == "" {
		t.Fatalf("polling CreateToken after allow: %v", err)
	}

	// A second device authorization, typed in at verificationUri, denied.
	dev = start()
	steps(t, ctx, "type the code", chromedp.Navigate(aws.ToString(dev.VerificationUri)),
		chromedp.WaitVisible(chromedp.ID("user-code")),
		chromedp.SendKeys(chromedp.ID("user-code"), strings.ToLower(aws.ToString(dev.UserCode))),
		chromedp.Click(chromedp.ID("continue")),
		chromedp.WaitVisible(chromedp.ID("deny")), chromedp.Click(chromedp.ID("deny")),
		chromedp.WaitVisible(chromedp.ID("done")))
	if h := text(t, ctx, "done"); h != "Request denied" {
		t.Errorf("done page says %q", h)
	}
	_, err = poll(dev)
	var denied *oidctypes.AccessDeniedException
	if !errors.As(err, &denied) {
		t.Fatalf("polling CreateToken after deny: %v, want AccessDeniedException", err)
	}
}

// TestSignInBrowserWrongPassword: a wrong password and an unknown user are
// told the same thing, and nothing signs in.
func TestSignInBrowserWrongPassword(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	c := srv.UnsignedOIDC()
	ctx := browserContext(t)
	link := newBrowserPlugin(t, srv, c).authorizeLink("s")

	refusal := func(user string) string {
		steps(t, ctx, "open /authorize", chromedp.Navigate(link))
		signInAs(t, ctx, user, "not-her-password")
		steps(t, ctx, "refused", chromedp.WaitVisible(chromedp.ID("error")))
		return text(t, ctx, "error")
	}
	wrong, unknown := refusal("alice"), refusal("mallory")
	if wrong != "The user name or password is incorrect." || wrong != unknown {
		t.Fatalf("wrong password says %q, unknown user %q", wrong, unknown)
	}
	// The form is shown again, not the consent page.
	steps(t, ctx, "still the sign-in form", chromedp.WaitVisible(chromedp.ID("password")))
}

// TestSignInScreenshots takes each page at desktop and phone widths. With
// IDCGATE_WRITE_SCREENSHOTS=1 they replace docs/screenshots/*.png (the
// README links them); otherwise they go to a temp dir, and the test still
// checks each is a PNG of the width asked.
func TestSignInScreenshots(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	c := srv.UnsignedOIDC()
	out := t.TempDir()
	if os.Getenv("IDCGATE_WRITE_SCREENSHOTS") == "1" {
		out = filepath.Join(testserver.RepoRoot(), "docs", "screenshots")
		if err := os.MkdirAll(out, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bg := context.Background()
	reg := slRegister(t, c, &ssooidc.RegisterClientInput{ClientName: aws.String("botocore-client-idcgate"),
		ClientType: aws.String("public"), Scopes: []string{"sso:account:access", "redshift:connect"}})
	for _, size := range []struct {
		name          string
		width, height int64
		mobile        bool
	}{{"desktop", 1280, 800, false}, {"phone", 390, 844, true}} {
		ctx := browserContext(t)
		dev, err := c.StartDeviceAuthorization(bg, &ssooidc.StartDeviceAuthorizationInput{
			ClientId: reg.ClientId, ClientSecret: reg.ClientSecret, StartUrl: aws.String(srv.URL + "/start")})
		if err != nil {
			t.Fatal(err)
		}
		var vopts []chromedp.EmulateViewportOption
		if size.mobile {
			vopts = append(vopts, chromedp.EmulateMobile)
		}
		steps(t, ctx, "viewport", chromedp.EmulateViewport(size.width, size.height, vopts...))
		screenshot := func(page string) {
			t.Helper()
			sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			shot, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatalf("screenshot of %s: %v", page, err)
			}
			img, err := png.DecodeConfig(bytes.NewReader(shot))
			if err != nil || int64(img.Width) != size.width {
				t.Fatalf("screenshot of %s: %d pixels wide (%v), want a PNG %d wide", page, img.Width, err, size.width)
			}
			if err := os.WriteFile(filepath.Join(out, page+"-"+size.name+".png"), shot, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		steps(t, ctx, "code entry", chromedp.Navigate(aws.ToString(dev.VerificationUri)), chromedp.WaitVisible(chromedp.ID("user-code")))
		screenshot("device-code")
		steps(t, ctx, "code", chromedp.SendKeys(chromedp.ID("user-code"), aws.ToString(dev.UserCode)), chromedp.Click(chromedp.ID("continue")),
			chromedp.WaitVisible(chromedp.ID("username")))
		screenshot("sign-in")
		signInAs(t, ctx, "alice", "alice-demo-pass")
		steps(t, ctx, "consent", chromedp.WaitVisible(chromedp.ID("allow")))
		screenshot("consent")
		steps(t, ctx, "allow", chromedp.Click(chromedp.ID("allow")), chromedp.WaitVisible(chromedp.ID("done")))
		screenshot("done")
	}
}
