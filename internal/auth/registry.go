package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/iam"
	"github.com/idcgate/idcgate/internal/iamstore"
	"github.com/idcgate/idcgate/internal/masterkey"
	"github.com/idcgate/idcgate/internal/sigv4"
	"github.com/idcgate/idcgate/internal/store"
)

// Registry knows every account, IAM user, role and long-term access key.
// Each account's root access key is created on first start and kept in the
// store; its secret is never stored: it is derived from the master key.
// Users, their keys and policies, and roles live in the store (iamstore):
// the config's are re-applied there at every start, the IAM API changes
// them, and every lookup reads the store (through a cache that the
// embedded store's versions vouch for), so a change takes effect on the
// next call, on every replica.
type Registry struct {
	accounts []string
	rootKeys map[string]keyEntry // root access key id → entry
	roots    []RootCredential
	iam      *iamstore.Service
	// versions, when set, is the embedded store's version source: reads
	// are kept while nothing under "iam/" changed. Nil for a shared store.
	versions store.Versioned

	creds    store.Kept[string, keyEntry]   // access key id → entry
	roles    store.Kept[string, *Role]      // role ARN → role
	users    store.Kept[string, *Principal] // user ARN → user (nil: none)
	allRoles store.Kept[struct{}, []*Role]  // every role, by ARN
	parsed   *lru.Cache[policyKey, *iam.Policy]
}

// policyKey names a parsed document by its kind and hash, so the cache
// holds no document text (up to 128 KiB each).
type policyKey struct {
	kind iam.Kind
	sum  [sha256.Size]byte
}

// Role is an IAM role.
type Role struct {
	Account            string
	Name               string
	ARN                string
	RoleID             string // AROA…
	MaxSessionDuration time.Duration
	Trust              *iam.Policy
	Policies           []*iam.Policy
}

// Session is the principal of a session of the role named session, as
// GetCallerIdentity shows it, with the role's current policies (no session
// policy, keys or identity context: the caller adds what it has).
func (r *Role) Session(session string) *Principal {
	return &Principal{Kind: KindAssumedRole, Account: r.Account,
		ARN:    "arn:aws:sts::" + r.Account + ":assumed-role/" + r.Name + "/" + session,
		UserID: r.RoleID + ":" + session, Name: r.Name, SessionName: session,
		RoleARN: r.ARN, Identity: r.Policies}
}

// RootCredential is an account's administrator key pair.
type RootCredential struct {
	Account         string
	AccessKeyID     string
	SecretAccessKey string
}

type keyEntry struct {
	secret    string
	principal *Principal
}

type rootKeyRecord struct {
	AccessKeyID string    `json:"accessKeyId"`
	CreatedAt   time.Time `json:"createdAt"`
}

var keyIDAlphabet = base32.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567").WithPadding(base32.NoPadding)

