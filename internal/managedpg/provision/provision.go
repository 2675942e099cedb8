// Package provision makes the managed upstream match idcgate's state: a
// database for every namespace (seeded once with the config's seedSql) and
// a NOLOGIN role "<identity namespace>:<group>" for every directory group
// (BEHAVIOUR 14).
package provision

import (
	"context"
	"slices"

	"github.com/idcgate/idcgate/internal/config"
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
}

// Reconcile makes what exists match the config and the store at start:
// the group roles, then every namespace's database (seeded once).
func (m *Provisioner) Reconcile(ctx context.Context) error {
	var namespaces []string
	for _, a := range m.Config.Accounts {
		sc := serverless.Scope{Account: a.ID, Region: m.Config.Region}
		apps, err := m.IdcApps.List(ctx, sc)
		if err != nil {
			return err
		}
		for _, app := range apps {
			namespaces = append(namespaces, app.IdentityNamespace)
		}
	}
	if err := m.Cluster.EnsureGroupRoles(ctx, GroupRoles(m.Config, namespaces...)); err != nil {
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
			if err := m.Cluster.EnsureGroupRoles(ctx, GroupRoles(m.Config, app.IdentityNamespace)); err != nil {
				return err
			}
		}
	}
	return m.Cluster.EnsureDatabase(ctx, ns.DbName, ns.NamespaceName, Seed(m.Config, sc, ns.NamespaceName))
}

// GroupRoles are "<ns>:<group>" for every directory group of cfg, once
// per identity namespace.
func GroupRoles(cfg *config.Config, namespaces ...string) []string {
	var out []string
	if cfg.IdentityCenter == nil {
		return nil
	}
	slices.Sort(namespaces)
	for _, ns := range slices.Compact(namespaces) {
		for _, g := range cfg.IdentityCenter.Groups {
			out = append(out, ns+":"+g.Name)
		}
	}
	return out
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
