package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/idcgate/idcgate/internal/apierror"
	"github.com/idcgate/idcgate/internal/clock"
)

// RoleSync creates and maintains the upstream roles of Identity Center
// users with the upstream's service credential: "<ns>:<user>" exists, is a
// member of MemberRole, has no password and no settings of its own, and is
// a member of exactly those existing "<ns>:<group>" roles that match the
// token's groups. The gateway logs in as it with a client certificate
// (Certs), which pg_hba.conf demands of MemberRole's members; nothing a
// user can learn or set (a password, a setting) lets her in past idcgate
// or outlives her session.
//
// User and group roles share the "<ns>:" prefix, so a group named like a
// user (or a user named like a group) would make one stand for the other.
// A user role is therefore one idcgate created, as LOGIN, and marked with a
// comment starting with UserRoleMarker; a group role is a NOLOGIN role
// without that mark. Sync never logs a user in as a role it did not create,
// and only grants and revokes group roles.
type RoleSync struct {
	// Certs mints the client certificate of a role (internal/upstreamca).
	Certs CertMinter
	// ServiceTLS, when set, may change the TLS configuration of the service
	// connections to upstream dsn: the managed upstream's service role logs
	// in with a client certificate (no password) this way.
	ServiceTLS func(dsn string, tc *tls.Config)
	// CacheFor skips a sync already done for the same role and groups
	// (settings the user gave her role are still checked at every login).
	CacheFor time.Duration
	// Clock ages the syncs done against CacheFor.
	Clock clock.Clock

	// done holds when each (upstream, role, groups) was last synced, in a
	// golang-lru LRU of maxSynced entries; Sync judges an entry's age
	// against CacheFor itself (no expiring cache: it would keep a cleanup
	// goroutine for ever and expire what Sync already ignores). Its values
	// are times, never handed out.
	doneOnce sync.Once
	done     *lru.Cache[string, time.Time]

	mu    sync.Mutex
	pools map[string]*pgxpool.Pool
	// adopted: upstreams whose older user roles were made members of
	// MemberRole, without a password, by this process.
	adopted map[string]bool
}

// CertMinter mints the client certificate whose common name is role.
type CertMinter interface {
	Mint(role string) (*tls.Certificate, error)
}

// UserRoleMarker starts the comment (COMMENT ON ROLE) of every user role
// idcgate creates; the Identity Center user id follows it.
const UserRoleMarker = "idcgate: Identity Center user "

// MemberRole is the NOLOGIN role every user role is a member of, so that
// pg_hba.conf can name them all ("+idcgate_users") ahead of its other
// lines: PostgreSQL 15 has no patterns for user names. A member cannot
// leave it (that needs ADMIN OPTION on it).
const MemberRole = "idcgate_users"

// maxRoleName is PostgreSQL's longest name in bytes (NAMEDATALEN - 1).
const maxRoleName = 63

// applicationName names the service connections in pg_stat_activity.
const applicationName = "idcgate role sync"

func (r *RoleSync) pool(ctx context.Context, dsn string) (*pgxpool.Pool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pools == nil {
		r.pools = map[string]*pgxpool.Pool{}
	}
	if p := r.pools[dsn]; p != nil {
		return p, nil
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("upstream DSN: %w", err)
	}
	cfg.MaxConns = 4
	if r.ServiceTLS != nil {
		if tc := cfg.ConnConfig.TLSConfig; tc != nil {
			r.ServiceTLS(dsn, tc)
		}
		for _, f := range cfg.ConnConfig.Fallbacks {
			if f.TLSConfig != nil {
				r.ServiceTLS(dsn, f.TLSConfig)
			}
		}
	}
	if cfg.ConnConfig.RuntimeParams["application_name"] == "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = applicationName
	}
	p, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	r.pools[dsn] = p
	return p, nil
}

// Close closes the service connections.
func (r *RoleSync) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.pools {
		p.Close()
	}
	r.pools = nil
}

