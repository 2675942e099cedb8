package tokenlogin

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/gateway"
	"github.com/idcgate/idcgate/internal/managedpg"
	"github.com/idcgate/idcgate/internal/serverless"
)

// Upstreams are the PostgreSQL servers workgroups' sessions run on: the
// config's (a workgroup's own upstream, pgUpstream) and the managed
// cluster's databases.
type Upstreams struct {
	Config     *config.Config
	Serverless *serverless.Service
	// Managed is the managed upstream (nil when not running): the default
	// of workgroups without their own, each in its namespace's database.
	Managed *managedpg.Cluster
}

// DSN is the upstream DSN of workgroup wg of scope sc: the workgroup's own
// upstream in the config, else pgUpstream when it is a DSN, else the
// managed cluster's database of the workgroup's namespace. A workgroup
// with none of them is an error wrapping gateway.ErrNoUpstream.
func (u *Upstreams) DSN(ctx context.Context, sc serverless.Scope, wg serverless.Workgroup) (string, error) {
	if dsn := u.configured(sc.Account, wg.WorkgroupName); dsn != "" {
		return dsn, nil
	}
	if u.Managed != nil {
		ns, err := u.Serverless.GetNamespace(ctx, sc, wg.NamespaceName)
		if err != nil {
			return "", err
		}
		if dsn := u.Managed.DSN(ns.DbName); dsn != "" {
			return dsn, nil
		}
	}
	return "", fmt.Errorf("%w: workgroup %s has no upstream PostgreSQL (set pgUpstream or the workgroup's upstream in the config)", gateway.ErrNoUpstream, wg.WorkgroupName)
}

// set gives login the upstream of workgroup wg. A workgroup without one
// is still a known login (ErrNoUpstream is returned with it, for the
// audit); any other error is not.
func (u *Upstreams) set(ctx context.Context, sc serverless.Scope, wg serverless.Workgroup, login *gateway.Login) (*gateway.Login, error) {
	var err error
	login.Upstream, err = u.DSN(ctx, sc, wg)
	switch {
	case errors.Is(err, gateway.ErrNoUpstream):
		return login, err
	case err != nil:
		return nil, err
	}
	return login, nil
}

// configured is the config's upstream DSN of the workgroup ("" when the
// config gives none: pgUpstream unset, managed or none).
func (u *Upstreams) configured(account, workgroup string) string {
	for _, acct := range u.Config.Accounts {
		if acct.ID != account {
			continue
		}
		for _, w := range acct.Workgroups {
			if w.Name == workgroup && w.Upstream != "" {
				return w.Upstream
			}
		}
	}
	switch u.Config.PGUpstream {
	case config.UpstreamManaged, config.UpstreamNone:
		return ""
	}
	return u.Config.PGUpstream
}

// CheckConfigured tells, at start, whether every upstream DSN the config
// gives (pgUpstream, each workgroup's own) can carry users' sessions
// (gateway.CheckUpstream); the words managed and none are not DSNs.
func CheckConfigured(cfg *config.Config) error {
	check := func(what, dsn string) error {
		if dsn == "" || dsn == config.UpstreamManaged || dsn == config.UpstreamNone {
			return nil
		}
		if err := gateway.CheckUpstream(dsn); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	}
	if err := check("pgUpstream", cfg.PGUpstream); err != nil {
		return err
	}
	for _, a := range cfg.Accounts {
		for _, w := range a.Workgroups {
			if err := check("the upstream of workgroup "+a.ID+"/"+w.Name, w.Upstream); err != nil {
				return err
			}
		}
	}
	return nil
}

// Database is the upstream DSN of workgroup wg connecting to database
// instead of its own (the Data API's Database member); "" is DSN's answer.
func (u *Upstreams) Database(ctx context.Context, sc serverless.Scope, wg serverless.Workgroup, database string) (string, error) {
	if database == "" {
		return u.DSN(ctx, sc, wg)
	}
	if dsn := u.configured(sc.Account, wg.WorkgroupName); dsn != "" {
		return withDatabase(dsn, database)
	}
	if u.Managed != nil {
		if dsn := u.Managed.DSN(database); dsn != "" {
			return dsn, nil
		}
	}
	return "", fmt.Errorf("%w: workgroup %s has no upstream PostgreSQL (set pgUpstream or the workgroup's upstream in the config)", gateway.ErrNoUpstream, wg.WorkgroupName)
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
