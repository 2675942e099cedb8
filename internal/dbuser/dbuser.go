// Package dbuser derives the database user Amazon Redshift Serverless gives
// an IAM identity that calls without an Identity Center context: the Data
// API (BEHAVIOUR 14) and GetCredentials both name the user this way, so
// both call For.
package dbuser

import (
	"strings"

	"github.com/idcgate/idcgate/internal/auth"
)

// Namespaces of the derived users, as Redshift Serverless names them:
// "IAM:<user name>" for IAM users, "IAMR:<role name>" for role sessions.
const (
	UserNamespace = "IAM"
	RoleNamespace = "IAMR"
)

// User is a derived database user: the role "<Namespace>:<Name>".
type User struct {
	Namespace string
	Name      string
	// ID is the IAM identity's unique id (AIDA… for a user, AROA… for a
	// role, without the session name; the account id for root): it marks
	// the upstream role as this identity's, so a user deleted and created
	// again under the same name is told apart.
	ID string
}

// Role is the database role name.
func (u User) Role() string { return u.Namespace + ":" + u.Name }

// For is the database user of p. An account root is "IAM:root" (ours: AWS
// documents no root mapping; the root is the account's administrator).
func For(p *auth.Principal) User {
	switch p.Kind {
	case auth.KindAssumedRole:
		id, _, _ := strings.Cut(p.UserID, ":")
		return User{Namespace: RoleNamespace, Name: p.Name, ID: id}
	case auth.KindRoot:
		return User{Namespace: UserNamespace, Name: "root", ID: p.Account}
	default:
		return User{Namespace: UserNamespace, Name: p.Name, ID: p.UserID}
	}
}
