package e2e

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/idcgate/idcgate/internal/authtoken"
	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/keyring"
	"github.com/idcgate/idcgate/internal/pgtest"
	"github.com/idcgate/idcgate/internal/testserver"
)

// gatewayWorld starts PostgreSQL with a table only analysts may read, and
// idcgate in front of it.
func gatewayWorld(t *testing.T, edit func(*config.Config)) (*testserver.Server, *pgtest.Server) {
	pg := pgtest.Start(t)
	gmPrepare(t, pg)
	srv := testserver.Start(t, testserver.Options{Edit: tokenWorld(func(c *config.Config) {
		c.PGUpstream = pg.TLSDSN("dev")
		c.Serverless.TransitionDelay = &config.Duration{}
		if edit != nil {
			edit(c)
		}
	})})
	srv.TrustUpstreamCA(t, pg)
	return srv, pg
}

func tokenFor(t *testing.T, srv *testserver.Server, user string, workgroups ...string) string {
	t.Helper()
	out := mustToken(t, srv, srv.IdentitySession(t, user, testserver.AnalystRoleArn), workgroups...)
	tokenUsers.Store(aws.ToString(out.Token), user)
	return aws.ToString(out.Token)
}

// tokenUsers maps the tokens tokenFor got to their users, so that a
// connection names the token's user in its startup (the gateway refuses
// another name).
var tokenUsers sync.Map

// tokenUser is the user tokenFor got token for (alice for any other).
func tokenUser(token string) string {
	if u, ok := tokenUsers.Load(token); ok {
		return u.(string)
	}
	return "alice"
}

func connectGateway(t *testing.T, srv *testserver.Server, token, extra string) (*pgx.Conn, error) {
	host, port, _ := net.SplitHostPort(srv.PGAddr())
	return pgx.Connect(context.Background(), fmt.Sprintf("host=%s port=%s user=%s dbname=dev sslmode=require password=%s %s", host, port, tokenUser(token), token, extra))
}

