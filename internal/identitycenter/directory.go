// Package identitycenter is the IAM Identity Center directory as the token
// flows read it: the instance and its identity store, whose users, groups
// and memberships internal/identitystore keeps in the store (users.go).
// Trusted token issuers and applications are sso-admin's, in
// internal/ssoadmin.
package identitycenter

import (
	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/identitystore"
	"github.com/idcgate/idcgate/internal/masterkey"
)

// Directory is one Identity Center instance.
type Directory struct {
	InstanceArn      string
	IdentityStoreID  string
	IdentityStoreArn string
	Account          string

	// Users is the identity store: its users, groups and memberships live
	// in the store (users.go). Set by the wiring.
	Users *identitystore.Service
}

// New builds the directory of the config's instance; nil when none is
// configured. Its users, groups and memberships are the identity store's:
// OpenUsers (or NewWithStore) attaches it.
func New(cfg *config.Config, _ *masterkey.Key) *Directory {
	ic := cfg.IdentityCenter
	if ic == nil {
		return nil
	}
	return &Directory{
		InstanceArn:      ic.InstanceArn,
		IdentityStoreID:  ic.IdentityStoreID,
		IdentityStoreArn: "arn:aws:identitystore::" + ic.Account + ":identitystore/" + ic.IdentityStoreID,
		Account:          ic.Account,
	}
}
