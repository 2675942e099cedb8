package app

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/identitycenter"
	"github.com/idcgate/idcgate/internal/identitystore"
	"github.com/idcgate/idcgate/internal/jwtverify"
	"github.com/idcgate/idcgate/internal/masterkey"
	"github.com/idcgate/idcgate/internal/pagetoken"
	"github.com/idcgate/idcgate/internal/redshiftidc"
	"github.com/idcgate/idcgate/internal/ssoadmin"
	"github.com/idcgate/idcgate/internal/store"
)

// zeroConfigInstance gives a config without identityCenter the one
// Identity Center instance `idcgate serve` starts with (BEHAVIOUR 15.1):
// the first account's, ids derived from the master key so every replica
// and every restart names the same instance, and an empty directory.
func zeroConfigInstance(cfg *config.Config, mk *masterkey.Key) {
	if cfg.IdentityCenter != nil {
		return
	}
	ins := hex.EncodeToString(mk.Derive(8, "sso-instance-id"))
	storeID := hex.EncodeToString(mk.Derive(5, "identity-store-id"))
	cfg.IdentityCenter = &config.IdentityCenter{
		InstanceArn:     "arn:aws:sso:::instance/ssoins-" + ins,
		IdentityStoreID: "d-" + storeID,
		Account:         cfg.Accounts[0].ID,
	}
}

// newSSOAdmin builds the sso-admin service, records the instance, re-applies
// the config's trusted token issuers and applications, and connects
// CreateTokenWithIAM to them.
func newSSOAdmin(ctx context.Context, cfg *config.Config, mk *masterkey.Key, st store.Store, ids *identity, opt Options) (*ssoadmin.Service, error) {
	ic := cfg.IdentityCenter
	svc := &ssoadmin.Service{
		Store:  st,
		Pages:  &pagetoken.Codec{Key: mk.Derive(32, "page-token"), Clock: opt.Clock, TTL: 24 * time.Hour},
		Clock:  opt.Clock,
		Rand:   opt.Rand,
		Region: cfg.Region,
		Instance: ssoadmin.Instance{
			InstanceArn: ic.InstanceArn, IdentityStoreID: ic.IdentityStoreID, OwnerAccountID: ic.Account,
		},
		Directory: directoryPrincipals{dir: ids.dir},
	}
	if ids.idp != nil {
		svc.BuiltinIssuerURL = ids.idp.Issuer()
	}
	if _, err := svc.EnsureInstance(ctx); err != nil {
		return nil, fmt.Errorf("identity center instance: %w", err)
	}
	issuers, apps, err := configObjects(ctx, cfg, mk, svc, ids.dir)
	if err != nil {
		return nil, err
	}
	if err := svc.ApplyConfig(ctx, issuers, apps); err != nil {
		return nil, fmt.Errorf("identity center applications: %w", err)
	}
	ids.oidc.Apps = svc
	ids.oidc.Verifier = (&verifiers{idp: ids.idp, clock: opt}).get
	// The one place CreateTokenWithIAM learns a user's groups (for
	// assignments made to groups): her memberships now.
	ids.oidc.GroupIDs = func(ctx context.Context, u *identitycenter.User) ([]string, error) {
		return ids.dir.Users.GroupIDs(ctx, u.UserID)
	}
	return svc, nil
}

