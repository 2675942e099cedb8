package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/identitystore"
	"github.com/idcgate/idcgate/internal/managedpg"
	"github.com/idcgate/idcgate/internal/managedpg/provision"
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
	m := &provision.Provisioner{Config: cfg, Cluster: c, Serverless: sl, IdcApps: idc, Directory: ids}
	if err := m.Reconcile(ctx); err != nil {
		c.Stop()
		return nil, err
	}
	sl.AfterCreateNamespace = func(sc serverless.Scope, ns serverless.Namespace) {
		c.Go("database of namespace "+ns.NamespaceName, func(ctx context.Context) error { return m.Namespace(ctx, sc, ns) })
	}
	if ids != nil {
		ids.AfterGroupNamed = func(name string) {
			c.Go("roles of group "+name, func(ctx context.Context) error { return m.Group(ctx, name) })
		}
	}
	log.Info("managed PostgreSQL running", "port", c.Port, "dir", c.Dir, "log", c.LogFile,
		"admin", fmt.Sprintf("psql -h %s -p %d -U %s dev", c.Dir, c.Port, managedpg.Superuser))
	return c, nil
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
