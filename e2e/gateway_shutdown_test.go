package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/idcgate/idcgate/internal/config"
)

// TestShutdownLeavesNoQueryRunning: a gateway session still running a
// query when the server's shutdown grace (10 s) ends gets 57P01, and its
// backend is gone upstream by the time the server has stopped (BEHAVIOUR 10.10).
func TestShutdownLeavesNoQueryRunning(t *testing.T) {
	t.Parallel()
	const grace = time.Second
	srv, pg := gatewayWorld(t, func(c *config.Config) { c.Gateway.ShutdownGrace = &config.Duration{Duration: grace} })
	ctx := context.Background()
	c := gatewaySession(t, srv, tokenFor(t, srv, "alice", "demo"))
	admin := gmAdmin(t, pg)
	running := func() (int, error) {
		var n int
		err := admin.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE usename = 'AWSIDC:alice' AND query = 'SELECT pg_sleep(600)'`).Scan(&n)
		return n, err
	}
	queryErr := make(chan error, 1)
	go func() {
		_, err := c.Exec(ctx, "SELECT pg_sleep(600)")
		queryErr <- err
	}()
	eventually(t, 10*time.Second, "the query running upstream", func() (bool, error) {
		n, err := running()
		return n == 1, err
	})

	start := time.Now()
	srv.Stop() // returns once the server has stopped
	// The session may run on for gateway.shutdownGrace, no longer.
	if took := time.Since(start); took < grace*9/10 || took > grace+10*time.Second {
		t.Fatalf("shutdown took %v with a grace of %v", took, grace)
	}
	if n, err := running(); err != nil || n != 0 {
		t.Fatalf("%d backends of alice still upstream after the server stopped (%v)", n, err)
	}
	wantPgError(t, receiveWithin(t, queryErr, 5*time.Second, "the client's query did not end with the server"), "57P01", "")
}
