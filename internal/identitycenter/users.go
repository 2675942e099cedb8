package identitycenter

import (
	"context"

	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/identitystore"
	"github.com/idcgate/idcgate/internal/masterkey"
	"github.com/idcgate/idcgate/internal/store"
)

// User is a directory user as the token flows see it.
type User struct {
	UserID      string
	UserName    string
	DisplayName string
	Emails      []string
	// Groups are the display names of the user's groups, sorted: from the
	// user's memberships as they are now.
	Groups []string
}

// Sentinels of the user look-ups.
var (
	ErrNoSuchUser = identitystore.ErrNoSuchUser
	// ErrAmbiguousUser: more than one user has the value. The matcher
	// refuses it rather than pick one.
	ErrAmbiguousUser = identitystore.ErrAmbiguousUser
)

// UserByName finds a user by exact user name (idcgate idp token --user,
// IssueTestToken).
func (d *Directory) UserByName(ctx context.Context, name string) (*User, error) {
	return d.user(d.Users.UserByName(ctx, name))
}

// UserByID finds a user by user id, with its groups now: every token,
// session and gateway login reads it, so a user deleted, or removed from a
// group, loses at once what that gave.
func (d *Directory) UserByID(ctx context.Context, id string) (*User, error) {
	return d.user(d.Users.UserWithGroups(ctx, id))
}

// FindUser finds the one user whose attribute equals value, as a trusted
// token issuer's claim mapping does. userName compares exactly: the claim
// is an identifier the IdP asserts, and a user name in another case is
// another string (names are unique ignoring case, so it can never be
// another user). emails.value ignores ASCII case only
// (config.DirectoryKey): IdPs hand back addresses in whatever case they
// hold, and the domain is case-insensitive (RFC 5321 2.4), but no Unicode
// folding, which would let a claim with U+212A KELVIN SIGN name the user
// whose address has a k. externalIds.id is not modelled.
func (d *Directory) FindUser(ctx context.Context, attribute, value string) (*User, error) {
	return d.user(d.Users.FindUser(ctx, attribute, value))
}

func (d *Directory) user(u identitystore.User, groups []string, err error) (*User, error) {
	if err != nil {
		return nil, err
	}
	out := &User{UserID: u.UserID, UserName: u.UserName, DisplayName: u.DisplayName, Groups: groups}
	if out.Groups == nil {
		out.Groups = []string{}
	}
	for _, e := range u.Emails {
		out.Emails = append(out.Emails, e.Value)
	}
	return out, nil
}

// OpenUsers attaches the identity store kept in st to d and applies the
// config's users and groups to it (identitystore.Service.ApplyConfig).
func (d *Directory) OpenUsers(ctx context.Context, cfg *config.Config, mk *masterkey.Key, svc *identitystore.Service) error {
	svc.StoreID, svc.Account = d.IdentityStoreID, d.Account
	d.Users = svc
	return svc.ApplyConfig(ctx, mk, cfg.IdentityCenter.Users, cfg.IdentityCenter.Groups)
}

// NewWithStore is New with the identity store kept in st, the config's
// users and groups applied to it; nil, nil when no directory is configured.
func NewWithStore(ctx context.Context, cfg *config.Config, mk *masterkey.Key, st store.Store) (*Directory, error) {
	d := New(cfg, mk)
	if d == nil {
		return nil, nil
	}
	if err := d.OpenUsers(ctx, cfg, mk, &identitystore.Service{Store: st}); err != nil {
		return nil, err
	}
	return d, nil
}
