package gateway

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// RoleSync creates and maintains the upstream roles of Identity Center
// users with the upstream's service credential: "<ns>:<user>" exists, can
// log in with a password only idcgate can derive, and is a member of exactly
// those existing "<ns>:<group>" roles that match the token's groups.
//
// User and group roles share the "<ns>:" prefix, so a group named like a
// user (or a user named like a group) would make one stand for the other.
// A user role is therefore one idcgate created, as LOGIN, and marked with a
// comment starting with UserRoleMarker; a group role is a NOLOGIN role
// without that mark. Sync never logs a user in as a role it did not create,
// and only grants and revokes group roles.
type RoleSync struct {
	// Secret keys the per-role passwords (derived from the master key).
	Secret []byte
	// CacheFor skips a sync already done for the same role and groups.
	CacheFor time.Duration

	mu    sync.Mutex
	pools map[string]*pgxpool.Pool
	done  map[string]time.Time
}

// UserRoleMarker starts the comment (COMMENT ON ROLE) of every user role
// idcgate creates; the Identity Center user id follows it.
const UserRoleMarker = "idcgate: Identity Center user "

// applicationName names the service connections in pg_stat_activity.
const applicationName = "idcgate role sync"

// Password is the upstream password of a role (stable, never stored).
func (r *RoleSync) Password(upstream, role string) string {
	m := hmac.New(sha256.New, r.Secret)
	m.Write([]byte(upstream + "\x00" + role))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (r *RoleSync) pool(ctx context.Context, dsn string) (*pgxpool.Pool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pools == nil {
		r.pools, r.done = map[string]*pgxpool.Pool{}, map[string]time.Time{}
	}
	if p := r.pools[dsn]; p != nil {
		return p, nil
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("upstream DSN: %w", err)
	}
	cfg.MaxConns = 4
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

// Sync makes the role right and returns its name and password.
func (r *RoleSync) Sync(ctx context.Context, l *Login) (string, string, error) {
	ns := l.IdentityNamespace
	role := ns + ":" + l.Claims.UserName
	password := r.Password(l.Upstream, role)
	groups := make([]string, 0, len(l.Claims.Groups))
	for _, g := range l.Claims.Groups {
		groups = append(groups, ns+":"+g)
	}
	sort.Strings(groups)
	cacheKey := l.Upstream + "\x00" + role + "\x00" + strings.Join(groups, "\x00")
	r.mu.Lock()
	fresh := r.done != nil && time.Since(r.done[cacheKey]) < r.CacheFor
	r.mu.Unlock()
	if fresh {
		return role, password, nil
	}
	p, err := r.pool(ctx, l.Upstream)
	if err != nil {
		return "", "", err
	}
	for attempt := 0; ; attempt++ {
		err = r.sync(ctx, p, ns, role, password, l.Claims.UserID, groups)
		var pe *pgconn.PgError
		// Two first logins at once race on CREATE ROLE / GRANT: run again.
		if err != nil && errors.As(err, &pe) && (pe.Code == "42710" || pe.Code == "23505" || pe.Code == "40001" || pe.Code == "XX000") && attempt < 3 {
			continue
		}
		break
	}
	if errors.Is(err, ErrForeignRole) {
		return "", "", err
	}
	if err != nil {
		return "", "", fmt.Errorf("syncing role %s upstream: %w", role, err)
	}
	r.mu.Lock()
	r.done[cacheKey] = time.Now()
	r.mu.Unlock()
	return role, password, nil
}

// groupRole is the SQL condition, on pg_roles g, for a role Sync may grant
// or revoke: NOLOGIN and not one of our user roles.
const groupRole = `NOT g.rolcanlogin AND NOT starts_with(coalesce(shobj_description(g.oid, 'pg_authid'), ''), '` + UserRoleMarker + `')`

func (r *RoleSync) sync(ctx context.Context, p *pgxpool.Pool, ns, role, password, userID string, groups []string) error {
	return pgx.BeginFunc(ctx, p, func(tx pgx.Tx) error {
		id := pgx.Identifier{role}.Sanitize()
		lit := "'" + strings.ReplaceAll(password, "'", "''") + "'"
		marker := UserRoleMarker + userID
		markerLit := "'" + strings.ReplaceAll(marker, "'", "''") + "'"
		var canLogin bool
		var comment string
		err := tx.QueryRow(ctx, "SELECT rolcanlogin, coalesce(shobj_description(oid, 'pg_authid'), '') FROM pg_roles WHERE rolname = $1", role).Scan(&canLogin, &comment)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			if _, err := tx.Exec(ctx, "CREATE ROLE "+id+" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD "+lit); err != nil {
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
			return fmt.Errorf("%w: the upstream role %q %s, so idcgate will not log in as it: rename or drop that role, or the Identity Center user", ErrForeignRole, role, what)
		default:
			// Ours. Reset the password (the master key may have changed), but
			// leave LOGIN alone: an administrator's NOLOGIN disables the user.
			if _, err := tx.Exec(ctx, "ALTER ROLE "+id+" PASSWORD "+lit); err != nil {
				return err
			}
			if comment != marker {
				if _, err := tx.Exec(ctx, "COMMENT ON ROLE "+id+" IS "+markerLit); err != nil {
					return err
				}
			}
		}
		rows, err := tx.Query(ctx, `SELECT g.rolname FROM pg_auth_members m
			JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
			WHERE u.rolname = $1 AND starts_with(g.rolname, $2) AND `+groupRole, role, ns+":")
		if err != nil {
			return err
		}
		have, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		rows, err = tx.Query(ctx, "SELECT g.rolname FROM pg_roles g WHERE g.rolname = ANY($1) AND "+groupRole, groups)
		if err != nil {
			return err
		}
		want, err := pgx.CollectRows(rows, pgx.RowTo[string])
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
