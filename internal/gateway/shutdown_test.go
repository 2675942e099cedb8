package gateway

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// startDrain is what Shutdown does first at its deadline, without the
// upstream termination (these relays have no PostgreSQL behind them).
func startDrain(g *Gateway) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.drained {
		g.drained = true
		close(g.drain)
	}
}

// TestRelayDrainEndsAtABoundary: once drained, both relays end a session
// only where the upstream's stream is at a ReadyForQuery: an idle session
// at once, a busy one right after its answer (split across reads or not),
// never inside it. The client's stream is the upstream's bytes then our
// 57P01; the upstream's is the client's bytes then Terminate.
func TestRelayDrainEndsAtABoundary(t *testing.T) {
	t.Parallel()
	query := "Q\x00\x00\x00\x0dSELECT 1\x00"
	answer := []string{"C\x00\x00\x00\x0dSELECT 1\x00Z\x00\x00", "\x00\x05I"}
	cases := []struct {
		name  string
		query bool     // the client asks before the drain
		reply []string // the upstream's answer after it
	}{
		{"idle", false, nil},
		{"busy, answer in one read", true, []string{strings.Join(answer, "")}},
		{"busy, ReadyForQuery split", true, answer},
	}
	for _, goroutines := range []bool{false, true} {
		relay := map[bool]string{false: "event loop", true: "goroutines"}[goroutines]
		for _, tc := range cases {
			t.Run(relay+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				g := newGateway(Config{GoroutineRelay: goroutines}, nil)
				t.Cleanup(func() {
					if g.loop != nil {
						g.loop.stop()
					}
				})
				client, gwClient := tcpPair(t)
				upstream, gwUpstream := tcpPair(t)
				ended := make(chan struct{})
				go func() { g.relay(gwClient, gwUpstream); close(ended) }()
				deadline := time.Now().Add(10 * time.Second)
				client.SetDeadline(deadline)
				upstream.SetDeadline(deadline)
				if tc.query {
					client.Write([]byte(query))
					got := make([]byte, len(query))
					if _, err := io.ReadFull(upstream, got); err != nil || string(got) != query {
						t.Fatalf("upstream got %q %v", got, err)
					}
				}
				startDrain(g)
				for _, b := range tc.reply {
					upstream.Write([]byte(b))
				}
				toClient, err := io.ReadAll(client)
				if err != nil {
					t.Fatalf("client read: %v", err)
				}
				if want := strings.Join(tc.reply, "") + string(shutdownError); string(toClient) != want {
					t.Fatalf("client got %q\nwant %q", toClient, want)
				}
				toUpstream, err := io.ReadAll(upstream)
				if err != nil {
					t.Fatalf("upstream read: %v", err)
				}
				if string(toUpstream) != string(terminateMessage) {
					t.Fatalf("upstream got %q after the query, want Terminate", toUpstream)
				}
				waitEnded(t, ended, "relay did not return")
				if !goroutines && g.loop.taken() == 0 {
					t.Fatal("the event loop did not relay the session")
				}
				m, err := pgproto3.NewFrontend(bytes.NewReader(shutdownError), nil).Receive()
				if e, ok := m.(*pgproto3.ErrorResponse); !ok || e.Code != "57P01" || e.Severity != "FATAL" {
					t.Fatalf("our shutdown error decodes as %#v %v", m, err)
				}
			})
		}
	}
}

// TestShutdownEndsRunningQueries: a session still running a query at
// Shutdown's deadline gets 57P01 and its upstream backend is gone, not left
// running; with a service role that may not terminate backends, the query
// is cancelled and the session ended at the ReadyForQuery that follows.
func TestShutdownEndsRunningQueries(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		// unprivileged: the service role is not a superuser and lacks
		// pg_signal_backend, so pg_terminate_backend is refused.
		unprivileged bool
	}{
		{"terminated", false},
		{"cancelled where terminating is not allowed", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := startWorld(t, nil)
			if tc.unprivileged {
				w.pg.Exec(t, "postgres", `CREATE ROLE svc LOGIN CREATEROLE PASSWORD 'svc-pw'`,
					`GRANT "AWSIDC:analysts" TO svc WITH ADMIN OPTION`)
				w.auth.upstream = strings.Replace(w.auth.upstream, "://postgres@", "://svc:svc-pw@", 1)
				if !strings.Contains(w.auth.upstream, "svc:svc-pw@") {
					t.Fatalf("cannot make the service DSN unprivileged: %s", w.auth.upstream)
				}
			}
			admin, err := pgx.Connect(context.Background(), w.pg.DSN("postgres"))
			if err != nil {
				t.Fatal(err)
			}
			defer admin.Close(context.Background())
			backends := func() (pid int32, running bool) {
				err := admin.QueryRow(context.Background(), `SELECT pid FROM pg_stat_activity
					WHERE usename = 'AWSIDC:alice' AND state = 'active' AND query LIKE '%pg_sleep%'`).Scan(&pid)
				if err != nil && !errors.Is(err, pgx.ErrNoRows) {
					t.Fatal(err)
				}
				return pid, err == nil
			}

			c := w.mustConnect(t, "good-alice")
			defer c.Close(context.Background())
			queryErr := make(chan error, 1)
			go func() {
				_, err := c.Exec(context.Background(), "SELECT pg_sleep(600)")
				queryErr <- err
			}()
			waitFor(t, 10*time.Second, "the query running upstream", func() bool { _, ok := backends(); return ok })

			ctx, cancel := context.WithCancel(context.Background())
			cancel() // the deadline has passed
			start := time.Now()
			if err := w.gw.Shutdown(ctx); !errors.Is(err, context.Canceled) {
				t.Fatalf("Shutdown: %v, want the context's error", err)
			}
			if took := time.Since(start); took >= endWait {
				t.Fatalf("Shutdown took %v: the session was cut, not ended", took)
			}
			// (backends fails the test if the admin session, another role's
			// backend, was terminated too.)
			if _, running := backends(); running {
				t.Fatalf("the query is still running upstream after Shutdown returned; gateway log:\n%s", w.logs.String())
			}
			err = <-queryErr
			var pe *pgconn.PgError
			if !errors.As(err, &pe) {
				t.Fatalf("query error %v, want an ErrorResponse", err)
			}
			want := "57P01"
			if tc.unprivileged {
				want = "57014" // canceled; the 57P01 follows its ReadyForQuery
			}
			if pe.Code != want {
				t.Fatalf("query error %s %q, want %s", pe.Code, pe.Message, want)
			}
			if tc.unprivileged {
				// The next message is our 57P01 (pgx may have read it already).
				rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				m, err := c.PgConn().ReceiveMessage(rctx)
				cancel()
				if e, ok := m.(*pgproto3.ErrorResponse); ok {
					err = pgconn.ErrorResponseToPgError(e)
				}
				if !errors.As(err, &pe) || pe.Code != "57P01" {
					t.Fatalf("after the cancelled query: %#v %v", m, err)
				}
			}
			waitFor(t, 5*time.Second, "alice's backend gone upstream", func() bool {
				var n int
				admin.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity WHERE usename = 'AWSIDC:alice'`).Scan(&n)
				return n == 0
			})
			if w.gw.Active() != 0 {
				t.Fatalf("%d sessions still relayed", w.gw.Active())
			}
		})
	}
}
