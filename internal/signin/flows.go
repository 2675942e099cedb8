package signin

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/idcgate/idcgate/internal/apierror"
	"github.com/idcgate/idcgate/internal/oidc"
)

// authorize serves /authorize (BEHAVIOUR 18.5): the request is checked
// before anything else, and a bad client or redirect URI is only ever
// shown, never redirected to. Then: sign in, then allow or deny.
func (h *Handler) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if rt := q.Get("response_type"); rt != "code" {
		h.errorPage(w, http.StatusBadRequest, "unsupported_response_type", "response_type must be code.")
		return
	}
	req := oidc.AuthorizeRequest{ClientID: q.Get("client_id"), RedirectURI: q.Get("redirect_uri"), State: q.Get("state"),
		CodeChallenge: q.Get("code_challenge"), CodeChallengeMethod: q.Get("code_challenge_method"), Scopes: splitScopes(q.Get("scopes"))}
	client, err := h.OIDC.CheckAuthorize(r.Context(), req)
	if err != nil {
		h.failed(w, err)
		return
	}
	target, err := url.Parse(req.RedirectURI)
	if err != nil || !cspSafe(target.Host) {
		h.errorPage(w, http.StatusBadRequest, "invalid_redirect_uri", "The redirect_uri cannot be used.")
		return
	}
	setHeaders(w, target.Scheme+"://"+target.Host)
	scopes := req.Scopes
	if len(scopes) == 0 {
		scopes = client.Scopes
	}
	v := view{Title: "Sign in", Action: selfURL(r), ClientName: client.ClientName, Scopes: scopes, Redirect: target.Host}
	if v.ClientName == "" {
		v.ClientName = client.ClientID
	}
	s, action, ok := h.prompt(w, r, v)
	if !ok {
		return
	}
	if action == "deny" {
		// RFC 6749 4.1.2.1: the refusal goes back to the client.
		http.Redirect(w, r, withQuery(target, "error", "access_denied", "error_description", "The user denied the request.", "state", req.State), http.StatusSeeOther)
		return
	}
	code, err := h.OIDC.IssueAuthorizationCode(r.Context(), req, s.UserID)
	if err != nil {
		h.failed(w, err)
		return
	}
	http.Redirect(w, r, withQuery(target, "code", code, "state", req.State), http.StatusSeeOther)
}

// device serves /device (BEHAVIOUR 18.5): the user code, then sign in,
// then allow or deny; the polling client learns the answer from CreateToken.
func (h *Handler) device(w http.ResponseWriter, r *http.Request) {
	code := strings.TrimSpace(r.URL.Query().Get("user_code"))
	if code == "" {
		if r.Method == http.MethodPost {
			h.postRefused(w)
			return
		}
		h.sessionOf(w, r)
		h.render(w, http.StatusOK, "device_code", view{Title: "Enter your code", Device: true})
		return
	}
	d, err := h.OIDC.PendingDevice(r.Context(), code)
	if err != nil {
		h.badCode(w, code, err)
		return
	}
	v := view{Title: "Sign in", Device: true, Action: PathDevice + "?user_code=" + url.QueryEscape(d.UserCode),
		ClientName: d.ClientName, Scopes: d.Scopes, UserCode: d.UserCode}
	s, action, ok := h.prompt(w, r, v)
	if !ok {
		return
	}
	result := "approved"
	if action == "allow" {
		err = h.OIDC.ApproveDevice(r.Context(), d.UserCode, s.UserID)
	} else {
		result = "denied"
		err = h.OIDC.DenyDevice(r.Context(), d.UserCode)
	}
	if err != nil {
		h.badCode(w, code, err)
		return
	}
	http.Redirect(w, r, PathDeviceDone+"?result="+result, http.StatusSeeOther)
}

// prompt is what both flows share: a GET shows the sign-in form or the
// consent page; a POST must carry the session's CSRF token, and signs in
// or out, coming back to v.Action. ok is true only for a decision ("allow" or
// "deny") posted by a signed-in session, which it returns; otherwise
// prompt has answered.
func (h *Handler) prompt(w http.ResponseWriter, r *http.Request, v view) (session, string, bool) {
	if r.Method != http.MethodPost {
		h.step(w, h.sessionOf(w, r), v)
		return session{}, "", false
	}
	s, ok := h.checkCSRF(r)
	if !ok {
		h.postRefused(w)
		return session{}, "", false
	}
	v.CSRF = s.Nonce
	switch action := r.PostFormValue("action"); action {
	case "signin":
		if h.signIn(w, r, v) {
			http.Redirect(w, r, v.Action, http.StatusSeeOther)
		}
	case "signout":
		h.setSession(w, r, session{Nonce: nonce(), Expires: h.Clock.Now().Add(SessionTTL)})
		http.Redirect(w, r, v.Action, http.StatusSeeOther)
	case "allow", "deny":
		if !s.signedIn() {
			h.expired(w, v)
			return session{}, "", false
		}
		return s, action, true
	default:
		h.postRefused(w)
	}
	return session{}, "", false
}

// step shows the sign-in form, or the consent page once signed in.
func (h *Handler) step(w http.ResponseWriter, s session, v view) {
	v.CSRF = s.Nonce
	if s.signedIn() {
		v.Title, v.SignedInAs = "Allow access?", s.UserName
		h.render(w, http.StatusOK, "consent", v)
		return
	}
	h.render(w, http.StatusOK, "signin", v)
}

// expired: a decision posted after the session ended signs in again.
func (h *Handler) expired(w http.ResponseWriter, v view) {
	v.Error = "Your sign-in has expired. Sign in again."
	h.render(w, http.StatusUnauthorized, "signin", v)
}

// badCode shows the code entry page again with why the code was refused
// (expired, or not valid: unknown, or used, since a decided code names
// nothing any more, BEHAVIOUR 18.2); other errors are failures.
func (h *Handler) badCode(w http.ResponseWriter, code string, err error) {
	var ae *apierror.Error
	if !errors.As(err, &ae) || !(errors.Is(err, oidc.ErrInvalidRequest) || errors.Is(err, oidc.ErrExpiredToken)) {
		h.failed(w, err)
		return
	}
	msg := "That code is not valid. Check it and try again."
	if errors.Is(err, oidc.ErrExpiredToken) {
		msg = "That code has expired. Start the sign-in again from your device."
	}
	h.render(w, http.StatusBadRequest, "device_code", view{Title: "Enter your code", Device: true, Error: msg, UserCode: clip(code, 32)})
}

// splitScopes reads the scopes parameter: space- or comma-separated.
func splitScopes(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' })
}

// withQuery is u with the given parameters added (empty values left out).
func withQuery(u *url.URL, kv ...string) string {
	out := *u
	q := out.Query()
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			q.Set(kv[i], kv[i+1])
		}
	}
	out.RawQuery = q.Encode()
	out.Fragment = ""
	return out.String()
}

// cspSafe: a host that can stand in a CSP source list as is.
func cspSafe(host string) bool {
	if host == "" {
		return false
	}
	for _, c := range host {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-', c == ':', c == '[', c == ']':
		default:
			return false
		}
	}
	return true
}
