//go:build slow

package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/testserver"
)

// TestGatewaySessionLimitsAcrossReplicas: the per-user and per-workgroup
// session limits are counted across two replicas on one PostgreSQL store;
// over a limit the client gets 53300 naming it, and a session that ends
// (on either replica) frees its slot.
func TestGatewaySessionLimitsAcrossReplicas(t *testing.T) {
	t.Parallel()
	a, b := gatewayReplicas(t, func(c *config.Config) {
		c.Gateway.MaxSessionsPerUser = 2
		c.Gateway.MaxConnsPerWorkgroup = 3
	})
	ctx := context.Background()
	alice, bob, carol := tokenFor(t, a, "alice", "demo"), tokenFor(t, a, "bob", "demo"), tokenFor(t, a, "carol", "demo")

	gatewaySession(t, a, alice)
	aliceOnB := gatewaySession(t, b, alice)
	for _, srv := range []*testserver.Server{a, b} {
		_, err := connectGateway(t, srv, alice, "")
		wantPgError(t, err, "53300", "too many sessions for user alice on workgroup demo (limit 2)")
	}
	gatewaySession(t, b, bob)
	_, err := connectGateway(t, a, carol, "")
	wantPgError(t, err, "53300", "too many sessions on workgroup demo (limit 3)")

	// Alice's session on B ends: A admits her again.
	aliceOnB.Close(ctx)
	eventually(t, 10*time.Second, "alice's slot freed after her session on B ended", func() (bool, error) {
		c, err := connectGateway(t, a, alice, "")
		if err != nil {
			return false, nil // the release follows the client's close
		}
		t.Cleanup(func() { c.Close(ctx) })
		return true, nil
	})
}
