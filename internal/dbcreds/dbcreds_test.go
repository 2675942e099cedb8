package dbcreds

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/idcgate/idcgate/internal/clock"
	"github.com/idcgate/idcgate/internal/keyring"
	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/testkit"
)

// world is a real keyring on an embedded store with two workgroups' rings.
func world(t *testing.T) (*Sealer, *keyring.Keyring, *clock.Fake, keyring.ID, keyring.ID) {
	t.Helper()
	mk := testkit.MasterKey(t)
	st := testkit.Store(t)
	fc := clock.NewFake(time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC))
	keys, err := keyring.New(st, mk, fc.Now, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	a := keyring.ID{Account: "123456789012", Region: "us-east-1", WorkgroupID: "0f1e2d3c-aaaa-4bbb-8ccc-000000000001"}
	b := keyring.ID{Account: "123456789012", Region: "us-east-1", WorkgroupID: "0f1e2d3c-aaaa-4bbb-8ccc-000000000002"}
	if err := st.Update(context.Background(), func(tx store.Tx) error {
		if err := keys.Create(tx, a); err != nil {
			return err
		}
		return keys.Create(tx, b)
	}); err != nil {
		t.Fatal(err)
	}
	return &Sealer{Keys: keys, Clock: fc.Now}, keys, fc, a, b
}

func TestSealOpen(t *testing.T) {
	t.Parallel()
	s, keys, fc, a, b := world(t)
	ctx := context.Background()
	now := fc.Now()
	c := Claims{DbUser: "IAMR:analyst", UserID: "AROAEXAMPLE", Principal: "arn:aws:sts::123456789012:assumed-role/analyst/s",
		DbName: "dev", IssuedAt: now.Unix(), ExpiresAt: now.Add(900 * time.Second).Unix(), ID: "id-1"}
	pw, err := s.Seal(ctx, a, c)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(pw, Prefix) || strings.Contains(pw, "analyst") {
		t.Fatalf("password %q: want the prefix and nothing of the claims in clear", pw)
	}
	if id, err := Peek(pw); err != nil || id != a {
		t.Fatalf("Peek = %+v %v, want %+v", id, err, a)
	}
	got, err := s.Open(ctx, a, pw)
	if err != nil || got != c {
		t.Fatalf("Open = %+v, %v; want %+v", got, err, c)
	}

	// Every byte matters: flip one in the body.
	raw := []byte(pw)
	i := len(Prefix) + 20
	if raw[i] == 'A' {
		raw[i] = 'B'
	} else {
		raw[i] = 'A'
	}
	for _, tc := range []struct {
		name string
		id   keyring.ID
		pw   string
		want error
	}{
		{"another workgroup", b, pw, ErrForeignWorkgroup},
		{"a changed byte", a, string(raw), nil},
		{"no prefix", a, strings.TrimPrefix(pw, Prefix), ErrMalformed},
		{"cut", a, pw[:len(pw)-10], nil},
		{"an Identity Center token", a, "IDC2.AAAA", ErrMalformed},
		{"empty", a, "", ErrMalformed},
		{"another account", keyring.ID{Account: "210987654321", Region: a.Region, WorkgroupID: a.WorkgroupID}, pw, ErrForeignWorkgroup},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Open(ctx, tc.id, tc.pw)
			if err == nil {
				t.Fatal("opened")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}

	// A rotation keeps older passwords valid; retiring their version ends them.
	if _, err := keys.Rotate(ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(ctx, a, pw); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	fresh, err := s.Seal(ctx, a, c)
	if err != nil {
		t.Fatal(err)
	}
	if err := keys.Retire(ctx, a, 2); err != nil {
		t.Fatal(err)
	}
	keys.Forget(a)
	if _, err := s.Open(ctx, a, pw); !errors.Is(err, ErrTampered) {
		t.Fatalf("retired version: %v", err)
	}
	if _, err := s.Open(ctx, a, fresh); err != nil {
		t.Fatalf("current version: %v", err)
	}

	// Expiry: valid until the second before, refused at it.
	fc.Set(c.Expires().Add(-time.Second))
	if _, err := s.Open(ctx, a, fresh); err != nil {
		t.Fatalf("a second before expiry: %v", err)
	}
	fc.Set(c.Expires())
	if got, err := s.Open(ctx, a, fresh); !errors.Is(err, ErrExpired) || got.DbUser != "IAMR:analyst" {
		t.Fatalf("at expiry: %+v %v", got, err)
	}
}
