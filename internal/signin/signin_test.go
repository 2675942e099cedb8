package signin_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"

	"github.com/idcgate/idcgate/internal/signin"
	"github.com/idcgate/idcgate/internal/testserver"
)

// browser is an HTTP client that keeps cookies and does not follow
// redirects (the tests look at each step's answer).
func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type page struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, c *http.Client, method, u string, form url.Values, hdr ...string) page {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return page{resp.StatusCode, resp.Header, string(b)}
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrf(t *testing.T, p page) string {
	t.Helper()
	m := csrfRe.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no CSRF token in the page (status %d):\n%s", p.status, p.body)
	}
	return m[1]
}

// hostile is a client name a page must show as text.
const hostile = `<script>alert("x")</script> & 'co'`

type fixture struct {
	srv      *testserver.Server
	authzURL string
	redirect string
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	srv := testserver.Start(t, testserver.Options{})
	c := ssooidc.NewFromConfig(srv.Config(aws.Credentials{}), func(o *ssooidc.Options) { o.Credentials = nil })
	redirect := "http://127.0.0.1:7890/callback"
	reg, err := c.RegisterClient(context.Background(), &ssooidc.RegisterClientInput{
		ClientName: aws.String(hostile), ClientType: aws.String("public"), Scopes: []string{"redshift:connect"},
		RedirectUris: []string{redirect}, GrantTypes: []string{"authorization_code", "refresh_token"},
		IssuerUrl: aws.String(srv.URL)})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("verifier-verifier-verifier-verifier-verifier"))
	q := url.Values{"response_type": {"code"}, "client_id": {aws.ToString(reg.ClientId)}, "redirect_uri": {redirect},
		"state": {"st&te"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"}, "scopes": {"redshift:connect"}}
	return fixture{srv: srv, authzURL: srv.URL + "/authorize?" + q.Encode(), redirect: redirect}
}

func TestPagesHeadersAndEscaping(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	b := browser(t)
	p := do(t, b, "GET", f.authzURL, nil)
	if p.status != 200 {
		t.Fatalf("GET /authorize: %d\n%s", p.status, p.body)
	}
	for k, want := range map[string]string{
		"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store",
		"X-Content-Type-Options": "nosniff", "Content-Type": "text/html; charset=utf-8",
	} {
		if got := p.header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	csp := p.header.Get("Content-Security-Policy")
	for _, part := range []string{"default-src 'none'", "style-src 'self'", "frame-ancestors 'none'", "form-action 'self' http://127.0.0.1:7890"} {
		if !strings.Contains(csp, part) {
			t.Errorf("CSP %q lacks %q", csp, part)
		}
	}
	if strings.Contains(p.body, "<script") {
		t.Error("the client name went into the page as markup")
	}
	if !strings.Contains(p.body, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#39;co&#39;") {
		t.Errorf("the client name is not shown escaped:\n%s", p.body)
	}
	for _, id := range []string{`id="username"`, `id="password"`, `id="sign-in"`} {
		if !strings.Contains(p.body, id) {
			t.Errorf("the sign-in page lacks %s", id)
		}
	}
	var cookie *http.Cookie
	for _, c := range (&http.Response{Header: p.header}).Cookies() {
		if c.Name == signin.CookieName {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Secure || cookie.MaxAge != 900 {
		t.Errorf("session cookie %+v", cookie)
	}
	css := do(t, b, "GET", f.srv.URL+"/signin/static/style.css", nil)
	if css.status != 200 || css.header.Get("Content-Type") != "text/css; charset=utf-8" ||
		css.header.Get("X-Frame-Options") != "DENY" || !strings.Contains(css.header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Errorf("stylesheet: %d %v", css.status, css.header)
	}
	if p := do(t, b, "GET", f.srv.URL+"/signin/static/../../etc/passwd", nil); p.status != 404 {
		t.Errorf("a path outside the static files: %d", p.status)
	}
	if p := do(t, b, "GET", f.srv.URL+"/device", nil); p.status != 200 || !strings.Contains(p.body, `id="user-code"`) {
		t.Errorf("GET /device: %d", p.status)
	}
}

func TestPagesRefuseForgedPosts(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	b := browser(t)
	tok := csrf(t, do(t, b, "GET", f.authzURL, nil))
	good := url.Values{"csrf": {tok}, "action": {"signin"}, "username": {"alice"}, "password": {"alice-demo-pass"}}
	for _, tc := range []struct {
		name   string
		client *http.Client
		form   url.Values
		hdr    []string
	}{
		{"no token", b, url.Values{"action": {"signin"}, "username": {"alice"}, "password": {"alice-demo-pass"}}, nil},
		{"wrong token", b, url.Values{"csrf": {tok + "x"}, "action": {"signin"}, "username": {"alice"}, "password": {"alice-demo-pass"}}, nil},
		{"token without the cookie", browser(t), good, nil},
		{"cross-site post", b, good, []string{"Sec-Fetch-Site", "cross-site"}},
		{"cross-origin post", b, good, []string{"Origin", "http://evil.example"}},
	} {
		p := do(t, tc.client, "POST", f.authzURL, tc.form, tc.hdr...)
		if p.status != http.StatusForbidden || p.header.Get("Location") != "" || p.header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: %d %v", tc.name, p.status, p.header)
		}
	}
	// The same post with the page's token and cookie signs in.
	if p := do(t, b, "POST", f.authzURL, good); p.status != http.StatusSeeOther {
		t.Fatalf("a good post: %d\n%s", p.status, p.body)
	}
}

func TestAuthorizeSignInAllowDeny(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	b := browser(t)
	tok := csrf(t, do(t, b, "GET", f.authzURL, nil))
	// Wrong password and unknown user: one answer.
	wrong := do(t, b, "POST", f.authzURL, url.Values{"csrf": {tok}, "action": {"signin"}, "username": {"alice"}, "password": {"nope-nope"}})
	unknown := do(t, b, "POST", f.authzURL, url.Values{"csrf": {tok}, "action": {"signin"}, "username": {"mallory"}, "password": {"nope-nope"}})
	msg := regexp.MustCompile(`id="error">([^<]*)<`)
	mw, mu := msg.FindStringSubmatch(wrong.body), msg.FindStringSubmatch(unknown.body)
	if wrong.status != 401 || unknown.status != 401 || mw == nil || mu == nil || mw[1] != mu[1] {
		t.Fatalf("wrong password %d %v, unknown user %d %v", wrong.status, mw, unknown.status, mu)
	}
	// Allow before signing in is refused.
	if p := do(t, b, "POST", f.authzURL, url.Values{"csrf": {tok}, "action": {"allow"}}); p.status != 401 || p.header.Get("Location") != "" {
		t.Fatalf("allow without signing in: %d %v", p.status, p.header)
	}
	p := do(t, b, "POST", f.authzURL, url.Values{"csrf": {tok}, "action": {"signin"}, "username": {"alice"}, "password": {"alice-demo-pass"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("sign in: %d\n%s", p.status, p.body)
	}
	// The anonymous token is void after sign-in (a new session, a new nonce).
	if p := do(t, b, "POST", f.authzURL, url.Values{"csrf": {tok}, "action": {"allow"}}); p.status != 403 {
		t.Fatalf("allow with the anonymous session's token: %d", p.status)
	}
	consent := do(t, b, "GET", f.authzURL, nil)
	if !strings.Contains(consent.body, `id="allow"`) || !strings.Contains(consent.body, `id="deny"`) || !strings.Contains(consent.body, "redshift:connect") ||
		!strings.Contains(consent.body, ">alice<") {
		t.Fatalf("consent page:\n%s", consent.body)
	}
	tok = csrf(t, consent)
	deny := do(t, b, "POST", f.authzURL, url.Values{"csrf": {tok}, "action": {"deny"}})
	loc, _ := url.Parse(deny.header.Get("Location"))
	if deny.status != 303 || loc == nil || !strings.HasPrefix(loc.String(), f.redirect+"?") || loc.Query().Get("error") != "access_denied" ||
		loc.Query().Get("state") != "st&te" || loc.Query().Has("code") {
		t.Fatalf("deny: %d %q", deny.status, deny.header.Get("Location"))
	}
	allow := do(t, b, "POST", f.authzURL, url.Values{"csrf": {tok}, "action": {"allow"}})
	loc, _ = url.Parse(allow.header.Get("Location"))
	if allow.status != 303 || loc == nil || !strings.HasPrefix(loc.String(), f.redirect+"?") || len(loc.Query().Get("code")) < 20 ||
		loc.Query().Get("state") != "st&te" {
		t.Fatalf("allow: %d %q", allow.status, allow.header.Get("Location"))
	}
}

func TestAuthorizeBadRequestsAreShownNotRedirected(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	b := browser(t)
	u, _ := url.Parse(f.authzURL)
	for name, edit := range map[string]func(url.Values){
		"unknown client":        func(q url.Values) { q.Set("client_id", "nope") },
		"unregistered redirect": func(q url.Values) { q.Set("redirect_uri", "http://evil.example/cb") },
		"plain PKCE":            func(q url.Values) { q.Set("code_challenge_method", "plain") },
		"response_type token":   func(q url.Values) { q.Set("response_type", "token") },
		"foreign scope":         func(q url.Values) { q.Set("scopes", "sso:account:access") },
	} {
		q := u.Query()
		edit(q)
		p := do(t, b, "GET", f.srv.URL+"/authorize?"+q.Encode(), nil)
		if p.status != 400 || p.header.Get("Location") != "" || !strings.Contains(p.body, `id="error"`) {
			t.Errorf("%s: %d %q", name, p.status, p.header.Get("Location"))
		}
		if strings.Contains(p.header.Get("Content-Security-Policy"), "evil.example") {
			t.Errorf("%s: the CSP names the unregistered redirect", name)
		}
	}
}
