// Package gateway is idcgate's PostgreSQL-protocol data plane, what Redshift
// is in AWS: a client logs in with a GetIdentityCenterAuthToken token as its
// password (or through the Redshift drivers' Identity Center exchange), and
// its session runs on the workgroup's real PostgreSQL as the role
// "<IdentityNamespace>:<userName>", with the user's groups as role
// memberships. After login the gateway relays bytes both ways without
// parsing messages.
package gateway

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/idcgate/idcgate/internal/apierror"
	"github.com/idcgate/idcgate/internal/authtoken"
	"github.com/idcgate/idcgate/internal/ids"
)

// SQLSTATEs the gateway answers with.
const (
	codeInvalidAuthorization = "28000"
	codeInvalidPassword      = "28P01"
	codeProtocolViolation    = "08P01"
	codeTooManyConnections   = "53300"
	codeCannotConnect        = "08006"
	codeSystemError          = "58000"
)

// MaxMessage bounds any message read before authentication.
const MaxMessage = 64 << 10

// maxStartupPacket is PostgreSQL's own limit (MAX_STARTUP_PACKET_LENGTH).
const maxStartupPacket = 10000

// Login is what an opened token yields: where to connect and as whom.
type Login struct {
	Workgroup   string
	WorkgroupID string
	Account     string
	Claims      authtoken.Claims
	// Upstream is the PostgreSQL DSN with the service credential.
	Upstream string
	// IdentityNamespace of the workgroup's Redshift IdC application ("IAM"
	// or "IAMR" for an IAM credentials login).
	IdentityNamespace string
	// IAMPrincipal is, for an IAM credentials login, the ARN of the caller
	// of GetCredentials, and CredentialID the password's id.
	IAMPrincipal, CredentialID string
}

// Token types of the Redshift drivers' token_type startup parameter
// (BEHAVIOUR 10.13).
const (
	TokenSubject = "SUBJECT_TOKEN"
	TokenAccess  = "ACCESS_TOKEN"
	TokenExtJWT  = "EXT_JWT"
	// TokenIAMCredentials is no token but what audit and metrics name an
	// IAM credentials login by (isIAMLogin; BEHAVIOUR 10.14).
	TokenIAMCredentials = "IAM_CREDENTIALS"
)

// AuthRequest is what a client presented to log in.
type AuthRequest struct {
	// SNI is the TLS server name (may be empty).
	SNI string
	// Workgroup is the "workgroup" startup option (may be empty).
	Workgroup string
	Token     string
	// TokenType is TokenSubject, TokenAccess or TokenExtJWT as the startup
	// named it (upper case; TokenSubject when it named none and on the
	// password path), or "token" for a type idcgate does not know.
	TokenType string
	// IdentityNamespace is the identity_namespace startup parameter (may
	// be empty): it picks the Redshift IdC application.
	IdentityNamespace string
}

// Authenticator opens tokens.
type Authenticator interface {
	Authenticate(ctx context.Context, r AuthRequest) (*Login, error)
}

// Auth errors the Authenticator returns; the gateway turns them into
// ErrorResponses.
var (
	ErrBadToken       = errors.New("invalid token")
	ErrNoWorkgroup    = errors.New("no workgroup")
	ErrNoUpstream     = errors.New("no upstream")
	ErrTokenExpired   = errors.New("token expired")
	ErrWrongWorkgroup = errors.New("token not valid for workgroup")
	// ErrForeignRole: the user's role name exists upstream but is not a
	// role idcgate created for an Identity Center user (a group role, or
	// one made by someone else), so logging in as it would hand the user
	// someone else's role.
	ErrForeignRole = errors.New("upstream role is not an idcgate user role")
	// ErrRoleNameTooLong: the user's role name is over PostgreSQL's 63
	// bytes (it would be cut, and could name another user's role).
	ErrRoleNameTooLong = errors.New("upstream role name too long")
	// ErrUpstreamTooOld: the upstream PostgreSQL is older than 15.
	ErrUpstreamTooOld = errors.New("upstream PostgreSQL too old")
	// ErrUnknownUser: the token's user is no longer in the directory (the
	// token was issued before she was deleted).
	ErrUnknownUser = errors.New("unknown Identity Center user")
	// ErrRoleGone: the IAM role the token was issued to a session of has
	// been deleted since.
	ErrRoleGone = errors.New("IAM role of the token's session deleted")
	// ErrNotAdmitted: the Redshift IdC application (its managed
	// application's assignments, or its trusted token issuers) does not
	// admit the token's user or the token's issuer.
	ErrNotAdmitted = errors.New("not admitted by the Redshift IdC application")
	// ErrScope: an access token without the redshift:connect scope.
	ErrScope = errors.New("token lacks the redshift:connect scope")
	// ErrReplayed: an EXT_JWT whose jti was used before.
	ErrReplayed = errors.New("token already used")
	// ErrUnknownNamespace: no Redshift IdC application has the
	// identity_namespace the startup named.
	ErrUnknownNamespace = errors.New("unknown identity namespace")
	// ErrCannotCheck: the token can be neither accepted nor refused now
	// (an EXT_JWT issuer's keys out of reach): the client may try again.
	ErrCannotCheck = errors.New("token cannot be checked now")
)

