// Package tokenlogin logs gateway clients in with an Identity Center token:
// it chooses the workgroup, opens the token with that workgroup's key,
// checks the user against the directory as it is now, and finds the
// workgroup's upstream PostgreSQL. Authenticator is the gateway's
// gateway.Authenticator; the gateway package itself knows nothing of the
// issuer or the serverless domain.
package tokenlogin

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/idcgate/idcgate/internal/apierror"
	"github.com/idcgate/idcgate/internal/authtoken"
	"github.com/idcgate/idcgate/internal/gateway"
	"github.com/idcgate/idcgate/internal/identitycenter"
	"github.com/idcgate/idcgate/internal/issuer"
	"github.com/idcgate/idcgate/internal/oidc"
	"github.com/idcgate/idcgate/internal/serverless"
	"github.com/idcgate/idcgate/internal/validation"
)

// Authenticator opens tokens for the gateway. A SUBJECT_TOKEN (the
// token of GetIdentityCenterAuthToken, also the password path's) picks the
// workgroup (TLS SNI first, then the token's only workgroup, then the
// "workgroup" startup option) and is opened with that workgroup's key; an
// ACCESS_TOKEN or an EXT_JWT names no workgroup, and is checked against
// the Redshift IdC application of the one the server name or the option
// names (BEHAVIOUR 10.13).
type Authenticator struct {
	Issuer    *issuer.Issuer
	Upstreams *Upstreams
	// Roles, when set, refuses tokens of sessions of deleted IAM roles.
	Roles Roles
	// OIDC opens access tokens, verifies external JWTs by the trusted
	// token issuers, and answers whether an application admits a user.
	// Nil: ACCESS_TOKEN and EXT_JWT logins are refused.
	OIDC *oidc.Service
	// Replays refuses an EXT_JWT used before (nil: EXT_JWT refused).
	Replays *Replays
	// Region is the region of logins whose server name names none (the
	// account is the Identity Center instance's).
	Region string
}

var _ gateway.Authenticator = (*Authenticator)(nil)

// Authenticate implements gateway.Authenticator. A token that opened but
// whose login is refused after (a user no longer in the directory, a
// workgroup without upstream) comes back with its Login, for the audit.
func (a *Authenticator) Authenticate(ctx context.Context, r gateway.AuthRequest) (*gateway.Login, error) {
	switch r.TokenType {
	case "", gateway.TokenSubject:
		return a.subjectToken(ctx, r)
	case gateway.TokenAccess:
		return a.accessToken(ctx, r)
	case gateway.TokenExtJWT:
		return a.extJWT(ctx, r)
	}
	return nil, apierror.New(gateway.ErrBadToken, "the startup's token_type is none of SUBJECT_TOKEN, ACCESS_TOKEN and EXT_JWT, the token types idcgate accepts")
}

// subjectToken logs in with a GetIdentityCenterAuthToken token.
func (a *Authenticator) subjectToken(ctx context.Context, r gateway.AuthRequest) (*gateway.Login, error) {
	h, _, _, err := authtoken.ParseHeader(r.Token)
	if err != nil {
		return nil, gateway.ErrBadToken
	}
	scope, name, err := chooseWorkgroup(ctx, a.Issuer.Serverless, h, r.SNI, r.Workgroup)
	if err != nil {
		return nil, err
	}
	_, claims, err := a.Issuer.Open(ctx, scope, name, r.Token)
	if err := openError(name, err); err != nil {
		return nil, err
	}
	login := &gateway.Login{Workgroup: name, Account: scope.Account, Claims: claims}
	user, err := current(ctx, a.Issuer.Dir, login)
	if err != nil {
		return login, err
	}
	if err := roleExists(ctx, a.Roles, login); err != nil {
		return login, err
	}
	for _, w := range claims.Workgroups {
		if w.Name == name {
			login.IdentityNamespace = w.IdentityNamespace
		}
	}
	if err := a.sameNamespace(ctx, scope, r, login); err != nil {
		return login, err
	}
	wg, err := a.Issuer.Serverless.GetWorkgroup(ctx, scope, name)
	if err != nil {
		return nil, err
	}
	login.WorkgroupID = wg.WorkgroupId
	if err := a.subjectAdmitted(ctx, scope, wg, user, login); err != nil {
		return login, err
	}
	return a.Upstreams.set(ctx, scope, wg, login)
}