// roleName is the upstream role of a login's user.
func roleName(l *Login) string { return l.IdentityNamespace + ":" + l.Claims.UserName }

// Sync makes the role right and returns its name.
func (r *RoleSync) Sync(ctx context.Context, l *Login) (string, error) {
	ns := l.IdentityNamespace
	role := roleName(l)
	// PostgreSQL cuts longer names to 63 bytes without an error, so two
	// long user names could name one role (and the certificate's name
	// would not be the role's).
	if len(role) > maxRoleName {
		return "", apierror.New(ErrRoleNameTooLong, "the upstream role name %q is %d bytes, over PostgreSQL's limit of %d, so idcgate will not log in as a shortened name: use a shorter identity namespace or user name", role, len(role), maxRoleName)
	}
	groups := make([]string, 0, len(l.Claims.Groups))
	for _, g := range l.Claims.Groups {
		groups = append(groups, ns+":"+g)
	}
	sort.Strings(groups)
	cacheKey := l.Upstream + "\x00" + role + "\x00" + strings.Join(groups, "\x00")
	at, ok := r.synced().Get(cacheKey)
	fresh := ok && r.Clock.Now().Sub(at) < r.CacheFor
	p, err := r.pool(ctx, l.Upstream)
	if err != nil {
		return "", err
	}
	if err := r.adoptOnce(ctx, l.Upstream, p); errors.Is(err, ErrUpstreamTooOld) {
		return "", err
	} else if err != nil {
		return "", fmt.Errorf("adopting idcgate's older user roles upstream: %w", err)
	}
	if fresh {
		// The memberships are known right, but the user may have given her
		// role settings (ALTER ROLE CURRENT_USER SET …) since: one read tells.
		var has bool
		if err := p.QueryRow(ctx, hasSettings, role).Scan(&has); err != nil {
			return "", fmt.Errorf("syncing role %s upstream: %w", role, err)
		}
		if !has {
			return role, nil
		}
	}
	err = retryRace(func() error { return r.sync(ctx, p, ns, role, l.Claims.UserID, groups) })
	if errors.Is(err, ErrForeignRole) {
		return "", err
	}
	if err != nil {
		return "", fmt.Errorf("syncing role %s upstream: %w", role, err)
	}
	r.synced().Add(cacheKey, r.Clock.Now())
	return role, nil
}

// maxSynced bounds the cache of syncs done (see RoleSync.done).
const maxSynced = 4096

func (r *RoleSync) synced() *lru.Cache[string, time.Time] {
	r.doneOnce.Do(func() {
		c, err := lru.New[string, time.Time](maxSynced)
		if err != nil {
			panic(err) // only for a size <= 0
		}
		r.done = c
	})
	return r.done
}

// syncLockClass is the first key of the role syncs' advisory locks (the
// second is the role name's hash), apart from other users of advisory locks.
const syncLockClass int32 = 0x1dc6a7e

// retryRace runs fn again when it lost a race with another login (two
// first logins at once race on CREATE ROLE / GRANT). No statement holds a
// secret, so what PostgreSQL logs of the loser's is harmless.
func retryRace(fn func() error) error {
	for attempt := 0; ; attempt++ {
		err := fn()
		var pe *pgconn.PgError
		if err != nil && errors.As(err, &pe) && (pe.Code == "42710" || pe.Code == "23505" || pe.Code == "40001" || pe.Code == "XX000") && attempt < 3 {
			continue
		}
		return err
	}
}

// hasSettings: whether role has settings of its own, in any database.
const hasSettings = `SELECT EXISTS (SELECT 1 FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole WHERE r.rolname = $1)`

// groupRole is the SQL condition, on pg_roles g, for a role Sync may grant
// or revoke: NOLOGIN and not one of our user roles.
const groupRole = `NOT g.rolcanlogin AND NOT starts_with(coalesce(shobj_description(g.oid, 'pg_authid'), ''), '` + UserRoleMarker + `')`

