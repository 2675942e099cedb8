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
	"sort"
	"strings"
	"time"

	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/iam"
	"github.com/idcgate/idcgate/internal/masterkey"
	"github.com/idcgate/idcgate/internal/sigv4"
	"github.com/idcgate/idcgate/internal/store"
)

// Registry knows every account, IAM user, role and long-term access key.
// Users and roles come from the config; each account's root access key is
// created on first start and kept in the store. Its secret is never stored:
// it is derived from the master key, so the store alone reveals nothing.
type Registry struct {
	accounts []string
	keys     map[string]keyEntry // access key id → entry
	roles    map[string]*Role    // role ARN → role
	roots    []RootCredential
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

// NewRegistry builds the registry from the config, creating root access keys
// that do not exist yet.
func NewRegistry(ctx context.Context, cfg *config.Config, mk *masterkey.Key, st store.Store, random io.Reader, now time.Time) (*Registry, error) {
	r := &Registry{keys: map[string]keyEntry{}, roles: map[string]*Role{}}
	for _, a := range cfg.Accounts {
		r.accounts = append(r.accounts, a.ID)
		root, err := ensureRootKey(ctx, st, a.ID, random, now)
		if err != nil {
			return nil, err
		}
		secret := rootSecret(mk, a.ID, root.AccessKeyID)
		r.roots = append(r.roots, RootCredential{Account: a.ID, AccessKeyID: root.AccessKeyID, SecretAccessKey: secret})
		r.keys[root.AccessKeyID] = keyEntry{secret: secret, principal: &Principal{
			Kind: KindRoot, Account: a.ID, ARN: "arn:aws:iam::" + a.ID + ":root", UserID: a.ID,
			AccessKeyID: root.AccessKeyID,
		}}
		for _, u := range a.Users {
			policies, err := parsePolicies(u.Policies, "user "+u.Name)
			if err != nil {
				return nil, err
			}
			arn := "arn:aws:iam::" + a.ID + ":user" + iamPath(u.Path) + u.Name
			for _, k := range u.AccessKeys {
				if _, dup := r.keys[k.AccessKeyID]; dup {
					return nil, fmt.Errorf("auth: access key %s is used twice", k.AccessKeyID)
				}
				r.keys[k.AccessKeyID] = keyEntry{secret: k.SecretAccessKey, principal: &Principal{
					Kind: KindUser, Account: a.ID, ARN: arn, UserID: StableID(mk, "AIDA", arn), Name: u.Name,
					AccessKeyID: k.AccessKeyID, Identity: policies,
				}}
			}
		}
		for _, rc := range a.Roles {
			trust, err := iam.ParsePolicy(rc.TrustPolicy.JSON, iam.KindTrust)
			if err != nil {
				return nil, fmt.Errorf("auth: role %s trust policy: %w", rc.Name, err)
			}
			policies, err := parsePolicies(rc.Policies, "role "+rc.Name)
			if err != nil {
				return nil, err
			}
			arn := "arn:aws:iam::" + a.ID + ":role" + iamPath(rc.Path) + rc.Name
			r.roles[arn] = &Role{
				Account: a.ID, Name: rc.Name, ARN: arn, RoleID: StableID(mk, "AROA", arn),
				MaxSessionDuration: rc.MaxSessionDuration.Duration, Trust: trust, Policies: policies,
			}
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

// LookupCredential implements sigv4.CredentialSource for long-term keys.
func (r *Registry) LookupCredential(_ context.Context, accessKeyID, sessionToken string) (sigv4.Credential, error) {
	e, ok := r.keys[accessKeyID]
	if !ok {
		return sigv4.Credential{}, fmt.Errorf("access key %s: %w", accessKeyID, sigv4.ErrUnknownAccessKey)
	}
	return sigv4.Credential{AccessKeyID: accessKeyID, SecretAccessKey: e.secret, Principal: e.principal}, nil
}

// Roots returns every account's administrator credentials, first account first.
func (r *Registry) Roots() []RootCredential { return append([]RootCredential(nil), r.roots...) }

// Role returns the role with this ARN.
func (r *Registry) Role(arn string) (*Role, bool) {
	role, ok := r.roles[arn]
	return role, ok
}

// Roles lists every role, sorted by ARN.
func (r *Registry) Roles() []*Role {
	out := make([]*Role, 0, len(r.roles))
	for _, role := range r.roles {
		out = append(out, role)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ARN < out[j].ARN })
	return out
}

// PrincipalByARN finds the principal an ARN names, as GetCallerIdentity
// shows it: an account root, an IAM user, or a session of a role
// ("arn:aws:sts::<account>:assumed-role/<role>/<session>", whose
// session policies and tags are not known here).
func (r *Registry) PrincipalByARN(arn string) (*Principal, bool) {
	var found *Principal
	for _, e := range r.keys {
		if e.principal.ARN == arn && (found == nil || e.principal.AccessKeyID < found.AccessKeyID) {
			found = e.principal
		}
	}
	if found != nil {
		p := *found
		p.AccessKeyID = ""
		return &p, true
	}
	rest, ok := strings.CutPrefix(arn, "arn:aws:sts::")
	if !ok {
		return nil, false
	}
	account, rest, ok := strings.Cut(rest, ":assumed-role/")
	if !ok {
		return nil, false
	}
	name, session, ok := strings.Cut(rest, "/")
	if !ok || session == "" {
		return nil, false
	}
	for _, role := range r.roles {
		if role.Account == account && role.Name == name {
			return role.Session(session), true
		}
	}
	return nil, false
}

// Accounts lists the configured account ids, in config order.
func (r *Registry) Accounts() []string { return append([]string(nil), r.accounts...) }

// AccessKeyIDs lists every long-term access key id, sorted (for diagnostics).
func (r *Registry) AccessKeyIDs() []string {
	ids := make([]string, 0, len(r.keys))
	for id := range r.keys {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