// chooseWorkgroup decides which workgroup, of which scope, a login is for.
// The scope is the token's, unless the TLS server name has the endpoint
// form <workgroup>.<account>.<region>.redshift-serverless.amazonaws.com;
// the server name's first label is the workgroup if one of that name
// exists. Otherwise it is the token's workgroup when the token names only
// one (that still exists), else the "workgroup" startup option.
func chooseWorkgroup(ctx context.Context, sl *serverless.Service, h authtoken.Header, sni, option string) (serverless.Scope, string, error) {
	scope, name := sniWorkgroup(ctx, sl, serverless.Scope{Account: h.Account, Region: h.Region}, sni)
	if name == "" && len(h.Keys) == 1 {
		if wg, err := sl.WorkgroupByID(ctx, scope, h.Keys[0].WorkgroupID); err == nil {
			name = wg.WorkgroupName
		}
	}
	if name == "" {
		name = option
	}
	if name == "" {
		return scope, "", apierror.New(gateway.ErrNoWorkgroup, "the token names %d workgroups: choose one with the TLS server name or the startup option -c workgroup=NAME", len(h.Keys))
	}
	return scope, name, nil
}

// sniWorkgroup reads the TLS server name: a name of the endpoint form
// <workgroup>.<account>.<region>.redshift-serverless.amazonaws.com gives
// the scope (else it is scope), and its first label is the workgroup if
// one of that name exists ("" if not).
func sniWorkgroup(ctx context.Context, sl *serverless.Service, scope serverless.Scope, sni string) (serverless.Scope, string) {
	if sni == "" {
		return scope, ""
	}
	label, rest, _ := strings.Cut(sni, ".")
	if parts := strings.Split(strings.TrimSuffix(rest, serverless.EndpointSuffix), "."); strings.HasSuffix(rest, serverless.EndpointSuffix) && len(parts) == 2 {
		scope = serverless.Scope{Account: parts[0], Region: parts[1]}
	}
	if _, err := sl.GetWorkgroup(ctx, scope, label); err == nil {
		return scope, label
	}
	return scope, ""
}

// openError maps the issuer's refusal of a token for workgroup name (or
// the lookup of that workgroup) to the gateway's sentinels (which the gateway turns into SQLSTATEs); any other
// error is returned as it is (an internal error), nil as nil.
func openError(name string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, serverless.ErrNotFound), errors.Is(err, validation.ErrInvalid):
		// The name may be the client's text (the startup option): one
		// that is no workgroup name names no workgroup either.
		return apierror.New(gateway.ErrNoWorkgroup, "workgroup %s does not exist", apierror.Printable(name))
	case errors.Is(err, authtoken.ErrExpired):
		return gateway.ErrTokenExpired
	case errors.Is(err, authtoken.ErrForeignWorkgroup), errors.Is(err, authtoken.ErrWrongAccount):
		return gateway.ErrWrongWorkgroup
	case errors.Is(err, authtoken.ErrMalformed), errors.Is(err, authtoken.ErrTampered), errors.Is(err, authtoken.ErrKeyUnavailable):
		return gateway.ErrBadToken
	}
	return err
}

// current replaces the groups the token was issued with by the user's
// groups in the directory now, and refuses a user who is no longer in it: a
// token outlives the directory state it was issued under (up to tokens.ttl),
// and a login must not grant what the directory has since taken away.
func current(ctx context.Context, dir *identitycenter.Directory, login *gateway.Login) (*identitycenter.User, error) {
	c := &login.Claims
	if dir == nil || c.IdentityStoreArn != dir.IdentityStoreArn {
		return nil, apierror.New(gateway.ErrUnknownUser, "the token's identity store %s is not this Identity Center instance's: get a new token with GetIdentityCenterAuthToken", c.IdentityStoreArn)
	}
	u, err := dir.UserByID(ctx, c.UserID)
	if err != nil && !errors.Is(err, identitycenter.ErrNoSuchUser) {
		return nil, err
	}
	if err != nil || u.UserName != c.UserName {
		return nil, apierror.New(gateway.ErrUnknownUser, "the Identity Center user %s (%s) no longer exists in identity store %s", c.UserName, c.UserID, dir.IdentityStoreID)
	}
	c.Groups = slices.Clone(u.Groups)
	return u, nil
}

// subjectAdmitted: the Redshift IdC application the SUBJECT_TOKEN was
// issued under (its identity namespace's) still exists and its managed
// application admits the user now, as for the other token types (BEHAVIOUR
// 10.13: every type gets the same refusals).
func (a *Authenticator) subjectAdmitted(ctx context.Context, scope serverless.Scope, wg serverless.Workgroup, user *identitycenter.User, login *gateway.Login) error {
	if a.OIDC == nil || a.Issuer.IdcApps == nil {
		return nil // no sso-admin applications to ask
	}
	apps, err := a.Issuer.IdcApps.List(ctx, scope)
	if err != nil {
		return err
	}
	t := target{scope: scope, wg: wg, apps: apps}
	var found bool
	if t.app, found = appOfNamespace(apps, login.IdentityNamespace); !found {
		return apierror.New(gateway.ErrWrongWorkgroup, "workgroup %s does not have Identity Center integration enabled: the Redshift IdC application of identity namespace %s the SUBJECT_TOKEN was issued under no longer exists", wg.WorkgroupName, login.IdentityNamespace)
	}
	return a.admitted(ctx, t, user, gateway.TokenSubject)
}
