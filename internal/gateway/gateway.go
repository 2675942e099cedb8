// Package gateway is idcgate's PostgreSQL-protocol data plane, what Redshift
// is in AWS: a client logs in with a GetIdentityCenterAuthToken token as its
// password (or through the Redshift drivers' Identity Center exchange), and
// its session runs on the workgroup's real PostgreSQL as the role
// "<IdentityNamespace>:<userName>", with the user's groups as role
// memberships. After login the gateway relays bytes both ways without
// parsing messages.
package gateway

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/idcgate/idcgate/internal/authtoken"
)

// SQLSTATEs the gateway answers with.
const (
	codeInvalidAuthorization = "28000"
	codeInvalidPassword      = "28P01"
	codeProtocolViolation    = "08P01"
	codeTooManyConnections   = "53300"
	codeCannotConnect        = "08006"
)

// MaxMessage bounds any message read before authentication.
const MaxMessage = 64 << 10

// Login is what an opened token yields: where to connect and as whom.
type Login struct {
	Workgroup   string
	WorkgroupID string
	Account     string
	Claims      authtoken.Claims
	// Upstream is the PostgreSQL DSN with the service credential.
	Upstream string
	// IdentityNamespace of the workgroup's Redshift IdC application.
	IdentityNamespace string
}

// Authenticator opens tokens. sni is the TLS server name (may be empty),
// option the "workgroup" startup option (may be empty).
type Authenticator interface {
	Authenticate(ctx context.Context, sni, option, token string) (*Login, error)
}

// Auth errors the Authenticator returns; the gateway turns them into
// ErrorResponses.
var (
	ErrBadToken       = errors.New("invalid token")
	ErrNoWorkgroup    = errors.New("no workgroup")
	ErrNoUpstream     = errors.New("no upstream")
	ErrTokenExpired   = errors.New("token expired")
	ErrWrongWorkgroup = errors.New("token not valid for workgroup")
)

// Config configures a Gateway.
type Config struct {
	Listen               string
	TLS                  *tls.Config // nil: no TLS offered
	Insecure             bool        // allow password auth without TLS
	LoginTimeout         time.Duration
	IdleTimeout          time.Duration // 0: none
	MaxConnsPerWorkgroup int           // 0: unlimited
	Auth                 Authenticator
	Roles                *RoleSync
	Log                  *slog.Logger
	// OnLogin is told of every login attempt (metrics, audit).
	OnLogin func(l *Login, remote string, err error)
}

// Gateway serves PostgreSQL clients.
type Gateway struct {
	cfg      Config
	ln       net.Listener
	wg       sync.WaitGroup
	mu       sync.Mutex
	perWG    map[string]int
	cancels  map[[2]uint32]cancelTarget
	active   atomic.Int64
	closing  atomic.Bool
	sessions map[net.Conn]struct{}
}

type cancelTarget struct {
	network, addr string
	pid           uint32
	secret        []byte
}

// New binds the listener.
func New(cfg Config) (*Gateway, error) {
	if cfg.LoginTimeout == 0 {
		cfg.LoginTimeout = 30 * time.Second
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("gateway listen %s: %w", cfg.Listen, err)
	}
	return &Gateway{cfg: cfg, ln: ln, perWG: map[string]int{}, cancels: map[[2]uint32]cancelTarget{}, sessions: map[net.Conn]struct{}{}}, nil
}

// Addr is the bound address.
func (g *Gateway) Addr() string { return g.ln.Addr().String() }

// Active is the number of relayed sessions.
func (g *Gateway) Active() int64 { return g.active.Load() }

// Serve accepts until Close.
func (g *Gateway) Serve() error {
	for {
		c, err := g.ln.Accept()
		if err != nil {
			if g.closing.Load() {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return err
		}
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			g.handle(c)
		}()
	}
}

