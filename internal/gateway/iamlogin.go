package gateway

import (
	"context"
	"errors"
	"strings"
)

// IAM credentials logins (BEHAVIOUR 10.14): a plain PostgreSQL client
// whose startup user is an IAM database user ("IAMR:<role>", "IAM:<user>")
// sends the dbPassword of Redshift Serverless GetCredentials as its
// password, as the Redshift drivers' IAM authentication does. Such a login
// is checked by the IAMAuthenticator, not the token Authenticator; after
// that it goes the way of every login (limits, role sync, upstream).

// IAMAuthenticator checks GetCredentials passwords. user is the startup
// user, database the startup database ("" when none), sni and option as
// for Authenticator. The Login's IdentityNamespace and Claims.UserName
// name the role ("IAMR" and "analyst"); Claims.UserID is the IAM
// identity's unique id, which marks its upstream role.
type IAMAuthenticator interface {
	AuthenticateIAM(ctx context.Context, sni, option, user, database, password string) (*Login, error)
}

// IAM credentials refusals.
var (
	// ErrCredentialsInvalid: not a dbPassword this deployment made, or changed.
	ErrCredentialsInvalid = errors.New("invalid database credentials")
	// ErrCredentialsExpired: the dbPassword's expiration has passed.
	ErrCredentialsExpired = errors.New("database credentials expired")
	// ErrCredentialsWrongWorkgroup: the dbPassword is another workgroup's.
	ErrCredentialsWrongWorkgroup = errors.New("database credentials of another workgroup")
	// ErrCredentialsWrongUser: the dbPassword is another database user's.
	ErrCredentialsWrongUser = errors.New("database credentials of another user")
	// ErrCredentialsWrongDatabase: GetCredentials named another dbName.
	ErrCredentialsWrongDatabase = errors.New("database credentials for another database")
	// ErrIdentityGone: the IAM user or role the credentials were issued to
	// no longer exists.
	ErrIdentityGone = errors.New("IAM identity of the credentials deleted")
)

// isIAMLogin reports whether a login is an IAM credentials login: a
// password login (the Redshift drivers' token exchange never is one: it
// has no password) whose startup user names an IAM database user, on a
// gateway that checks such logins.
func (g *Gateway) isIAMLogin(params map[string]string, redshift bool) bool {
	user := params["user"]
	return !redshift && g.cfg.IAMAuth != nil && (strings.HasPrefix(user, "IAM:") || strings.HasPrefix(user, "IAMR:"))
}

// authenticateIAM checks an IAM credentials login (isIAMLogin).
func (g *Gateway) authenticateIAM(ctx context.Context, params map[string]string, sni, password string) (*Login, error) {
	user := params["user"]
	login, err := g.cfg.IAMAuth.AuthenticateIAM(ctx, sni, workgroupOption(params), user, params["database"], password)
	if err != nil {
		return login, iamRefusal(err, user)
	}
	return login, nil
}

// iamRefusal is the client's ErrorResponse for a refused IAM credentials
// login: PostgreSQL's codes (28P01 for the password itself, 28000 for the
// rest), words about the password, never the token's.
func iamRefusal(err error, user string) error {
	var ce *clientError
	switch {
	case errors.As(err, &ce):
		return ce
	case errors.Is(err, ErrCredentialsExpired):
		return refuse(codeInvalidPassword, "the password of user %q has expired: get a new one with GetCredentials", user)
	case errors.Is(err, ErrCredentialsWrongWorkgroup):
		return refuse(codeInvalidPassword, "the password of user %q was issued by GetCredentials for another workgroup", user)
	case errors.Is(err, ErrCredentialsWrongUser):
		return refuse(codeInvalidPassword, "the password was issued by GetCredentials to another database user, not %q", user)
	case errors.Is(err, ErrCredentialsInvalid):
		return refuse(codeInvalidPassword, "password authentication failed for user %q: use the dbPassword of GetCredentials", user)
	case errors.Is(err, ErrCredentialsWrongDatabase), errors.Is(err, ErrIdentityGone), errors.Is(err, ErrNoWorkgroup):
		return refuse(codeInvalidAuthorization, "%s", public(err))
	}
	// The rest (no upstream, an internal error) as for tokens.
	return authRefusal(err, "")
}
