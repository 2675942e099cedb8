// Package signin serves the interactive sign-in pages of SSO-OIDC
// (BEHAVIOUR 18.5): GET /authorize (the authorization code flow with PKCE)
// and GET /device (the device flow's code entry). A directory user signs in
// with a password (package passwords), then allows or denies the client;
// the decision goes to package oidc. The pages are server-rendered
// html/template, with no JavaScript: every step is a form.
//
// A sign-in session is a sealed cookie (seal.Box, a key derived from the
// master key for this purpose only): a random nonce, and once signed in the
// user and the session's end. Every form carries the nonce as its CSRF
// token, so a form posted from elsewhere (which cannot read the cookie) is
// refused; http.CrossOriginProtection refuses cross-origin posts first.
package signin

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/idcgate/idcgate/internal/apierror"
	"github.com/idcgate/idcgate/internal/audit"
	"github.com/idcgate/idcgate/internal/clock"
	"github.com/idcgate/idcgate/internal/ids"
	"github.com/idcgate/idcgate/internal/oidc"
	"github.com/idcgate/idcgate/internal/passwords"
	"github.com/idcgate/idcgate/internal/seal"
	"golang.org/x/time/rate"
)

// Paths the package serves (the server routes them here).
const (
	PathAuthorize  = "/authorize"
	PathDevice     = "/device"
	PathDeviceDone = "/device/done"
	// PathStatic is the prefix of the pages' stylesheet.
	PathStatic = "/signin/static/"
)

// Serves reports whether path is one of the package's.
func Serves(path string) bool {
	return path == PathAuthorize || path == PathDevice || path == PathDeviceDone || strings.HasPrefix(path, PathStatic)
}

// SessionTTL is how long a sign-in session lasts: long enough to read the
// consent page, short enough that a shared browser forgets soon.
const SessionTTL = 15 * time.Minute

// maxForm bounds a posted form.
const maxForm = 16 << 10

// CookieName is the sign-in session cookie's name.
const CookieName = "idcgate_signin"

// Directory says who signed in for the audit record.
type Directory struct {
	Account, IdentityStoreID string
}

// Handler serves the pages.
type Handler struct {
	OIDC      *oidc.Service
	Passwords *passwords.Service
	// Sessions seals the session cookie (purpose "signin-session").
	Sessions *seal.Box
	Clock    clock.Clock
	Log      *slog.Logger
	Region   string
	Dir      Directory
	// Audit writes a sign-in record durably (nil: none are written).
	Audit func(context.Context, *audit.Record) error
	// SecureCookies marks the cookie Secure even on plain HTTP requests
	// (idcgate behind a TLS-terminating proxy: its publicUrl is https).
	SecureCookies bool
	// FailureAudit bounds the records of failed sign-ins (anyone can make
	// them); nil: not bounded.
	FailureAudit *rate.Limiter

	cop http.CrossOriginProtection
}

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

var pages = func() map[string]*template.Template {
	out := map[string]*template.Template{}
	for _, name := range []string{"signin", "consent", "device_code", "done", "error"} {
		out[name] = template.Must(template.New("layout.html").Funcs(template.FuncMap{"join": strings.Join}).
			ParseFS(templateFiles, "templates/layout.html", "templates/"+name+".html"))
	}
	return out
}()

// session is the cookie's sealed content.
type session struct {
	Nonce    string    `json:"n"`
	UserID   string    `json:"u,omitempty"`
	UserName string    `json:"un,omitempty"`
	Expires  time.Time `json:"e"`
}

func (s session) signedIn() bool { return s.UserID != "" }

// view is what a template shows.
type view struct {
	Title      string
	CSRF       string
	Action     string // the form's target: this page's path and query
	Error      string
	UserName   string // the sign-in form's prefill
	SignedInAs string
	ClientName string
	Scopes     []string
	UserCode   string
	Device     bool
	Approved   bool
	Code       string // the error page's error code
	Redirect   string // the redirect URI's host (consent page)
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setHeaders(w, "")
	switch {
	case strings.HasPrefix(r.URL.Path, PathStatic):
		h.static(w, r)
		return
	case r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodPost:
		w.Header().Set("Allow", "GET, HEAD, POST")
		h.errorPage(w, http.StatusMethodNotAllowed, "method_not_allowed", "This page takes GET and POST only.")
		return
	}
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		// Browsers say where a post comes from (Sec-Fetch-Site, Origin);
		// a cross-origin one is refused before anything else.
		if err := h.cop.Check(r); err != nil {
			h.errorPage(w, http.StatusForbidden, "forbidden", "The form was posted from another site.")
			return
		}
	}
	switch r.URL.Path {
	case PathAuthorize:
		h.authorize(w, r)
	case PathDevice:
		h.device(w, r)
	case PathDeviceDone:
		v := view{Title: "Done", Device: true, Approved: r.URL.Query().Get("result") == "approved"}
		h.render(w, http.StatusOK, "done", v)
	default:
		h.errorPage(w, http.StatusNotFound, "not_found", "There is no page here.")
	}
}

