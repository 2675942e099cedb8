package gateway

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/idcgate/idcgate/internal/apierror"
)

// TestRefusalNamesTheTokenType: a bad token sent in the Redshift drivers'
// 'i' message is refused naming its token type (BEHAVIOUR 10.2), never "the
// password"; the cleartext path keeps "password".
func TestRefusalNamesTheTokenType(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		params map[string]string
		msg    byte // 'p' (cleartext) or 'i' (IdP token)
		want   string
	}{
		{"cleartext password", map[string]string{"user": "u"}, 'p', "the password is not a valid Identity Center token"},
		{"idp_type without token_type", map[string]string{"user": "", "idp_type": "AwsIdc"}, 'i', "the SUBJECT_TOKEN is not a valid Identity Center token"},
		{"SUBJECT_TOKEN", map[string]string{"user": "", "idp_type": "AwsIdc", "token_type": "SUBJECT_TOKEN"}, 'i', "the SUBJECT_TOKEN is not a valid Identity Center token"},
		{"ACCESS_TOKEN", map[string]string{"user": "", "idp_type": "AwsIdc", "token_type": "ACCESS_TOKEN"}, 'i', "the ACCESS_TOKEN is not a valid Identity Center token"},
		{"EXT_JWT", map[string]string{"user": "", "idp_type": "AwsIdc", "token_type": "EXT_JWT"}, 'i', "the EXT_JWT is not a valid Identity Center token"},
		{"unknown type is not echoed", map[string]string{"user": "", "token_type": "<b>x</b>"}, 'i', "the token is not a valid Identity Center token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in, _ := (&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30, Parameters: tc.params}).Encode(nil)
			in = append(in, tc.msg, 0, 0, 0, 8, 'x', 'y', 'z', 0)
			out := run(in)
			// The authentication request ('R', length 8, code 3 or 14) first;
			// pgproto3 does not know code 14.
			if len(out) < 9 || out[0] != 'R' {
				t.Fatalf("no authentication request: %q", out)
			}
			m, err := pgproto3.NewFrontend(bytes.NewReader(out[9:]), nil).Receive()
			e, ok := m.(*pgproto3.ErrorResponse)
			if !ok {
				t.Fatalf("want an ErrorResponse, got %T %v", m, err)
			}
			if e.Code != "28P01" || e.Message != tc.want {
				t.Fatalf("got %s %q, want 28P01 %q", e.Code, e.Message, tc.want)
			}
			if tc.msg == 'i' && strings.Contains(e.Message, "password") {
				t.Fatalf("a token sent in an 'i' message called a password: %q", e.Message)
			}
		})
	}
}

// TestRefusalsNameTheTokenType: every refusal of a token names it by its
// type on the Redshift drivers' path, and keeps the cleartext path's words.
func TestRefusalsNameTheTokenType(t *testing.T) {
	t.Parallel()
	cases := []struct {
		err  error
		tt   string
		want string
	}{
		{ErrTokenExpired, "", "the Identity Center token has expired: get a new one with GetIdentityCenterAuthToken"},
		{ErrTokenExpired, "SUBJECT_TOKEN", "the SUBJECT_TOKEN has expired: get a new one with GetIdentityCenterAuthToken"},
		{ErrWrongWorkgroup, "", "the Identity Center token is not valid for this workgroup"},
		{ErrWrongWorkgroup, "EXT_JWT", "the EXT_JWT is not valid for this workgroup"},
		{ErrBadToken, "", "the password is not a valid Identity Center token"},
		{ErrBadToken, "ACCESS_TOKEN", "the ACCESS_TOKEN is not a valid Identity Center token"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			var ce *clientError
			if err := authRefusal(tc.err, tc.tt); !errors.As(err, &ce) || ce.msg != tc.want {
				t.Fatalf("%v", err)
			}
		})
	}
}

// unreachableLimiter is a SessionLimiter whose store cannot be reached.
type unreachableLimiter struct{}

func (unreachableLimiter) Admit(context.Context, *Login) (func(), error) {
	return nil, errors.New("store: connection refused")
}
func (unreachableLimiter) Close() {}

// TestSessionCountFailureIsClear: a login whose session cannot be counted
// against the limits (the store is out of reach) is refused 58000 saying
// so, not as an upstream failure, and without the store's error text.
func TestSessionCountFailureIsClear(t *testing.T) {
	t.Parallel()
	g := newGateway(Config{LoginTimeout: time.Second, Insecure: true, Auth: &fixedAuth{upstream: "postgres://unused"}, Sessions: unreachableLimiter{}}, nil)
	in, _ := (&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30, Parameters: map[string]string{"user": "alice"}}).Encode(nil)
	in, _ = (&pgproto3.PasswordMessage{Password: "good-alice"}).Encode(in)
	c := &scriptConn{in: bytes.NewReader(in)}
	g.handle(c)
	out := c.out.Bytes()
	if len(out) < 9 {
		t.Fatalf("answer %q", out)
	}
	m, err := pgproto3.NewFrontend(bytes.NewReader(out[9:]), nil).Receive()
	e, ok := m.(*pgproto3.ErrorResponse)
	if !ok || e.Code != "58000" || !strings.Contains(e.Message, "session limits") || strings.Contains(e.Message, "connection refused") {
		t.Fatalf("got %#v %v", m, err)
	}
}

// TestTokenTypeRefusals: the refusals of ACCESS_TOKEN and EXT_JWT logins
// (BEHAVIOUR 10.13) get their SQLSTATEs, and the Authenticator's own text
// where it gives one; an expired token is told how to get a new one of its
// type.
func TestTokenTypeRefusals(t *testing.T) {
	t.Parallel()
	cases := []struct {
		err        error
		tt         string
		code, want string
	}{
		{ErrTokenExpired, TokenAccess, "28P01", "the ACCESS_TOKEN has expired: sign in again for a new access token (CreateToken or CreateTokenWithIAM)"},
		{ErrTokenExpired, TokenExtJWT, "28P01", "the EXT_JWT has expired: get a new one from your identity provider"},
		{apierror.New(ErrBadToken, "the EXT_JWT has no jti claim"), TokenExtJWT, "28P01", "the EXT_JWT has no jti claim"},
		{apierror.New(ErrWrongWorkgroup, "the EXT_JWT's audience is none"), TokenExtJWT, "28P01", "the EXT_JWT's audience is none"},
		{ErrWrongWorkgroup, TokenExtJWT, "28P01", "the EXT_JWT is not valid for this workgroup"},
		{ErrBadToken, TokenAccess, "28P01", "the ACCESS_TOKEN is not a valid Identity Center token"},
		{apierror.New(ErrScope, "the ACCESS_TOKEN lacks the scope redshift:connect"), TokenAccess, "28000", "the ACCESS_TOKEN lacks the scope redshift:connect"},
		{apierror.New(ErrNotAdmitted, "not assigned"), TokenAccess, "28000", "not assigned"},
		{apierror.New(ErrUnknownNamespace, "no such namespace"), TokenExtJWT, "28000", "no such namespace"},
		{apierror.New(ErrReplayed, "already used"), TokenExtJWT, "28P01", "already used"},
		{&apierror.Error{Kind: ErrCannotCheck, Message: "keys out of reach", Cause: errors.New("dial tcp: refused")}, TokenExtJWT, "58000", "keys out of reach"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			var ce *clientError
			if err := authRefusal(tc.err, tc.tt); !errors.As(err, &ce) || ce.code != tc.code || ce.msg != tc.want {
				t.Fatalf("%v; want %s %q", err, tc.code, tc.want)
			}
		})
	}
}