// NewRegistry builds the registry: root access keys that do not exist yet
// are created, and the config's users, keys, roles and policies are
// re-applied into the store through svc. versions is the embedded store's
// version source (nil for a shared store).
func NewRegistry(ctx context.Context, cfg *config.Config, mk *masterkey.Key, st store.Store, svc *iamstore.Service, versions store.Versioned, random io.Reader, now time.Time) (*Registry, error) {
	parsed, err := lru.New[policyKey, *iam.Policy](4096)
	if err != nil {
		return nil, err
	}
	r := &Registry{rootKeys: map[string]keyEntry{}, iam: svc, versions: versions, parsed: parsed}
	for _, a := range cfg.Accounts {
		r.accounts = append(r.accounts, a.ID)
		root, err := ensureRootKey(ctx, st, a.ID, random, now)
		if err != nil {
			return nil, err
		}
		secret := rootSecret(mk, a.ID, root.AccessKeyID)
		r.roots = append(r.roots, RootCredential{Account: a.ID, AccessKeyID: root.AccessKeyID, SecretAccessKey: secret})
		r.rootKeys[root.AccessKeyID] = keyEntry{secret: secret, principal: &Principal{
			Kind: KindRoot, Account: a.ID, ARN: "arn:aws:iam::" + a.ID + ":root", UserID: a.ID,
			AccessKeyID: root.AccessKeyID,
		}}
		var users []iamstore.DeclaredUser
		for _, u := range a.Users {
			if _, err := parsePolicies(u.Policies, "user "+u.Name); err != nil {
				return nil, err
			}
			arn := "arn:aws:iam::" + a.ID + ":user" + iamPath(u.Path) + u.Name
			d := iamstore.DeclaredUser{User: iamstore.User{Name: u.Name, Path: iamPath(u.Path), UserID: StableID(mk, "AIDA", arn)}}
			for _, p := range u.Policies {
				d.Policies = append(d.Policies, iamstore.Policy{Name: p.Name, Document: string(p.Document.JSON)})
			}
			for _, k := range u.AccessKeys {
				if _, root := r.rootKeys[k.AccessKeyID]; root {
					return nil, fmt.Errorf("auth: access key %s is used twice", k.AccessKeyID)
				}
				d.Keys = append(d.Keys, iamstore.AccessKey{AccessKeyID: k.AccessKeyID, Secret: k.SecretAccessKey})
			}
			users = append(users, d)
		}
		var roles []iamstore.DeclaredRole
		for _, rc := range a.Roles {
			if _, err := iam.ParsePolicy(rc.TrustPolicy.JSON, iam.KindTrust); err != nil {
				return nil, fmt.Errorf("auth: role %s trust policy: %w", rc.Name, err)
			}
			if _, err := parsePolicies(rc.Policies, "role "+rc.Name); err != nil {
				return nil, err
			}
			arn := "arn:aws:iam::" + a.ID + ":role" + iamPath(rc.Path) + rc.Name
			d := iamstore.DeclaredRole{Role: iamstore.Role{Name: rc.Name, Path: iamPath(rc.Path), RoleID: StableID(mk, "AROA", arn),
				AssumeRolePolicyDocument: string(rc.TrustPolicy.JSON), MaxSessionDuration: int64(rc.MaxSessionDuration.Duration / time.Second)}}
			for _, p := range rc.Policies {
				d.Policies = append(d.Policies, iamstore.Policy{Name: p.Name, Document: string(p.Document.JSON)})
			}
			roles = append(roles, d)
		}
		var providers []iamstore.OIDCProvider
		for _, p := range a.OIDCProviders {
			providers = append(providers, iamstore.OIDCProvider{URL: p.URL, ClientIDs: append([]string{}, p.ClientIDs...), Thumbprints: p.Thumbprints})
		}
		if err := svc.Apply(ctx, a.ID, users, roles, providers); err != nil {
			return nil, fmt.Errorf("auth: applying the config's IAM users and roles of %s: %w", a.ID, err)
		}
	}
	return r, nil
}

