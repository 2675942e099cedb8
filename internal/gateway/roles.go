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
type RoleSync struct {
	// Secret keys the per-role passwords (derived from the master key).
	Secret []byte
	// CacheFor skips a sync already done for the same role and groups.
	CacheFor time.Duration

	mu    sync.Mutex
	pools map[string]*pgxpool.Pool
	done  map[string]time.Time
}

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
		err = r.sync(ctx, p, ns, role, password, groups)
		var pe *pgconn.PgError
		// Two first logins at once race on CREATE ROLE / GRANT: run again.
		if err != nil && errors.As(err, &pe) && (pe.Code == "42710" || pe.Code == "23505" || pe.Code == "40001" || pe.Code == "XX000") && attempt < 3 {
			continue
		}
		break
	}
	if err != nil {
		return "", "", fmt.Errorf("syncing role %s upstream: %w", role, err)
	}
	r.mu.Lock()
	r.done[cacheKey] = time.Now()
	r.mu.Unlock()
	return role, password, nil
}

func (r *RoleSync) sync(ctx context.Context, p *pgxpool.Pool, ns, role, password string, groups []string) error {
	return pgx.BeginFunc(ctx, p, func(tx pgx.Tx) error {
		id := pgx.Identifier{role}.Sanitize()
		lit := "'" + strings.ReplaceAll(password, "'", "''") + "'"
		var exists bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", role).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			if _, err := tx.Exec(ctx, "CREATE ROLE "+id+" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD "+lit); err != nil {
				return err
			}
		} else if _, err := tx.Exec(ctx, "ALTER ROLE "+id+" LOGIN PASSWORD "+lit); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT g.rolname FROM pg_auth_members m
			JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
			WHERE u.rolname = $1 AND starts_with(g.rolname, $2)`, role, ns+":")
		if err != nil {
			return err
		}
		have, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		rows, err = tx.Query(ctx, "SELECT rolname FROM pg_roles WHERE rolname = ANY($1)", groups)
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
