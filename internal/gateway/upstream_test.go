package gateway

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/idcgate/idcgate/internal/pgtest"
	"github.com/idcgate/idcgate/internal/testkit"
	"github.com/idcgate/idcgate/internal/upstreamca"
)

// testCA is an upstream CA in a store of its own, trusted by pg.
func testCA(t *testing.T, pg *pgtest.Server) *upstreamca.CA {
	t.Helper()
	st := testkit.Store(t)
	ca, err := upstreamca.Open(context.Background(), st, make([]byte, 32), nil)
	if err != nil {
		t.Fatal(err)
	}
	pg.TrustClientCA(t, ca.CertPEM())
	return ca
}

// secretInLog matches what would give a role's password away in
// PostgreSQL's log: a password literal in a logged statement, or a stored
// verifier.
var secretInLog = regexp.MustCompile(`(?i)password\s+'|SCRAM-SHA-256\$|md5[0-9a-f]{32}`)

// directLogin logs in to the upstream as role with a password, past idcgate.
func directLogin(w *testWorld, role, password, sslmode string) error {
	c, err := pgx.Connect(context.Background(), fmt.Sprintf("host=127.0.0.1 port=%d dbname=postgres user='%s' password='%s' sslmode=%s", w.pg.Port, role, password, sslmode))
	if err == nil {
		c.Close(context.Background())
	}
	return err
}

// TestConcurrentFirstLoginsLogNoSecret (issue 18, item 2): many first
// logins of one new user at once make role sync statements collide; the
// statements PostgreSQL logs for the losers carry no secret, the role has
// no password at all, and every login succeeds.
func TestConcurrentFirstLoginsLogNoSecret(t *testing.T) {
	t.Parallel()
	w := startWorld(t, nil)
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c, err := w.connect(t, "good-dave")
			if err == nil {
				err = c.QueryRow(context.Background(), "SELECT 1").Scan(new(int))
				c.Close(context.Background())
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("login %d: %v\n%s", i, err, w.logs.String())
		}
	}
	var noPassword bool
	admin, err := pgx.Connect(context.Background(), w.pg.DSN("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	if err := admin.QueryRow(context.Background(), `SELECT rolpassword IS NULL FROM pg_authid WHERE rolname = 'AWSIDC:dave'`).Scan(&noPassword); err != nil || !noPassword {
		t.Fatalf("the user role has a password (%v): anyone who learns it logs in past idcgate", err)
	}
	for _, mode := range []string{"disable", "require"} {
		if directLogin(w, "AWSIDC:dave", "", mode) == nil {
			t.Fatalf("logged in directly without a password (sslmode=%s)", mode)
		}
	}
	if m := secretInLog.FindString(w.pg.Log(t)); m != "" {
		t.Fatalf("PostgreSQL's log holds a secret (%q):\n%s", m, w.pg.Log(t))
	}
}

