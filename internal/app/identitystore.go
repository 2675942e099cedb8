package app

import (
	"context"
	"fmt"
	"time"

	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/identitycenter"
	"github.com/idcgate/idcgate/internal/identitystore"
	"github.com/idcgate/idcgate/internal/masterkey"
	"github.com/idcgate/idcgate/internal/pagetoken"
	"github.com/idcgate/idcgate/internal/passwords"
	"github.com/idcgate/idcgate/internal/store"
)

// openIdentityStore attaches the identity store to the directory and
// re-applies the config's users and groups to it (BEHAVIOUR 16.5).
func openIdentityStore(ctx context.Context, cfg *config.Config, mk *masterkey.Key, st store.Store, versions store.Versioned, dir *identitycenter.Directory, opt Options) (*identitystore.Service, error) {
	if dir == nil {
		return nil, nil
	}
	svc := &identitystore.Service{
		Store: st, Versions: versions, Rand: opt.Rand, Clock: opt.Clock,
		Pages: &pagetoken.Codec{Key: mk.Derive(32, "page-token"), Clock: opt.Clock, TTL: 24 * time.Hour},
	}
	if err := dir.OpenUsers(ctx, cfg, mk, svc); err != nil {
		return nil, fmt.Errorf("identity store: applying the config's users and groups: %w", err)
	}
	return svc, nil
}

// openPasswords keeps the directory users' sign-in passwords and applies
// the config's (BEHAVIOUR 18.6).
func openPasswords(ctx context.Context, cfg *config.Config, st store.Store, idStore *identitystore.Service, opt Options) (*passwords.Service, error) {
	if idStore == nil {
		return nil, nil
	}
	pw := &passwords.Service{Store: st, Directory: idStore, Clock: opt.Clock, Rand: opt.Rand, Params: opt.PasswordParams}
	if err := pw.ApplyConfig(ctx, cfg.IdentityCenter.Users); err != nil {
		return nil, fmt.Errorf("sign-in passwords: applying the config's: %w", err)
	}
	return pw, nil
}
