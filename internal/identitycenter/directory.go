// Package identitycenter is the IAM Identity Center directory declared in
// the config: the instance, its identity store, users and groups. (Trusted
// token issuers and applications are sso-admin's, in internal/ssoadmin.)
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