// TestUserCannotOpenAWayAround (issue 18, item 3): what a user may do to
// her own role through the gateway gives her no way in past idcgate, and
// nothing she sets outlives her session.
func TestUserCannotOpenAWayAround(t *testing.T) {
	t.Parallel()
	for _, cacheFor := range []string{"no sync cache", "sync cached"} {
		t.Run(cacheFor, func(t *testing.T) {
			t.Parallel()
			w := startWorld(t, func(c *Config) {
				if cacheFor == "sync cached" {
					c.Roles.CacheFor = 1 << 62 // the next login skips the membership sync
				}
			})
			ctx := context.Background()
			s := w.mustConnect(t, "good-alice")
			defaults := map[string]string{}
			for _, name := range []string{"work_mem", "search_path", "statement_timeout"} {
				var v string
				if err := s.QueryRow(ctx, "SELECT current_setting($1)", name).Scan(&v); err != nil {
					t.Fatal(err)
				}
				defaults[name] = v
			}
			for _, q := range []string{
				`ALTER ROLE CURRENT_USER PASSWORD 'mine-1'`,
				`ALTER ROLE CURRENT_USER SET work_mem = '7MB'`,
				`ALTER ROLE CURRENT_USER SET search_path = 'evil, public'`,
				`ALTER ROLE CURRENT_USER IN DATABASE postgres SET statement_timeout = '1234'`,
			} {
				if _, err := s.Exec(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			// Ways out of the rules pg_hba.conf keeps for idcgate's users.
			for _, q := range []string{
				`REVOKE idcgate_users FROM CURRENT_USER`,
				`ALTER ROLE CURRENT_USER NOINHERIT CREATEROLE`,
				`ALTER ROLE CURRENT_USER RENAME TO escaped`,
				`COMMENT ON ROLE CURRENT_USER IS 'not a user role'`,
				`CREATE ROLE other LOGIN PASSWORD 'x'`,
			} {
				var pe *pgconn.PgError
				if _, err := s.Exec(ctx, q); !errors.As(err, &pe) {
					t.Fatalf("%s: %v, want refused", q, err)
				}
			}
			s.Close(ctx)

			for _, mode := range []string{"disable", "require"} {
				if directLogin(w, "AWSIDC:alice", "mine-1", mode) == nil {
					t.Fatalf("the password she set logs her in past idcgate (sslmode=%s)", mode)
				}
			}
			s2 := w.mustConnect(t, "good-alice")
			defer s2.Close(ctx)
			for name, want := range defaults {
				var v string
				if err := s2.QueryRow(ctx, "SELECT current_setting($1)", name).Scan(&v); err != nil || v != want {
					t.Fatalf("next session: %s = %q (%v), want %q: a setting outlived her session", name, v, err, want)
				}
			}
			if directLogin(w, "AWSIDC:alice", "mine-1", "require") == nil {
				t.Fatal("the password she set still logs her in after the next login")
			}
		})
	}
}

// TestUpstreamNeedsTLS: the user leg goes over TLS whatever the DSN's
// sslmode allows; a DSN without TLS is refused at login, naming why,
// before anything is changed upstream.
func TestUpstreamNeedsTLS(t *testing.T) {
	t.Parallel()
	w := startWorld(t, nil)
	base := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres", w.pg.Port)
	cases := []struct {
		name, dsn string
		ok        bool
	}{
		{"verify-full", w.pg.TLSDSN("postgres"), true},
		{"prefer: TLS kept, no plaintext fallback", base + "?sslmode=prefer", true},
		{"allow: TLS kept, no plaintext fallback", base + "?sslmode=allow", true},
		{"require", base + "?sslmode=require", true},
		{"disable", base + "?sslmode=disable", false},
		{"Unix socket", fmt.Sprintf("host=%s port=%d user=postgres dbname=postgres", w.pg.SocketDir, w.pg.Port), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := CheckUpstream(tc.dsn); (err == nil) != tc.ok {
				t.Fatalf("CheckUpstream: %v", err)
			}
			cfg, err := (&RoleSync{Certs: testCA(t, w.pg)}).sessionConfig(tc.dsn, "AWSIDC:x")
			if !tc.ok {
				var ce *clientError
				if !errors.As(err, &ce) || ce.code != "08006" || !strings.Contains(ce.msg, "TLS") {
					t.Fatalf("got %v, want a 08006 refusal naming TLS", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.TLSConfig == nil || len(cfg.TLSConfig.Certificates) != 1 || cfg.Password != "" || cfg.User != "AWSIDC:x" {
				t.Fatalf("config %+v", cfg)
			}
			for _, f := range cfg.Fallbacks {
				if f.TLSConfig == nil {
					t.Fatal("a plaintext fallback was kept")
				}
			}
		})
	}

	t.Run("login refused, nothing created", func(t *testing.T) {
		w.auth.upstream = base + "?sslmode=disable"
		_, err := w.connect(t, "good-erin")
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "08006" || !strings.Contains(pe.Message, "sslmode=disable") {
			t.Fatalf("got %v", err)
		}
		var n int
		admin, err := pgx.Connect(context.Background(), w.pg.DSN("postgres"))
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close(context.Background())
		if err := admin.QueryRow(context.Background(), `SELECT count(*) FROM pg_roles WHERE rolname = 'AWSIDC:erin'`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("role created: %d %v", n, err)
		}
	})
}

// TestOlderUserRolesAdopted: user roles an earlier idcgate made with a
// password (which PostgreSQL may have logged) lose it, and come under
// pg_hba.conf's lines, at the first sync on their upstream, not only
// when their own user logs in again.
func TestOlderUserRolesAdopted(t *testing.T) {
	t.Parallel()
	w := startWorld(t, nil)
	w.pg.Exec(t, "postgres", `CREATE ROLE "AWSIDC:olduser" LOGIN PASSWORD 'leaked-1'`,
		`COMMENT ON ROLE "AWSIDC:olduser" IS '`+UserRoleMarker+`id-olduser'`,
		`ALTER ROLE "AWSIDC:olduser" SET work_mem = '9MB'`)
	if err := directLogin(w, "AWSIDC:olduser", "leaked-1", "require"); err != nil {
		t.Fatalf("premise: the old role logs in with its password: %v", err)
	}
	c := w.mustConnect(t, "good-alice")
	c.Close(context.Background())
	for _, mode := range []string{"disable", "require"} {
		if directLogin(w, "AWSIDC:olduser", "leaked-1", mode) == nil {
			t.Fatalf("the old role's password still logs in (sslmode=%s)", mode)
		}
	}
	admin, err := pgx.Connect(context.Background(), w.pg.DSN("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	var noPassword, member, settings bool
	if err := admin.QueryRow(context.Background(), `SELECT a.rolpassword IS NULL, pg_has_role(a.oid, 'idcgate_users', 'MEMBER'),
		EXISTS (SELECT 1 FROM pg_db_role_setting s WHERE s.setrole = a.oid) FROM pg_authid a WHERE a.rolname = 'AWSIDC:olduser'`).Scan(&noPassword, &member, &settings); err != nil {
		t.Fatal(err)
	}
	if !noPassword || !member || settings {
		t.Fatalf("old role: no password %v, member %v, settings %v", noPassword, member, settings)
	}
}
