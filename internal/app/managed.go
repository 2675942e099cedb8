package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"

	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/identitystore"
	"github.com/idcgate/idcgate/internal/managedpg"
	"github.com/idcgate/idcgate/internal/redshiftidc"
	"github.com/idcgate/idcgate/internal/serverless"
	"github.com/idcgate/idcgate/internal/upstreamca"
)

// ManagedDirSuffix names the managed upstream's directory beside the data
// dir: as root the postgres OS user owns it, and the data dir stays 0700.
const ManagedDirSuffix = "-pg"

// ManagedDir is where the managed upstream of data dir dataDir lives
// (managedpg.FallbackDir when idcgate runs as root and the postgres OS
// user cannot reach it).
func ManagedDir(dataDir string) string { return filepath.Clean(dataDir) + ManagedDirSuffix }

// managedWanted decides whether this start runs the managed upstream, and
// finds its binaries: pgUpstream "managed", or unset with the embedded
// store (replicas of a shared store would each run their own). A missing
// installation is not an error: serve runs without an upstream and says
// in one line how to get one (note).
func managedWanted(cfg *config.Config, find func() (string, error)) (binDir string, note error) {
	switch cfg.PGUpstream {
	case config.UpstreamManaged:
	case "":
		if cfg.Store != "" {
			return "", nil
		}
	default:
		return "", nil
	}
	bin, err := find()
	if err != nil {
		return "", err
	}
	return bin, nil
}

// startManaged starts the managed upstream, makes the group roles and the
// namespaces' databases, and creates the database of each namespace made
// later, after its creation commits.
func startManaged(ctx context.Context, cfg *config.Config, binDir string, ca *upstreamca.CA, sl *serverless.Service, idc *redshiftidc.Service, ids *identitystore.Service, log *slog.Logger) (*managedpg.Cluster, error) {
	opt := managedpg.Options{Dir: ManagedDir(cfg.DataDir), BinDir: binDir, ClientCA: ca.CertPEM(), Log: log}
	c, err := managedpg.Start(ctx, opt)
	if errors.Is(err, managedpg.ErrUnreachable) {
		// As root beside a data dir under a private directory (/root): in
		// the postgres user's home instead, so the README's command works
		// from anywhere.
		if opt.Dir, err = managedpg.FallbackDir(cfg.DataDir); err != nil {
			return nil, fmt.Errorf("managed PostgreSQL: %w", err)
		}
		c, err = managedpg.Start(ctx, opt)
	}
	if err != nil {
		return nil, err
	}
	m := &managed{cfg: cfg, c: c, sl: sl, idc: idc, ids: ids}
	if err := m.reconcile(ctx); err != nil {
		c.Stop()
		return nil, err
	}
	sl.AfterCreateNamespace = func(sc serverless.Scope, ns serverless.Namespace) {
		c.Go("database of namespace "+ns.NamespaceName, func(ctx context.Context) error { return m.namespace(ctx, sc, ns) })
	}
	if ids != nil {
		ids.AfterGroupNamed = func(name string) {
			c.Go("roles of group "+name, func(ctx context.Context) error { return m.group(ctx, name) })
		}
	}
	log.Info("managed PostgreSQL running", "port", c.Port, "dir", c.Dir, "log", c.LogFile,
		"admin", fmt.Sprintf("psql -h %s -p %d -U %s dev", c.Dir, c.Port, managedpg.Superuser))
	return c, nil
}

type managed struct {
	ids *identitystore.Service // nil without a directory
	cfg *config.Config
	c   *managedpg.Cluster
	sl  *serverless.Service
	idc *redshiftidc.Service
}

// reconcile makes what exists match the config and the store at start:
// the group roles, then every namespace's database (seeded once).
func (m *managed) reconcile(ctx context.Context) error {
	var namespaces []string
	for _, a := range m.cfg.Accounts {
		sc := serverless.Scope{Account: a.ID, Region: m.cfg.Region}
		apps, err := m.idc.List(ctx, sc)
		if err != nil {
			return err
		}
		for _, app := range apps {
			namespaces = append(namespaces, app.IdentityNamespace)
		}
	}
	roles, err := m.groupRoles(ctx, namespaces...)
	if err != nil {
		return err
	}
	if err := m.c.EnsureGroupRoles(ctx, roles); err != nil {
		return err
	}
	for _, a := range m.cfg.Accounts {
		sc := serverless.Scope{Account: a.ID, Region: m.cfg.Region}
		var next *string
		for {
			page, tok, err := m.sl.ListNamespaces(ctx, sc, serverless.ListInput{NextToken: next})
			if err != nil {
				return err
			}
			for _, ns := range page {
				if err := m.c.EnsureDatabase(ctx, ns.DbName, ns.NamespaceName, m.seed(sc, ns.NamespaceName)); err != nil {
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

// namespace makes the database of a namespace created by API, and the
// group roles of its identity namespace.
func (m *managed) namespace(ctx context.Context, sc serverless.Scope, ns serverless.Namespace) error {
	if ns.IdcApplicationArn != "" {
		if app, err := m.idc.ByArn(ctx, sc, ns.IdcApplicationArn); err == nil {
			roles, err := m.groupRoles(ctx, app.IdentityNamespace)
			if err != nil {
				return err
			}
			if err := m.c.EnsureGroupRoles(ctx, roles); err != nil {
				return err
			}
		}
	}
	return m.c.EnsureDatabase(ctx, ns.DbName, ns.NamespaceName, m.seed(sc, ns.NamespaceName))
}

// groupRoles are "<ns>:<group>" for every directory group (the identity
// store's: the config's and those made by API).
func (m *managed) groupRoles(ctx context.Context, namespaces ...string) ([]string, error) {
	if m.ids == nil {
		return nil, nil
	}
	groups, err := m.ids.GroupNames(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	slices.Sort(namespaces)
	for _, ns := range slices.Compact(namespaces) {
		for _, g := range groups {
			out = append(out, ns+":"+g)
		}
	}
	return out, nil
}

// group makes the roles of a group the API created or renamed, in every
// identity namespace of the Redshift IdC applications.
func (m *managed) group(ctx context.Context, name string) error {
	var roles []string
	for _, a := range m.cfg.Accounts {
		apps, err := m.idc.List(ctx, serverless.Scope{Account: a.ID, Region: m.cfg.Region})
		if err != nil {
			return err
		}
		for _, app := range apps {
			roles = append(roles, app.IdentityNamespace+":"+name)
		}
	}
	slices.Sort(roles)
	return m.c.EnsureGroupRoles(ctx, slices.Compact(roles))
}

// seed is the config's seedSql of the namespace ("" for one made by API).
func (m *managed) seed(sc serverless.Scope, name string) string {
	for _, a := range m.cfg.Accounts {
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

// serviceTLS gives the managed upstream's service connections the service
// role's client certificate, minted at each handshake (short-lived, cached).
func serviceTLS(c *managedpg.Cluster, ca *upstreamca.CA) func(string, *tls.Config) {
	return func(dsn string, tc *tls.Config) {
		if c == nil || !c.Owns(dsn) {
			return
		}
		tc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return ca.Mint(managedpg.ServiceRole)
		}
	}
}
