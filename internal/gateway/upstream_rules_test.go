package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/idcgate/idcgate/internal/authtoken"
)

// TestSelfGrantRefusedUpstream: what keeps one user out of another's role.
// Up to PostgreSQL 14 a role's own session could grant the role to others;
// from 15 the upstream refuses it, which is why older upstreams are refused
// (TestOldUpstreamRefused). Alice tries every grantee that would hand her
// privileges on.
func TestSelfGrantRefusedUpstream(t *testing.T) {
	t.Parallel()
	w := startWorld(t, nil)
	ctx := context.Background()
	bob := w.mustConnect(t, "good-bob")
	bob.Close(ctx)
	alice := w.mustConnect(t, "good-alice")
	defer alice.Close(ctx)
	for _, grantee := range []string{`"AWSIDC:bob"`, `"AWSIDC:analysts"`, `idcgate_users`, `PUBLIC`} {
		_, err := alice.Exec(ctx, `GRANT "AWSIDC:alice" TO `+grantee)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) {
			t.Fatalf("GRANT \"AWSIDC:alice\" TO %s: %v, want refused", grantee, err)
		}
	}
	var n int
	if err := pgxQueryInt(t, w, `SELECT count(*) FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE g.rolname = 'AWSIDC:alice'`, &n); err != nil || n != 0 {
		t.Fatalf("%d memberships in alice's role (%v)", n, err)
	}
}

func TestOldUpstreamRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		version int
		want    string
	}{
		{140012, "PostgreSQL 14.12; idcgate needs 15 or later"},
		{130020, "PostgreSQL 13.20; idcgate needs 15 or later"},
		{150000, ""},
		{170004, ""},
	} {
		err := supportedUpstream(tc.version)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%d: %v", tc.version, err)
			}
			continue
		}
		if !errors.Is(err, ErrUpstreamTooOld) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%d: %v, want %q", tc.version, err, tc.want)
		}
		// The client is told why, as a connection failure.
		if ce, ok := authRefusal(err, "the password").(*clientError); !ok || ce.code != codeCannotConnect || !strings.Contains(ce.msg, "needs 15 or later") {
			t.Errorf("%d: refused as %v", tc.version, authRefusal(err, "the password"))
		}
	}
}

// TestLongRoleNameRefused: a role name over PostgreSQL's 63 bytes would be
// cut (two long user names sharing one role); the login is refused 28000
// before anything is created upstream.
func TestLongRoleNameRefused(t *testing.T) {
	t.Parallel()
	w := startWorld(t, nil)
	long := "u" + strings.Repeat("x", 63-len("AWSIDC:"))
	_, err := w.connect(t, "good-"+long)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "28000" || !strings.Contains(pe.Message, "over PostgreSQL's limit of 63") {
		t.Fatalf("login as %s: %v, want 28000 naming the limit", long, err)
	}
	var n int
	if err := pgxQueryInt(t, w, `SELECT count(*) FROM pg_roles WHERE starts_with(rolname, 'AWSIDC:ux')`, &n); err != nil || n != 0 {
		t.Fatalf("%d roles made upstream (%v)", n, err)
	}
	ok := "u" + strings.Repeat("x", 62-len("AWSIDC:"))
	c, err := w.connect(t, "good-"+ok)
	if err != nil {
		t.Fatalf("a 63-byte role name: %v", err)
	}
	c.Close(context.Background())
}

func pgxQueryInt(t *testing.T, w *testWorld, q string, n *int) error {
	t.Helper()
	admin, err := pgx.Connect(context.Background(), w.pg.DSN("postgres"))
	if err != nil {
		return err
	}
	defer admin.Close(context.Background())
	return admin.QueryRow(context.Background(), q).Scan(n)
}

// TestStartupUserMustBeTheTokens: a startup that names another user than
// the token's is refused 28000 saying whose token it is; empty, the user
// name and the role name are hers. The Redshift drivers' path is exempt
// (ODBC sends the operating system's login name for an empty user).
func TestStartupUserMustBeTheTokens(t *testing.T) {
	t.Parallel()
	w := startWorld(t, nil)
	host, port, _ := net.SplitHostPort(w.gw.Addr())
	for _, tc := range []struct {
		user string
		ok   bool
	}{
		{"alice", true}, {"AWSIDC:alice", true}, {"", true},
		{"bob", false}, {"Alice", false}, {"AWSIDC:bob", false}, {"root", false},
	} {
		t.Run(tc.user, func(t *testing.T) {
			t.Parallel()
			cfg, err := pgx.ParseConfig(fmt.Sprintf("host=%s port=%s dbname=postgres sslmode=disable password=good-alice", host, port))
			if err != nil {
				t.Fatal(err)
			}
			cfg.User = tc.user
			c, err := pgx.ConnectConfig(context.Background(), cfg)
			if tc.ok {
				if err != nil {
					t.Fatalf("user %q with alice's token: %v", tc.user, err)
				}
				var who string
				if err := c.QueryRow(context.Background(), "SELECT current_user").Scan(&who); err != nil || who != "AWSIDC:alice" {
					t.Fatalf("current_user %q (%v)", who, err)
				}
				c.Close(context.Background())
				return
			}
			var pe *pgconn.PgError
			want := fmt.Sprintf("the startup names user %q, but the token is alice's: connect with user=alice (or leave user empty)", tc.user)
			if !errors.As(err, &pe) || pe.Code != "28000" || pe.Message != want {
				t.Fatalf("user %q with alice's token: %v, want 28000 %q", tc.user, err, want)
			}
		})
	}
	l := &Login{IdentityNamespace: "AWSIDC", Claims: authtoken.Claims{UserName: "alice"}}
	if err := startupUserMatches("root", l, true); err != nil {
		t.Fatalf("Redshift driver path: %v", err)
	}
}