// Close stops accepting and waits up to grace for sessions to end, then
// closes the rest.
func (g *Gateway) Close(grace time.Duration) {
	g.closing.Store(true)
	g.ln.Close()
	done := make(chan struct{})
	go func() { g.wg.Wait(); close(done) }()
	select {
	case <-done:
		return
	case <-time.After(grace):
	}
	g.mu.Lock()
	for c := range g.sessions {
		c.Close()
	}
	g.mu.Unlock()
	<-done
}

func (g *Gateway) track(c net.Conn, on bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if on {
		g.sessions[c] = struct{}{}
	} else {
		delete(g.sessions, c)
	}
}

// clientError is a refusal to send as an ErrorResponse.
type clientError struct {
	code, msg string
}

func (e *clientError) Error() string { return e.code + ": " + e.msg }

func refuse(code, format string, args ...any) error {
	return &clientError{code: code, msg: fmt.Sprintf(format, args...)}
}

func (g *Gateway) handle(raw net.Conn) {
	g.track(raw, true)
	defer g.track(raw, false)
	defer raw.Close()
	remote := raw.RemoteAddr().String()
	log := g.cfg.Log.With("remote", remote)
	raw.SetDeadline(time.Now().Add(g.cfg.LoginTimeout))

	conn, startup, err := g.startup(raw)
	if err != nil {
		var ce *clientError
		if errors.As(err, &ce) {
			writeError(conn, ce)
		}
		if !errors.Is(err, errCancelHandled) && !errors.Is(err, io.EOF) {
			log.Info("gateway startup refused", "err", err)
		}
		return
	}
	sess, login, err := g.login(conn, startup)
	if g.cfg.OnLogin != nil {
		g.cfg.OnLogin(login, remote, err)
	}
	if err != nil {
		var ce *clientError
		if !errors.As(err, &ce) {
			log.Error("gateway login failed", "err", err)
			ce = &clientError{code: codeCannotConnect, msg: "idcgate could not open the session upstream"}
		}
		writeError(conn, ce)
		log.Info("gateway login refused", "code", ce.code, "reason", ce.msg)
		return
	}
	defer g.release(login.Account + "/" + login.WorkgroupID)
	defer g.forget(sess.key)
	log.Info("gateway login", "workgroup", login.Workgroup, "user", login.Claims.UserName, "role", sess.role)
	conn.SetDeadline(time.Time{})
	g.active.Add(1)
	defer g.active.Add(-1)
	g.relay(conn, sess.upstream)
}

var errCancelHandled = errors.New("cancel request handled")

// startup reads the startup packet, negotiating TLS, refusing GSS
// encryption, and forwarding cancel requests.
func (g *Gateway) startup(raw net.Conn) (net.Conn, *pgproto3.StartupMessage, error) {
	conn := raw
	tlsDone := false
	for i := 0; i < 3; i++ {
		be := pgproto3.NewBackend(conn, conn)
		msg, err := be.ReceiveStartupMessage()
		if err != nil {
			return conn, nil, refuse(codeProtocolViolation, "invalid startup packet: this is a PostgreSQL protocol endpoint")
		}
		switch m := msg.(type) {
		case *pgproto3.SSLRequest:
			if tlsDone || g.cfg.TLS == nil {
				if _, err := conn.Write([]byte{'N'}); err != nil {
					return conn, nil, err
				}
				continue
			}
			if _, err := conn.Write([]byte{'S'}); err != nil {
				return conn, nil, err
			}
			tc := tls.Server(conn, g.cfg.TLS)
			if err := tc.Handshake(); err != nil {
				return conn, nil, fmt.Errorf("tls handshake: %w", err)
			}
			conn, tlsDone = tc, true
		case *pgproto3.GSSEncRequest:
			if _, err := conn.Write([]byte{'N'}); err != nil {
				return conn, nil, err
			}
		case *pgproto3.CancelRequest:
			g.cancel(m)
			return conn, nil, errCancelHandled
		case *pgproto3.StartupMessage:
			if m.ProtocolVersion != pgproto3.ProtocolVersion30 {
				return conn, nil, refuse(codeProtocolViolation, "unsupported frontend protocol %d.%d: idcgate speaks 3.0", m.ProtocolVersion>>16, m.ProtocolVersion&0xffff)
			}
			cp := *m
			cp.Parameters = map[string]string{}
			for k, v := range m.Parameters {
				cp.Parameters[k] = v
			}
			return conn, &cp, nil
		}
	}
	return conn, nil, refuse(codeProtocolViolation, "too many startup negotiation requests")
}