// configObjects turns the config's issuers and applications into records:
// an issuer's ARN is derived from the master key and its name, so it is
// the same at every start and on every replica.
func configObjects(ctx context.Context, cfg *config.Config, mk *masterkey.Key, svc *ssoadmin.Service, dir *identitycenter.Directory) ([]ssoadmin.TrustedTokenIssuer, []ssoadmin.ConfigApplication, error) {
	ic := cfg.IdentityCenter
	arns := map[string]string{}
	var issuers []ssoadmin.TrustedTokenIssuer
	for _, t := range ic.TrustedTokenIssuers {
		arn := svc.TrustedTokenIssuerArn(derivedUUID(mk, "sso-trusted-token-issuer", ic.InstanceArn, t.Name))
		arns[t.Name] = arn
		rec := ssoadmin.TrustedTokenIssuer{
			TrustedTokenIssuerArn: arn, Name: t.Name, IssuerUrl: t.IssuerURL, Builtin: t.Builtin,
			ClaimAttributePath: t.ClaimAttributePath, IdentityStoreAttributePath: t.IdentityStoreAttributePath,
			JWKSURL: t.JWKSURL, JWKS: t.JWKS,
		}
		if t.Builtin {
			rec.IssuerUrl = svc.BuiltinIssuerURL
		}
		issuers = append(issuers, rec)
	}
	// The config's users and groups are in the identity store already
	// (applied first): assignments name them by their stored ids.
	users := map[string]string{}
	for _, u := range ic.Users {
		if du, err := dir.UserByName(ctx, u.UserName); err == nil {
			users[u.UserName] = du.UserID
		}
	}
	groups := map[string]string{}
	for _, g := range ic.Groups {
		if id, err := dir.Users.GroupIDByName(ctx, g.Name); err == nil {
			groups[g.Name] = id
		}
	}
	var apps []ssoadmin.ConfigApplication
	for _, a := range ic.Applications {
		c := ssoadmin.ConfigApplication{Arn: a.Arn, Name: a.Name, Scopes: a.Scopes}
		if a.AssignmentRequired != nil {
			c.AssignmentRequired = *a.AssignmentRequired
		}
		for _, g := range a.Grants {
			arn := arns[g.Issuer]
			c.JWTBearer = append(c.JWTBearer, ssoadmin.AuthorizedTokenIssuer{TrustedTokenIssuerArn: &arn, AuthorizedAudiences: g.Audiences})
		}
		if a.ActorPolicy != nil {
			c.ActorPolicy = a.ActorPolicy.JSON
		} else {
			c.ActorPolicy = accountActorPolicy(ic.Account)
		}
		for _, u := range a.Assignments.Users {
			c.Assignments = append(c.Assignments, ssoadmin.Assignment{PrincipalType: ssoadmin.PrincipalUser, PrincipalId: users[u]})
		}
		for _, g := range a.Assignments.Groups {
			c.Assignments = append(c.Assignments, ssoadmin.Assignment{PrincipalType: ssoadmin.PrincipalGroup, PrincipalId: groups[g]})
		}
		apps = append(apps, c)
	}
	return issuers, apps, nil
}

// accountActorPolicy is a config application's authentication method when
// it declares none: the account's IAM principals may call
// CreateTokenWithIAM for it (their own policies must still allow it).
func accountActorPolicy(account string) json.RawMessage {
	return json.RawMessage(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + account +
		`:root"},"Action":"sso-oauth:CreateTokenWithIAM","Resource":"*"}]}`)
}

func derivedUUID(mk *masterkey.Key, purpose string, context ...string) string {
	b := mk.Derive(16, purpose, context...)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// directoryPrincipals answers ssoadmin.Directory from the identity store.
type directoryPrincipals struct {
	dir *identitycenter.Directory
}

func (d directoryPrincipals) PrincipalExists(ctx context.Context, typ, id string) (bool, error) {
	if d.dir == nil || d.dir.Users == nil {
		return false, nil
	}
	var err error
	if typ == ssoadmin.PrincipalUser {
		_, err = d.dir.UserByID(ctx, id)
	} else {
		_, err = d.dir.Users.DescribeGroup(ctx, id)
	}
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, identitycenter.ErrNoSuchUser), errors.Is(err, identitystore.ErrNotFound):
		return false, nil
	}
	return false, err
}

// verifiers builds a JWT verifier per trusted token issuer and keeps it
// while the issuer's ARN and version are the same (an update bumps the
// version, a delete makes the ARN unused): issuers made by API get theirs
// on first use, on every replica.
type verifiers struct {
	idp interface {
		Issuer() string
		KeySet() *jose.JSONWebKeySet
	}
	clock Options

	once  sync.Once
	cache *lru.Cache[verifierKey, *jwtverify.Verifier]
}

type verifierKey struct {
	arn     string
	version uint64
}

func (v *verifiers) get(_ context.Context, t ssoadmin.TrustedTokenIssuer) (*jwtverify.Verifier, error) {
	v.once.Do(func() { v.cache, _ = lru.New[verifierKey, *jwtverify.Verifier](4096) })
	k := verifierKey{t.TrustedTokenIssuerArn, t.Version}
	if ver, ok := v.cache.Get(k); ok {
		return ver, nil
	}
	ver, err := v.build(t)
	if err != nil {
		return nil, err
	}
	v.cache.Add(k, ver)
	return ver, nil
}

func (v *verifiers) build(t ssoadmin.TrustedTokenIssuer) (*jwtverify.Verifier, error) {
	clk := v.clock.Clock
	ver := &jwtverify.Verifier{Issuer: t.IssuerUrl, Clock: clk}
	client := &http.Client{Timeout: 10 * time.Second}
	switch {
	case (t.Builtin || v.idp != nil && t.IssuerUrl == v.idp.Issuer()) && v.idp != nil:
		// idcgate's own IdP: its keys are in process.
		ver.Issuer = v.idp.Issuer()
		set := v.idp.KeySet()
		ver.Keys = func(context.Context, bool) (*jose.JSONWebKeySet, error) { return set, nil }
	case t.JWKS != "":
		keys, err := jwtverify.StaticKeys(t.JWKS)
		if err != nil {
			return nil, fmt.Errorf("trusted token issuer %s: %w", t.Name, err)
		}
		ver.Keys = keys
	case t.JWKSURL != "":
		ver.Keys = (&jwtverify.Remote{Client: client, URL: t.JWKSURL, Clock: clk}).Keys
	default:
		ver.Keys = (&discovery{client: client, issuer: t.IssuerUrl, clock: v.clock}).Keys
	}
	return ver, nil
}

