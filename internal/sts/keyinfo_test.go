package sts

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/idcgate/idcgate/internal/auth"
	"github.com/idcgate/idcgate/internal/validation"
)

// TestKeyIDAccount: the account written into a session key id reads back,
// for every account id size; malformed ids carry none.
func TestKeyIDAccount(t *testing.T) {
	t.Parallel()
	for _, account := range []string{"000000000000", "000000000042", "123456789012", "999999999999"} {
		for _, fill := range []byte{0x00, 0xff, 0x5a} {
			var id [10]byte
			copy(id[:], bytes.Repeat([]byte{fill}, 10))
			withAccount(&id, account)
			key := "ASIA" + keyAlphabet.EncodeToString(id[:])
			if got, ok := KeyIDAccount(key); !ok || got != account {
				t.Errorf("KeyIDAccount(%s) = %q %v, want %s", key, got, ok, account)
			}
		}
	}
	for _, bad := range []string{"", "AKIA", "AKIA0000000000000000", "AKIAabcdefghijklmnop", "AKIA_______________"} {
		if got, ok := KeyIDAccount(bad); ok {
			t.Errorf("KeyIDAccount(%q) = %q, want none", bad, got)
		}
	}
}

// TestSessionKeysCarryTheirAccount: GetAccessKeyInfo answers a session key
// id without its token.
func TestSessionKeysCarryTheirAccount(t *testing.T) {
	t.Parallel()
	s, c, app := setup(t)
	out, err := s.AssumeRole(context.Background(), app, AssumeRoleInput{RoleArn: "arn:aws:iam::123456789012:role/chainer", RoleSessionName: "s1"},
		auth.Request{Region: "us-east-1", Now: c.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := KeyIDAccount(out.Credentials.AccessKeyId); !ok || got != "123456789012" {
		t.Fatalf("session key %s carries %q %v", out.Credentials.AccessKeyId, got, ok)
	}
}

// TestGetSessionTokenCallers: only an IAM user's long-term keys get a
// session; the session acts as the user and may not get another.
func TestGetSessionTokenCallers(t *testing.T) {
	t.Parallel()
	s, c, app := setup(t)
	ctx := context.Background()
	creds, err := s.GetSessionToken(ctx, app, GetSessionTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	if got := creds.Expiration.Sub(c.Now()); got != DefaultUserSession {
		t.Fatalf("default session %s", got)
	}
	cred, err := s.LookupCredential(ctx, creds.AccessKeyId, creds.SessionToken)
	if err != nil {
		t.Fatal(err)
	}
	p := cred.Principal.(*auth.Principal)
	if p.Kind != auth.KindUser || !p.UserSession || p.ARN != app.ARN || p.UserID != app.UserID || len(p.Identity) != len(app.Identity) {
		t.Fatalf("session principal %+v", p)
	}
	day := int64(86400)
	for name, tc := range map[string]struct {
		caller *auth.Principal
		in     GetSessionTokenInput
		want   error
	}{
		"a user session":       {p, GetSessionTokenInput{}, auth.ErrAccessDenied},
		"a root":               {&auth.Principal{Kind: auth.KindRoot, Account: "123456789012"}, GetSessionTokenInput{}, auth.ErrAccessDenied},
		"a role session":       {&auth.Principal{Kind: auth.KindAssumedRole, Account: "123456789012"}, GetSessionTokenInput{}, auth.ErrAccessDenied},
		"an MFA code":          {app, GetSessionTokenInput{SerialNumber: ptr("GAHT12345678"), TokenCode: ptr("123456")}, auth.ErrAccessDenied},
		"a bad token code":     {app, GetSessionTokenInput{TokenCode: ptr("12345a")}, validation.ErrInvalid},
		"a day":                {app, GetSessionTokenInput{DurationSeconds: &day}, nil},
		"too short a duration": {app, GetSessionTokenInput{DurationSeconds: ptr(int64(60))}, validation.ErrInvalid},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := s.GetSessionToken(ctx, tc.caller, tc.in)
			if (tc.want == nil) != (err == nil) || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	// Past its expiry the session is refused.
	c.Advance(DefaultUserSession + time.Second)
	if _, err := s.LookupCredential(ctx, creds.AccessKeyId, creds.SessionToken); err == nil {
		t.Fatal("an expired user session still works")
	}
}

func ptr[T any](v T) *T { return &v }