// session is an authenticated upstream connection.
type session struct {
	upstream net.Conn
	key      [2]uint32
	role     string
}

// isRedshiftDriver tells the Redshift drivers' Identity Center plugin.
func isRedshiftDriver(p map[string]string) bool {
	_, idp := p["idp_type"]
	_, tt := p["token_type"]
	return idp || tt
}

func (g *Gateway) login(conn net.Conn, sm *pgproto3.StartupMessage) (*session, *Login, error) {
	_, isTLS := conn.(*tls.Conn)
	if !isTLS && !g.cfg.Insecure {
		return nil, nil, refuse(codeInvalidAuthorization, "idcgate accepts tokens only over TLS: connect with sslmode=require (or start idcgate with --pg-insecure for local testing)")
	}
	redshift := isRedshiftDriver(sm.Parameters)
	var token string
	var err error
	if redshift {
		token, err = g.readIdpToken(conn)
	} else {
		token, err = g.readPassword(conn)
	}
	if err != nil {
		return nil, nil, err
	}
	sni := ""
	if tc, ok := conn.(*tls.Conn); ok {
		sni = tc.ConnectionState().ServerName
	}
	ctx, cancel := context.WithTimeout(context.Background(), g.cfg.LoginTimeout)
	defer cancel()
	login, err := g.cfg.Auth.Authenticate(ctx, sni, workgroupOption(sm.Parameters), token)
	if err != nil {
		return nil, login, authRefusal(err)
	}
	key := login.Account + "/" + login.WorkgroupID
	if !g.acquire(key) {
		return nil, login, refuse(codeTooManyConnections, "too many connections for workgroup %s", login.Workgroup)
	}
	sess, params, err := g.connectUpstream(ctx, login, sm.Parameters)
	if err != nil {
		g.release(key)
		return nil, login, err
	}
	if err := g.finishLogin(conn, sess, params, redshift); err != nil {
		sess.upstream.Close()
		g.forget(sess.key)
		g.release(key)
		return nil, login, err
	}
	return sess, login, nil
}

func authRefusal(err error) error {
	var ce *clientError
	switch {
	case errors.As(err, &ce):
		return ce
	case errors.Is(err, ErrTokenExpired):
		return refuse(codeInvalidPassword, "the Identity Center token has expired: get a new one with GetIdentityCenterAuthToken")
	case errors.Is(err, ErrWrongWorkgroup):
		return refuse(codeInvalidPassword, "the Identity Center token is not valid for this workgroup")
	case errors.Is(err, ErrNoWorkgroup):
		return refuse(codeInvalidAuthorization, "%s", strings.TrimPrefix(err.Error(), "no workgroup: "))
	case errors.Is(err, ErrBadToken):
		return refuse(codeInvalidPassword, "the password is not a valid Identity Center token")
	case errors.Is(err, ErrNoUpstream):
		return refuse(codeCannotConnect, "%s", err.Error())
	}
	return err
}

// workgroupOption reads the workgroup from the startup packet: a
// "workgroup" parameter, or "-c workgroup=NAME" / "--workgroup=NAME" in options.
func workgroupOption(p map[string]string) string {
	if w := p["workgroup"]; w != "" {
		return w
	}
	f := strings.Fields(p["options"])
	for i, o := range f {
		switch {
		case strings.HasPrefix(o, "--workgroup="):
			return strings.TrimPrefix(o, "--workgroup=")
		case strings.HasPrefix(o, "-cworkgroup="):
			return strings.TrimPrefix(o, "-cworkgroup=")
		case o == "-c" && i+1 < len(f) && strings.HasPrefix(f[i+1], "workgroup="):
			return strings.TrimPrefix(f[i+1], "workgroup=")
		}
	}
	return ""
}