// SessionLimiter counts sessions, where every replica sees them, against
// per-user and per-workgroup limits.
type SessionLimiter interface {
	// Admit records a session of l's user on l's workgroup, or refuses it
	// with a *LimitError; release (once) ends the record.
	Admit(ctx context.Context, l *Login) (release func(), err error)
	// Close ends this process's records; Shutdown calls it last.
	Close()
}

// LimitError refuses a session over a limit (SQLSTATE 53300).
type LimitError struct {
	User      string // set for the per-user limit
	Workgroup string
	Limit     int
}

func (e *LimitError) Error() string {
	if e.User != "" {
		return fmt.Sprintf("too many sessions for user %s on workgroup %s (limit %d)", e.User, e.Workgroup, e.Limit)
	}
	return fmt.Sprintf("too many sessions on workgroup %s (limit %d)", e.Workgroup, e.Limit)
}

// Results of a login attempt (LoginEvent.Result, the metrics label).
const (
	ResultOK      = "ok"
	ResultRefused = "refused"
	// ResultAbandoned: the client left (or stayed silent past the login
	// timeout) before sending a token, e.g. psql's first probe without a
	// password. Nothing was checked and nothing was refused.
	ResultAbandoned = "abandoned"
)

// LoginEvent is one login attempt, told to Config.OnLogin before the client
// hears the outcome.
type LoginEvent struct {
	// RequestID is unique per connection; it is on every log line too.
	RequestID string
	Remote    string
	// Login is set once the token opened (nil for a bad token).
	Login *Login
	// TokenType is the type of token the client said it sends
	// (AuthRequest.TokenType), for the audit and metrics.
	TokenType string
	Result    string
	// Code and Message are the ErrorResponse the client gets (refusals).
	Code, Message string
}

// Config configures a Gateway.
type Config struct {
	Listen               string
	TLS                  *tls.Config // nil: no TLS offered
	Insecure             bool        // allow password auth without TLS
	LoginTimeout         time.Duration
	IdleTimeout          time.Duration // 0: none
	MaxConnsPerWorkgroup int           // 0: unlimited; this process's count, when Sessions is nil
	// Sessions admits sessions against limits counted across replicas
	// (per user and per workgroup); nil: MaxConnsPerWorkgroup only.
	Sessions SessionLimiter
	Auth     Authenticator
	// IAMAuth, when set, checks logins as IAM database users with
	// GetCredentials passwords (iamlogin.go).
	IAMAuth IAMAuthenticator
	Roles   *RoleSync
	Log     *slog.Logger
	// OnLogin records every login attempt (metrics, audit). It runs before
	// the client is answered; an error for a successful login refuses it,
	// because a login must not happen without its audit record.
	OnLogin func(ctx context.Context, ev *LoginEvent) error
	// GoroutineRelay relays every session with goroutines, also those the
	// event loop could take (plain TCP on both ends, on Linux).
	GoroutineRelay bool
}

// Gateway serves PostgreSQL clients.
type Gateway struct {
	cfg     Config
	ln      net.Listener
	wg      sync.WaitGroup
	mu      sync.Mutex
	perWG   map[string]int
	cancels map[[2]uint32]cancelTarget
	active  atomic.Int64
	// closing is set under mu, so no handler is added after Shutdown waits.
	closing  bool
	sessions map[net.Conn]struct{}
	// base is cancelled when Shutdown gives up waiting, ending logins that
	// are still talking to the store or the upstream.
	base     context.Context
	stopBase context.CancelFunc
	// loop relays plaintext sessions (started at the first, under mu);
	// loopErr says why it could not start, and then goroutines relay.
	loop    *relayLoop
	loopErr error
	// At Shutdown's deadline drain is closed (relays end their sessions at
	// the next message boundary with 57P01) and the live sessions' upstream
	// backends are terminated; cut is closed when what is left is cut.
	drain, cut      chan struct{}
	drained, wasCut bool
	live            map[*liveSession]struct{}
}