func iamPath(p string) string {
	if p == "" {
		return "/"
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p
}

func parsePolicies(ps []config.Policy, owner string) ([]*iam.Policy, error) {
	out := make([]*iam.Policy, 0, len(ps))
	for _, p := range ps {
		pol, err := iam.ParsePolicy(p.Document.JSON, iam.KindIdentity)
		if err != nil {
			return nil, fmt.Errorf("auth: %s policy %s: %w", owner, p.Name, err)
		}
		out = append(out, pol)
	}
	return out, nil
}

func ensureRootKey(ctx context.Context, st store.Store, account string, random io.Reader, now time.Time) (rootKeyRecord, error) {
	key := "iam/" + account + "/root-access-key"
	var rec rootKeyRecord
	err := st.Update(ctx, func(tx store.Tx) error {
		err := store.GetJSON(tx, key, &rec)
		if err == nil {
			return nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		var b [10]byte
		if _, err := io.ReadFull(random, b[:]); err != nil {
			return err
		}
		rec = rootKeyRecord{AccessKeyID: "AKIA" + keyIDAlphabet.EncodeToString(b[:]), CreatedAt: now.UTC()}
		return store.PutJSON(tx, key, rec)
	})
	return rec, err
}

// rootSecret derives the 40-character secret of a root access key.
func rootSecret(mk *masterkey.Key, account, accessKeyID string) string {
	return base64.StdEncoding.EncodeToString(mk.Derive(30, "root-secret", account, accessKeyID))
}

// StableID derives an AWS-style unique id (prefix + 17 characters) for an
// entity, stable for a deployment's master key and the entity's ARN.
func StableID(mk *masterkey.Key, prefix, arn string) string {
	m := hmac.New(sha256.New, mk.Derive(32, "unique-id"))
	m.Write([]byte(arn))
	return prefix + keyIDAlphabet.EncodeToString(m.Sum(nil))[:17]
}

// version is the store version reads are kept under, and whether there is one.
func (r *Registry) version() (uint64, bool) {
	if r.versions == nil {
		return 0, false
	}
	return r.versions.Version(iamstore.Segment), true
}

// policy parses a stored document, once per text: the store holds only
// documents the evaluator accepted when they were written.
func (r *Registry) policy(doc string, kind iam.Kind) (*iam.Policy, error) {
	k := policyKey{kind, sha256.Sum256([]byte(doc))}
	if p, ok := r.parsed.Get(k); ok {
		return p, nil
	}
	p, err := iam.ParsePolicy([]byte(doc), kind)
	if err != nil {
		return nil, err
	}
	r.parsed.Add(k, p)
	return p, nil
}

func (r *Registry) policies(ps []iamstore.Policy) ([]*iam.Policy, error) {
	out := make([]*iam.Policy, 0, len(ps))
	for _, p := range ps {
		pol, err := r.policy(p.Document, iam.KindIdentity)
		if err != nil {
			return nil, fmt.Errorf("auth: stored policy %s: %w", p.Name, err)
		}
		out = append(out, pol)
	}
	return out, nil
}

// LookupCredential implements sigv4.CredentialSource for long-term keys.
// An entry is shared by the calls that find it; nobody modifies one.
func (r *Registry) LookupCredential(ctx context.Context, accessKeyID, sessionToken string) (sigv4.Credential, error) {
	if e, ok := r.rootKeys[accessKeyID]; ok {
		return sigv4.Credential{AccessKeyID: accessKeyID, SecretAccessKey: e.secret, Principal: e.principal}, nil
	}
	version, versioned := r.version()
	if versioned {
		if e, ok := r.creds.Get(accessKeyID, version); ok {
			return sigv4.Credential{AccessKeyID: accessKeyID, SecretAccessKey: e.secret, Principal: e.principal}, nil
		}
	}
	c, err := r.iam.LookupKey(ctx, accessKeyID)
	if err == nil && !r.IsAccount(c.User.Account) {
		// A key of an account the config no longer declares.
		err = iamstore.ErrNoSuchEntity
	}
	switch {
	case errors.Is(err, iamstore.ErrNoSuchEntity):
		// Unknown keys are not kept: made-up ids must not push real ones out.
		return sigv4.Credential{}, fmt.Errorf("access key %s: %w", accessKeyID, sigv4.ErrUnknownAccessKey)
	case err != nil:
		return sigv4.Credential{}, err
	}
	if c.Key.Status != "Active" {
		return sigv4.Credential{}, fmt.Errorf("access key %s inactive: %w", accessKeyID, sigv4.ErrInvalidClientToken)
	}
	policies, err := r.policies(c.Policies)
	if err != nil {
		return sigv4.Credential{}, err
	}
	e := keyEntry{secret: c.Key.Secret, principal: &Principal{
		Kind: KindUser, Account: c.User.Account, ARN: c.User.ARN(), UserID: c.User.UserID, Name: c.User.Name,
		AccessKeyID: accessKeyID, Identity: policies,
	}}
	if versioned {
		r.creds.Put(accessKeyID, version, e)
	}
	return sigv4.Credential{AccessKeyID: accessKeyID, SecretAccessKey: e.secret, Principal: e.principal}, nil
}

// KeyAccount is the account a long-term access key of this deployment
// (an account root's or an IAM user's) belongs to; ok is false for a key
// it does not know.
func (r *Registry) KeyAccount(ctx context.Context, accessKeyID string) (string, bool, error) {
	if e, ok := r.rootKeys[accessKeyID]; ok {
		return e.principal.Account, true, nil
	}
	c, err := r.iam.LookupKey(ctx, accessKeyID)
	switch {
	case errors.Is(err, iamstore.ErrNoSuchEntity):
		return "", false, nil
	case err != nil:
		return "", false, err
	}
	return c.User.Account, r.IsAccount(c.User.Account), nil
}

// OIDCProviderFor is account's IAM OpenID Connect provider for a token's
// iss; iamstore.ErrNoSuchEntity when the account has none (or is not one
// of the deployment's).
func (r *Registry) OIDCProviderFor(ctx context.Context, account, issuer string) (iamstore.OIDCProvider, error) {
	if !r.IsAccount(account) {
		return iamstore.OIDCProvider{}, iamstore.ErrNoSuchEntity
	}
	return r.iam.OIDCProviderFor(ctx, account, issuer)
}

// Roots returns every account's administrator credentials, first account first.
func (r *Registry) Roots() []RootCredential { return append([]RootCredential(nil), r.roots...) }

// IsAccount reports whether account is one of the deployment's.
func (r *Registry) IsAccount(account string) bool {
	for _, a := range r.accounts {
		if a == account {
			return true
		}
	}
	return false
}

// SplitIAMARN cuts "arn:aws:iam::<account>:<kind><path><name>" into the
// account and the name (the last segment).
func SplitIAMARN(arn, kind string) (account, name string, ok bool) {
	rest, ok := strings.CutPrefix(arn, "arn:aws:iam::")
	if !ok {
		return "", "", false
	}
	account, rest, ok = strings.Cut(rest, ":"+kind+"/")
	if !ok {
		return "", "", false
	}
	name = rest[strings.LastIndexByte(rest, '/')+1:]
	return account, name, name != ""
}

func (r *Registry) role(rp iamstore.RoleWithPolicies) (*Role, error) {
	trust, err := r.policy(rp.Role.AssumeRolePolicyDocument, iam.KindTrust)
	if err != nil {
		return nil, fmt.Errorf("auth: stored trust policy of %s: %w", rp.Role.Name, err)
	}
	policies, err := r.policies(rp.Policies)
	if err != nil {
		return nil, err
	}
	return &Role{Account: rp.Role.Account, Name: rp.Role.Name, ARN: rp.Role.ARN(), RoleID: rp.Role.RoleID,
		MaxSessionDuration: time.Duration(rp.Role.MaxSessionDuration) * time.Second, Trust: trust, Policies: policies}, nil
}

// Role returns the role with this ARN (exactly: path and name as stored),
// as it is now; ok is false when there is none.
func (r *Registry) Role(ctx context.Context, arn string) (*Role, bool, error) {
	account, name, ok := SplitIAMARN(arn, "role")
	if !ok || !r.IsAccount(account) {
		return nil, false, nil
	}
	version, versioned := r.version()
	if versioned {
		if role, ok := r.roles.Get(arn, version); ok {
			return role, role != nil, nil
		}
	}
	rp, err := r.iam.LookupRole(ctx, account, name)
	var role *Role
	switch {
	case errors.Is(err, iamstore.ErrNoSuchEntity):
	case err != nil:
		return nil, false, err
	case rp.Role.ARN() == arn:
		if role, err = r.role(rp); err != nil {
			return nil, false, err
		}
	}
	if versioned {
		// A missing role is kept too (nil): the ARNs asked for are bounded
		// by the LRU, and AssumeRole of a deleted role must stay cheap.
		r.roles.Put(arn, version, role)
	}
	return role, role != nil, nil
}

// Roles lists every role, sorted by ARN.
func (r *Registry) Roles(ctx context.Context) ([]*Role, error) {
	version, versioned := r.version()
	if versioned {
		if roles, ok := r.allRoles.Get(struct{}{}, version); ok {
			return append([]*Role(nil), roles...), nil
		}
	}
	all, err := r.iam.AllRoles(ctx, r.accounts)
	if err != nil {
		return nil, err
	}
	out := make([]*Role, 0, len(all))
	for _, rp := range all {
		role, err := r.role(rp)
		if err != nil {
			return nil, err
		}
		out = append(out, role)
	}
	if versioned {
		r.allRoles.Put(struct{}{}, version, out)
	}
	return append([]*Role(nil), out...), nil
}

// PrincipalByARN finds the principal an ARN names, as GetCallerIdentity
// shows it: an account root, an IAM user, or a session of a role
// ("arn:aws:sts::<account>:assumed-role/<role>/<session>", whose
// session policies and tags are not known here).
func (r *Registry) PrincipalByARN(ctx context.Context, arn string) (*Principal, bool, error) {
	for _, e := range r.rootKeys {
		if e.principal.ARN == arn {
			p := *e.principal
			p.AccessKeyID = ""
			return &p, true, nil
		}
	}
	if account, name, ok := SplitIAMARN(arn, "user"); ok && r.IsAccount(account) {
		u, err := r.iam.LookupUser(ctx, account, name)
		if errors.Is(err, iamstore.ErrNoSuchEntity) || (err == nil && u.User.ARN() != arn) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		policies, err := r.policies(u.Policies)
		if err != nil {
			return nil, false, err
		}
		return &Principal{Kind: KindUser, Account: account, ARN: arn, UserID: u.User.UserID, Name: u.User.Name, Identity: policies}, true, nil
	}
	rest, ok := strings.CutPrefix(arn, "arn:aws:sts::")
	if !ok {
		return nil, false, nil
	}
	account, rest, ok := strings.Cut(rest, ":assumed-role/")
	if !ok {
		return nil, false, nil
	}
	name, session, ok := strings.Cut(rest, "/")
	if !ok || session == "" || !r.IsAccount(account) {
		return nil, false, nil
	}
	rp, err := r.iam.LookupRole(ctx, account, name)
	if errors.Is(err, iamstore.ErrNoSuchEntity) || (err == nil && rp.Role.Name != name) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	role, err := r.role(rp)
	if err != nil {
		return nil, false, err
	}
	return role.Session(session), true, nil
}

// User is the IAM user with this ARN as it is now (its current policies),
// a principal of the caller's own to complete; ok is false when there is
// none. It is PrincipalByARN for users, kept while the embedded store's
// "iam/" is unchanged, as roles are: GetSessionToken sessions rebuild their
// user on every request.
func (r *Registry) User(ctx context.Context, arn string) (*Principal, bool, error) {
	version, versioned := r.version()
	if versioned {
		if p, ok := r.users.Get(arn, version); ok {
			if p == nil {
				return nil, false, nil
			}
			c := *p
			return &c, true, nil
		}
	}
	p, ok, err := r.PrincipalByARN(ctx, arn)
	if err != nil {
		return nil, false, err
	}
	if ok && p.Kind != KindUser {
		p, ok = nil, false
	}
	if versioned {
		r.users.Put(arn, version, p)
	}
	if !ok {
		return nil, false, nil
	}
	c := *p
	return &c, true, nil
}

// Accounts lists the configured account ids, in config order.
func (r *Registry) Accounts() []string { return append([]string(nil), r.accounts...) }
