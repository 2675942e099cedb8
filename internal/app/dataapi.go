package app

import (
	"context"
	"errors"
	"log/slog"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/idcgate/idcgate/internal/apierror"
	"github.com/idcgate/idcgate/internal/authtoken"
	"github.com/idcgate/idcgate/internal/clock"
	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/dataapi"
	"github.com/idcgate/idcgate/internal/gateway"
	"github.com/idcgate/idcgate/internal/gateway/tokenlogin"
	"github.com/idcgate/idcgate/internal/identitycenter"
	"github.com/idcgate/idcgate/internal/pagetoken"
	"github.com/idcgate/idcgate/internal/redshiftidc"
	"github.com/idcgate/idcgate/internal/serverless"
	"github.com/idcgate/idcgate/internal/store"
)

// newDataAPI wires the Redshift Data API to the gateway's upstreams and
// role sync: a statement runs where, and as whom, a gateway login of the
// same user would.
func newDataAPI(cfg *config.Config, st store.Store, sl *serverless.Service, idcApps *redshiftidc.Service, dir *identitycenter.Directory,
	roles *gateway.RoleSync, upstreams *tokenlogin.Upstreams, pages *pagetoken.Codec, log *slog.Logger, now clock.Clock) *dataapi.Service {
	return &dataapi.Service{
		Store:     st,
		Clock:     now,
		Upstreams: dataAPIUpstreams{upstreams},
		Roles:     dataAPIRoles{roles},
		Resolver:  &dataapi.Resolver{Serverless: sl, IdcApps: idcApps, Dir: dir},
		Pages:     pages,
		Log:       log,
		MaxActive: cfg.DataAPI.MaxActiveStatements,
		MaxConns:  cfg.DataAPI.MaxConnectionsPerWorkgroup,
	}
}

// dataAPIUpstreams is the workgroup's upstream, chosen as for a gateway
// login (tokenlogin.Upstreams), in the statement's database.
type dataAPIUpstreams struct{ up *tokenlogin.Upstreams }

func (u dataAPIUpstreams) UpstreamDSN(ctx context.Context, sc dataapi.Scope, workgroup, database string) (string, error) {
	scope := serverless.Scope{Account: sc.Account, Region: sc.Region}
	wg, err := u.up.Serverless.GetWorkgroup(ctx, scope, workgroup)
	if err != nil {
		return "", err
	}
	dsn, err := u.up.Database(ctx, scope, wg, database)
	if errors.Is(err, gateway.ErrNoUpstream) {
		// An apierror: the statement's Error tells its owner why.
		return "", apierror.New(gateway.ErrNoUpstream, "workgroup %s has no upstream PostgreSQL (set pgUpstream or the workgroup's upstream in the config)", workgroup)
	}
	return dsn, err
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
