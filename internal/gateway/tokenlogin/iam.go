package tokenlogin

import (
	"context"
	"errors"
	"strings"

	"github.com/idcgate/idcgate/internal/apierror"
	"github.com/idcgate/idcgate/internal/authtoken"
	"github.com/idcgate/idcgate/internal/dbcreds"
	"github.com/idcgate/idcgate/internal/dbuser"
	"github.com/idcgate/idcgate/internal/gateway"
	"github.com/idcgate/idcgate/internal/keyring"
	"github.com/idcgate/idcgate/internal/serverless"
)

// IAMCredentials checks the GetCredentials passwords of IAM credentials
// logins (BEHAVIOUR 10.14); it is the gateway's gateway.IAMAuthenticator.
// The workgroup is chosen as for a token (TLS server name, then the
// password's own workgroup, then the startup option); the password must be
// that workgroup's, unexpired, for the startup user, and for the startup
// database when GetCredentials named one. The session then runs as the
// database user, as the Data API runs the same IAM identity (package
// dbuser: one name, one marked role).
type IAMCredentials struct {
	Serverless *serverless.Service
	Sealer     *dbcreds.Sealer
	Upstreams  *Upstreams
	// Roles, when set, refuses the passwords of IAM users and roles
	// deleted since GetCredentials.
	Roles Roles
}

var _ gateway.IAMAuthenticator = (*IAMCredentials)(nil)

// AuthenticateIAM implements gateway.IAMAuthenticator.
func (a *IAMCredentials) AuthenticateIAM(ctx context.Context, sni, option, user, database, password string) (*gateway.Login, error) {
	id, err := dbcreds.Peek(password)
	if err != nil {
		return nil, gateway.ErrCredentialsInvalid
	}
	// chooseWorkgroup reads the scope and the only workgroup from a
	// token's header: the password's header says as much.
	h := authtoken.Header{Account: id.Account, Region: id.Region, Keys: []authtoken.WrappedKey{{WorkgroupID: id.WorkgroupID}}}
	scope, name, err := chooseWorkgroup(ctx, a.Serverless, h, sni, option)
	if err != nil {
		return nil, err
	}
	wg, err := a.Serverless.GetWorkgroup(ctx, scope, name)
	if err := openError(name, err); err != nil {
		return nil, err
	}
	claims, err := a.Sealer.Open(ctx, keyring.ID{Account: scope.Account, Region: scope.Region, WorkgroupID: wg.WorkgroupId}, password)
	switch {
	case errors.Is(err, dbcreds.ErrForeignWorkgroup), errors.Is(err, keyring.ErrNoKeyring):
		return nil, gateway.ErrCredentialsWrongWorkgroup
	case errors.Is(err, dbcreds.ErrExpired):
		err = gateway.ErrCredentialsExpired
	case errors.Is(err, dbcreds.ErrMalformed), errors.Is(err, dbcreds.ErrTampered):
		return nil, gateway.ErrCredentialsInvalid
	case err != nil:
		return nil, err
	}
	// From here the password opened: the login is known, for the audit.
	ns, name, _ := strings.Cut(claims.DbUser, ":")
	login := &gateway.Login{Workgroup: wg.WorkgroupName, WorkgroupID: wg.WorkgroupId, Account: scope.Account,
		IdentityNamespace: ns, IAMPrincipal: claims.Principal, CredentialID: claims.ID}
	login.Claims.UserName, login.Claims.UserID = name, claims.UserID
	if err != nil {
		return login, err
	}
	if claims.DbUser != user || (ns != dbuser.UserNamespace && ns != dbuser.RoleNamespace) {
		return login, gateway.ErrCredentialsWrongUser
	}
	if claims.DbName != "" && database != claims.DbName {
		return login, apierror.New(gateway.ErrCredentialsWrongDatabase, "the password of user %q was issued by GetCredentials for database %q only: connect to that database", user, claims.DbName)
	}
	if err := a.identityExists(ctx, claims); err != nil {
		return login, err
	}
	return a.Upstreams.set(ctx, scope, wg, login)
}

// identityExists refuses the password of an IAM user or role deleted since
// GetCredentials (a role's sessions and an IAM user are found by the
// caller's ARN; a role or user of the same name made again is another
// identity, with another unique id).
func (a *IAMCredentials) identityExists(ctx context.Context, c dbcreds.Claims) error {
	if a.Roles == nil {
		return nil
	}
	p, ok, err := a.Roles.PrincipalByARN(ctx, c.Principal)
	if err != nil {
		return err
	}
	if ok {
		current := dbuser.For(p)
		if current.Role() == c.DbUser && current.ID == c.UserID {
			return nil
		}
	}
	return apierror.New(gateway.ErrIdentityGone, "the IAM identity %s that GetCredentials issued this password to no longer exists: get a new one with GetCredentials", c.Principal)
}