type cancelTarget struct {
	network, addr string
	pid           uint32
	secret        []byte
}

// New binds the listener.
func New(cfg Config) (*Gateway, error) {
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("gateway listen %s: %w", cfg.Listen, err)
	}
	return newGateway(cfg, ln), nil
}

func newGateway(cfg Config, ln net.Listener) *Gateway {
	if cfg.LoginTimeout == 0 {
		cfg.LoginTimeout = 30 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	base, stop := context.WithCancel(context.Background())
	return &Gateway{cfg: cfg, ln: ln, perWG: map[string]int{}, cancels: map[[2]uint32]cancelTarget{},
		sessions: map[net.Conn]struct{}{}, base: base, stopBase: stop,
		drain: make(chan struct{}), cut: make(chan struct{}), live: map[*liveSession]struct{}{}}
}

// Addr is the bound address.
func (g *Gateway) Addr() string { return g.ln.Addr().String() }

// Active is the number of relayed sessions.
func (g *Gateway) Active() int64 { return g.active.Load() }

// Serve accepts until Shutdown or Close.
func (g *Gateway) Serve() error {
	for {
		c, err := g.ln.Accept()
		if err != nil {
			if g.isClosing() {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return err
		}
		g.mu.Lock()
		if g.closing {
			g.mu.Unlock()
			c.Close()
			return nil
		}
		g.wg.Add(1)
		g.mu.Unlock()
		go func() {
			defer g.wg.Done()
			g.handle(c)
		}()
	}
}

func (g *Gateway) isClosing() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.closing
}

// Shutdown stops accepting at once (new connections are refused by the
// kernel), lets open sessions and logins end on their own until ctx is
// done, then ends what is left (endSessions: 57P01 to the client, the
// upstream backend terminated, so no query is left running) and closes the
// role-sync pools. It returns ctx.Err() when sessions had to be ended.
// Safe to call more than once.
func (g *Gateway) Shutdown(ctx context.Context) error {
	g.mu.Lock()
	first := !g.closing
	g.closing = true
	g.mu.Unlock()
	if first {
		g.ln.Close()
	}
	done := make(chan struct{})
	go func() { g.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		g.stopBase()
		g.endSessions()
		select {
		case <-done:
		case <-time.After(endWait):
			// A client that will not take its error, or an upstream that
			// did not close: cut.
			g.cutSessions()
			<-done
		}
	}
	g.stopBase()
	g.mu.Lock()
	loop := g.loop
	g.mu.Unlock()
	if loop != nil {
		loop.stop()
	}
	if g.cfg.Roles != nil {
		g.cfg.Roles.Close()
	}
	if g.cfg.Sessions != nil {
		g.cfg.Sessions.Close()
	}
	return err
}

// Close is Shutdown with a grace period (0: cut every session now).
func (g *Gateway) Close(grace time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	g.Shutdown(ctx)
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

// errAbandoned: the client went away, or went silent past the login
// timeout, before it sent a token.
var errAbandoned = errors.New("client left before authenticating")

// gone tells a read or write error that means the client is no longer there.
func gone(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func abandoned(err error) error {
	if gone(err) {
		return fmt.Errorf("%w: %w", errAbandoned, err)
	}
	return err
}

func (g *Gateway) handle(raw net.Conn) {
	g.track(raw, true)
	defer g.track(raw, false)
	defer raw.Close()
	remote := raw.RemoteAddr().String()
	reqID := ids.MustUUID()
	log := g.cfg.Log.With("request_id", reqID, "remote", remote)
	raw.SetDeadline(time.Now().Add(g.cfg.LoginTimeout))

	conn, startup, err := g.startup(raw)
	if err != nil {
		var ce *clientError
		switch {
		case errors.As(err, &ce):
			writeError(conn, ce)
			log.Info("gateway startup refused", "code", ce.code, "reason", ce.msg)
		case errors.Is(err, errCancelHandled), gone(err):
			// A cancel request, or a connection that ended before it
			// asked for anything (port probes, health checks).
		default:
			log.Info("gateway startup failed", "err", err)
		}
		return
	}
	path := g.loginPath(startup.Parameters)
	ev := &LoginEvent{RequestID: reqID, Remote: remote, TokenType: cmp.Or(path.tokenType, TokenSubject)}
	if path.iam {
		ev.TokenType = TokenIAMCredentials
	}
	sess, login, err := g.login(conn, startup, path)
	ev.Login = login
	if err != nil {
		if errors.Is(err, errAbandoned) {
			// Nothing was checked: no upstream attempt, no refusal. PostgreSQL
			// itself says nothing to a client that timed out here, so neither
			// do we.
			ev.Result = ResultAbandoned
			g.record(log, ev)
			log.Info("gateway login abandoned before a token was sent", "cause", err)
			return
		}
		var ce *clientError
		if !errors.As(err, &ce) {
			log.Error("gateway login failed", "err", err)
			ce = &clientError{code: codeCannotConnect, msg: "idcgate could not open the session upstream"}
		}
		ev.Result, ev.Code, ev.Message = ResultRefused, ce.code, ce.msg
		g.record(log, ev)
		writeError(conn, ce)
		log.Info("gateway login refused", "code", ce.code, "reason", ce.msg)
		return
	}
	defer sess.release()
	defer g.forget(sess.key)
	ev.Result = ResultOK
	if err := g.record(log, ev); err != nil {
		closeUpstream(sess.upstream)
		writeError(conn, &clientError{code: codeSystemError, msg: "idcgate could not write the audit record of this login, so it refused the login: try again"})
		log.Error("gateway login refused: audit record not written", "err", err)
		return
	}
	if err := g.finishLogin(conn, sess); err != nil {
		closeUpstream(sess.upstream)
		log.Info("gateway client left before the session started", "err", err)
		return
	}
	log.Info("gateway login", "workgroup", login.Workgroup, "user", login.Claims.UserName, "role", sess.role, "token_type", ev.TokenType)
	conn.SetDeadline(time.Time{})
	g.active.Add(1)
	defer g.active.Add(-1)
	defer g.untrackLive(g.trackLive(login, sess))
	g.relay(conn, sess.upstream)
}

// record tells OnLogin of a login attempt.
func (g *Gateway) record(log *slog.Logger, ev *LoginEvent) error {
	if g.cfg.OnLogin == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(g.base, g.cfg.LoginTimeout)
	defer cancel()
	err := g.cfg.OnLogin(ctx, ev)
	if err != nil && ev.Result != ResultOK {
		log.Error("gateway login attempt not recorded", "result", ev.Result, "err", err)
	}
	return err
}

// closeUpstream ends an upstream session politely (Terminate), so the
// server does not log an unexpected EOF.
func closeUpstream(c net.Conn) {
	c.SetWriteDeadline(time.Now().Add(time.Second))
	c.Write([]byte{'X', 0, 0, 0, 4})
	c.Close()
}

var errCancelHandled = errors.New("cancel request handled")

// Startup request codes (the first Int32 after the length).
const (
	codeSSLRequest    = 80877103
	codeGSSENCRequest = 80877104
	codeCancelRequest = 80877102
)

// readStartup reads one startup-phase packet itself, rather than through
// pgproto3's chunk reader, so that it can tell the client what exactly is
// wrong and never reads past the packet (the next bytes may be TLS).
func readStartup(conn net.Conn) (pgproto3.FrontendMessage, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(conn, hdr[:]); err != nil {
		return nil, err
	}
	if looksLikeHTTP(hdr[:]) {
		return nil, refuse(codeProtocolViolation, "this is idcgate's PostgreSQL gateway, and the client spoke HTTP: send AWS API calls to the API address (--listen), and PostgreSQL clients here")
	}
	if hdr[0] == 0x16 && hdr[1] == 0x03 {
		return nil, refuse(codeProtocolViolation, "the client started TLS directly: idcgate negotiates TLS with an SSLRequest (sslnegotiation=postgres)")
	}
	n := int(int32(binary.BigEndian.Uint32(hdr[:])))
	if n < 8 || n > maxStartupPacket {
		return nil, refuse(codeProtocolViolation, "invalid startup packet: length %d is not between 8 and %d: is this a PostgreSQL client?", n, maxStartupPacket)
	}
	body := make([]byte, n-4)
	if _, err := io.ReadFull(conn, body); err != nil {
		return nil, err
	}
	code := binary.BigEndian.Uint32(body)
	var msg pgproto3.FrontendMessage
	switch code {
	case codeSSLRequest:
		msg = &pgproto3.SSLRequest{}
	case codeGSSENCRequest:
		msg = &pgproto3.GSSEncRequest{}
	case codeCancelRequest:
		msg = &pgproto3.CancelRequest{}
	default:
		switch major := code >> 16; {
		case major == 3:
			// Every 3.x startup message has 3.0's layout; a newer minor
			// version is negotiated down after it is read (startup).
			// pgproto3 decodes only the versions it knows, so it is
			// handed the packet as 3.0.
			msg = &pgproto3.StartupMessage{}
			binary.BigEndian.PutUint32(body, pgproto3.ProtocolVersion30)
		case major >= 1 && major <= 9:
			return nil, refuse(codeProtocolViolation, "unsupported frontend protocol %d.%d: idcgate speaks 3.0", major, code&0xffff)
		default:
			return nil, refuse(codeProtocolViolation, "invalid startup packet: request code %d is not PostgreSQL protocol 3.0, SSLRequest, GSSENCRequest or CancelRequest", code)
		}
	}
	if err := msg.Decode(body); err != nil {
		return nil, refuse(codeProtocolViolation, "invalid startup packet: %s", decodeProblem(msg))
	}
	if sm, ok := msg.(*pgproto3.StartupMessage); ok {
		sm.ProtocolVersion = code // the version asked for, 3.x
	}
	return msg, nil
}

// negotiateProtocol answers a startup message that asks for a newer minor
// version than 3.0, or for protocol options (_pq_.*), as PostgreSQL does
// when it does not speak them: NegotiateProtocolVersion with the newest
// minor version spoken (0) and the options not known (all of them), before
// authentication; the session then goes on in 3.0. Clients that ask for
// 3.2 (pgx and libpq 18 with max_protocol_version=latest) accept that.
// The options never reach PostgreSQL (forwardParam).
func negotiateProtocol(conn net.Conn, sm *pgproto3.StartupMessage) error {
	var unknown []string
	for k := range sm.Parameters {
		if strings.HasPrefix(k, "_pq_.") {
			unknown = append(unknown, k)
		}
	}
	if sm.ProtocolVersion == pgproto3.ProtocolVersion30 && len(unknown) == 0 {
		return nil
	}
	slices.Sort(unknown)
	sm.ProtocolVersion = pgproto3.ProtocolVersion30
	b, err := (&pgproto3.NegotiateProtocolVersion{NewestMinorProtocol: 0, UnrecognizedOptions: unknown}).Encode(nil)
	if err != nil {
		return err
	}
	_, err = conn.Write(b)
	return err
}

func decodeProblem(m pgproto3.FrontendMessage) string {
	if _, ok := m.(*pgproto3.StartupMessage); ok {
		return "the parameters are not NUL-terminated name/value pairs"
	}
	return "wrong length for its request code"
}

func looksLikeHTTP(b []byte) bool {
	for _, m := range []string{"GET ", "POST", "PUT ", "HEAD", "DELE", "OPTI", "PATC", "CONN", "PRI "} {
		if string(b) == m {
			return true
		}
	}
	return false
}

// startup reads the startup packet, negotiating TLS, refusing GSS
// encryption, and forwarding cancel requests.
func (g *Gateway) startup(raw net.Conn) (net.Conn, *pgproto3.StartupMessage, error) {
	conn := raw
	tlsDone, gssDone := false, false
	for {
		msg, err := readStartup(conn)
		if err != nil {
			return conn, nil, err
		}
		switch m := msg.(type) {
		case *pgproto3.SSLRequest:
			if tlsDone {
				return conn, nil, refuse(codeProtocolViolation, "SSLRequest after TLS was already negotiated")
			}
			if g.cfg.TLS == nil {
				if _, err := conn.Write([]byte{'N'}); err != nil {
					return conn, nil, err
				}
				tlsDone = true
				continue
			}
			if _, err := conn.Write([]byte{'S'}); err != nil {
				return conn, nil, err
			}
			tc := tls.Server(&relayConn{Conn: conn}, g.cfg.TLS) // the event loop can take it (relayConn)
			if err := tc.Handshake(); err != nil {
				return conn, nil, fmt.Errorf("tls handshake: %w", err)
			}
			conn, tlsDone = tc, true
		case *pgproto3.GSSEncRequest:
			// As PostgreSQL without GSSAPI: 'N', and the client goes on
			// (with SSLRequest or its startup message) on this connection.
			if gssDone || tlsDone {
				return conn, nil, refuse(codeProtocolViolation, "GSSENCRequest after encryption was already negotiated")
			}
			if _, err := conn.Write([]byte{'N'}); err != nil {
				return conn, nil, err
			}
			gssDone = true
		case *pgproto3.CancelRequest:
			g.cancel(m)
			return conn, nil, errCancelHandled
		case *pgproto3.StartupMessage:
			if err := negotiateProtocol(conn, m); err != nil {
				return conn, nil, err
			}
			return conn, m, nil
		}
	}
}

// session is an authenticated upstream connection, not yet announced to
// the client.
type session struct {
	upstream net.Conn
	key      [2]uint32
	role     string
	params   map[string]string
	redshift bool
	release  func() // ends the session's count against the limits
}

// isRedshiftDriver tells the Redshift drivers' Identity Center plugin.
func isRedshiftDriver(p map[string]string) bool {
	_, idp := p["idp_type"]
	_, tt := p["token_type"]
	return idp || tt
}

// loginPath is how a startup logs in, read once from its parameters.
type loginPath struct {
	redshift  bool   // the Redshift drivers' token exchange (isRedshiftDriver)
	iam       bool   // an IAM credentials login (isIAMLogin)
	tokenType string // what a refusal names the token by (tokenType)
}

func (g *Gateway) loginPath(p map[string]string) loginPath {
	redshift := isRedshiftDriver(p)
	return loginPath{redshift: redshift, iam: g.isIAMLogin(p, redshift), tokenType: tokenType(p, redshift)}
}

// login reads and checks the token and opens the upstream session. It
// sends the client nothing but the authentication request: the caller
// records the attempt first and only then answers.
func (g *Gateway) login(conn net.Conn, sm *pgproto3.StartupMessage, path loginPath) (*session, *Login, error) {
	_, isTLS := conn.(*tls.Conn)
	if !isTLS && !g.cfg.Insecure {
		return nil, nil, refuse(codeInvalidAuthorization, "idcgate accepts tokens only over TLS: connect with sslmode=require (or start idcgate with --pg-insecure for local testing)")
	}
	redshift, tt := path.redshift, path.tokenType
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
	ctx, cancel := context.WithTimeout(g.base, g.cfg.LoginTimeout)
	defer cancel()
	var login *Login
	if path.iam {
		login, err = g.authenticateIAM(ctx, sm.Parameters, sni, token)
	} else {
		login, err = g.cfg.Auth.Authenticate(ctx, AuthRequest{SNI: sni, Workgroup: workgroupOption(sm.Parameters), Token: token,
			TokenType: cmp.Or(tt, TokenSubject), IdentityNamespace: sm.Parameters["identity_namespace"]})
	}
	if err != nil {
		if errors.Is(err, ErrCannotCheck) {
			// The client hears only that it may retry; the cause is the operator's.
			g.cfg.Log.Warn("gateway login token could not be checked", "err", err)
		}
		return nil, login, authRefusal(err, tt)
	}
	if err := startupUserMatches(sm.Parameters["user"], login, redshift); err != nil {
		return nil, login, err
	}
	release, err := g.admit(ctx, login)
	if err != nil {
		return nil, login, err
	}
	sess, err := g.connectUpstream(ctx, login, sm.Parameters)
	if err != nil {
		release()
		return nil, login, authRefusal(err, tt)
	}
	sess.redshift = redshift
	sess.release = release
	return sess, login, nil
}

// startupUserMatches refuses a startup whose user names someone other
// than the token's user: the identity comes from the token alone, and a
// client that asked for bob but holds alice's token has made a mistake it
// should hear of (psql's prompt, logs and .pgpass all say bob). Empty, the
// user name and the role name ("<ns>:<user>") are hers. The Redshift
// drivers' path is exempt: ODBC fills an empty user with the operating
// system's login name, so there the field says nothing.
func startupUserMatches(user string, l *Login, redshift bool) error {
	if redshift || user == "" || user == l.Claims.UserName || user == roleName(l) {
		return nil
	}
	if len(user) > 64 {
		user = user[:64] + "…"
	}
	return refuse(codeInvalidAuthorization, "the startup names user %q, but the token is %s's: connect with user=%s (or leave user empty)",
		user, l.Claims.UserName, l.Claims.UserName)
}

// tokenType is the token type a refusal names: "" on the cleartext path
// (the token is the password); on the Redshift drivers' path, which has no
// password, the type the startup named (SUBJECT_TOKEN when it names none,
// the drivers' default for idp_type=AwsIdc). An unknown type is not
// echoed: it is the client's text, and the refusal is also audited.
func tokenType(p map[string]string, redshift bool) string {
	if !redshift {
		return ""
	}
	switch tt := strings.ToUpper(p["token_type"]); tt {
	case "":
		return TokenSubject
	case TokenSubject, TokenAccess, TokenExtJWT:
		return tt
	}
	return "token"
}

// authRefusal turns an Authenticator or upstream error into the client's
// ErrorResponse, naming the token by its type (tokenType; never "the
// password" for a token sent in an 'i' message, BEHAVIOUR 10.2).
func authRefusal(err error, tt string) error {
	token, password := "the "+tt, "the "+tt
	if tt == "" {
		token, password = "the Identity Center token", "the password"
	}
	var ce *clientError
	switch {
	case errors.As(err, &ce):
		return ce
	case errors.Is(err, ErrTokenExpired):
		return refuse(codeInvalidPassword, "%s has expired: %s", token, renewal(tt))
	case errors.Is(err, ErrWrongWorkgroup):
		return refuse(codeInvalidPassword, "%s", publicOr(err, token+" is not valid for this workgroup"))
	case errors.Is(err, ErrNoWorkgroup), errors.Is(err, ErrUnknownNamespace), errors.Is(err, ErrNotAdmitted), errors.Is(err, ErrScope):
		return refuse(codeInvalidAuthorization, "%s", public(err))
	case errors.Is(err, ErrReplayed):
		return refuse(codeInvalidPassword, "%s", public(err))
	case errors.Is(err, ErrCannotCheck):
		return refuse(codeSystemError, "%s", public(err))
	case errors.Is(err, ErrBadToken):
		// The Authenticator may say what is wrong (an EXT_JWT's signature,
		// issuer or claims), naming the token type itself.
		return refuse(codeInvalidPassword, "%s", publicOr(err, password+" is not a valid Identity Center token"))
	case errors.Is(err, ErrNoUpstream):
		return refuse(codeCannotConnect, "%s", err.Error())
	case errors.Is(err, ErrForeignRole):
		return refuse(codeInvalidAuthorization, "%s", public(err))
	case errors.Is(err, ErrUpstreamTooOld):
		return refuse(codeCannotConnect, "%s", public(err))
	case errors.Is(err, ErrRoleNameTooLong), errors.Is(err, ErrUnknownUser), errors.Is(err, ErrRoleGone):
		return refuse(codeInvalidAuthorization, "%s", public(err))
	}
	return err
}

// renewal says how to get a new token of type tt (as tokenType names it).
func renewal(tt string) string {
	switch tt {
	case TokenAccess:
		return "sign in again for a new access token (CreateToken or CreateTokenWithIAM)"
	case TokenExtJWT:
		return "get a new one from your identity provider"
	}
	return "get a new one with GetIdentityCenterAuthToken"
}

// public is the client's text of a refusal: the Message of the
// apierror.Error that carries the sentinel, else the sentinel's own text.
func public(err error) string { return publicOr(err, err.Error()) }

// publicOr is the Message of the apierror.Error that carries err's
// sentinel, else def (the text of a bare sentinel's refusal).
func publicOr(err error, def string) string {
	var ae *apierror.Error
	if errors.As(err, &ae) {
		return ae.Message
	}
	return def
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
		return 0, nil, abandoned(err)
	}
	if hdr[0] == 'X' {
		return 0, nil, fmt.Errorf("%w: Terminate", errAbandoned)
	}
	n := int(int32(binary.BigEndian.Uint32(hdr[1:]))) - 4
	if n < 0 {
		return 0, nil, refuse(codeProtocolViolation, "invalid message length %d during authentication", n+4)
	}
	if n > MaxMessage {
		return 0, nil, refuse(codeProtocolViolation, "message of %d bytes during authentication is over idcgate's limit of %d bytes", n+4, MaxMessage)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(conn, body); err != nil {
		return 0, nil, abandoned(err)
	}
	return hdr[0], body, nil
}

func (g *Gateway) readPassword(conn net.Conn) (string, error) {
	b, _ := (&pgproto3.AuthenticationCleartextPassword{}).Encode(nil)
	body, err := ask(conn, b, 'p', "a password message")
	if err != nil {
		return "", err
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
	body, err := ask(conn, []byte{'R', 0, 0, 0, 8, 0, 0, 0, 14}, 'i', "an IdP token message ('i')")
	if err != nil {
		return "", err
	}
	if n := len(body); n > 0 && body[n-1] == 0 {
		body = body[:n-1]
	}
	return string(body), nil
}

// ask sends an authentication request and reads the client's answer, which
// must be a message of type want (what names it for the refusal).
func ask(conn net.Conn, request []byte, want byte, what string) ([]byte, error) {
	if _, err := conn.Write(request); err != nil {
		return nil, abandoned(err)
	}
	t, body, err := readMessage(conn)
	if err != nil {
		return nil, err
	}
	if t != want {
		return nil, refuse(codeProtocolViolation, "expected %s, got %q", what, t)
	}
	return body, nil
}

// finishLogin sends AuthenticationOk, the upstream's parameters, our
// BackendKeyData and ReadyForQuery, and nothing else before AuthenticationOk.
func (g *Gateway) finishLogin(conn net.Conn, sess *session) error {
	buf, _ := (&pgproto3.AuthenticationOk{}).Encode(nil)
	for k, v := range sess.params {
		if k == "server_protocol_version" {
			continue
		}
		if k == "server_version" && sess.redshift {
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

// admit counts a session against the limits: across replicas through
// Sessions, else this process's per-workgroup count.
func (g *Gateway) admit(ctx context.Context, login *Login) (release func(), err error) {
	if g.cfg.Sessions != nil {
		release, err := g.cfg.Sessions.Admit(ctx, login)
		var le *LimitError
		switch {
		case errors.As(err, &le):
			return nil, refuse(codeTooManyConnections, "%s", le.Error())
		case err != nil:
			g.cfg.Log.Error("gateway session not counted against the limits", "err", err)
			return nil, refuse(codeSystemError, "idcgate could not count this session against its session limits: try again")
		}
		return release, nil
	}
	key := login.Account + "/" + login.WorkgroupID
	if !g.acquire(key) {
		return nil, refuse(codeTooManyConnections, "%s", (&LimitError{Workgroup: login.Workgroup, Limit: g.cfg.MaxConnsPerWorkgroup}).Error())
	}
	return sync.OnceFunc(func() { g.release(key) }), nil
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
func (g *Gateway) connectUpstream(ctx context.Context, login *Login, clientParams map[string]string) (*session, error) {
	// The DSN is checked (TLS) before the sync touches the upstream.
	cfg, err := g.cfg.Roles.sessionConfig(login.Upstream, roleName(login))
	if err != nil {
		return nil, err
	}
	role, err := g.cfg.Roles.Sync(ctx, login)
	if err != nil {
		return nil, err
	}
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
	// Under a relayConn, so that the event loop can take the TLS session.
	dial := cfg.DialFunc
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &relayConn{Conn: c}, nil
	}
	pc, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) {
			if strings.HasPrefix(pe.Code, "28") {
				// Most likely the upstream's set-up, which the client cannot fix.
				g.cfg.Log.Warn("the upstream refused the certificate login of a user role: its ssl_ca_file needs idcgate's upstream-ca.crt, and its pg_hba.conf the lines README gives", "role", role, "code", pe.Code, "upstream_message", pe.Message)
			}
			return nil, refuse(pe.Code, "%s", pe.Message)
		}
		return nil, fmt.Errorf("upstream connect: %w", err)
	}
	if err := pc.SyncConn(ctx); err != nil {
		pc.Close(ctx)
		return nil, err
	}
	hj, err := pc.Hijack()
	if err != nil {
		pc.Close(ctx)
		return nil, err
	}
	var k [8]byte
	rand.Read(k[:])
	key := [2]uint32{binary.BigEndian.Uint32(k[:4]) & 0x7fffffff, binary.BigEndian.Uint32(k[4:])}
	g.mu.Lock()
	g.cancels[key] = cancelTarget{network: hj.Conn.RemoteAddr().Network(), addr: hj.Conn.RemoteAddr().String(), pid: hj.PID, secret: hj.SecretKey}
	g.mu.Unlock()
	return &session{upstream: hj.Conn, key: key, role: role, params: hj.ParameterStatuses}, nil
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
	t.send()
}

// send forwards a CancelRequest to the backend and waits until it hangs up.
func (t cancelTarget) send() {
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
