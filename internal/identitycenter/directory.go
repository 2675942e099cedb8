// Package identitycenter is the IAM Identity Center directory: the
// instance, its identity store (users, groups and memberships, kept in the
// store by internal/identitystore: users.go), trusted token issuers and the
// applications that accept them.
package identitycenter

import (
	"sort"

	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/identitystore"
	"github.com/idcgate/idcgate/internal/masterkey"
)

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

	// Users is the identity store: its users, groups and memberships live
	// in the store (users.go). Set by the wiring.
	Users *identitystore.Service

	issuers map[string]*TrustedTokenIssuer
	apps    map[string]*Application
}

// New builds the directory from the config; nil when none is configured.
// Its users, groups and memberships are the identity store's: OpenUsers
// (or NewWithStore) attaches it.
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
		issuers:          map[string]*TrustedTokenIssuer{},
		apps:             map[string]*Application{},
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
