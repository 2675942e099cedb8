package tokenlogin

import (
	"context"
	"errors"
	"slices"

	"github.com/idcgate/idcgate/internal/apierror"
	"github.com/idcgate/idcgate/internal/gateway"
	"github.com/idcgate/idcgate/internal/redshiftidc"
	"github.com/idcgate/idcgate/internal/serverless"
	"github.com/idcgate/idcgate/internal/validation"
)

// target is what an ACCESS_TOKEN or EXT_JWT login is for: a workgroup,
// and the Redshift IdC application that decides who may use it.
type target struct {
	scope serverless.Scope
	wg    serverless.Workgroup
	app   redshiftidc.Application
	// apps are the scope's Redshift IdC applications.
	apps []redshiftidc.Application
}

// target chooses the workgroup of a login whose token names none: the TLS
// server name's (which may also give the account and region), else the
// "workgroup" startup option, in the Identity Center instance's account
// and a.Region. Its Redshift IdC application is the one of the
// identity_namespace the startup names, else its namespace's.
func (a *Authenticator) target(ctx context.Context, r gateway.AuthRequest) (target, error) {
	sl, dir := a.Issuer.Serverless, a.Issuer.Dir
	t := target{scope: serverless.Scope{Region: a.Region}}
	if dir != nil {
		t.scope.Account = dir.Account
	}
	var name string
	t.scope, name = sniWorkgroup(ctx, sl, t.scope, r.SNI)
	if name == "" {
		name = r.Workgroup
	}
	if name == "" {
		return t, apierror.New(gateway.ErrNoWorkgroup, "an %s names no workgroup: choose one with the TLS server name (<workgroup>.<account>.<region>%s) or the startup option -c workgroup=NAME", r.TokenType, serverless.EndpointSuffix)
	}
	wg, ns, err := sl.WorkgroupWithNamespace(ctx, t.scope, name)
	switch {
	case errors.Is(err, serverless.ErrNotFound), errors.Is(err, validation.ErrInvalid):
		return t, apierror.New(gateway.ErrNoWorkgroup, "workgroup %s does not exist in account %s, region %s", apierror.Printable(name), t.scope.Account, t.scope.Region)
	case err != nil:
		return t, err
	}
	t.wg = wg
	if t.apps, err = a.Issuer.IdcApps.List(ctx, t.scope); err != nil {
		return t, err
	}
	if r.IdentityNamespace != "" {
		app, err := byNamespace(t.apps, t.scope, r.IdentityNamespace)
		if err != nil {
			return t, err
		}
		t.app = app
	} else {
		i := slices.IndexFunc(t.apps, func(app redshiftidc.Application) bool {
			return ns.IdcApplicationArn != "" && app.Arn == ns.IdcApplicationArn
		})
		if i < 0 {
			return t, apierror.New(gateway.ErrWrongWorkgroup, "workgroup %s does not have Identity Center integration enabled: its namespace %s has no Redshift IdC application", wg.WorkgroupName, ns.NamespaceName)
		}
		t.app = t.apps[i]
	}
	if dir == nil || t.app.IdcInstanceArn != dir.InstanceArn {
		return t, apierror.New(gateway.ErrWrongWorkgroup, "the Redshift IdC application %s is integrated with Identity Center instance %s, not with this one", t.app.Name, t.app.IdcInstanceArn)
	}
	return t, nil
}

// appOfNamespace is the (first) application of identity namespace ns
// among apps.
func appOfNamespace(apps []redshiftidc.Application, ns string) (redshiftidc.Application, bool) {
	i := slices.IndexFunc(apps, func(app redshiftidc.Application) bool { return app.IdentityNamespace == ns })
	if i < 0 {
		return redshiftidc.Application{}, false
	}
	return apps[i], true
}

// byNamespace is appOfNamespace, refusing a namespace no application has.
func byNamespace(apps []redshiftidc.Application, scope serverless.Scope, ns string) (redshiftidc.Application, error) {
	if app, ok := appOfNamespace(apps, ns); ok {
		return app, nil
	}
	return redshiftidc.Application{}, apierror.New(gateway.ErrUnknownNamespace, "no Redshift IdC application of account %s in %s has the identity namespace %q that the startup's identity_namespace names", scope.Account, scope.Region, apierror.Printable(ns))
}

// sameNamespace refuses a SUBJECT_TOKEN login whose startup names an
// identity_namespace other than the one the token was issued under (its
// workgroup's Redshift IdC application's): the token's role is that
// namespace's, and a startup cannot change whose role it is.
func (a *Authenticator) sameNamespace(ctx context.Context, scope serverless.Scope, r gateway.AuthRequest, login *gateway.Login) error {
	if r.IdentityNamespace == "" || r.IdentityNamespace == login.IdentityNamespace {
		return nil
	}
	apps, err := a.Issuer.IdcApps.List(ctx, scope)
	if err != nil {
		return err
	}
	if _, err := byNamespace(apps, scope, r.IdentityNamespace); err != nil {
		return err
	}
	return apierror.New(gateway.ErrWrongWorkgroup, "the SUBJECT_TOKEN was issued for identity namespace %s, not %s: leave identity_namespace out, or name %s", login.IdentityNamespace, apierror.Printable(r.IdentityNamespace), login.IdentityNamespace)
}

// login is the Login for t, without its user yet: the workgroup, and the
// identity namespace of t's application (its roles').
func (t *target) login() *gateway.Login {
	return &gateway.Login{Workgroup: t.wg.WorkgroupName, WorkgroupID: t.wg.WorkgroupId, Account: t.scope.Account,
		IdentityNamespace: t.app.IdentityNamespace}
}