// discovery is OPEN_ID_DISCOVERY: the JWKS URL is the jwks_uri of the
// issuer's /.well-known/openid-configuration, read once it answers.
type discovery struct {
	client *http.Client
	issuer string
	clock  Options

	mu      sync.Mutex
	remote  *jwtverify.Remote
	failed  time.Time // the last failed discovery
	lastErr error
}

func (d *discovery) Keys(ctx context.Context, refresh bool) (*jose.JSONWebKeySet, error) {
	d.mu.Lock()
	r := d.remote
	// A failed discovery is not retried for MinRefresh, so callers cannot
	// make idcgate hammer an issuer that is down.
	if r == nil && !d.failed.IsZero() && d.clock.Clock.Now().Sub(d.failed) < jwtverify.DefaultMinRefresh {
		err := d.lastErr
		d.mu.Unlock()
		return nil, err
	}
	d.mu.Unlock()
	if r == nil {
		uri, err := d.jwksURI(ctx)
		if err != nil {
			err = fmt.Errorf("%w: OpenID discovery of %s: %v", jwtverify.ErrKeys, d.issuer, err)
			d.mu.Lock()
			d.failed, d.lastErr = d.clock.Clock.Now(), err
			d.mu.Unlock()
			return nil, err
		}
		r = &jwtverify.Remote{Client: d.client, URL: uri, Clock: d.clock.Clock}
		d.mu.Lock()
		if d.remote == nil {
			d.remote = r
		}
		r = d.remote
		d.mu.Unlock()
	}
	return r.Keys(ctx, refresh)
}

func (d *discovery) jwksURI(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(d.issuer, "/")+"/.well-known/openid-configuration", nil)
	if err != nil {
		return "", err
	}
	// The discovery document is read where the issuer URL says, never
	// through a redirect (an issuer answers its own well-known path).
	client := *d.client
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %d", resp.StatusCode)
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&doc); err != nil {
		return "", err
	}
	if doc.Issuer != d.issuer || !strings.HasPrefix(doc.JWKSURI, "https://") && !strings.HasPrefix(doc.JWKSURI, "http://") {
		return "", fmt.Errorf("the discovery document's issuer or jwks_uri does not fit")
	}
	return doc.JWKSURI, nil
}

// redshiftIdentityCenter gives the Redshift IdC applications what they
// need of sso-admin: trusted token issuers to check, and their managed
// applications (provider redshift, scope redshift:connect; the tags that
// SsoTagKeys name).
type redshiftIdentityCenter struct{ sso *ssoadmin.Service }

func (r redshiftIdentityCenter) TrustedTokenIssuerExists(rd store.Reader, arn string) (bool, error) {
	return r.sso.TrustedTokenIssuerExists(rd, arn)
}

// managedName is the managed application's name: the Redshift IdC
// application's display name (its name without one), at most 100 bytes.
func managedName(app redshiftidc.Application) string {
	name := app.DisplayName
	if name == "" {
		name = app.Name
	}
	if len(name) > 100 {
		name = name[:100]
	}
	return name
}

func (r redshiftIdentityCenter) CreateManagedApplication(tx store.Tx, app redshiftidc.Application) (string, error) {
	name := managedName(app)
	var tags []ssoadmin.Tag
	for _, t := range app.Tags {
		if slices.Contains(app.SsoTagKeys, t.Key) {
			tags = append(tags, ssoadmin.Tag{Key: &t.Key, Value: &t.Value})
		}
	}
	m, err := r.sso.CreateManagedApplication(tx, ssoadmin.ManagedApplicationInput{
		ApplicationProviderArn: ssoadmin.ProviderRedshift,
		Name:                   name,
		Description:            "Managed by Amazon Redshift for " + app.Arn,
		Tags:                   tags,
		Scopes:                 []string{"redshift:connect"},
		ManagedBy:              "Amazon Redshift (Redshift IdC application " + app.Arn + ")",
	})
	return m.ApplicationArn, err
}

func (r redshiftIdentityCenter) RenameManagedApplication(tx store.Tx, arn string, app redshiftidc.Application) error {
	return r.sso.RenameManagedApplication(tx, arn, managedName(app))
}

func (r redshiftIdentityCenter) DeleteManagedApplication(tx store.Tx, arn string) error {
	return r.sso.DeleteManagedApplication(tx, arn)
}
