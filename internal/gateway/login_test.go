package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/idcgate/idcgate/internal/authtoken"
	"github.com/idcgate/idcgate/internal/pgtest"
	"github.com/idcgate/idcgate/internal/testkit"
)

// These tests run the gateway against a real PostgreSQL with a fixed
// Authenticator ("good-<user>" opens as that user), so that they can watch
// the login sequence from both ends; e2e/ covers the real token path.

type fixedAuth struct {
	upstream string
	calls    atomic.Int64
}

func (a *fixedAuth) Authenticate(_ context.Context, r AuthRequest) (*Login, error) {
	a.calls.Add(1)
	token := r.Token
	user, ok := strings.CutPrefix(token, "good-")
	if !ok {
		return nil, ErrBadToken
	}
	return &Login{Workgroup: "demo", WorkgroupID: "wg-1", Account: "123456789012", Upstream: a.upstream, IdentityNamespace: "AWSIDC",
		Claims: authtoken.Claims{UserName: user, UserID: "id-" + user, Groups: []string{"analysts"}}}, nil
}

type testWorld struct {
	pg   *pgtest.Server
	gw   *Gateway
	auth *fixedAuth
	logs *testkit.SyncBuffer
}

// startWorld starts PostgreSQL and a plaintext (Insecure) gateway before it.
func startWorld(t *testing.T, edit func(*Config)) *testWorld {
	t.Helper()
	pg := pgtest.Start(t)
	pg.Exec(t, "postgres", `CREATE ROLE "AWSIDC:analysts" NOLOGIN`)
	// User sessions log in upstream with certificates of a CA the server
	// trusts, over verified TLS, as README tells operators to set it up.
	w := &testWorld{pg: pg, auth: &fixedAuth{upstream: pg.TLSDSN("postgres")}, logs: &testkit.SyncBuffer{}}
	cfg := Config{Listen: "127.0.0.1:0", Insecure: true, LoginTimeout: 20 * time.Second, Auth: w.auth,
		Roles: &RoleSync{Certs: testCA(t, pg)}, Log: slog.New(slog.NewTextHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if edit != nil {
		edit(&cfg)
	}
	gw, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	w.gw = gw
	served := make(chan error, 1)
	go func() { served <- gw.Serve() }()
	t.Cleanup(func() {
		gw.Close(0)
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return w
}

// logged tells whether a log line has both msg and the request id.
func (w *testWorld) logged(msg, requestID string) bool {
	for _, line := range strings.Split(w.logs.String(), "\n") {
		if strings.Contains(line, msg) && strings.Contains(line, "request_id="+requestID+" ") {
			return true
		}
	}
	return false
}

func (w *testWorld) connect(t *testing.T, token string) (*pgx.Conn, error) {
	t.Helper()
	host, port, _ := net.SplitHostPort(w.gw.Addr())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// The startup names the token's user (startupUserMatches).
	user, ok := strings.CutPrefix(token, "good-")
	if !ok {
		user = "alice"
	}
	return pgx.Connect(ctx, fmt.Sprintf("host=%s port=%s user='%s' dbname=postgres sslmode=disable password=%s", host, port, user, token))
}

// mustConnect is connect, failing the test on an error.
func (w *testWorld) mustConnect(t *testing.T, token string) *pgx.Conn {
	t.Helper()
	c, err := w.connect(t, token)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// startLogin opens a raw connection, sends a startup message and reads the
// cleartext password request.
func startLogin(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	st, _ := (&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30, Parameters: map[string]string{"user": "alice", "database": "postgres"}}).Encode(nil)
	c.Write(st)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var r3 [9]byte
	if _, err := io.ReadFull(c, r3[:]); err != nil || !bytes.Equal(r3[:], []byte{'R', 0, 0, 0, 8, 0, 0, 0, 3}) {
		t.Fatalf("password request %v %v", r3, err)
	}
	return c
}

func sendPassword(c net.Conn, pw string) {
	b, _ := (&pgproto3.PasswordMessage{Password: pw}).Encode(nil)
	c.Write(b)
}

// assertSilent checks that the gateway sends nothing for a while: used
// while OnLogin is held, to prove nothing is answered before it returns.
func assertSilent(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	var b [1]byte
	if n, err := c.Read(b[:]); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the gateway answered (%q, %v) before the login was recorded", b[:n], err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
}

// heldRecorder lets a test hold OnLogin while it looks at the client side.
type heldRecorder struct {
	entered chan *LoginEvent
	release chan error
}

func newHeldRecorder() *heldRecorder {
	return &heldRecorder{entered: make(chan *LoginEvent, 1), release: make(chan error)}
}

func (h *heldRecorder) onLogin(_ context.Context, ev *LoginEvent) error {
	h.entered <- ev
	return <-h.release
}

func (h *heldRecorder) wait(t *testing.T) *LoginEvent {
	t.Helper()
	select {
	case ev := <-h.entered:
		return ev
	case <-time.After(20 * time.Second):
		t.Fatal("OnLogin was not called")
		return nil
	}
}

func TestLoginRecordedBeforeTheAnswer(t *testing.T) {
	t.Parallel()
	rec := newHeldRecorder()
	w := startWorld(t, func(c *Config) { c.OnLogin = rec.onLogin })

	t.Run("success: recorded before AuthenticationOk", func(t *testing.T) {
		c := startLogin(t, w.gw.Addr())
		sendPassword(c, "good-alice")
		ev := rec.wait(t)
		if ev.Result != ResultOK || ev.Login == nil || ev.Login.Claims.UserName != "alice" || ev.RequestID == "" || ev.Code != "" {
			t.Fatalf("event %+v", ev)
		}
		assertSilent(t, c)
		rec.release <- nil
		fe := pgproto3.NewFrontend(c, c)
		m, err := fe.Receive()
		if _, ok := m.(*pgproto3.AuthenticationOk); !ok {
			t.Fatalf("after the record: %T %v", m, err)
		}
		waitFor(t, 5*time.Second, "login logged with its request id", func() bool { return w.logged(`msg="gateway login"`, ev.RequestID) })
	})

	t.Run("refusal: recorded before the ErrorResponse", func(t *testing.T) {
		c := startLogin(t, w.gw.Addr())
		sendPassword(c, "bad")
		ev := rec.wait(t)
		if ev.Result != ResultRefused || ev.Login != nil || ev.Code != "28P01" || ev.Message != "the password is not a valid Identity Center token" {
			t.Fatalf("event %+v", ev)
		}
		assertSilent(t, c)
		rec.release <- nil
		m, err := pgproto3.NewFrontend(c, c).Receive()
		if e, ok := m.(*pgproto3.ErrorResponse); !ok || e.Code != "28P01" {
			t.Fatalf("after the record: %#v %v", m, err)
		}
		waitFor(t, 5*time.Second, "refusal logged with its request id", func() bool { return w.logged(`msg="gateway login refused"`, ev.RequestID) })
	})

	if strings.Contains(w.logs.String(), "good-alice") {
		t.Fatal("a token reached the log")
	}

	t.Run("each login has its own request id", func(t *testing.T) {
		seen := map[string]bool{}
		for i := 0; i < 3; i++ {
			c := startLogin(t, w.gw.Addr())
			sendPassword(c, "bad")
			ev := rec.wait(t)
			rec.release <- nil
			if seen[ev.RequestID] || len(ev.RequestID) != 36 {
				t.Fatalf("request id %q repeated or not a UUID", ev.RequestID)
			}
			seen[ev.RequestID] = true
		}
	})

	t.Run("a login that cannot be recorded is refused", func(t *testing.T) {
		c := startLogin(t, w.gw.Addr())
		sendPassword(c, "good-alice")
		rec.wait(t)
		rec.release <- errors.New("audit log closed")
		m, err := pgproto3.NewFrontend(c, c).Receive()
		e, ok := m.(*pgproto3.ErrorResponse)
		if !ok || e.Code != "58000" || !strings.Contains(e.Message, "could not write the audit record") {
			t.Fatalf("got %#v %v, want the 58000 refusal first", m, err)
		}
		if strings.Contains(e.Message, "audit log closed") {
			t.Fatal("internal error text sent to the client")
		}
		// The upstream session opened for it was ended.
		admin, err := pgx.Connect(context.Background(), w.pg.DSN("postgres"))
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close(context.Background())
		waitFor(t, 10*time.Second, "upstream session closed", func() bool {
			var n int
			admin.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity WHERE usename = 'AWSIDC:alice'`).Scan(&n)
			return n == 0
		})
	})
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAbandonedLogin(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var events []*LoginEvent
	w := startWorld(t, func(c *Config) {
		c.LoginTimeout = 500 * time.Millisecond
		c.OnLogin = func(_ context.Context, ev *LoginEvent) error {
			mu.Lock()
			events = append(events, ev)
			mu.Unlock()
			return nil
		}
	})
	last := func(t *testing.T) *LoginEvent {
		t.Helper()
		var ev *LoginEvent
		waitFor(t, 10*time.Second, "login event", func() bool {
			mu.Lock()
			defer mu.Unlock()
			if len(events) == 0 {
				return false
			}
			ev, events = events[0], events[1:]
			return true
		})
		return ev
	}
	cases := []struct {
		name string
		then func(t *testing.T, c net.Conn)
	}{
		{"closed at the password prompt", func(t *testing.T, c net.Conn) { c.Close() }},
		{"Terminate at the password prompt", func(t *testing.T, c net.Conn) { c.Write([]byte{'X', 0, 0, 0, 4}) }},
		{"half a password message", func(t *testing.T, c net.Conn) {
			c.Write([]byte{'p', 0, 0, 0, 40, 'x'})
			c.(*net.TCPConn).CloseWrite()
		}},
		{"silent past the login timeout", func(t *testing.T, c net.Conn) {
			start := time.Now()
			rest, err := io.ReadAll(c) // the gateway closes the connection without a word
			if err != nil || len(rest) != 0 || time.Since(start) > 5*time.Second {
				t.Fatalf("after the timeout: %q %v %v", rest, err, time.Since(start))
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			calls := w.auth.calls.Load()
			c := startLogin(t, w.gw.Addr())
			tc.then(t, c)
			ev := last(t)
			if ev.Result != ResultAbandoned || ev.Login != nil || ev.Code != "" {
				t.Fatalf("event %+v", ev)
			}
			if w.auth.calls.Load() != calls {
				t.Fatal("an abandoned login reached the authenticator")
			}
		})
	}
	if logs := w.logs.String(); strings.Contains(logs, "level=ERROR") || strings.Contains(logs, "08006") {
		t.Fatalf("abandoned logins logged as failures:\n%s", logs)
	}
	if n := strings.Count(w.logs.String(), "gateway login abandoned"); n != len(cases) {
		t.Fatalf("%d abandoned lines, want %d", n, len(cases))
	}
}

func TestShutdown(t *testing.T) {
	t.Parallel()
	w := startWorld(t, nil)
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, w.pg.DSN("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	count := func(q string) int {
		var n int
		if err := admin.QueryRow(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	s1 := w.mustConnect(t, "good-alice")
	defer s1.Close(ctx)
	s2 := w.mustConnect(t, "good-alice")
	defer s2.Close(ctx)
	if count(`SELECT count(*) FROM pg_stat_activity WHERE application_name = 'idcgate role sync'`) == 0 {
		t.Fatal("no role-sync connection to watch")
	}

	shutCtx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	started := time.Now()
	shut := make(chan error, 1)
	go func() { shut <- w.gw.Shutdown(shutCtx) }()

	waitFor(t, 5*time.Second, "listener closed", func() bool {
		c, err := net.DialTimeout("tcp", w.gw.Addr(), time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	// Open sessions keep working while the gateway drains.
	for _, s := range []*pgx.Conn{s1, s2} {
		var who string
		if err := s.QueryRow(ctx, "SELECT current_user").Scan(&who); err != nil || who != "AWSIDC:alice" {
			t.Fatalf("open session during shutdown: %q %v", who, err)
		}
	}
	// One ends on its own; the other outlives the deadline and is cut.
	s1.Close(ctx)
	select {
	case err := <-shut:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Shutdown: %v, want the deadline (a session was still open)", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Shutdown did not return after its deadline")
	}
	if took := time.Since(started); took < 2*time.Second {
		t.Fatalf("Shutdown returned after %v, before its 3s deadline, with a session open", took)
	}
	if _, err := s2.Exec(ctx, "SELECT 1"); err == nil {
		t.Fatal("session still open after the shutdown deadline")
	}
	waitFor(t, 10*time.Second, "upstream sessions and role-sync pool closed", func() bool {
		return count(`SELECT count(*) FROM pg_stat_activity WHERE usename = 'AWSIDC:alice' OR application_name = 'idcgate role sync'`) == 0
	})
	if err := w.gw.Shutdown(ctx); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
}

func TestShutdownWaitsForSessions(t *testing.T) {
	t.Parallel()
	w := startWorld(t, nil)
	ctx := context.Background()
	s := w.mustConnect(t, "good-alice")
	shut := make(chan error, 1)
	go func() { shut <- w.gw.Shutdown(ctx) }() // no deadline: waits for the session
	waitFor(t, 5*time.Second, "listener closed", func() bool {
		c, err := net.DialTimeout("tcp", w.gw.Addr(), time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	// A query that runs across the start of the shutdown completes.
	if _, err := s.Exec(ctx, "SELECT pg_sleep(0.5)"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned (%v) with a session open", err)
	default:
	}
	s.Close(ctx)
	select {
	case err := <-shut:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown did not return once the session ended")
	}
}

func TestIdleTimeoutCountsOnlyIdleTime(t *testing.T) {
	t.Parallel()
	const idle = time.Second
	w := startWorld(t, func(c *Config) { c.IdleTimeout = idle })
	ctx := context.Background()
	s := w.mustConnect(t, "good-alice")
	defer s.Close(ctx)
	// Silent for longer than the idle timeout, but busy.
	if _, err := s.Exec(ctx, "SELECT pg_sleep(2.5)"); err != nil {
		t.Fatalf("long query cut by the idle timeout: %v", err)
	}
	// A notice reaches the client, then the server works on in silence.
	if _, err := s.Exec(ctx, "DO $$ BEGIN RAISE NOTICE 'working'; PERFORM pg_sleep(2.5); END $$"); err != nil {
		t.Fatalf("query after a notice cut by the idle timeout: %v", err)
	}
	// In a transaction, between statements, the client is idle.
	if _, err := s.Exec(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	raw := s.PgConn().Conn()
	raw.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := raw.Read(make([]byte, 1))
	took := time.Since(start)
	if n != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("idle session: read %d, %v; want the gateway to close it", n, err)
	}
	if took < idle*9/10 || took > idle+3*time.Second {
		t.Fatalf("idle session closed after %v, want about %v", took, idle)
	}
	// The upstream leg is TLS (the user role logs in with a client
	// certificate): on Linux the event loop relays it too (relayConn), so
	// this is its idle handling over TLS; relay_test.go has it over plain
	// TCP, and with goroutines.
	if loop := w.gw.relayLoop(); runtime.GOOS == "linux" && (loop == nil || loop.taken() == 0) {
		t.Fatal("a session with a TLS upstream was not handed to the event loop")
	}
}

// TestIsReadyForQuery: only a whole ReadyForQuery with a valid status.
func TestIsReadyForQuery(t *testing.T) {
	for b, want := range map[string]bool{"Z\x00\x00\x00\x05I": true, "Z\x00\x00\x00\x05E": true, "Z\x00\x00\x00\x05X": false, "Z\x00\x00\x00\x06I": false, "D\x00\x00\x00\x05I": false} {
		if got := isReadyForQuery([6]byte([]byte(b))); got != want {
			t.Errorf("%q: %v", b, got)
		}
	}
}

// TestUpstreamErrorPassesThrough: an upstream refusal keeps its SQLSTATE
// and PostgreSQL's message.
func TestUpstreamErrorPassesThrough(t *testing.T) {
	t.Parallel()
	w := startWorld(t, nil)
	host, port, _ := net.SplitHostPort(w.gw.Addr())
	_, err := pgx.Connect(context.Background(), fmt.Sprintf("host=%s port=%s user=alice dbname=nosuchdb sslmode=disable password=good-alice", host, port))
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "3D000" || !strings.Contains(pe.Message, `"nosuchdb" does not exist`) {
		t.Fatalf("got %v", err)
	}
}
