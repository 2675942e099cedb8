package identitycenter

import (
	"context"
	"errors"
	"testing"

	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/masterkey"
	"github.com/idcgate/idcgate/internal/testkit"
)

// directory builds a directory from users as given, without the config's
// validation, so FindUser's own refusals are what is tested.
func directory(t *testing.T, users ...config.DirectoryUser) *Directory {
	t.Helper()
	mk, err := masterkey.Parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
	if err != nil {
		t.Fatal(err)
	}
	st := testkit.Store(t)
	d, err := NewWithStore(context.Background(), &config.Config{IdentityCenter: &config.IdentityCenter{
		InstanceArn: "arn:aws:sso:::instance/ssoins-7223a1b2c3d4e5f6", IdentityStoreID: "d-9067a1b2c3", Account: "123456789012",
		Users: users,
	}}, mk, st)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestFindUser(t *testing.T) {
	t.Parallel()
	d := directory(t,
		config.DirectoryUser{UserName: "kate", Emails: []string{"kate@example.com", "Kate.Two@Example.com"}},
		config.DirectoryUser{UserName: "sam", Emails: []string{"sam@example.com"}},
		config.DirectoryUser{UserName: "\u212Aelvin", Emails: []string{"\u212Aelvin@example.com"}}, // KELVIN SIGN
	)
	cases := []struct {
		name, attr, value string
		want              string // user name; "" for ErrNoSuchUser
	}{
		{"email exact", "emails.value", "kate@example.com", "kate"},
		{"email ASCII case ignored", "emails.value", "KATE@EXAMPLE.COM", "kate"},
		{"second email", "emails.value", "kate.two@example.com", "kate"},
		// Unicode folding maps K (U+212A) to k; AWS compares no such thing.
		{"kelvin sign is not k", "emails.value", "\u212Aate@example.com", ""},
		{"k is not kelvin sign", "emails.value", "kelvin@example.com", ""},
		{"kelvin sign exact", "emails.value", "\u212Aelvin@example.com", "\u212Aelvin"},
		{"long s is not s", "emails.value", "\u017Fam@example.com", ""},
		{"userName exact", "userName", "kate", "kate"},
		{"userName case matters", "userName", "Kate", ""},
		{"userName kelvin sign", "userName", "\u212Aate", ""},
		{"unknown attribute", "displayName", "kate", ""},
		{"empty value", "emails.value", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u, err := d.FindUser(context.Background(), tc.attr, tc.value)
			switch {
			case tc.want == "" && !errors.Is(err, ErrNoSuchUser):
				t.Fatalf("FindUser(%s, %q) = %v, %v; want ErrNoSuchUser", tc.attr, tc.value, u, err)
			case tc.want != "" && (err != nil || u.UserName != tc.want):
				t.Fatalf("FindUser(%s, %q) = %v, %v; want %s", tc.attr, tc.value, u, err, tc.want)
			}
		})
	}
}

// TestFindUserAmbiguous: a value that two users share (a directory the
// config's validation would refuse) is refused, never resolved to whichever
// user a map walk met first.
func TestFindUserAmbiguous(t *testing.T) {
	t.Parallel()
	d := directory(t,
		config.DirectoryUser{UserName: "kate", Emails: []string{"kate@example.com"}},
		config.DirectoryUser{UserName: "kate2", Emails: []string{"KATE@example.com"}},
		config.DirectoryUser{UserName: "solo", Emails: []string{"solo@example.com", "SOLO@example.com"}},
	)
	for i := range 40 {
		u, err := d.FindUser(context.Background(), "emails.value", "Kate@Example.com")
		if !errors.Is(err, ErrAmbiguousUser) || u != nil {
			t.Fatalf("try %d: FindUser = %v, %v; want ErrAmbiguousUser", i, u, err)
		}
	}
	// One user listing the same address twice is still one user.
	if u, err := d.FindUser(context.Background(), "emails.value", "solo@example.com"); err != nil || u.UserName != "solo" {
		t.Fatalf("one user, two spellings: %v, %v", u, err)
	}
}

// TestUserByNameExact: idcgate idp token --user and IssueTestToken look
// users up by exact name.
func TestUserByNameExact(t *testing.T) {
	t.Parallel()
	d := directory(t, config.DirectoryUser{UserName: "kate"})
	for _, name := range []string{"Kate", "\u212Aate", "kate "} {
		if u, err := d.UserByName(context.Background(), name); err == nil {
			t.Errorf("UserByName(%q) = %s", name, u.UserName)
		}
	}
	if _, err := d.UserByName(context.Background(), "kate"); err != nil {
		t.Error("UserByName(kate) not found")
	}
}