// setHeaders sets the headers every response carries. formTarget is an
// origin forms may also lead to (a client's redirect URI), "" for none:
// Chromium applies form-action to the redirect that follows a post.
func setHeaders(w http.ResponseWriter, formTarget string) {
	h := w.Header()
	formAction := "'self'"
	if formTarget != "" {
		formAction += " " + formTarget
	}
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action "+formAction+
		"; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
}

func (h *Handler) static(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(r.URL.Path, PathStatic)
	b, err := fs.ReadFile(staticFiles, "static/"+name)
	if err != nil || name == "" || strings.Contains(name, "/") {
		http.NotFound(w, r)
		return
	}
	if strings.HasSuffix(name, ".css") {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		w.Write(b)
	}
}

func (h *Handler) render(w http.ResponseWriter, status int, name string, v view) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	var b strings.Builder
	if err := pages[name].Execute(&b, v); err != nil {
		h.log().Error("sign-in page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(status)
	w.Write([]byte(b.String()))
}

func (h *Handler) errorPage(w http.ResponseWriter, status int, code, msg string) {
	h.render(w, status, "error", view{Title: "Sign-in error", Code: code, Error: msg})
}

// failed shows err: a domain refusal's public message, or, for anything
// else, a generic one (the cause is logged, never shown).
func (h *Handler) failed(w http.ResponseWriter, err error) {
	var ae *apierror.Error
	if errors.As(err, &ae) && ae.Kind != nil {
		h.errorPage(w, http.StatusBadRequest, oauthCode(ae.Kind), ae.Message)
		return
	}
	h.log().Error("sign-in page: internal error", "err", err)
	h.errorPage(w, http.StatusInternalServerError, "server_error", "Something went wrong on the server. Try again later.")
}

// oauthCode names an oidc sentinel as OAuth does (RFC 6749 4.1.2.1).
func oauthCode(kind error) string {
	for _, c := range []struct {
		err  error
		code string
	}{
		{oidc.ErrInvalidClient, "invalid_client"},
		{oidc.ErrInvalidRedirectURI, "invalid_redirect_uri"},
		{oidc.ErrUnauthorizedClient, "unauthorized_client"},
		{oidc.ErrInvalidScope, "invalid_scope"},
		{oidc.ErrExpiredToken, "expired_token"},
		{oidc.ErrInvalidGrant, "invalid_grant"},
	} {
		if errors.Is(kind, c.err) {
			return c.code
		}
	}
	return "invalid_request"
}

func (h *Handler) log() *slog.Logger {
	if h.Log == nil {
		return slog.Default()
	}
	return h.Log
}

// --- the session cookie ---

// sessionOf reads the request's session; a missing, tampered or expired
// cookie gives a fresh anonymous one (set on the response).
func (h *Handler) sessionOf(w http.ResponseWriter, r *http.Request) session {
	if s, ok := h.cookieSession(r); ok {
		return s
	}
	s := session{Nonce: nonce(), Expires: h.Clock.Now().Add(SessionTTL)}
	h.setSession(w, r, s)
	return s
}

// cookieSession is the session the request's cookie holds, if it opens
// and has not expired.
func (h *Handler) cookieSession(r *http.Request) (session, bool) {
	c, err := r.Cookie(CookieName)
	if err != nil {
		return session{}, false
	}
	var s session
	if h.Sessions.Open(c.Value, &s) != nil || !h.Clock.Now().Before(s.Expires) || s.Nonce == "" {
		return session{}, false
	}
	return s, true
}

func (h *Handler) setSession(w http.ResponseWriter, r *http.Request, s session) {
	v, err := h.Sessions.Seal(s)
	if err != nil {
		h.log().Error("sealing the sign-in session", "err", err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: v, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: h.SecureCookies || r.TLS != nil, MaxAge: int(SessionTTL / time.Second)})
}

func nonce() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// checkCSRF: a post must carry the session's nonce, from a session the
// request's cookie holds (a post without the cookie has no session).
func (h *Handler) checkCSRF(r *http.Request) (session, bool) {
	s, ok := h.cookieSession(r)
	if !ok {
		return session{}, false
	}
	tok := r.PostFormValue("csrf")
	return s, subtle.ConstantTimeCompare([]byte(tok), []byte(s.Nonce)) == 1
}

// postRefused is the page of a post without a valid CSRF token.
func (h *Handler) postRefused(w http.ResponseWriter) {
	h.errorPage(w, http.StatusForbidden, "forbidden",
		"This form has expired or did not come from this sign-in page. Go back, reload the page and try again.")
}

// signIn checks the posted user name and password. On success it starts
// a signed-in session (a new nonce: nothing of the anonymous one carries
// over) and returns true; otherwise it renders the form again with the
// one message every failure gets, and returns false.
func (h *Handler) signIn(w http.ResponseWriter, r *http.Request, v view) bool {
	name := r.PostFormValue("username")
	password := r.PostFormValue("password")
	u, err := h.Passwords.Check(r.Context(), name, password, sourceIP(r))
	var slowed *passwords.SlowedDown
	switch {
	case err == nil:
		if aerr := h.audit(w, r, u, name, nil); aerr != nil {
			h.log().Error("sign-in: audit write failed; the sign-in is refused", "err", aerr)
			h.failed(w, aerr)
			return false
		}
		h.setSession(w, r, session{Nonce: nonce(), UserID: u.ID, UserName: u.Name, Expires: h.Clock.Now().Add(SessionTTL)})
		return true
	case errors.As(err, &slowed):
		h.audit(w, r, u, name, err)
		secs := int((slowed.RetryAfter + time.Second - 1) / time.Second)
		v.Error = "Too many failed sign-in attempts. Wait " + strconv.Itoa(secs) + " seconds, then try again."
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		v.UserName = name
		h.render(w, http.StatusTooManyRequests, "signin", v)
		return false
	case errors.Is(err, passwords.ErrWrongPassword):
		h.audit(w, r, u, name, err)
		v.Error = "The user name or password is incorrect."
		v.UserName = name
		h.render(w, http.StatusUnauthorized, "signin", v)
		return false
	default:
		h.failed(w, err)
		return false
	}
}

// audit records a sign-in as Identity Center's sign-in events do
// (eventSource signin.amazonaws.com): CredentialVerification with its
// result, and on success UserAuthentication. A failure names the user
// only when the name is a directory user's (a mistyped name may be a
// password); the password is never recorded.
func (h *Handler) audit(w http.ResponseWriter, r *http.Request, u passwords.User, typed string, failure error) error {
	if h.Audit == nil {
		return nil
	}
	if failure != nil && h.FailureAudit != nil && !h.FailureAudit.AllowN(h.Clock.Now(), 1) {
		return nil
	}
	id := audit.Identity{Type: "Unknown", AccountID: h.Dir.Account, UserName: audit.Hidden}
	if u.ID != "" {
		id = audit.Identity{Type: "IdentityCenterUser", PrincipalID: u.ID, AccountID: h.Dir.Account, UserName: u.Name,
			OnBehalfOf: &audit.OnBehalfOf{UserID: u.ID, IdentityStoreArn: "arn:aws:identitystore::" + h.Dir.Account + ":identitystore/" + h.Dir.IdentityStoreID}}
	}
	base := audit.Record{EventTime: h.Clock.Now().UTC(), EventSource: "signin.amazonaws.com", EventType: "AwsServiceEvent",
		AWSRegion: h.Region, SourceIPAddress: sourceIP(r), UserAgent: clip(r.UserAgent(), 1024), UserIdentity: id,
		RecipientAccountID: h.Dir.Account, RequestID: requestID(w)}
	verify := base
	verify.EventName = "CredentialVerification"
	result := "Success"
	if failure != nil {
		result = "Failure"
		verify.ErrorCode = "InvalidCredentials"
		verify.ErrorMessage = "The user name or password is incorrect."
		if errors.Is(failure, passwords.ErrSlowedDown) {
			verify.ErrorCode, verify.ErrorMessage = "TooManyFailedAttempts", "Too many failed sign-in attempts."
		}
	}
	verify.AdditionalEventData = map[string]any{"CredentialType": "PASSWORD", "CredentialVerification": result}
	if err := h.Audit(r.Context(), &verify); err != nil || failure != nil {
		return err
	}
	auth := base
	auth.EventName = "UserAuthentication"
	auth.AdditionalEventData = map[string]any{"CredentialType": "PASSWORD", "UserAuthentication": "Success"}
	return h.Audit(r.Context(), &auth)
}

// requestID is the id the server gave the request (its
// x-amzn-RequestId), else a fresh one.
func requestID(w http.ResponseWriter) string {
	if id := w.Header().Get("x-amzn-RequestId"); id != "" {
		return id
	}
	return ids.MustUUID()
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

func sourceIP(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	return strings.Trim(host, "[]")
}

// selfURL is the request's own path and query, a form's action.
func selfURL(r *http.Request) string {
	u := url.URL{Path: r.URL.Path, RawQuery: r.URL.RawQuery}
	return u.String()
}
