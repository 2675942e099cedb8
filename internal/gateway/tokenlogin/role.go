package tokenlogin

import (
	"context"

	"github.com/idcgate/idcgate/internal/apierror"
	"github.com/idcgate/idcgate/internal/auth"
	"github.com/idcgate/idcgate/internal/gateway"
)

// Roles finds a role session's principal as the store has it now
// (auth.Registry).
type Roles interface {
	PrincipalByARN(ctx context.Context, arn string) (*auth.Principal, bool, error)
}

// roleExists refuses a login whose token was issued to a session of an IAM
// role that has since been deleted, as a deleted directory user is refused
// (BEHAVIOUR 8.1): the token outlives the role it was issued under. A
// change of the role's policies takes effect at the next
// GetIdentityCenterAuthToken; an issued token keeps what it was issued for
// until it expires.
func roleExists(ctx context.Context, roles Roles, login *gateway.Login) error {
	if roles == nil || login.Claims.RoleSessionArn == "" {
		return nil
	}
	_, ok, err := roles.PrincipalByARN(ctx, login.Claims.RoleSessionArn)
	switch {
	case err != nil:
		return err
	case !ok:
		return apierror.New(gateway.ErrRoleGone, "the IAM role of the session %s this token was issued to no longer exists: get a new token with GetIdentityCenterAuthToken", login.Claims.RoleSessionArn)
	}
	return nil
}
