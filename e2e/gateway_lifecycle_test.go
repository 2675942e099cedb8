package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/idcgate/idcgate/internal/audit"
	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/gateway"
	"github.com/idcgate/idcgate/internal/pgtest"
	"github.com/idcgate/idcgate/internal/testserver"
)

// gmPrepare gives a PostgreSQL server the example's database, group roles
// and table (as gatewayWorld does).
func gmPrepare(t *testing.T, pg *pgtest.Server) {
	t.Helper()
	pg.CreateDatabase(t, "dev")
	pg.Exec(t, "dev",
		`CREATE ROLE "AWSIDC:analysts" NOLOGIN`,
		`CREATE ROLE "AWSIDC:engineers" NOLOGIN`,
		`CREATE TABLE sales(id int, amount int)`,
		`INSERT INTO sales VALUES (1, 100), (2, 250)`,
		`GRANT SELECT ON sales TO "AWSIDC:analysts"`)
}

// gmStart starts idcgate in front of pg (dataDir "" for a new one).
func gmStart(t *testing.T, pg *pgtest.Server, dataDir string, edit func(*config.Config)) *testserver.Server {
	t.Helper()
	srv := testserver.Start(t, testserver.Options{DataDir: dataDir, Edit: tokenWorld(func(c *config.Config) {
		c.PGUpstream = pg.TLSDSN("dev")
		c.Serverless.TransitionDelay = &config.Duration{}
		if edit != nil {
			edit(c)
		}
	})})
	srv.TrustUpstreamCA(t, pg)
	return srv
}