func (r *RoleSync) sync(ctx context.Context, p *pgxpool.Pool, ns, role, userID string, groups []string) error {
	return pgx.BeginFunc(ctx, p, func(tx pgx.Tx) error {
		// One sync of a role at a time, on every replica: concurrent
		// catalog updates of one role fail ("tuple concurrently updated")
		// however often they are retried. Released at commit.
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1, hashtext($2))", syncLockClass, role); err != nil {
			return err
		}
		id := pgx.Identifier{role}.Sanitize()
		member := pgx.Identifier{MemberRole}.Sanitize()
		if err := ensureMemberRole(ctx, tx, member); err != nil {
			return err
		}
		marker := UserRoleMarker + userID
		markerLit := "'" + strings.ReplaceAll(marker, "'", "''") + "'"
		var canLogin bool
		var comment string
		err := tx.QueryRow(ctx, "SELECT rolcanlogin, coalesce(shobj_description(oid, 'pg_authid'), '') FROM pg_roles WHERE rolname = $1", role).Scan(&canLogin, &comment)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			// No password: the gateway logs in with a client certificate.
			if _, err := tx.Exec(ctx, "CREATE ROLE "+id+" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS IN ROLE "+member); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "COMMENT ON ROLE "+id+" IS "+markerLit); err != nil {
				return err
			}
		case err != nil:
			return err
		case !strings.HasPrefix(comment, UserRoleMarker):
			// Not ours: a group role, or someone else's. Touch nothing.
			what := "was not created by idcgate for an Identity Center user"
			if !canLogin {
				what = "is a NOLOGIN (group) role, not an idcgate user role"
			}
			return apierror.New(ErrForeignRole, "the upstream role %q %s, so idcgate will not log in as it: rename or drop that role, or the Identity Center user", role, what)
		default:
			// Ours. Leave LOGIN alone (an administrator's NOLOGIN disables
			// the user), but take back what the user may have set on her
			// role: a password (and one a version before this one set), and
			// settings, which would persist into her later sessions.
			if _, err := tx.Exec(ctx, "ALTER ROLE "+id+" PASSWORD NULL"); err != nil {
				return err
			}
			if err := resetSettings(ctx, tx, role, id); err != nil {
				return err
			}
			if comment != marker {
				if _, err := tx.Exec(ctx, "COMMENT ON ROLE "+id+" IS "+markerLit); err != nil {
					return err
				}
			}
			var isMember bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
				JOIN pg_roles u ON u.oid = m.member WHERE g.rolname = $1 AND u.rolname = $2)`, MemberRole, role).Scan(&isMember); err != nil {
				return err
			}
			if !isMember {
				if _, err := tx.Exec(ctx, "GRANT "+member+" TO "+id); err != nil {
					return err
				}
			}
		}
		have, err := column(ctx, tx, `SELECT g.rolname FROM pg_auth_members m
			JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
			WHERE u.rolname = $1 AND starts_with(g.rolname, $2) AND `+groupRole, role, ns+":")
		if err != nil {
			return err
		}
		want, err := column(ctx, tx, "SELECT g.rolname FROM pg_roles g WHERE g.rolname = ANY($1) AND "+groupRole, groups)
		if err != nil {
			return err
		}
		wantSet := map[string]bool{}
		for _, g := range want {
			wantSet[g] = true
		}
		haveSet := map[string]bool{}
		for _, g := range have {
			haveSet[g] = true
			if !wantSet[g] {
				if _, err := tx.Exec(ctx, "REVOKE "+pgx.Identifier{g}.Sanitize()+" FROM "+id); err != nil {
					return err
				}
			}
		}
		for _, g := range want {
			if !haveSet[g] {
				if _, err := tx.Exec(ctx, "GRANT "+pgx.Identifier{g}.Sanitize()+" TO "+id); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// adoptOnce runs adopt on an upstream the first time this process syncs
// a role there.
func (r *RoleSync) adoptOnce(ctx context.Context, dsn string, p *pgxpool.Pool) error {
	r.mu.Lock()
	done := r.adopted[dsn]
	r.mu.Unlock()
	if done {
		return nil
	}
	var version int
	if err := p.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&version); err != nil {
		return err
	}
	if err := supportedUpstream(version); err != nil {
		return err
	}
	if err := retryRace(func() error {
		return pgx.BeginFunc(ctx, p, func(tx pgx.Tx) error { return adopt(ctx, tx) })
	}); err != nil {
		return err
	}
	r.mu.Lock()
	if r.adopted == nil {
		r.adopted = map[string]bool{}
	}
	r.adopted[dsn] = true
	r.mu.Unlock()
	return nil
}

// minUpstreamVersion is the oldest PostgreSQL (server_version_num) the
// gateway logs users in to: before 15 a role's own session could grant the
// role to others (it held ADMIN OPTION on itself), so alice could give bob
// her privileges with GRANT "AWSIDC:alice" TO "AWSIDC:bob", and nothing
// upstream could forbid it.
const minUpstreamVersion = 150000

// supportedUpstream refuses an upstream older than minUpstreamVersion.
func supportedUpstream(version int) error {
	if version < minUpstreamVersion {
		return apierror.New(ErrUpstreamTooOld, "the upstream runs PostgreSQL %d.%d; idcgate needs 15 or later, where a user cannot grant her own role to another user", version/10000, version%10000)
	}
	return nil
}

// adopt brings user roles made before MemberRole (by a version that gave
// them a password, which PostgreSQL may have logged) under it: no
// password, no settings, members of MemberRole, so pg_hba.conf's lines
// cover them before their user next logs in, if ever.
func adopt(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1, 0)", adoptLockClass); err != nil {
		return err
	}
	member := pgx.Identifier{MemberRole}.Sanitize()
	if err := ensureMemberRole(ctx, tx, member); err != nil {
		return err
	}
	roles, err := column(ctx, tx, `SELECT r.rolname FROM pg_roles r
		WHERE starts_with(coalesce(shobj_description(r.oid, 'pg_authid'), ''), $1)
		AND NOT EXISTS (SELECT 1 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid AND g.rolname = $2)`,
		UserRoleMarker, MemberRole)
	if err != nil {
		return err
	}
	for _, role := range roles {
		id := pgx.Identifier{role}.Sanitize()
		if _, err := tx.Exec(ctx, "ALTER ROLE "+id+" PASSWORD NULL"); err != nil {
			return err
		}
		if err := resetSettings(ctx, tx, role, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "GRANT "+member+" TO "+id); err != nil {
			return err
		}
	}
	return nil
}

// adoptLockClass keys adopt's advisory lock, apart from the syncs'.
const adoptLockClass = syncLockClass + 1

// ensureMemberRole creates MemberRole if it does not exist.
func ensureMemberRole(ctx context.Context, tx pgx.Tx, member string) error {
	var exists bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", MemberRole).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	_, err := tx.Exec(ctx, "CREATE ROLE "+member+" NOLOGIN")
	return err
}

// resetSettings removes the role's own settings, in every database.
func resetSettings(ctx context.Context, tx pgx.Tx, role, id string) error {
	dbs, err := column(ctx, tx, `SELECT coalesce(d.datname, '') FROM pg_db_role_setting s
		JOIN pg_roles r ON r.oid = s.setrole LEFT JOIN pg_database d ON d.oid = s.setdatabase
		WHERE r.rolname = $1 AND (s.setdatabase = 0 OR d.datname IS NOT NULL)`, role)
	if err != nil {
		return err
	}
	for _, db := range dbs {
		q := "ALTER ROLE " + id + " RESET ALL"
		if db != "" {
			q = "ALTER ROLE " + id + " IN DATABASE " + pgx.Identifier{db}.Sanitize() + " RESET ALL"
		}
		if _, err := tx.Exec(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// column runs q in tx and collects its one text column.
func column(ctx context.Context, tx pgx.Tx, q string, args ...any) ([]string, error) {
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
