package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/idcgate/idcgate/internal/apierror"
	"github.com/idcgate/idcgate/internal/authtoken"
	"github.com/idcgate/idcgate/internal/clock"
	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/dataapi"
	"github.com/idcgate/idcgate/internal/gateway"
	"github.com/idcgate/idcgate/internal/identitycenter"
	"github.com/idcgate/idcgate/internal/managedpg"
	"github.com/idcgate/idcgate/internal/pagetoken"
	"github.com/idcgate/idcgate/internal/redshiftidc"
	"github.com/idcgate/idcgate/internal/serverless"
	"github.com/idcgate/idcgate/internal/store"
)

// newDataAPI wires the Redshift Data API to the gateway's upstreams and
// role sync: a statement runs where, and as whom, a gateway login of the
// same user would.
func newDataAPI(cfg *config.Config, st store.Store, sl *serverless.Service, idcApps *redshiftidc.Service, dir *identitycenter.Directory,
	roles *gateway.RoleSync, managed *managedpg.Cluster, pages *pagetoken.Codec, log *slog.Logger, now func() time.Time) *dataapi.Service {
	return &dataapi.Service{
		Store:     st,
		Clock:     clock.Clock(now),
		Upstreams: &dataAPIUpstreams{cfg: cfg, sl: sl, managed: managed},
		Roles:     dataAPIRoles{roles},
		Resolver:  &dataapi.Resolver{Serverless: sl, IdcApps: idcApps, Dir: dir},
		Pages:     pages,
		Log:       log,
		MaxActive: cfg.DataAPI.MaxActiveStatements,
		MaxConns:  cfg.DataAPI.MaxConnectionsPerWorkgroup,
	}
}

// dataAPIUpstreams is the workgroup's upstream: its own DSN from the
// config, else pgUpstream, else the managed cluster's database.
//
// The choice duplicates gatewayAuth.upstream (gateway.go) until that moves
// to a gateway-side package exporting "the upstream DSN of a workgroup";
// then this calls it.
type dataAPIUpstreams struct {
	cfg     *config.Config
	sl      *serverless.Service
	managed *managedpg.Cluster
}

func (u *dataAPIUpstreams) UpstreamDSN(ctx context.Context, sc dataapi.Scope, workgroup, database string) (string, error) {
	dsn := ""
	for _, acct := range u.cfg.Accounts {
		if acct.ID != sc.Account {
			continue
		}
		for _, w := range acct.Workgroups {
			if w.Name == workgroup && w.Upstream != "" {
				dsn = w.Upstream
			}
		}
	}
	if dsn == "" {
		switch u.cfg.PGUpstream {
		case config.UpstreamManaged, config.UpstreamNone:
		default:
			dsn = u.cfg.PGUpstream
		}
	}
	if dsn == "" && u.managed != nil {
		if database == "" {
			wg, err := u.sl.GetWorkgroup(ctx, serverless.Scope{Account: sc.Account, Region: sc.Region}, workgroup)
			if err != nil {
				return "", err
			}
			ns, err := u.sl.GetNamespace(ctx, serverless.Scope{Account: sc.Account, Region: sc.Region}, wg.NamespaceName)
			if err != nil {
				return "", err
			}
			database = ns.DbName
		}
		return u.managed.DSN(database), nil
	}
	if dsn == "" {
		// An apierror: the statement's Error tells its owner why.
		return "", apierror.New(gateway.ErrNoUpstream, "workgroup %s has no upstream PostgreSQL (set pgUpstream or the workgroup's upstream in the config)", workgroup)
	}
	if database == "" {
		return dsn, nil
	}
	return withDatabase(dsn, database)
}

// withDatabase is dsn connecting to database instead of its own.
func withDatabase(dsn, database string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("upstream DSN: %w", err)
		}
		u.Path, u.RawPath = "/"+database, ""
		return u.String(), nil
	}
	if _, err := pgconn.ParseConfig(dsn); err != nil {
		return "", fmt.Errorf("upstream DSN: %w", err)
	}
	// Keyword/value form: a later keyword wins.
	return dsn + " dbname='" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(database) + "'", nil
}

// dataAPIRoles is the gateway's RoleSync seen by the Data API.
type dataAPIRoles struct{ rs *gateway.RoleSync }

func (r dataAPIRoles) Sync(ctx context.Context, dsn string, sc dataapi.Scope, wg dataapi.WorkgroupRef, u dataapi.User) (string, error) {
	return r.rs.Sync(ctx, &gateway.Login{
		Workgroup: wg.Name, WorkgroupID: wg.ID, Account: sc.Account, Upstream: dsn, IdentityNamespace: u.Namespace,
		Claims: authtoken.Claims{UserID: u.ID, UserName: u.Name, Groups: u.Groups},
	})
}

func (r dataAPIRoles) SessionConfig(dsn, role string) (*pgconn.Config, error) {
	return r.rs.SessionConfig(dsn, role)
}

func (r dataAPIRoles) TerminateBackend(ctx context.Context, dsn string, pid int64, role, application string) (bool, error) {
	return r.rs.TerminateBackend(ctx, dsn, pid, role, application)
}