// stripWorkgroupOption removes the gateway's own option from options.
func stripWorkgroupOption(options string) string {
	f := strings.Fields(options)
	out := f[:0]
	for i := 0; i < len(f); i++ {
		switch o := f[i]; {
		case strings.HasPrefix(o, "--workgroup="), strings.HasPrefix(o, "-cworkgroup="):
		case o == "-c" && i+1 < len(f) && strings.HasPrefix(f[i+1], "workgroup="):
			i++
		default:
			out = append(out, o)
		}
	}
	return strings.Join(out, " ")
}

// readMessage reads one typed message of the auth phase.
func readMessage(conn net.Conn) (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(conn, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := int(int32(binary.BigEndian.Uint32(hdr[1:]))) - 4
	if n < 0 || n > MaxMessage {
		return 0, nil, refuse(codeProtocolViolation, "invalid message length %d during authentication", n+4)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(conn, body); err != nil {
		return 0, nil, err
	}
	return hdr[0], body, nil
}

func (g *Gateway) readPassword(conn net.Conn) (string, error) {
	b, _ := (&pgproto3.AuthenticationCleartextPassword{}).Encode(nil)
	if _, err := conn.Write(b); err != nil {
		return "", err
	}
	t, body, err := readMessage(conn)
	if err != nil {
		return "", err
	}
	if t != 'p' {
		return "", refuse(codeProtocolViolation, "expected a password message, got %q", t)
	}
	if len(body) == 0 || body[len(body)-1] != 0 {
		return "", refuse(codeProtocolViolation, "malformed password message")
	}
	return string(body[:len(body)-1]), nil
}

// readIdpToken runs the Redshift drivers' exchange: 'R' with code 14 and no
// payload, answered by 'i' with the token (a trailing NUL is optional: JDBC
// and ODBC send one, the Python driver does not).
func (g *Gateway) readIdpToken(conn net.Conn) (string, error) {
	if _, err := conn.Write([]byte{'R', 0, 0, 0, 8, 0, 0, 0, 14}); err != nil {
		return "", err
	}
	t, body, err := readMessage(conn)
	if err != nil {
		return "", err
	}
	if t != 'i' {
		return "", refuse(codeProtocolViolation, "expected an IdP token message ('i'), got %q", t)
	}
	if n := len(body); n > 0 && body[n-1] == 0 {
		body = body[:n-1]
	}
	return string(body), nil
}

// finishLogin sends AuthenticationOk, the upstream's parameters, our
// BackendKeyData and ReadyForQuery, and nothing else before AuthenticationOk.
func (g *Gateway) finishLogin(conn net.Conn, sess *session, params map[string]string, redshift bool) error {
	buf, _ := (&pgproto3.AuthenticationOk{}).Encode(nil)
	for k, v := range params {
		if k == "server_protocol_version" {
			continue
		}
		if k == "server_version" && redshift {
			v = plainVersion(v)
		}
		buf, _ = (&pgproto3.ParameterStatus{Name: k, Value: v}).Encode(buf)
	}
	secret := make([]byte, 4)
	binary.BigEndian.PutUint32(secret, sess.key[1])
	buf, _ = (&pgproto3.BackendKeyData{ProcessID: sess.key[0], SecretKey: secret}).Encode(buf)
	buf, _ = (&pgproto3.ReadyForQuery{TxStatus: 'I'}).Encode(buf)
	_, err := conn.Write(buf)
	return err
}

// plainVersion keeps the numeric part of a server_version, which Python's
// packaging can parse ("15.18 (Debian 15.18-0+deb12u1)" → "15.18").
func plainVersion(v string) string {
	if i := strings.IndexAny(v, " -"); i > 0 {
		return v[:i]
	}
	return v
}

func writeError(conn net.Conn, ce *clientError) {
	if conn == nil {
		return
	}
	b, _ := (&pgproto3.ErrorResponse{Severity: "FATAL", SeverityUnlocalized: "FATAL", Code: ce.code, Message: ce.msg}).Encode(nil)
	conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	conn.Write(b)
}

func (g *Gateway) acquire(key string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cfg.MaxConnsPerWorkgroup > 0 && g.perWG[key] >= g.cfg.MaxConnsPerWorkgroup {
		return false
	}
	g.perWG[key]++
	return true
}

func (g *Gateway) release(key string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.perWG[key]--; g.perWG[key] <= 0 {
		delete(g.perWG, key)
	}
}

func (g *Gateway) forget(key [2]uint32) {
	g.mu.Lock()
	delete(g.cancels, key)
	g.mu.Unlock()
}

// connectUpstream syncs the role, then opens the client's session upstream
// as that role, and takes the raw connection over.
func (g *Gateway) connectUpstream(ctx context.Context, login *Login, clientParams map[string]string) (*session, map[string]string, error) {
	role, password, err := g.cfg.Roles.Sync(ctx, login)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := pgconn.ParseConfig(login.Upstream)
	if err != nil {
		return nil, nil, fmt.Errorf("upstream DSN: %w", err)
	}
	cfg.User, cfg.Password = role, password
	if db := clientParams["database"]; db != "" {
		cfg.Database = db
	}
	for k, v := range clientParams {
		if k == "options" {
			v = stripWorkgroupOption(v)
		}
		if forwardParam(k) && v != "" {
			cfg.RuntimeParams[k] = v
		}
	}
	pc, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) {
			return nil, nil, refuse(pe.Code, "%s", pe.Message)
		}
		return nil, nil, fmt.Errorf("upstream connect: %w", err)
	}
	if err := pc.SyncConn(ctx); err != nil {
		pc.Close(ctx)
		return nil, nil, err
	}
	hj, err := pc.Hijack()
	if err != nil {
		pc.Close(ctx)
		return nil, nil, err
	}
	var k [8]byte
	rand.Read(k[:])
	key := [2]uint32{binary.BigEndian.Uint32(k[:4]) & 0x7fffffff, binary.BigEndian.Uint32(k[4:])}
	g.mu.Lock()
	g.cancels[key] = cancelTarget{network: hj.Conn.RemoteAddr().Network(), addr: hj.Conn.RemoteAddr().String(), pid: hj.PID, secret: hj.SecretKey}
	g.mu.Unlock()
	return &session{upstream: hj.Conn, key: key, role: role}, hj.ParameterStatuses, nil
}

// forwardParam says which startup parameters reach PostgreSQL; the Redshift
// drivers' own ones, and ours, do not.
func forwardParam(k string) bool {
	switch k {
	case "user", "database", "workgroup", "replication",
		"idp_type", "token_type", "plugin_name", "client_protocol_version", "driver_version", "os_version",
		"provider_name", "identity_namespace", "driver_discovery_version":
		return false
	}
	return !strings.HasPrefix(k, "_pq_.")
}

// cancel forwards a CancelRequest to the upstream backend of the session it names.
func (g *Gateway) cancel(m *pgproto3.CancelRequest) {
	if len(m.SecretKey) != 4 {
		return
	}
	g.mu.Lock()
	t, ok := g.cancels[[2]uint32{m.ProcessID, binary.BigEndian.Uint32(m.SecretKey)}]
	g.mu.Unlock()
	if !ok {
		return
	}
	c, err := net.DialTimeout(t.network, t.addr, 5*time.Second)
	if err != nil {
		return
	}
	defer c.Close()
	b, _ := (&pgproto3.CancelRequest{ProcessID: t.pid, SecretKey: t.secret}).Encode(nil)
	c.Write(b)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	io.Copy(io.Discard, c)
}
