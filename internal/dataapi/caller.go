package dataapi

import (
	"context"
	"errors"
	"slices"

	"github.com/idcgate/idcgate/internal/auth"
	"github.com/idcgate/idcgate/internal/dbuser"
	"github.com/idcgate/idcgate/internal/identitycenter"
	"github.com/idcgate/idcgate/internal/redshiftidc"
	"github.com/idcgate/idcgate/internal/serverless"
	"github.com/idcgate/idcgate/internal/validation"
)

// Caller is who runs a statement, resolved per call: the database user
// (namespace and name), its group roles as the directory has them now, and
// the owner the statement will belong to.
type Caller struct {
	Owner Owner
	User  User
	// IdentityEnhanced: the caller's session carries an Identity Center
	// context (trusted identity propagation).
	IdentityEnhanced bool
	// Temporary: the caller's credentials are temporary (AWS then requires
	// Database).
	Temporary bool
}

// User is a database user as RoleSync makes it: the role
// "<Namespace>:<Name>", marked with ID, a member of "<Namespace>:<group>"
// for each of Groups that exists upstream.
type User struct {
	Namespace string
	Name      string
	ID        string
	Groups    []string
}

// Role is the user's upstream role name.
func (u User) Role() string { return u.Namespace + ":" + u.Name }

// OwnerOf is the owner of the statements p runs: the Identity Center user
// of an identity-enhanced session and its IAM role, or the IAM role (any
// session of it, as AWS's ListStatements RoleLevel says) or user.
func OwnerOf(p *auth.Principal) Owner {
	o := Owner{RoleARN: p.ARN, Session: p.ARN}
	if p.RoleARN != "" {
		o.RoleARN = p.RoleARN
	}
	if ic := p.IdentityContext; ic != nil {
		o.UserID = ic.UserID
	}
	return o
}

// Resolver finds the caller of a call on a workgroup.
type Resolver struct {
	Serverless *serverless.Service
	IdcApps    *redshiftidc.Service
	Dir        *identitycenter.Directory
}

// Resolve is the caller p on workgroup wg. An identity-enhanced caller is
// the Identity Center user of the session, in the identity namespace of
// the workgroup's Redshift IdC application, with her groups read from the
// directory now (as the gateway does at each login: a group she left gives
// nothing); any other caller is the IAM database user (package dbuser).
func (r *Resolver) Resolve(ctx context.Context, sc serverless.Scope, p *auth.Principal, wg serverless.Workgroup) (Caller, error) {
	c := Caller{Temporary: !p.Expiration.IsZero(), Owner: OwnerOf(p)}
	ic := p.IdentityContext
	if ic == nil {
		u := dbuser.For(p)
		c.User = User{Namespace: u.Namespace, Name: u.Name, ID: u.ID}
		return c, nil
	}
	c.IdentityEnhanced = true
	ns, err := r.Serverless.GetNamespace(ctx, sc, wg.NamespaceName)
	if err != nil {
		return c, err
	}
	if ns.IdcApplicationArn == "" {
		return c, validation.Newf("Workgroup %s does not have Identity Center integration enabled: its namespace %s has no Redshift IdC application.", wg.WorkgroupName, ns.NamespaceName)
	}
	apps, err := r.IdcApps.List(ctx, sc)
	if err != nil {
		return c, err
	}
	i := slices.IndexFunc(apps, func(a redshiftidc.Application) bool { return a.Arn == ns.IdcApplicationArn })
	if i < 0 {
		return c, validation.Newf("Workgroup %s does not have Identity Center integration enabled: the Redshift IdC application of namespace %s no longer exists.", wg.WorkgroupName, ns.NamespaceName)
	}
	app := apps[i]
	if ns := app.IdentityNamespace; ns == dbuser.UserNamespace || ns == dbuser.RoleNamespace {
		// Those are IAM identities' namespaces: an Identity Center user
		// there would share a role with an IAM user or role of her name.
		return c, validation.Newf("The Redshift IdC application of workgroup %s uses the identity namespace %s, which is reserved for IAM database users.", wg.WorkgroupName, ns)
	}
	if app.IdcInstanceArn != ic.InstanceArn {
		return c, validation.Newf("Workgroup %s is integrated with Identity Center instance %s, not with the caller's %s.", wg.WorkgroupName, app.IdcInstanceArn, ic.InstanceArn)
	}
	if r.Dir == nil || ic.IdentityStoreID != r.Dir.IdentityStoreID {
		return c, auth.Deny(p.ARN, "redshift-data:ExecuteStatement", "", " because the identity context's identity store "+ic.IdentityStoreID+" is not this Identity Center instance's")
	}
	u, err := r.Dir.UserByID(ctx, ic.UserID)
	if err != nil && !errors.Is(err, identitycenter.ErrNoSuchUser) {
		return c, err
	}
	if err != nil || u.UserName != ic.UserName {
		return c, auth.Deny(p.ARN, "redshift-data:ExecuteStatement", "", " because the Identity Center user "+ic.UserID+" no longer exists in identity store "+ic.IdentityStoreID)
	}
	c.User = User{Namespace: app.IdentityNamespace, Name: u.UserName, ID: u.UserID, Groups: slices.Clone(u.Groups)}
	return c, nil
}
