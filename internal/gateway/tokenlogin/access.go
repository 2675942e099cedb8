package tokenlogin

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/idcgate/idcgate/internal/apierror"
	"github.com/idcgate/idcgate/internal/authtoken"
	"github.com/idcgate/idcgate/internal/gateway"
	"github.com/idcgate/idcgate/internal/identitycenter"
	"github.com/idcgate/idcgate/internal/oidc"
)

// accessToken logs in with an access token of idcgate's SSO-OIDC
// (CreateToken, CreateTokenWithIAM): it must open, be unexpired, be for
// this workgroup's Redshift IdC application if it is for any, carry the
// redshift:connect scope, name a user still in the directory, and that user
// must be admitted by the application's managed application (BEHAVIOUR
// 10.13).
func (a *Authenticator) accessToken(ctx context.Context, r gateway.AuthRequest) (*gateway.Login, error) {
	if a.OIDC == nil {
		return nil, apierror.New(gateway.ErrBadToken, "this gateway accepts no ACCESS_TOKEN: it has no Identity Center")
	}
	at, err := a.OIDC.OpenAccessToken(ctx, r.Token)
	switch {
	case errors.Is(err, oidc.ErrExpiredToken):
		return nil, gateway.ErrTokenExpired
	case errors.Is(err, oidc.ErrInvalidGrant):
		return nil, gateway.ErrBadToken
	case err != nil:
		return nil, err
	}
	t, err := a.target(ctx, r)
	if err != nil {
		return nil, err
	}
	// A token for another Redshift IdC application's managed application
	// was meant for that one's workgroups.
	for _, other := range t.apps {
		if other.Arn != t.app.Arn && other.ManagedApplicationArn != "" && other.ManagedApplicationArn == at.ApplicationArn {
			return nil, apierror.New(gateway.ErrWrongWorkgroup, "the ACCESS_TOKEN was issued for the Redshift IdC application %s, not for this workgroup's (%s)", other.Name, t.app.Name)
		}
	}
	if !at.HasScope(oidc.ScopeRedshiftConnect) {
		return nil, apierror.New(gateway.ErrScope, "the ACCESS_TOKEN lacks the scope %s: ask for it when you get the token", oidc.ScopeRedshiftConnect)
	}
	dir := a.Issuer.Dir
	user, err := dir.UserByID(ctx, at.UserID)
	switch {
	case errors.Is(err, identitycenter.ErrNoSuchUser):
		return nil, apierror.New(gateway.ErrUnknownUser, "the Identity Center user %s of the ACCESS_TOKEN no longer exists in identity store %s", at.UserID, dir.IdentityStoreID)
	case err != nil:
		return nil, err
	}
	login := t.login()
	login.Claims = a.claims(t, user, at.ApplicationArn, at.Expires, "")
	// The token ends with the user's assignment to the application it was
	// issued through (BEHAVIOUR 10.13: ours, AWS lets it run to expiry):
	// unassigning someone, or deleting the application, takes effect at
	// the next login, not an hour later.
	if at.ApplicationArn != "" && at.ApplicationArn != t.app.ManagedApplicationArn {
		ok, err := a.OIDC.Admits(ctx, at.ApplicationArn, user)
		if err != nil {
			return login, err
		}
		if !ok {
			return login, apierror.New(gateway.ErrNotAdmitted, "the ACCESS_TOKEN was issued through application %s, to which user %s is no longer assigned (or which no longer exists): sign in again",
				at.ApplicationArn, user.UserName)
		}
	}
	if err := a.admitted(ctx, t, user, gateway.TokenAccess); err != nil {
		return login, err
	}
	return a.Upstreams.set(ctx, t.scope, t.wg, login)
}

// admitted: the Redshift IdC application's managed application admits the
// user (every user unless it requires assignment; else those assigned
// directly or through a group).
func (a *Authenticator) admitted(ctx context.Context, t target, user *identitycenter.User, tokenType string) error {
	ok := false
	if t.app.ManagedApplicationArn != "" {
		var err error
		if ok, err = a.OIDC.Admits(ctx, t.app.ManagedApplicationArn, user); err != nil {
			return err
		}
	}
	if !ok {
		return apierror.New(gateway.ErrNotAdmitted, "the %s's user %s is not assigned to %s, the managed application of Redshift IdC application %s, which requires assignment",
			tokenType, user.UserName, t.app.ManagedApplicationArn, t.app.Name)
	}
	return nil
}

// claims is what the Login says of a user who logged in with a token of
// idcgate's SSO-OIDC or an external IdP: the directory's user and her
// groups now.
func (a *Authenticator) claims(t target, user *identitycenter.User, appArn string, expires time.Time, tokenID string) authtoken.Claims {
	dir := a.Issuer.Dir
	return authtoken.Claims{
		Account: t.scope.Account, Region: t.scope.Region,
		InstanceArn: dir.InstanceArn, IdentityStoreArn: dir.IdentityStoreArn, ApplicationArn: appArn,
		UserID: user.UserID, UserName: user.UserName, Groups: slices.Clone(user.Groups),
		Expires: expires, TokenID: tokenID,
		Workgroups: []authtoken.Workgroup{{Arn: t.wg.WorkgroupArn, Name: t.wg.WorkgroupName, IdentityNamespace: t.app.IdentityNamespace}},
	}
}
