// Package auth knows who is calling: it resolves access keys to principals
// (account roots, IAM users, role sessions), and decides whether a principal
// may perform an action on a resource, using the iam policy evaluator.
package auth

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/idcgate/idcgate/internal/apierror"
	"github.com/idcgate/idcgate/internal/iam"
	"github.com/idcgate/idcgate/internal/identitycenter"
)

// Kind is the type of a principal.
type Kind int

const (
	// KindRoot is an account's root identity; its keys are the administrator credentials.
	KindRoot Kind = iota
	// KindUser is an IAM user with long-term keys.
	KindUser
	// KindAssumedRole is a role session from STS AssumeRole.
	KindAssumedRole
)

func (k Kind) String() string {
	switch k {
	case KindRoot:
		return "Root"
	case KindUser:
		return "IAMUser"
	case KindAssumedRole:
		return "AssumedRole"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Principal is an authenticated caller.
type Principal struct {
	Kind    Kind
	Account string
	// ARN is the caller's ARN as GetCallerIdentity shows it.
	ARN string
	// UserID is aws:userid: AIDA… for users, AROA…:<session> for role
	// sessions, the account id for root.
	UserID string
	// Name is the user name or role name.
	Name        string
	SessionName string
	// RoleARN is the IAM role of a role session.
	RoleARN     string
	AccessKeyID string

	// Identity holds the identity-based policies (user's or role's).
	Identity []*iam.Policy
	// Session holds session policies; HasSession says whether they apply at
	// all (no session policy means no restriction).
	Session    []*iam.Policy
	HasSession bool

	// Context holds condition keys that travel with the session
	// (identity-enhanced sessions set identitystore:UserId, …).
	Context iam.Context
	// IdentityContext is set on identity-enhanced role sessions.
	IdentityContext *identitycenter.Context

	// UserSession marks an IAM user's temporary credentials from
	// GetSessionToken (Kind is KindUser): they may not call IAM, nor STS
	// but AssumeRole and GetCallerIdentity (BEHAVIOUR 5.5).
	UserSession bool

	// IssuedAt and Expiration of temporary credentials; zero for long-term keys.
	IssuedAt   time.Time
	Expiration time.Time
}

// IAMPrincipal is the principal as the policy language sees it.
func (p *Principal) IAMPrincipal() *iam.Principal {
	return &iam.Principal{ARN: p.ARN, Account: p.Account, Type: "AWS"}
}

// Sentinel errors of this package.
var (
	// ErrAccessDenied is returned when no policy allows, or one denies.
	ErrAccessDenied = errors.New("access denied")
)

// errExplicitDeny is the kind of a refusal by a Deny statement (not merely
// no Allow); it is an ErrAccessDenied.
var errExplicitDeny = fmt.Errorf("%w: explicit deny", ErrAccessDenied)

// Deny is an AccessDenied refusal with AWS's message (iam.NotAuthorized):
// why brings its own separator (" because …", ": …"), resource may be empty.
func Deny(principalARN, action, resource, why string) error {
	return &apierror.Error{Kind: ErrAccessDenied, Message: iam.NotAuthorized(principalARN, action, resource, why)}
}

// IsExplicitDeny reports whether err is a refusal by a Deny statement.
func IsExplicitDeny(err error) bool { return errors.Is(err, errExplicitDeny) }
