package e2e

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/pgtest"
	"github.com/idcgate/idcgate/internal/testserver"
)

// TestGatewayLoginReadsTheDirectoryNow: a token outlives the directory
// state it was issued under. After a restart (data dir and master key kept)
// with alice moved from analysts to engineers and bob deleted, alice's old
// token logs in with her current groups only, and bob's is refused 28000.
func TestGatewayLoginReadsTheDirectoryNow(t *testing.T) {
	t.Parallel()
	pg := pgtest.Start(t)
	gmPrepare(t, pg)
	dir := filepath.Join(t.TempDir(), "data")
	upstream := func(c *config.Config) {
		c.PGUpstream = pg.TLSDSN("dev")
		c.Serverless.TransitionDelay = &config.Duration{}
	}
	ctx := context.Background()

	before := testserver.Start(t, testserver.Options{DataDir: dir, Edit: upstream})
	before.TrustUpstreamCA(t, pg) // the data dir, and so the CA, is kept across the restart
	aliceTok := tokenFor(t, before, "alice", "demo")
	bobTok := tokenFor(t, before, "bob", "demo")
	c := gatewaySession(t, before, aliceTok)
	var total int
	if err := c.QueryRow(ctx, "SELECT sum(amount) FROM sales").Scan(&total); err != nil || total != 350 {
		t.Fatalf("alice, an analyst, reads sales: %d %v", total, err)
	}
	c.Close(ctx)
	before.Stop()

	after := testserver.Start(t, testserver.Options{DataDir: dir, Edit: func(c *config.Config) {
		upstream(c)
		ic := c.IdentityCenter
		ic.Users = slices.DeleteFunc(ic.Users, func(u config.DirectoryUser) bool { return u.UserName == "bob" })
		for i := range ic.Groups {
			switch g := &ic.Groups[i]; g.Name {
			case "analysts":
				g.Members = nil
			case "engineers":
				g.Members = []string{"alice"}
			}
		}
	}})

	t.Run("changed groups", func(t *testing.T) {
		c := gatewaySession(t, after, aliceTok)
		var analyst, engineer bool
		if err := c.QueryRow(ctx, `SELECT pg_has_role('AWSIDC:analysts', 'MEMBER'), pg_has_role('AWSIDC:engineers', 'MEMBER')`).Scan(&analyst, &engineer); err != nil {
			t.Fatal(err)
		}
		if analyst || !engineer {
			t.Fatalf("alice's roles with her token from before the change: analysts %v, engineers %v; want the directory's now (engineers only)", analyst, engineer)
		}
		_, err := c.Exec(ctx, "SELECT sum(amount) FROM sales")
		wantPgError(t, err, "42501", "permission denied")
	})
	t.Run("deleted user", func(t *testing.T) {
		_, err := connectGateway(t, after, bobTok, "")
		wantPgError(t, err, "28000", "the Identity Center user bob")
		wantPgError(t, err, "28000", "no longer exists")
	})
}
