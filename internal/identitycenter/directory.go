// Package identitycenter is the IAM Identity Center directory declared in
// the config: the instance, its identity store, users, groups, trusted
// token issuers and the applications that accept them.
//
// User ids are UUIDs derived from the master key and the user name, so they
// are stable across restarts and identical on every replica.
package identitycenter

import (
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/masterkey"
)

// User is a directory user.
type User struct {
	UserID      string
	UserName    string
	DisplayName string
	Emails      []string
	// Groups are the names of the groups the user belongs to, sorted.
	Groups []string
}

// TrustedTokenIssuer is an issuer whose JWTs applications may accept.
type TrustedTokenIssuer struct {
	Name                       string
	Builtin                    bool
	IssuerURL                  string
	JWKSURL                    string
	JWKS                       string
	ClaimAttributePath         string
	IdentityStoreAttributePath string
}

// Application is a customer-managed application for CreateTokenWithIAM.
type Application struct {
	Arn    string
	Name   string
	Grants []Grant
}

// Grant: the application accepts JWTs of Issuer with one of Audiences.
type Grant struct {
	Issuer    string
	Audiences []string
}

// Directory is one Identity Center instance.
type Directory struct {
	InstanceArn      string
	IdentityStoreID  string
	IdentityStoreArn string
	Account          string

	users map[string]*User // by user name
	byID  map[string]*User
	// byEmail holds each user once under each address's config.DirectoryKey;
	// more than one user under a key makes that address ambiguous.
	byEmail map[string][]*User
	issuers map[string]*TrustedTokenIssuer
	apps    map[string]*Application
}

// New builds the directory from the config; nil when none is configured.
func New(cfg *config.Config, mk *masterkey.Key) *Directory {
	ic := cfg.IdentityCenter
	if ic == nil {
		return nil
	}
	d := &Directory{
		InstanceArn:      ic.InstanceArn,
		IdentityStoreID:  ic.IdentityStoreID,
		IdentityStoreArn: "arn:aws:identitystore::" + ic.Account + ":identitystore/" + ic.IdentityStoreID,
		Account:          ic.Account,
		users:            map[string]*User{},
		byID:             map[string]*User{},
		byEmail:          map[string][]*User{},
		issuers:          map[string]*TrustedTokenIssuer{},
		apps:             map[string]*Application{},
	}
	for _, u := range ic.Users {
		user := &User{UserID: userID(mk, ic.IdentityStoreID, u.UserName), UserName: u.UserName, DisplayName: u.DisplayName, Emails: u.Emails}
		d.users[u.UserName] = user
		d.byID[user.UserID] = user
		for _, e := range u.Emails {
			key := config.DirectoryKey(e)
			if e != "" && !slices.Contains(d.byEmail[key], user) {
				d.byEmail[key] = append(d.byEmail[key], user)
			}
		}
	}
	for _, g := range ic.Groups {
		for _, m := range g.Members {
			if u := d.users[m]; u != nil {
				u.Groups = append(u.Groups, g.Name)
			}
		}
	}
	for _, u := range d.users {
		sort.Strings(u.Groups)
	}
	for _, t := range ic.TrustedTokenIssuers {
		d.issuers[t.Name] = &TrustedTokenIssuer{
			Name: t.Name, Builtin: t.Builtin, IssuerURL: t.IssuerURL, JWKSURL: t.JWKSURL, JWKS: t.JWKS,
			ClaimAttributePath: t.ClaimAttributePath, IdentityStoreAttributePath: t.IdentityStoreAttributePath,
		}
	}
	for _, a := range ic.Applications {
		app := &Application{Arn: a.Arn, Name: a.Name}
		for _, g := range a.Grants {
			app.Grants = append(app.Grants, Grant{Issuer: g.Issuer, Audiences: g.Audiences})
		}
		d.apps[a.Arn] = app
	}
	return d
}

// userID formats 16 derived bytes as a UUID (version 4 layout).
func userID(mk *masterkey.Key, storeID, userName string) string {
	b := mk.Derive(16, "identitystore-user-id", storeID, userName)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// UserByName finds a user by user name.
func (d *Directory) UserByName(name string) (*User, bool) {
	u, ok := d.users[name]
	return u, ok
}

// UserByID finds a user by user id.
func (d *Directory) UserByID(id string) (*User, bool) {
	u, ok := d.byID[id]
	return u, ok
}

// Sentinels of FindUser.
var (
	ErrNoSuchUser = errors.New("identitycenter: no user has the attribute value")
	// ErrAmbiguousUser: more than one user has the value. The config
	// refuses such a directory; the matcher refuses it too, rather than
	// pick one.
	ErrAmbiguousUser = errors.New("identitycenter: more than one user has the attribute value")
)

// FindUser finds the one user whose attribute equals value, as a trusted
// token issuer's claim mapping does. userName compares exactly: the claim
// is an identifier the IdP asserts, and a user name in another case is
// another string (the config keeps names unique ignoring case, so it can
// never be another user). emails.value ignores ASCII case only
// (config.DirectoryKey): IdPs hand back addresses in whatever case they
// hold, and the domain is case-insensitive (RFC 5321 2.4), but no Unicode
// folding, which would let a claim with U+212A KELVIN SIGN name the user
// whose address has a k. externalIds.id is not modelled.
func (d *Directory) FindUser(attribute, value string) (*User, error) {
	if value == "" {
		return nil, ErrNoSuchUser
	}
	switch attribute {
	case "userName":
		if u, ok := d.users[value]; ok {
			return u, nil
		}
	case "emails.value":
		switch us := d.byEmail[config.DirectoryKey(value)]; len(us) {
		case 0:
		case 1:
			return us[0], nil
		default:
			return nil, ErrAmbiguousUser
		}
	}
	return nil, ErrNoSuchUser
}

// Issuer returns a trusted token issuer by name.
func (d *Directory) Issuer(name string) (*TrustedTokenIssuer, bool) {
	t, ok := d.issuers[name]
	return t, ok
}

// Application returns an application by ARN.
func (d *Directory) Application(arn string) (*Application, bool) {
	a, ok := d.apps[arn]
	return a, ok
}

// Applications lists the applications, sorted by ARN.
func (d *Directory) Applications() []*Application {
	out := make([]*Application, 0, len(d.apps))
	for _, a := range d.apps {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Arn < out[j].Arn })
	return out
}

// Issuers lists the trusted token issuers.
func (d *Directory) Issuers() []*TrustedTokenIssuer {
	out := make([]*TrustedTokenIssuer, 0, len(d.issuers))
	for _, t := range d.issuers {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
