package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	lru "github.com/hashicorp/golang-lru/v2"

	"golang.org/x/time/rate"

	"github.com/idcgate/idcgate/internal/audit/trail"
	"github.com/idcgate/idcgate/internal/auth"
	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/identitycenter"
	"github.com/idcgate/idcgate/internal/idp"
	"github.com/idcgate/idcgate/internal/jwtverify"
	"github.com/idcgate/idcgate/internal/masterkey"
	"github.com/idcgate/idcgate/internal/oidc"
	"github.com/idcgate/idcgate/internal/passwords"
	"github.com/idcgate/idcgate/internal/seal"
	"github.com/idcgate/idcgate/internal/server"
	"github.com/idcgate/idcgate/internal/signin"
	"github.com/idcgate/idcgate/internal/sigv4"
	"github.com/idcgate/idcgate/internal/sts"
)

// identity is the Identity Center side: directory, built-in IdP, SSO-OIDC, STS.
type identity struct {
	dir  *identitycenter.Directory
	idp  *idp.IdP
	oidc *oidc.Service
	sts  *sts.Service
	// idpKeyFileRemoved: an older idcgate's IdP key file was removed.
	idpKeyFileRemoved bool
}

func newBox(mk *masterkey.Key, purpose, prefix string) (*seal.Box, error) {
	return seal.New(mk.Derive(32, "seal", purpose), purpose, prefix)
}

func newIdentity(cfg *config.Config, mk *masterkey.Key, reg *auth.Registry, publicURL string, opt Options) (*identity, error) {
	ids := &identity{dir: identitycenter.New(cfg, mk)}
	contexts, err := newBox(mk, "identity-context", "")
	if err != nil {
		return nil, err
	}
	sessions, err := newBox(mk, "session-token", "IQoJ")
	if err != nil {
		return nil, err
	}
	tokens, err := newBox(mk, "oidc-token", "aoa")
	if err != nil {
		return nil, err
	}
	ids.sts = &sts.Service{Registry: reg, Dir: ids.dir, Contexts: contexts, Sessions: sessions, Clock: opt.Clock, Rand: opt.Rand}
	// SSO-OIDC is served even without a directory: every clientId then names
	// an application that does not exist, which is what AWS answers.
	ids.oidc = &oidc.Service{Dir: ids.dir, Contexts: contexts, Tokens: tokens, Clock: opt.Clock}
	if err := ids.oidc.Init(mk); err != nil {
		return nil, err
	}
	keys := &issuerKeys{opt: opt}
	ids.sts.IssuerKeys = keys.For
	if ids.dir == nil {
		return ids, nil
	}
	if ids.idp, ids.idpKeyFileRemoved, err = idp.Open(mk, cfg.DataDir, strings.TrimSuffix(publicURL, "/")+"/idp"); err != nil {
		return nil, fmt.Errorf("built-in IdP: %w", err)
	}
	keys.idp = ids.idp
	// Trusted token issuers and applications live in the store
	// (newSSOAdmin connects CreateTokenWithIAM to them).
	return ids, nil
}

// credentialChain sends session keys (ASIA…) to STS and long-term keys to
// the registry.
type credentialChain struct {
	reg *auth.Registry
	sts *sts.Service
}

func (c credentialChain) LookupCredential(ctx context.Context, id, token string) (sigv4.Credential, error) {
	if strings.HasPrefix(id, "ASIA") {
		return c.sts.LookupCredential(ctx, id, token)
	}
	return c.reg.LookupCredential(ctx, id, token)
}

// newSignIn builds the sign-in pages (BEHAVIOUR 18.5); nil without a
// directory (nobody to sign in).
func newSignIn(cfg *config.Config, mk *masterkey.Key, ids *identity, pws *passwords.Service, auditLog *trail.Log, publicURL string, log *slog.Logger, opt Options) (http.Handler, error) {
	if ids.dir == nil || pws == nil {
		return nil, nil
	}
	sessions, err := newBox(mk, "signin-session", "")
	if err != nil {
		return nil, err
	}
	lim := server.DefaultUnauthenticatedAudit
	return &signin.Handler{
		OIDC: ids.oidc, Passwords: pws, Sessions: sessions, Clock: opt.Clock, Log: log.With("component", "signin"),
		Region: cfg.Region, Dir: signin.Directory{Account: ids.dir.Account, IdentityStoreID: ids.dir.IdentityStoreID},
		Audit:         auditLog.Write,
		SecureCookies: strings.HasPrefix(publicURL, "https://"),
		// Failed sign-ins are anyone's to make: their records are bounded
		// as unauthenticated API calls' are.
		FailureAudit: rate.NewLimiter(rate.Limit(lim.Rate), lim.Burst),
	}, nil
}

// issuerKeys gives STS the keys of an IAM OpenID Connect provider's issuer
// (AssumeRoleWithWebIdentity): the built-in IdP's in process, any other's
// through its OpenID discovery document and jwks_uri, fetched as trusted
// token issuers' are (bounded time and size, cached, refetched at most
// once per jwtverify.DefaultMinRefresh). One source is kept per URL, so its
// cache lives across calls; providers are at most 100 an account.
type issuerKeys struct {
	idp *idp.IdP
	opt Options

	once  sync.Once
	cache *lru.Cache[string, jwtverify.KeySource]
}

func (k *issuerKeys) For(issuer string) jwtverify.KeySource {
	if k.idp != nil && strings.TrimSuffix(issuer, "/") == k.idp.Issuer() {
		set := k.idp.KeySet()
		return func(context.Context, bool) (*jose.JSONWebKeySet, error) { return set, nil }
	}
	k.once.Do(func() { k.cache, _ = lru.New[string, jwtverify.KeySource](4096) })
	if src, ok := k.cache.Get(issuer); ok {
		return src
	}
	src := (&discovery{client: &http.Client{Timeout: 10 * time.Second}, issuer: issuer, clock: k.opt}).Keys
	k.cache.Add(issuer, src)
	return src
}