// gmAdmin is a superuser connection to pg's dev database.
func gmAdmin(t *testing.T, pg *pgtest.Server) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(context.Background(), pg.DSN("dev"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func gmScan[T any](t *testing.T, c *pgx.Conn, q string, args ...any) T {
	t.Helper()
	var v T
	if err := c.QueryRow(context.Background(), q, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return v
}

// eventuallyCount waits until query, a count on c, answers want (a failed
// query ends the test).
func eventuallyCount(t *testing.T, timeout time.Duration, c *pgx.Conn, what string, want int, query string) {
	t.Helper()
	eventually(t, timeout, what, func() (bool, error) {
		var n int
		err := c.QueryRow(context.Background(), query).Scan(&n)
		return n == want, err
	})
}

// TestGatewayGSSENCThenLogin: like PostgreSQL without GSSAPI, the gateway
// answers a GSSENCRequest 'N' and the client goes on, on the same
// connection, with SSLRequest and a normal login.
func TestGatewayGSSENCThenLogin(t *testing.T) {
	t.Parallel()
	srv, _ := gatewayWorld(t, nil)
	tok := tokenFor(t, srv, "alice", "demo")
	raw, err := net.Dial("tcp", srv.PGAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(20 * time.Second))
	gss := []byte{0, 0, 0, 8, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(gss[4:], 80877104)
	raw.Write(gss)
	var b [1]byte
	if _, err := io.ReadFull(raw, b[:]); err != nil || b[0] != 'N' {
		t.Fatalf("GSSENCRequest answer %q %v", b, err)
	}
	conn := gatewayTLS(t, raw)
	fe := pgproto3.NewFrontend(conn, conn)
	fe.Send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30, Parameters: map[string]string{"user": "alice", "database": "dev"}})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	if m, err := fe.Receive(); err != nil {
		t.Fatal(err)
	} else if _, ok := m.(*pgproto3.AuthenticationCleartextPassword); !ok {
		t.Fatalf("%T, want AuthenticationCleartextPassword", m)
	}
	fe.Send(&pgproto3.PasswordMessage{Password: tok})
	fe.Flush()
	gmUntilReady(t, fe, nil)
	fe.Send(&pgproto3.Query{String: "SELECT current_user"})
	fe.Flush()
	var who string
	gmUntilReady(t, fe, func(d *pgproto3.DataRow) { who = string(d.Values[0]) })
	if who != "AWSIDC:alice" {
		t.Fatalf("current_user %q", who)
	}
}

// gmUntilReady reads messages until ReadyForQuery, failing on an error.
func gmUntilReady(t *testing.T, fe *pgproto3.Frontend, row func(*pgproto3.DataRow)) {
	t.Helper()
	gmUntilReadyEach(t, fe, func(m pgproto3.BackendMessage) {
		if d, ok := m.(*pgproto3.DataRow); ok && row != nil {
			row(d)
		}
	})
}

// gmUntilReadyEach hands each message before ReadyForQuery to each,
// failing on an error.
func gmUntilReadyEach(t *testing.T, fe *pgproto3.Frontend, each func(pgproto3.BackendMessage)) {
	t.Helper()
	for {
		m, err := fe.Receive()
		if err != nil {
			t.Fatal(err)
		}
		switch m := m.(type) {
		case *pgproto3.ErrorResponse:
			t.Fatalf("%s %s", m.Code, m.Message)
		case *pgproto3.ReadyForQuery:
			return
		}
		each(m)
	}
}

// TestGatewayUpstreamPerWorkgroupAndSNI: wg-two has its own upstream, and
// with a token for two workgroups the TLS server name picks one.
func TestGatewayUpstreamPerWorkgroupAndSNI(t *testing.T) {
	t.Parallel()
	pg1, pg2 := pgtest.Start(t), pgtest.Start(t)
	gmPrepare(t, pg1)
	gmPrepare(t, pg2)
	srv := gmStart(t, pg1, "", func(c *config.Config) {
		for i := range c.Accounts[0].Workgroups {
			if c.Accounts[0].Workgroups[i].Name == "wg-two" {
				c.Accounts[0].Workgroups[i].Upstream = pg2.TLSDSN("dev")
			}
		}
	})
	srv.TrustUpstreamCA(t, pg2)
	ctx := context.Background()
	admin1, admin2 := gmAdmin(t, pg1), gmAdmin(t, pg2)
	roleOn := func(admin *pgx.Conn) bool {
		return gmScan[bool](t, admin, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'AWSIDC:alice')`)
	}
	landsOn := func(c *pgx.Conn, want *pgtest.Server) {
		t.Helper()
		defer c.Close(ctx)
		if port := gmScan[int](t, c, "SELECT inet_server_port()"); port != want.Port {
			t.Fatalf("session on the PostgreSQL at port %d, want %d", port, want.Port)
		}
		if who := gmScan[string](t, c, "SELECT current_user"); who != "AWSIDC:alice" {
			t.Fatalf("current_user %q", who)
		}
	}

	t.Run("the workgroup's own upstream", func(t *testing.T) {
		c := gatewaySession(t, srv, tokenFor(t, srv, "alice", "wg-two"))
		landsOn(c, pg2)
		if !roleOn(admin2) || roleOn(admin1) {
			t.Fatalf("role on wg-two's upstream %v, on the default %v", roleOn(admin2), roleOn(admin1))
		}
	})
	t.Run("the default upstream", func(t *testing.T) {
		c := gatewaySession(t, srv, tokenFor(t, srv, "alice", "demo"))
		landsOn(c, pg1)
	})
	multi := tokenFor(t, srv, "alice", "demo", "wg-two")
	for _, tc := range []struct {
		sni  string
		want *pgtest.Server
	}{
		{"demo.gateway.example.test", pg1},
		{"wg-two.123456789012.us-east-1.redshift-serverless.amazonaws.com", pg2},
		{"demo.123456789012.us-east-1.redshift-serverless.amazonaws.com", pg1},
	} {
		t.Run("SNI "+tc.sni, func(t *testing.T) {
			c, err := connectAs(t, srv, "alice", multi, "dev", tc.sni)
			if err != nil {
				t.Fatal(err)
			}
			landsOn(c, tc.want)
		})
	}
	t.Run("SNI naming no workgroup falls back to the choice rule", func(t *testing.T) {
		_, err := connectAs(t, srv, "alice", multi, "dev", "nosuch.gateway.example.test")
		wantPgError(t, err, "28000", "choose one")
	})
}

// TestGatewayRoleCollisions: user roles and group roles share the
// "AWSIDC:" prefix, and neither may stand for the other.
func TestGatewayRoleCollisions(t *testing.T) {
	t.Parallel()
	pg := pgtest.Start(t)
	gmPrepare(t, pg)
	pg.Exec(t, "dev", `CREATE ROLE "AWSIDC:dave" LOGIN PASSWORD 'dave-made-by-the-dba'`)
	srv := gmStart(t, pg, "", func(c *config.Config) {
		ic := c.IdentityCenter
		ic.Users = append(ic.Users,
			config.DirectoryUser{UserName: "analysts", DisplayName: "A user named like a group", Emails: []string{"analysts@example.com"}},
			config.DirectoryUser{UserName: "dave", DisplayName: "Dave", Emails: []string{"dave@example.com"}})
		ic.Applications[0].Assignments.Users = append(ic.Applications[0].Assignments.Users, "analysts", "dave")
		// alice is also in a group named like the user bob.
		ic.Groups = append(ic.Groups, config.DirectoryGroup{Name: "bob", Members: []string{"alice"}})
	})
	ctx := context.Background()
	admin := gmAdmin(t, pg)
	member := func(user, group string) bool {
		return gmScan[bool](t, admin, `SELECT EXISTS (SELECT 1 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
			JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = $1 AND g.rolname = $2)`, user, group)
	}
	type roleState struct {
		CanLogin bool
		Password *string
		Comment  *string
	}
	state := func(role string) roleState {
		var s roleState
		if err := admin.QueryRow(ctx, `SELECT rolcanlogin, rolpassword, shobj_description(oid, 'pg_authid') FROM pg_authid WHERE rolname = $1`, role).
			Scan(&s.CanLogin, &s.Password, &s.Comment); err != nil {
			t.Fatalf("role %s: %v", role, err)
		}
		return s
	}

	// bob's user role: created by the gateway, LOGIN, marked as ours.
	b := gatewaySession(t, srv, tokenFor(t, srv, "bob", "demo"))
	b.Close(ctx)
	bob := state("AWSIDC:bob")
	if !bob.CanLogin || bob.Comment == nil || !strings.HasPrefix(*bob.Comment, gateway.UserRoleMarker) {
		t.Fatalf("bob's role %+v", bob)
	}

	t.Run("a group named like a user grants nothing", func(t *testing.T) {
		c := gatewaySession(t, srv, tokenFor(t, srv, "alice", "demo"))
		if member("AWSIDC:alice", "AWSIDC:bob") {
			t.Fatal(`alice's group "bob" made her a member of bob's user role`)
		}
		if !member("AWSIDC:alice", "AWSIDC:analysts") {
			t.Fatal("alice lost her real group")
		}
		if n := gmScan[int](t, c, "SELECT count(*) FROM sales"); n != 2 {
			t.Fatalf("alice reads %d rows", n)
		}
	})

	t.Run("a user named like a group is refused", func(t *testing.T) {
		before := state("AWSIDC:analysts")
		_, err := connectGateway(t, srv, tokenFor(t, srv, "analysts", "demo"), "")
		wantPgError(t, err, "28000", `the upstream role "AWSIDC:analysts" is a NOLOGIN (group) role, not an idcgate user role, so idcgate will not log in as it`)
		after := state("AWSIDC:analysts")
		if after.CanLogin || after.Password != nil || after.Comment != nil || before.CanLogin {
			t.Fatalf("group role altered: before %+v, after %+v", before, after)
		}
		if !member("AWSIDC:alice", "AWSIDC:analysts") {
			t.Fatal("the group lost its members")
		}
	})

	t.Run("a role made by someone else is refused", func(t *testing.T) {
		before := state("AWSIDC:dave")
		_, err := connectGateway(t, srv, tokenFor(t, srv, "dave", "demo"), "")
		wantPgError(t, err, "28000", `the upstream role "AWSIDC:dave" was not created by idcgate for an Identity Center user`)
		after := state("AWSIDC:dave")
		if before.Password == nil || after.Password == nil || *after.Password != *before.Password || after.Comment != nil {
			t.Fatalf("dave's role altered: before %+v, after %+v", before, after)
		}
	})

	t.Run("the refusal is audited with its SQLSTATE", func(t *testing.T) {
		recs := auditRecords(t, srv.DataDir)
		found := false
		for _, r := range recs {
			if r.EventName == "Login" && r.UserIdentity.UserName == "dave" {
				found = r.ErrorCode == "28000" && strings.Contains(r.ErrorMessage, "was not created by idcgate") && r.RequestID != ""
			}
		}
		if !found {
			t.Fatal("dave's refused login not audited with errorCode 28000")
		}
	})
}

// TestGatewayGroupChangeRevokes: when a user's groups change (here: the
// directory in the config, across a restart), the next login revokes the
// memberships the user no longer has and leaves other grants alone.
func TestGatewayGroupChangeRevokes(t *testing.T) {
	t.Parallel()
	pg := pgtest.Start(t)
	gmPrepare(t, pg)
	pg.Exec(t, "dev", `CREATE ROLE reporting NOLOGIN`)
	ctx := context.Background()
	admin := gmAdmin(t, pg)
	groupsOf := func() string {
		return gmScan[string](t, admin, `SELECT coalesce(string_agg(g.rolname, ',' ORDER BY g.rolname), '') FROM pg_auth_members m
			JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
			WHERE u.rolname = 'AWSIDC:alice' AND g.rolname <> 'idcgate_users'`) // every user role's, for pg_hba.conf
	}

	srv := gmStart(t, pg, "", nil)
	dataDir := srv.DataDir
	c := gatewaySession(t, srv, tokenFor(t, srv, "alice", "demo"))
	c.Close(ctx)
	// A grant made by the database's own administrator, not a group.
	pg.Exec(t, "dev", `GRANT reporting TO "AWSIDC:alice"`)
	if got := groupsOf(); got != "AWSIDC:analysts,reporting" {
		t.Fatalf("memberships %q", got)
	}
	srv.Stop()

	srv = gmStart(t, pg, dataDir, func(c *config.Config) {
		for i := range c.IdentityCenter.Groups {
			g := &c.IdentityCenter.Groups[i]
			switch g.Name {
			case "analysts":
				g.Members = nil
			case "engineers":
				g.Members = append(g.Members, "alice")
			}
		}
	})
	c = gatewaySession(t, srv, tokenFor(t, srv, "alice", "demo"))
	if got := groupsOf(); got != "AWSIDC:engineers,reporting" {
		t.Fatalf("memberships after the directory change %q, want analysts revoked, engineers granted, reporting kept", got)
	}
	_, err := c.Exec(ctx, "SELECT * FROM sales")
	wantPgError(t, err, "42501", "permission denied for table sales")
}

// TestGatewayConfiguredCertificate: pgTlsCert/pgTlsKey are what the gateway
// serves, and a client verifies them against their CA.
func TestGatewayConfiguredCertificate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	caFile, certFile, keyFile := gmWriteCA(t, dir, "ours")
	otherCA, _, _ := gmWriteCA(t, filepath.Join(dir, "other"), "other")
	srv, _ := gatewayWorld(t, func(c *config.Config) { c.PGTLSCert, c.PGTLSKey = certFile, keyFile })
	tok := tokenFor(t, srv, "alice", "demo")
	host, port, _ := net.SplitHostPort(srv.PGAddr())
	connect := func(ca string) (*pgx.Conn, error) {
		return pgx.Connect(context.Background(), fmt.Sprintf("host=%s port=%s user=alice dbname=dev sslmode=verify-full sslrootcert=%s password=%s", host, port, ca, tok))
	}
	c, err := connect(caFile)
	if err != nil {
		t.Fatalf("verify-full against the configured CA: %v", err)
	}
	defer c.Close(context.Background())
	if who := gmScan[string](t, c, "SELECT current_user"); who != "AWSIDC:alice" {
		t.Fatalf("current_user %q", who)
	}
	_, err = connect(otherCA)
	var uerr x509.UnknownAuthorityError
	if !errors.As(err, &uerr) {
		t.Fatalf("against another CA: %v, want an unknown-authority error", err)
	}
	if _, err := os.Stat(filepath.Join(srv.DataDir, "gateway-tls.crt")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a certificate was generated although one is configured: %v", err)
	}
}

// gmWriteCA writes a CA and a server certificate for 127.0.0.1/localhost
// signed by it; it returns the CA, certificate and key file names.
func gmWriteCA(t *testing.T, dir, name string) (caFile, certFile, keyFile string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name + " test CA"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "gateway"}, DNSNames: []string{"localhost"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalPKCS8PrivateKey(key)
	caFile, certFile, keyFile = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key")
	for f, b := range map[string]*pem.Block{caFile: {Type: "CERTIFICATE", Bytes: caDER}, certFile: {Type: "CERTIFICATE", Bytes: der}, keyFile: {Type: "PRIVATE KEY", Bytes: kb}} {
		if err := os.WriteFile(f, pem.EncodeToMemory(b), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return caFile, certFile, keyFile
}

// TestGatewayCancelOneOfTwo: a cancel request reaches only the session it
// names; the other session's query runs to completion.
func TestGatewayCancelOneOfTwo(t *testing.T) {
	t.Parallel()
	srv, pg, tok, a := aliceAtGateway(t)
	ctx := context.Background()
	b := gatewaySession(t, srv, tok)
	errA, errB := make(chan error, 1), make(chan error, 1)
	go func() { _, err := a.Exec(ctx, "SELECT pg_sleep(30), 'a'"); errA <- err }()
	go func() { _, err := b.Exec(ctx, "SELECT pg_sleep(3), 'b'"); errB <- err }()
	admin := gmAdmin(t, pg)
	eventuallyCount(t, 10*time.Second, admin, "both queries running upstream", 2, `SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE 'SELECT pg_sleep(%'`)
	if err := a.PgConn().CancelRequest(ctx); err != nil {
		t.Fatal(err)
	}
	wantPgError(t, receiveWithin(t, errA, 10*time.Second, "the cancel did not reach a's backend"), "57014", "canceling statement due to user request")
	if n := gmScan[int](t, admin, `SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query = 'SELECT pg_sleep(3), ''b'''`); n != 1 {
		select {
		case err := <-errB:
			t.Fatalf("b's query ended early: %v", err)
		default:
			t.Fatalf("b's query not running after a's cancel (%d)", n)
		}
	}
	if err := receiveWithin(t, errB, 15*time.Second, "b's query did not finish"); err != nil {
		t.Fatalf("b's query: %v", err)
	}
}

// TestGatewayLoginAuditedBeforeAuthenticationOk: the audit record of a
// login is in the trail by the time the client is in; every login has its
// own request id; a login that cannot be audited is refused.
func TestGatewayLoginAuditedBeforeAuthenticationOk(t *testing.T) {
	t.Parallel()
	srv, _ := gatewayWorld(t, nil)
	ctx := context.Background()
	tok := tokenFor(t, srv, "alice", "demo")
	logins := func() []audit.Record {
		recs := auditRecords(t, srv.DataDir)
		var out []audit.Record
		for _, r := range recs {
			if r.EventSource == "gateway.idcgate" {
				out = append(out, r)
			}
		}
		return out
	}
	ids := map[string]bool{}
	for i := 1; i <= 2; i++ {
		c := gatewaySession(t, srv, tok)
		recs := logins() // read at once: no waiting
		c.Close(ctx)
		if len(recs) != i {
			t.Fatalf("%d login records once login %d is in, want %d", len(recs), i, i)
		}
		r := recs[i-1]
		if r.ErrorCode != "" || r.UserIdentity.UserName != "alice" || len(r.RequestID) != 36 || ids[r.RequestID] {
			t.Fatalf("record %+v (request id repeated or not a UUID?)", r)
		}
		ids[r.RequestID] = true
	}
	_, err := connectGateway(t, srv, "not-a-token", "")
	wantPgError(t, err, "28P01", "not a valid Identity Center token")
	recs := logins()
	if r := recs[len(recs)-1]; len(recs) != 3 || r.ErrorCode != "28P01" || r.ErrorMessage != "the password is not a valid Identity Center token" || ids[r.RequestID] || r.RequestID == "" {
		t.Fatalf("refused login record %+v", r)
	}

	// Without a working audit trail, no login.
	srv.Instance.Audit.Close()
	_, err = connectGateway(t, srv, tok, "")
	wantPgError(t, err, "58000", "could not write the audit record of this login")
	if n := len(logins()); n != 3 {
		t.Fatalf("%d records after the audit log closed", n)
	}
	body := metricsText(t, srv.URL)
	if !strings.Contains(body, `idcgate_gateway_logins_total{result="ok"} 2`) || !strings.Contains(body, `idcgate_gateway_logins_total{result="refused"} 2`) {
		t.Fatalf("login metrics:\n%s", grepLines(body, "gateway_logins"))
	}
}

// TestGatewayAbandonedLogin: psql's first probe without a password leaves
// at the password prompt. That is counted as abandoned, not refused, and
// not audited (nothing was authenticated; CloudTrail records no such
// connection either).
func TestGatewayAbandonedLogin(t *testing.T) {
	t.Parallel()
	psql, err := exec.LookPath("psql")
	if err != nil {
		pgtest.Missing(t, err)
	}
	srv, _ := gatewayWorld(t, nil)
	before := auditRecords(t, srv.DataDir)
	host, port, _ := net.SplitHostPort(srv.PGAddr())
	cmd := exec.Command(psql, "-X", "-w", "-c", "SELECT 1", fmt.Sprintf("host=%s port=%s dbname=dev user=alice sslmode=require", host, port))
	cmd.Env = append(os.Environ(), "PGPASSWORD=", "PGPASSFILE=/nonexistent")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "no password supplied") {
		t.Fatalf("psql without a password: %v %s", err, out)
	}
	eventually(t, 10*time.Second, "abandoned login counted", func() (bool, error) {
		return strings.Contains(metricsText(t, srv.URL), `idcgate_gateway_logins_total{result="abandoned"} 1`), nil
	})
	body := metricsText(t, srv.URL)
	if strings.Contains(body, `idcgate_gateway_logins_total{result="refused"}`) {
		t.Fatalf("abandoned login counted as refused:\n%s", grepLines(body, "gateway_logins"))
	}
	after := auditRecords(t, srv.DataDir)
	for _, r := range after[len(before):] {
		if r.EventSource == "gateway.idcgate" {
			t.Fatalf("abandoned login audited: %+v", r)
		}
	}
}

// TestGatewayGracefulShutdown: when idcgate shuts down, the gateway stops
// accepting at once, an open session keeps working until it ends, and the
// role-sync pool is closed.
func TestGatewayGracefulShutdown(t *testing.T) {
	t.Parallel()
	srv, pg := gatewayWorld(t, nil)
	ctx := context.Background()
	c := gatewaySession(t, srv, tokenFor(t, srv, "alice", "demo"))
	admin := gmAdmin(t, pg)
	if n := gmScan[int](t, admin, `SELECT count(*) FROM pg_stat_activity WHERE application_name = 'idcgate role sync'`); n == 0 {
		t.Fatal("no role-sync connection to watch")
	}
	addr := srv.PGAddr()
	stopped := make(chan struct{})
	go func() { srv.Stop(); close(stopped) }()
	eventually(t, 5*time.Second, "gateway stops accepting", func() (bool, error) {
		d, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			d.Close()
		}
		return err != nil, nil
	})
	for i := 0; i < 20; i++ {
		if n := gmScan[int](t, c, "SELECT sum(amount) FROM sales"); n != 350 {
			t.Fatalf("open session during shutdown: %d", n)
		}
	}
	select {
	case <-stopped:
		t.Fatal("shutdown finished with a session open, before its grace period")
	default:
	}
	start := time.Now()
	c.Close(ctx)
	receiveWithin(t, stopped, 8*time.Second, "shutdown did not finish once the last session ended")
	t.Logf("shutdown finished %v after the last session ended", time.Since(start))
	eventually(t, 5*time.Second, "no gateway connection left upstream", func() (bool, error) {
		n := gmScan[int](t, admin, `SELECT count(*) FROM pg_stat_activity WHERE application_name = 'idcgate role sync' OR usename = 'AWSIDC:alice'`)
		return n == 0, nil
	})
}

// TestGatewayNegotiatesProtocolVersion: a client that asks for a newer
// minor protocol version (pgx and libpq 18 with max_protocol_version=latest
// ask for 3.2) is answered as PostgreSQL answers when it does not speak
// it: NegotiateProtocolVersion with the newest minor the gateway speaks
// (0) and the _pq_. options it does not know, then the login goes on in
// 3.0. A major version other than 3 is still refused.
func TestGatewayNegotiatesProtocolVersion(t *testing.T) {
	t.Parallel()
	srv, _ := gatewayWorld(t, nil)
	ctx := context.Background()
	tok := tokenFor(t, srv, "alice", "demo")

	c, err := connectGateway(t, srv, tok, "max_protocol_version=latest")
	if err != nil {
		t.Fatalf("pgx asking for protocol 3.2: %v", err)
	}
	if who := gmScan[string](t, c, "SELECT current_user"); who != "AWSIDC:alice" {
		t.Fatalf("current_user %q", who)
	}
	c.Close(ctx)

	for _, minor := range []uint32{2, 7} {
		fe, conn := gmStartTLS(t, srv)
		fe.Send(&pgproto3.StartupMessage{ProtocolVersion: 3<<16 | minor, Parameters: map[string]string{
			"user": "alice", "database": "dev", "_pq_.test_option": "on", "application_name": "negotiate"}})
		if err := fe.Flush(); err != nil {
			t.Fatal(err)
		}
		m, err := fe.Receive()
		if err != nil {
			t.Fatal(err)
		}
		npv, ok := m.(*pgproto3.NegotiateProtocolVersion)
		if !ok || npv.NewestMinorProtocol != 0 || len(npv.UnrecognizedOptions) != 1 || npv.UnrecognizedOptions[0] != "_pq_.test_option" {
			t.Fatalf("3.%d: first answer %T %+v, want NegotiateProtocolVersion{0, [_pq_.test_option]}", minor, m, m)
		}
		if m, err := fe.Receive(); err != nil {
			t.Fatal(err)
		} else if _, ok := m.(*pgproto3.AuthenticationCleartextPassword); !ok {
			t.Fatalf("3.%d: %T, want AuthenticationCleartextPassword", minor, m)
		}
		fe.Send(&pgproto3.PasswordMessage{Password: tok})
		fe.Flush()
		var key []byte
		gmUntilReadyEach(t, fe, func(m pgproto3.BackendMessage) {
			if k, ok := m.(*pgproto3.BackendKeyData); ok {
				key = k.SecretKey
			}
		})
		if len(key) != 4 {
			t.Fatalf("3.%d: cancel key of %d bytes, want 3.0's 4", minor, len(key))
		}
		fe.Send(&pgproto3.Query{String: "SELECT current_setting('application_name')"})
		fe.Flush()
		var app string
		gmUntilReady(t, fe, func(d *pgproto3.DataRow) { app = string(d.Values[0]) })
		if app != "negotiate" {
			t.Fatalf("3.%d: application_name %q upstream", minor, app)
		}
		conn.Close()
	}

	fe, conn := gmStartTLS(t, srv)
	defer conn.Close()
	fe.Send(&pgproto3.StartupMessage{ProtocolVersion: 4 << 16, Parameters: map[string]string{"user": "alice"}})
	fe.Flush()
	if m, err := fe.Receive(); err != nil {
		t.Fatal(err)
	} else if e, ok := m.(*pgproto3.ErrorResponse); !ok || e.Code != "08P01" || !strings.Contains(e.Message, "unsupported frontend protocol 4.0") {
		t.Fatalf("protocol 4.0: %T %+v", m, m)
	}
}

// gmStartTLS opens a gateway connection and negotiates TLS on it.
func gmStartTLS(t *testing.T, srv *testserver.Server) (*pgproto3.Frontend, net.Conn) {
	t.Helper()
	raw, err := net.Dial("tcp", srv.PGAddr())
	if err != nil {
		t.Fatal(err)
	}
	raw.SetDeadline(time.Now().Add(20 * time.Second))
	conn := gatewayTLS(t, raw)
	return pgproto3.NewFrontend(conn, conn), conn
}