// gatewaySession is a gateway session for token that the test needs (a
// refused login ends the test); it is closed when the test ends, if the
// test has not closed it before.
func gatewaySession(t *testing.T, srv *testserver.Server, token string) *pgx.Conn {
	t.Helper()
	c, err := connectGateway(t, srv, token, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// aliceAtGateway is a gatewayWorld without edits, alice's token for
// demo and a gateway session of hers.
func aliceAtGateway(t *testing.T) (srv *testserver.Server, pg *pgtest.Server, tok string, c *pgx.Conn) {
	t.Helper()
	srv, pg = gatewayWorld(t, nil)
	tok = tokenFor(t, srv, "alice", "demo")
	return srv, pg, tok, gatewaySession(t, srv, tok)
}

func TestGatewayLogin(t *testing.T) {
	t.Parallel()
	srv, _, aliceTok, c := aliceAtGateway(t)
	ctx := context.Background()
	var who string
	if err := c.QueryRow(ctx, "SELECT current_user").Scan(&who); err != nil || who != "AWSIDC:alice" {
		t.Fatalf("current_user %q %v", who, err)
	}
	var total int
	if err := c.QueryRow(ctx, "SELECT sum(amount) FROM sales").Scan(&total); err != nil || total != 350 {
		t.Fatalf("analysts read sales: %d %v", total, err)
	}
	if _, err := c.Exec(ctx, "RESET ROLE"); err != nil {
		t.Fatal(err)
	}
	if err := c.QueryRow(ctx, "SELECT current_user").Scan(&who); err != nil || who != "AWSIDC:alice" {
		t.Fatalf("after RESET ROLE: %q %v", who, err)
	}
	_, err := c.Exec(ctx, "SET SESSION AUTHORIZATION postgres")
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "42501" {
		t.Fatalf("SET SESSION AUTHORIZATION to the service user: %v", err)
	}
	if _, err := c.Exec(ctx, "SET ROLE postgres"); err == nil {
		t.Fatal("SET ROLE to the service user succeeded")
	}

	bobTok := tokenFor(t, srv, "bob", "demo")
	b := gatewaySession(t, srv, bobTok)
	if err := b.QueryRow(ctx, "SELECT current_user").Scan(&who); err != nil || who != "AWSIDC:bob" {
		t.Fatalf("bob: %q %v", who, err)
	}
	_, err = b.Exec(ctx, "SELECT * FROM sales")
	if !errors.As(err, &pe) || pe.Code != "42501" {
		t.Fatalf("engineers read sales: %v", err)
	}

	t.Run("psql", func(t *testing.T) {
		out, err := gatewayPsql(t, srv, aliceTok, "-c", "SELECT current_user || ' ' || count(*) FROM sales")
		if err != nil || out != "AWSIDC:alice 2" {
			t.Fatalf("psql: %v %s", err, out)
		}
		out, err = gatewayPsql(t, srv, aliceTok, "-c", "RESET ROLE", "-c", "SELECT current_user")
		if err != nil || out != "RESET\nAWSIDC:alice" {
			t.Fatalf("psql RESET ROLE: %v %q", err, out)
		}
		out, err = gatewayPsql(t, srv, aliceTok, "-c", "SET SESSION AUTHORIZATION postgres")
		if err == nil || !strings.Contains(out, "permission denied to set session authorization") {
			t.Fatalf("psql SET SESSION AUTHORIZATION: %v %q", err, out)
		}
		out, err = gatewayPsql(t, srv, bobTok, "-c", "SELECT current_user", "-c", "SELECT count(*) FROM sales")
		if err == nil || !strings.HasPrefix(out, "AWSIDC:bob\n") || !strings.Contains(out, "permission denied for table sales") {
			t.Fatalf("psql as bob: %v %q", err, out)
		}
	})
}

// gatewayPsql runs psql through the gateway with the token as PGPASSWORD
// (stopping at the first error) and returns its trimmed output.
func gatewayPsql(t *testing.T, srv *testserver.Server, token string, args ...string) (string, error) {
	t.Helper()
	psql, err := exec.LookPath("psql")
	if err != nil {
		pgtest.Missing(t, err)
	}
	host, port, _ := net.SplitHostPort(srv.PGAddr())
	args = append([]string{"-X", "-A", "-t", "-v", "ON_ERROR_STOP=1"}, args...)
	cmd := exec.Command(psql, append(args, fmt.Sprintf("host=%s port=%s dbname=dev user=%s sslmode=require", host, port, tokenUser(token)))...)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+token)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// gatewayTLS asks the gateway for TLS on raw (SSLRequest, answered 'S')
// and starts it.
func gatewayTLS(t *testing.T, raw net.Conn) *tls.Conn {
	t.Helper()
	conn, err := startTLS(raw, "")
	if err != nil {
		t.Fatal(err)
	}
	return conn
}

// startTLS is gatewayTLS with the TLS server name sni (may be empty).
func startTLS(raw net.Conn, sni string) (*tls.Conn, error) {
	ssl, _ := (&pgproto3.SSLRequest{}).Encode(nil)
	raw.Write(ssl)
	var b [1]byte
	if _, err := io.ReadFull(raw, b[:]); err != nil || b[0] != 'S' {
		return nil, fmt.Errorf("SSLRequest answer %q %v", b, err)
	}
	return tls.Client(raw, &tls.Config{InsecureSkipVerify: true, ServerName: sni}), nil
}

func TestRedshiftDriverExchange(t *testing.T) {
	t.Parallel()
	srv, _ := gatewayWorld(t, nil)
	tok := tokenFor(t, srv, "alice", "demo")
	for _, nul := range []bool{true, false} {
		t.Run(fmt.Sprintf("trailing NUL %v", nul), func(t *testing.T) {
			conn, params, e := driverLogin(t, srv.PGAddr(), "", map[string]string{"token_type": "SUBJECT_TOKEN"}, tok, nul)
			if e != nil {
				t.Fatalf("refused: %s %s", e.Code, e.Message)
			}
			defer conn.Close()
			if _, ok := params["server_protocol_version"]; ok {
				t.Fatal("server_protocol_version sent")
			}
			if v := params["server_version"]; v == "" || strings.ContainsAny(v, " ()") {
				t.Fatalf("server_version %q is not plain", v)
			}
			if who := driverWho(t, conn); who != "AWSIDC:alice" {
				t.Fatalf("current_user %q", who)
			}
		})
	}
}

// refusal reads the ErrorResponse a refused client gets.
func refusal(t *testing.T, conn net.Conn) *pgproto3.ErrorResponse {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	fe := pgproto3.NewFrontend(conn, conn)
	for {
		m, err := fe.Receive()
		if err != nil {
			t.Fatalf("no ErrorResponse: %v", err)
		}
		if e, ok := m.(*pgproto3.ErrorResponse); ok {
			return e
		}
	}
}

func TestGatewayRefusals(t *testing.T) {
	t.Parallel()
	srv, _, aliceTok, good := aliceAtGateway(t)
	ctx := context.Background()
	// The good session queries without pause while every refusal happens.
	loopCtx, stopLoop := context.WithCancel(ctx)
	type loopResult struct {
		n   int
		err error
	}
	loopDone := make(chan loopResult, 1)
	var loops atomic.Int64
	go func() {
		for loopCtx.Err() == nil {
			var total int
			if err := good.QueryRow(ctx, "SELECT sum(amount) FROM sales").Scan(&total); err != nil || total != 350 {
				loopDone <- loopResult{int(loops.Load()), fmt.Errorf("good session: %d %v", total, err)}
				return
			}
			loops.Add(1)
		}
		loopDone <- loopResult{int(loops.Load()), nil}
	}()
	eventually(t, 10*time.Second, "the good session's loop runs", func() (bool, error) { return loops.Load() > 0, nil })

	twoTok := tokenFor(t, srv, "alice", "wg-two")
	multi := tokenFor(t, srv, "alice", "demo", "wg-two")
	// An expired token, sealed with demo's real key.
	wg, _ := srv.Instance.Issuer.Serverless.GetWorkgroup(ctx, scope, "demo")
	v, key, _ := srv.Instance.Keys.Current(ctx, keyring.ID{Account: scope.Account, Region: scope.Region, WorkgroupID: wg.WorkgroupId})
	past := time.Now().Add(-time.Hour).Truncate(time.Second)
	expired, err := authtoken.Seal(authtoken.Claims{Account: scope.Account, Region: scope.Region, UserName: "alice", TokenID: "old",
		Workgroups: []authtoken.Workgroup{{Arn: wg.WorkgroupArn, Name: "demo", IdentityNamespace: "AWSIDC"}},
		IssuedAt:   past.Add(-time.Hour), Expires: past}, []authtoken.WorkgroupKey{{WorkgroupID: wg.WorkgroupId, Version: v, Key: key}}, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("wrong token", func(t *testing.T) {
		_, err := connectGateway(t, srv, "not-a-token", "")
		wantPgError(t, err, "28P01", "not a valid Identity Center token")
	})
	t.Run("tampered token", func(t *testing.T) {
		b := []byte(aliceTok)
		b[len(b)-5] ^= 1
		_, err := connectGateway(t, srv, string(b), "")
		wantPgError(t, err, "28P01", "not a valid Identity Center token")
	})
	t.Run("expired token", func(t *testing.T) {
		_, err := connectGateway(t, srv, expired, "")
		wantPgError(t, err, "28P01", "expired")
	})
	t.Run("token of another workgroup by SNI", func(t *testing.T) {
		_, err := connectAs(t, srv, "alice", twoTok, "dev", "demo.123456789012.us-east-1.redshift-serverless.amazonaws.com")
		wantPgError(t, err, "28P01", "not valid for this workgroup")
	})
	t.Run("several workgroups need a choice", func(t *testing.T) {
		_, err := connectGateway(t, srv, multi, "")
		wantPgError(t, err, "28000", "choose one")
		c, err := connectGateway(t, srv, multi, "options='-c workgroup=wg-two'")
		if err != nil {
			t.Fatalf("with the option: %v", err)
		}
		c.Close(ctx)
	})
	t.Run("plaintext refused", func(t *testing.T) {
		host, port, _ := net.SplitHostPort(srv.PGAddr())
		_, err := pgx.Connect(ctx, fmt.Sprintf("host=%s port=%s user=alice dbname=dev sslmode=disable password=%s", host, port, aliceTok))
		wantPgError(t, err, "28000", "only over TLS")
	})
	// First bytes no PostgreSQL client sends are refused 08P01.
	for _, tc := range []struct {
		name string
		sent []byte
		msg  string
	}{
		{"not a PostgreSQL client", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
			"this is idcgate's PostgreSQL gateway, and the client spoke HTTP: send AWS API calls to the API address (--listen), and PostgreSQL clients here"},
		{"garbage startup packet", []byte{0, 0, 0, 12, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4},
			"invalid startup packet: request code 3735928559 is not PostgreSQL protocol 3.0, SSLRequest, GSSENCRequest or CancelRequest"},
		{"startup packet of impossible length", []byte{0x7f, 0, 0, 0, 0, 3, 0, 0},
			"invalid startup packet: length 2130706432 is not between 8 and 10000: is this a PostgreSQL client?"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := net.Dial("tcp", srv.PGAddr())
			defer c.Close()
			c.Write(tc.sent)
			if e := refusal(t, c); e.Code != "08P01" || e.Message != tc.msg {
				t.Fatalf("%s %s", e.Code, e.Message)
			}
		})
	}
	t.Run("oversize message", func(t *testing.T) {
		c, _ := net.Dial("tcp", srv.PGAddr())
		defer c.Close()
		tc := gatewayTLS(t, c)
		st, _ := (&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30, Parameters: map[string]string{"user": "x", "database": "dev"}}).Encode(nil)
		tc.Write(st)
		io.ReadFull(tc, make([]byte, 9)) // AuthenticationCleartextPassword
		tc.Write([]byte{'p', 0x10, 0, 0, 0})
		e := refusal(t, tc)
		if e.Code != "08P01" || e.Message != "message of 268435456 bytes during authentication is over idcgate's limit of 65536 bytes" {
			t.Fatalf("%s %s", e.Code, e.Message)
		}
	})
	// The good session was never disturbed: its loop saw no error.
	before := loops.Load()
	eventually(t, 10*time.Second, "the good session's loop goes on", func() (bool, error) { return loops.Load() > before, nil })
	stopLoop()
	res := <-loopDone
	if res.err != nil {
		t.Fatalf("after %d queries: %v", res.n, res.err)
	}
	var who string
	if err := good.QueryRow(ctx, "SELECT current_user").Scan(&who); err != nil || who != "AWSIDC:alice" {
		t.Fatalf("good session after refusals: %q %v", who, err)
	}
	t.Logf("the good session ran %d queries during the refusals", res.n)
}

func TestGatewayCancelTimeoutsAndLimit(t *testing.T) {
	t.Parallel()
	srv, pg := gatewayWorld(t, func(c *config.Config) {
		c.Gateway.LoginTimeout = &config.Duration{Duration: 3 * time.Second}
		c.Gateway.IdleTimeout = &config.Duration{Duration: 2 * time.Second}
		c.Gateway.MaxConnsPerWorkgroup = 2
	})
	ctx := context.Background()
	tok := tokenFor(t, srv, "alice", "demo")

	t.Run("cancel request reaches the upstream backend", func(t *testing.T) {
		c := gatewaySession(t, srv, tok)
		errc := make(chan error, 1)
		go func() {
			_, err := c.Exec(ctx, "SELECT pg_sleep(30)")
			errc <- err
		}()
		admin, err := pgx.Connect(ctx, pg.DSN("dev"))
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close(ctx)
		eventuallyCount(t, 10*time.Second, admin, "query running upstream", 1, `SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query = 'SELECT pg_sleep(30)'`)
		if err := c.PgConn().CancelRequest(ctx); err != nil {
			t.Fatal(err)
		}
		wantPgError(t, receiveWithin(t, errc, 10*time.Second, "cancel did not reach the backend"), "57014", "")
	})
	t.Run("connection limit per workgroup", func(t *testing.T) {
		gatewaySession(t, srv, tok) // held to the end, as b is not
		b := gatewaySession(t, srv, tok)
		_, err := connectGateway(t, srv, tok, "")
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "53300" {
			t.Fatalf("third connection: %v", err)
		}
		b.Close(ctx)
		deadline := time.Now().Add(5 * time.Second)
		for {
			c, err := connectGateway(t, srv, tok, "")
			if err == nil {
				c.Close(ctx)
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("slot not released: %v", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
	t.Run("login timeout", func(t *testing.T) {
		c, _ := net.Dial("tcp", srv.PGAddr())
		defer c.Close()
		start := time.Now()
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err := io.ReadAll(c)
		if err != nil || time.Since(start) > 8*time.Second {
			t.Fatalf("silent client kept for %s (%v)", time.Since(start), err)
		}
	})
	t.Run("idle timeout", func(t *testing.T) {
		c := gatewaySession(t, srv, tok)
		// Busy is not idle: a query silent for longer than the timeout completes.
		if _, err := c.Exec(ctx, "SELECT pg_sleep(3)"); err != nil {
			t.Fatalf("query longer than the idle timeout: %v", err)
		}
		// Idle: the gateway closes the session about 2s after the last answer.
		start := time.Now()
		raw := c.PgConn().Conn()
		raw.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := raw.Read(make([]byte, 1))
		if took := time.Since(start); n != 0 || !errors.Is(err, io.EOF) || took < 1800*time.Millisecond || took > 5*time.Second {
			t.Fatalf("idle session: read %d, %v after %v; want EOF after about 2s", n, err, took)
		}
	})
}
