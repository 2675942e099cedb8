// Package provision makes the managed upstream match idcgate's state: a
// database for every namespace (seeded once with the config's seedSql) and
// a NOLOGIN role "<identity namespace>:<group>" for every directory group
// (BEHAVIOUR 14).
package provision

import (
	"context"
	"slices"

	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/identitystore"
	"github.com/idcgate/idcgate/internal/managedpg"
	"github.com/idcgate/idcgate/internal/redshiftidc"
	"github.com/idcgate/idcgate/internal/serverless"
)

// Provisioner makes the managed upstream match idcgate's state.
type Provisioner struct {
	Config     *config.Config
	Cluster    *managedpg.Cluster
	Serverless *serverless.Service
	IdcApps    *redshiftidc.Service
	// Directory is the identity store whose groups get roles (nil without
	// a directory: no group roles).
	Directory *identitystore.Service
}

// Reconcile makes what exists match the config and the store at start:
// the group roles, then every namespace's database (seeded once).
func (m *Provisioner) Reconcile(ctx context.Context) error {
	namespaces, err := m.identityNamespaces(ctx)
	if err != nil {
		return err
	}
	roles, err := m.groupRoles(ctx, namespaces...)
	if err != nil {
		return err
	}
	if err := m.Cluster.EnsureGroupRoles(ctx, roles); err != nil {
		return err
	}
	for _, a := range m.Config.Accounts {
		sc := serverless.Scope{Account: a.ID, Region: m.Config.Region}
		var next *string
		for {
			page, tok, err := m.Serverless.ListNamespaces(ctx, sc, serverless.ListInput{NextToken: next})
			if err != nil {
				return err
			}
			for _, ns := range page {
				if err := m.Cluster.EnsureDatabase(ctx, ns.DbName, ns.NamespaceName, Seed(m.Config, sc, ns.NamespaceName)); err != nil {
					return err
				}
			}
			if tok == nil {
				break
			}
			next = tok
		}
	}
	return nil
}

// Namespace makes the database of a namespace created by API, and the
// group roles of its identity namespace.
func (m *Provisioner) Namespace(ctx context.Context, sc serverless.Scope, ns serverless.Namespace) error {
	if ns.IdcApplicationArn != "" {
		if app, err := m.IdcApps.ByArn(ctx, sc, ns.IdcApplicationArn); err == nil {
			roles, err := m.groupRoles(ctx, app.IdentityNamespace)
			if err != nil {
				return err
			}
			if err := m.Cluster.EnsureGroupRoles(ctx, roles); err != nil {
				return err
			}
		}
	}
	return m.Cluster.EnsureDatabase(ctx, ns.DbName, ns.NamespaceName, Seed(m.Config, sc, ns.NamespaceName))
}

// groupRoles are the roles of every group of the identity store (the
// config's and those made by API) in each identity namespace.
func (m *Provisioner) groupRoles(ctx context.Context, namespaces ...string) ([]string, error) {
	if m.Directory == nil {
		return nil, nil
	}
	groups, err := m.Directory.GroupNames(ctx)
	if err != nil {
		return nil, err
	}
	return GroupRoles(groups, namespaces...), nil
}

// GroupRoles are "<ns>:<group>" for every group, once per identity
// namespace.
func GroupRoles(groups []string, namespaces ...string) []string {
	var out []string
	slices.Sort(namespaces)
	for _, ns := range slices.Compact(namespaces) {
		for _, g := range groups {
			out = append(out, ns+":"+g)
		}
	}
	return out
}

// Group makes the roles of a group the API created or renamed, in every
// identity namespace of the Redshift IdC applications.
func (m *Provisioner) Group(ctx context.Context, name string) error {
	namespaces, err := m.identityNamespaces(ctx)
	if err != nil {
		return err
	}
	return m.Cluster.EnsureGroupRoles(ctx, GroupRoles([]string{name}, namespaces...))
}

// identityNamespaces lists the identity namespace of every Redshift IdC
// application of every configured account.
func (m *Provisioner) identityNamespaces(ctx context.Context) ([]string, error) {
	var namespaces []string
	for _, a := range m.Config.Accounts {
		apps, err := m.IdcApps.List(ctx, serverless.Scope{Account: a.ID, Region: m.Config.Region})
		if err != nil {
			return nil, err
		}
		for _, app := range apps {
			namespaces = append(namespaces, app.IdentityNamespace)
		}
	}
	return namespaces, nil
}

// Seed is the config's seedSql of the namespace ("" for one made by API).
func Seed(cfg *config.Config, sc serverless.Scope, name string) string {
	for _, a := range cfg.Accounts {
		if a.ID != sc.Account {
			continue
		}
		for _, ns := range a.Namespaces {
			if ns.Name == name {
				return ns.SeedSQL
			}
		}
	}
	return ""
}
