// Package server is idcgate's HTTP front: one handler that gives every
// request an id, reads its body within limits, routes it by protocol to a
// service, verifies its SigV4 signature, and renders any error through
// awserror in the service's protocol.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/idcgate/idcgate/internal/apierror"
	"github.com/idcgate/idcgate/internal/audit"
	"github.com/idcgate/idcgate/internal/audit/journal"
	"github.com/idcgate/idcgate/internal/audit/trail"
	"github.com/idcgate/idcgate/internal/auth"
	"github.com/idcgate/idcgate/internal/awserror"
	"github.com/idcgate/idcgate/internal/clock"
	"github.com/idcgate/idcgate/internal/dataapi"
	"github.com/idcgate/idcgate/internal/faults"
	"github.com/idcgate/idcgate/internal/iamstore"
	"github.com/idcgate/idcgate/internal/identitycenter"
	"github.com/idcgate/idcgate/internal/identitystore"
	"github.com/idcgate/idcgate/internal/idp"
	"github.com/idcgate/idcgate/internal/ids"
	"github.com/idcgate/idcgate/internal/issuer"
	"github.com/idcgate/idcgate/internal/keyring"
	"github.com/idcgate/idcgate/internal/metrics"
	"github.com/idcgate/idcgate/internal/oidc"
	"github.com/idcgate/idcgate/internal/passwords"
	"github.com/idcgate/idcgate/internal/protocol"
	"github.com/idcgate/idcgate/internal/protocol/awsjson"
	"github.com/idcgate/idcgate/internal/protocol/awsquery"
	"github.com/idcgate/idcgate/internal/protocol/restjson"
	"github.com/idcgate/idcgate/internal/redshiftidc"
	"github.com/idcgate/idcgate/internal/serverless"
	"github.com/idcgate/idcgate/internal/signin"
	"github.com/idcgate/idcgate/internal/sigv4"
	"github.com/idcgate/idcgate/internal/ssoadmin"
	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/sts"
	"github.com/idcgate/idcgate/internal/throttle"
	"golang.org/x/time/rate"
)

// MaxBodyBytes is the largest request body accepted.
const MaxBodyBytes = 1 << 20

// Deps are the server's collaborators, built once by the app.
type Deps struct {
	Log        *slog.Logger
	Region     string
	Clock      clock.Clock
	Verifier   *sigv4.Verifier
	Serverless *serverless.Service
	STS        *sts.Service
	OIDC       *oidc.Service
	IdcApps    *redshiftidc.Service
	IAM        *iamstore.Service
	IdP        *idp.IdP
	Issuer     *issuer.Issuer
	Keys       *keyring.Keyring
	Throttle   *throttle.Limiter
	Audit      *trail.Log
	Store      store.Store
	Metrics    *metrics.Metrics
	Faults     *faults.Injector
	Directory  *identitycenter.Directory
	// DataAPI runs the Redshift Data API's statements (nil: the gateway,
	// whose upstream plumbing it uses, is disabled).
	DataAPI  *dataapi.Service
	SSOAdmin *ssoadmin.Service
	IdStore  *identitystore.Service
	// Passwords are the directory users' sign-in passwords (nil without a
	// directory).
	Passwords *passwords.Service
	// SignIn serves the sign-in pages (/authorize, /device, their
	// stylesheet; package signin); nil without a directory.
	SignIn http.Handler
	// Ready reports whether the store is reachable (for /readyz).
	Ready func(context.Context) error
	// PrivateMetrics serves /metrics only to requests signed by an account
	// administrator (SigV4 service "idcgate"); otherwise it is public.
	PrivateMetrics bool
	// UnauthenticatedAudit is the token bucket of audit records of calls
	// that failed authentication; zero is DefaultUnauthenticatedAudit.
	UnauthenticatedAudit throttle.Limit
}

// Server is the HTTP handler for every AWS-compatible API.
type Server struct {
	d Deps
	// unauthAudit is the token bucket of audit records of calls that
	// failed authentication (Deps.UnauthenticatedAudit).
	unauthAudit *rate.Limiter
}

// DefaultUnauthenticatedAudit bounds the audit records of calls that fail
// authentication: 100 at once, then 5 a second (about 430,000 a day at
// most, against millions an unbounded flood would write).
var DefaultUnauthenticatedAudit = throttle.Limit{Rate: 5, Burst: 100}

// New returns a Server.
func New(d Deps) *Server {
	if d.UnauthenticatedAudit.Rate <= 0 {
		d.UnauthenticatedAudit = DefaultUnauthenticatedAudit
	}
	return &Server{d: d, unauthAudit: rate.NewLimiter(rate.Limit(d.UnauthenticatedAudit.Rate), max(d.UnauthenticatedAudit.Burst, 1))}
}

// call is one authenticated API call on its way to an operation.
type call struct {
	ctx       context.Context
	requestID string
	log       *slog.Logger
	principal *auth.Principal
	op        string
	body      []byte
	authReq   auth.Request
	route     routed
	http      *http.Request
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := s.d.Clock.Now()
	reqID := newRequestID()
	w.Header().Set("x-amzn-RequestId", reqID)
	log := s.d.Log.With("request_id", reqID)
	rw := &statusWriter{ResponseWriter: w}
	rt := routed{protocol: protocol.AWSJSON, start: start}
	defer func() {
		if v := recover(); v != nil {
			log.Error("panic serving request", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if rw.status == 0 {
				s.writeError(rw, log, rt, reqID, fmt.Errorf("panic: %v", v))
			}
		}
		// One line per request only at debug level: the audit trail already
		// records every call durably, and at info level these lines cost a
		// tenth of the server's CPU under load and let a flood of refused
		// requests fill the operator's disk. Failures that need an operator
		// are logged where they happen (internal errors at error level).
		if log.Enabled(r.Context(), slog.LevelDebug) {
			log.Debug("request", "method", r.Method, "path", clip(r.URL.Path), "target", clip(r.Header.Get("X-Amz-Target")),
				"status", rw.status, "error_code", rw.Header().Get("X-Amzn-ErrorType"),
				"duration_ms", float64(s.d.Clock.Now().Sub(start).Microseconds())/1000)
		}
	}()

	if s.d.SignIn != nil && signin.Serves(r.URL.Path) {
		s.d.SignIn.ServeHTTP(rw, r)
		return
	}
	if strings.HasPrefix(r.URL.Path, "/idp/") && s.d.IdP != nil {
		s.d.IdP.Handler().ServeHTTP(rw, r)
		return
	}
	switch r.URL.Path {
	case "/healthz":
		rw.Header().Set("Content-Type", "text/plain")
		rw.WriteHeader(http.StatusOK)
		io.WriteString(rw, "ok\n")
		return
	case "/metrics":
		if s.d.Metrics != nil {
			if err := s.metricsAllowed(r); err != nil {
				s.writeError(rw, log, rt, reqID, err)
				return
			}
			s.d.Metrics.Handler().ServeHTTP(rw, r)
			return
		}
	case "/readyz":
		if s.d.Ready != nil {
			if err := s.d.Ready(r.Context()); err != nil {
				log.Warn("not ready", "err", err)
				http.Error(rw, "store unreachable", http.StatusServiceUnavailable)
				return
			}
		}
		rw.Header().Set("Content-Type", "text/plain")
		rw.WriteHeader(http.StatusOK)
		io.WriteString(rw, "ready\n")
		return
	}

	body, err := readBody(r)
	if err != nil {
		s.refuse(rw, log, rt, reqID, err)
		return
	}
	rt, err = route(r, body)
	rt.start = start
	if err != nil {
		// Refused before the signature (no operation this endpoint serves,
		// or not in a form it takes): not recorded, as CloudTrail records
		// no unknown operation, but counted, under bounded labels.
		s.refuse(rw, log, rt, reqID, err)
		return
	}
	// An unsigned operation (unsignedOps) has no principal: its input is
	// the caller's proof, and a handler that verifies one fills rt.caller
	// with whom it names (a web identity).
	var p *auth.Principal
	var throttleKey string
	if rt.unsigned() {
		rt.caller = &audit.Identity{}
		throttleKey = "unsigned:" + sourceIP(r)
	} else {
		region := s.d.Region
		if rt.service == serviceIAM {
			region = iamSigningRegion(r, s.d.Region)
		}
		res, err := s.d.Verifier.VerifyIn(r.Context(), r, body, rt.service, region)
		if err != nil {
			s.finish(rw, log, r, rt, reqID, body, nil, nil, err)
			return
		}
		var ok bool
		if p, ok = res.Credential.Principal.(*auth.Principal); !ok {
			s.writeError(rw, log, rt, reqID, errors.New("credential without principal"))
			return
		}
		log, throttleKey = log.With("principal", p.ARN), p.ARN
	}
	if err := s.d.Throttle.Allow(throttleKey, s.d.Clock.Now()); err != nil {
		s.finish(rw, log, r, rt, reqID, body, p, nil, err)
		return
	}
	// GetIdentityCenterAuthToken applies its faults itself, at BEHAVIOUR 4.2's
	// check 10, after input, IAM and state checks.
	if rt.service != serviceAdmin && !(rt.service == serviceServerless && rt.op == opGetIdentityCenterAuthToken) {
		if err := s.d.Faults.Apply(r.Context(), rt.op); err != nil {
			s.finish(rw, log, r, rt, reqID, body, p, nil, err)
			return
		}
	}
	// The call's record is announced before the operation runs: a change
	// the operation commits carries it (journal.Journaled), so no change is
	// ever committed without a durable record.
	if p == nil {
		// An unsigned operation's record is taken from the bucket now,
		// before the operation: a call whose record is dropped must not
		// leave a journal entry that would become a record anyway.
		rt.auditDecided, rt.audited = true, s.d.Audit != nil && s.recordable(rt, nil)
	}
	if s.d.Audit != nil && (p != nil || rt.audited) {
		req := r
		in := journal.NewIntent(func() *audit.Record { return s.auditRecord(req, rt, reqID, body, p, nil) })
		r = r.WithContext(journal.WithIntent(r.Context(), in))
	}
	c := &call{
		ctx:       r.Context(),
		requestID: reqID,
		log:       log,
		principal: p,
		op:        rt.op,
		body:      body,
		authReq: auth.Request{
			Region:          s.d.Region,
			SourceIP:        sourceIP(r),
			SecureTransport: r.TLS != nil,
			Now:             s.d.Clock.Now(),
		},
		route: rt,
		http:  r,
	}
	var out any
	if serve, ok := serviceHandlers[rt.service]; ok {
		out, err = serve(s, c)
	} else {
		err = protocol.Errorf(protocol.ErrUnknownOperation, "Unsupported service.")
	}
	s.finish(rw, log, r, rt, reqID, body, p, out, err)
}

// metricsAllowed lets every request through when metrics are public, and
// otherwise only one SigV4-signed (service "idcgate", like the administrator
// API) by an account root, so an operator can scrape with
// curl --aws-sigv4 "aws:amz:<region>:idcgate". Refusals are awsJson errors.
func (s *Server) metricsAllowed(r *http.Request) error {
	if !s.d.PrivateMetrics {
		return nil
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	res, err := s.d.Verifier.Verify(r.Context(), r, body, serviceAdmin)
	if err != nil {
		return err
	}
	p, ok := res.Credential.Principal.(*auth.Principal)
	if !ok {
		return errors.New("credential without principal")
	}
	if p.Kind != auth.KindRoot {
		return auth.Deny(p.ARN, "idcgate:GetMetrics", "", ": administrator (account root) credentials are required")
	}
	return nil
}

// refuse counts a request refused before it was routed to an operation
// and writes the error.
func (s *Server) refuse(rw http.ResponseWriter, log *slog.Logger, rt routed, reqID string, err error) {
	s.observe(rt, err)
	s.writeError(rw, log, rt, reqID, err)
}

// observe counts a request under labels an attacker cannot multiply: the
// service and operation only when served (else "unknown"), the error code
// from awserror's table.
func (s *Server) observe(rt routed, err error) {
	code := ""
	if err != nil {
		code = awserror.From(err, rt.protocol).Code
	}
	s.d.Metrics.ObserveRequest(rt.serviceLabel(), rt.opLabel(), code, s.d.Clock.Now().Sub(rt.start))
}

// finish audits the call durably, then writes the response or the error.
func (s *Server) finish(rw http.ResponseWriter, log *slog.Logger, r *http.Request, rt routed, reqID string, body []byte, p *auth.Principal, out any, err error) {
	defer func() { s.observe(rt, err) }()
	if s.d.Audit != nil && s.recordable(rt, p) {
		in := journal.IntentFrom(r.Context())
		rec := s.auditRecord(r, rt, reqID, body, p, err)
		if o, ok := out.(interface{ statementID() string }); ok && err == nil {
			// The id a Data API call made, so the trail ties the statement
			// to its caller (the request carries no id yet).
			if rec.AdditionalEventData == nil {
				rec.AdditionalEventData = map[string]any{}
			}
			rec.AdditionalEventData["statementId"] = o.statementID()
		}
		if aerr := s.d.Audit.Complete(r.Context(), in, rec); aerr != nil {
			if in.Committed() {
				// The change committed with its journal entry: that is the
				// durable record (Recover writes it out). Refusing now would
				// report a failure for a change that happened.
				log.Error("audit write failed after the call committed; its journal entry stands for the record", "err", aerr)
			} else {
				// Nothing changed: refusing is truthful and a retry is safe.
				log.Error("audit write failed; refusing the response", "err", aerr)
				err, out = fmt.Errorf("audit: %w", aerr), nil
			}
		}
	}
	if err != nil {
		s.writeError(rw, log, rt, reqID, err)
		return
	}
	switch rt.protocol {
	case protocol.AWSQuery:
		awsquery.WriteResponse(rw, rt.op, rt.xmlns, reqID, out)
	case protocol.RESTJSON:
		restjson.WriteResponse(rw, out)
	default:
		awsjson.WriteResponse(rw, out)
	}
}

// writeError renders err in the route's protocol and logs internal causes
// (never sent).
func (s *Server) writeError(w http.ResponseWriter, log *slog.Logger, rt routed, reqID string, err error) {
	e := awserror.From(err, rt.protocol)
	if e.Internal {
		log.Error("internal error", "err", err)
	} else {
		log.Debug("request refused", "code", e.Code, "err", err)
	}
	switch rt.protocol {
	case protocol.AWSQuery:
		awsquery.WriteError(w, e, rt.xmlns, reqID)
	case protocol.RESTJSON:
		restjson.WriteError(w, e)
	default:
		awsjson.WriteError(w, e)
	}
}

func readBody(r *http.Request) ([]byte, error) {
	if r.ContentLength > MaxBodyBytes {
		return nil, protocol.Errorf(protocol.ErrTooLarge, "Request must be smaller than 1048576 bytes.")
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		return nil, protocol.Errorf(protocol.ErrSerialization, "The request body could not be read.")
	}
	if len(b) > MaxBodyBytes {
		return nil, protocol.Errorf(protocol.ErrTooLarge, "Request must be smaller than 1048576 bytes.")
	}
	return b, nil
}

// recordable decides whether a call gets an audit record. An
// authenticated call always does. A call that failed authentication does
// when it named an operation served here (failed attempts on real
// operations are what an auditor looks for), within the unauthenticated
// token bucket, so anyone who can reach the port cannot grow the trail
// faster than that; the rest are counted as dropped. An unauthenticated
// call of an unknown operation is not recorded, as CloudTrail records
// neither.
func (s *Server) recordable(rt routed, p *auth.Principal) bool {
	if p != nil || rt.caller != nil && rt.caller.Type != "" {
		return true
	}
	if rt.auditDecided {
		return rt.audited
	}
	if rt.opLabel() == unknownOp {
		return false
	}
	if s.unauthAudit.AllowN(s.d.Clock.Now(), 1) {
		return true
	}
	s.d.Metrics.AuditUnauthenticatedDropped()
	return false
}

// clip bounds client-controlled text for a log line.
func clip(s string) string {
	if len(s) > 256 {
		return s[:256] + "…"
	}
	return s
}

func sourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func newRequestID() string { return ids.MustUUID() }

// statusWriter remembers the status code for the access log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Services, by their SigV4 signing names.
const (
	serviceServerless = "redshift-serverless"
	serviceSTS        = "sts"
	serviceRedshift   = "redshift"
	serviceOIDC       = "sso-oauth"
	serviceIAM        = "iam"
	// serviceAdmin is idcgate's own administrator API (Idcgate.* targets).
	serviceAdmin = "idcgate"
)

type routed struct {
	protocol protocol.Protocol
	service  string
	op       string
	xmlns    string // awsQuery document namespace
	start    time.Time
	// auditDecided: whether the call is recorded was decided before the
	// operation ran (an unsigned call, section 2.2); audited is the answer.
	auditDecided, audited bool
	// caller is whom an unsigned call's own proof names (a web identity),
	// filled by its handler for the audit record; nil for signed calls.
	caller *audit.Identity
}

// oidcPaths are SSO-OIDC's restJson1 operations by path (POST /token?aws_iam=t
// is CreateTokenWithIAM).
var oidcPaths = map[string]string{
	"/token":                "CreateToken",
	"/client/register":      "RegisterClient",
	"/device_authorization": "StartDeviceAuthorization",
}

// route decides the protocol, the service and the operation of a request
// (BEHAVIOUR 2.1) without trusting anything the signature has not yet
// covered: the signature check that follows is bound to the routed service.
func route(r *http.Request, body []byte) (routed, error) {
	target := r.Header.Get("X-Amz-Target")
	if target == "" && r.URL.Query().Has("X-Amz-Signature") {
		// A presigning signer hoists X-Amz-* headers into the signed query.
		target = r.URL.Query().Get("X-Amz-Target")
	}
	if target != "" {
		rt := routed{protocol: protocol.AWSJSON}
		svc, op, _ := strings.Cut(target, ".")
		switch {
		case !validOpName(op):
		case svc == "RedshiftServerless":
			rt.service, rt.op = serviceServerless, op
		case svc == "Idcgate":
			rt.service, rt.op = serviceAdmin, op
		case svc == "RedshiftData":
			rt.service, rt.op = serviceDataAPI, op
		case svc == "SWBExternalService":
			rt.service, rt.op = serviceSSOAdmin, op
		case svc == "AWSIdentityStore":
			rt.service, rt.op = serviceIdentityStore, op
		}
		if rt.service == "" {
			return rt, protocol.Errorf(protocol.ErrUnknownOperation, "The operation "+quoteOp(target)+" is not supported by this endpoint.")
		}
		if r.Method != http.MethodPost {
			return rt, protocol.Errorf(protocol.ErrMethodNotAllowed, "awsJson1_1 requests must use POST.")
		}
		return rt, nil
	}
	if op, ok := oidcPaths[r.URL.Path]; ok {
		rt := routed{protocol: protocol.RESTJSON, service: serviceOIDC, op: op}
		if op == "CreateToken" && r.URL.Query().Get("aws_iam") == "t" {
			rt.op = "CreateTokenWithIAM"
		}
		if r.Method != http.MethodPost {
			return rt, protocol.Errorf(protocol.ErrMethodNotAllowed, "POST "+r.URL.Path+" only.")
		}
		return rt, nil
	}
	if r.URL.Path == "/" {
		params, err := awsquery.Parse(r, body)
		rt := routed{protocol: protocol.AWSQuery, xmlns: awsquery.STSNamespace}
		if err != nil {
			return rt, err
		}
		switch params.Get("Version") {
		case "2011-06-15":
			rt.service = serviceSTS
		case "2012-12-01":
			rt.service, rt.xmlns = serviceRedshift, awsquery.RedshiftNamespace
		case "2010-05-08":
			rt.service, rt.xmlns = serviceIAM, awsquery.IAMNamespace
		}
		rt.op = params.Get("Action")
		switch {
		case rt.op == "" && rt.service == "" && r.Method == http.MethodPost && len(body) > 0 && body[0] == '{':
			return routed{protocol: protocol.AWSJSON}, protocol.Errorf(protocol.ErrUnknownOperation, "awsJson1_1 requests need an X-Amz-Target header.")
		case rt.op == "":
			return rt, protocol.Errorf(protocol.ErrMissingAction, "Could not find operation: the request has no Action parameter.")
		case !validOpName(rt.op):
			return rt, protocol.Errorf(protocol.ErrUnknownOperation, "Could not find operation "+quoteOp(rt.op)+" for version "+quoteOp(params.Get("Version"))+".")
		case rt.service == "":
			return rt, protocol.Errorf(protocol.ErrUnknownOperation, "Could not find operation "+quoteOp(rt.op)+" for version "+quoteOp(params.Get("Version"))+".")
		}
		return rt, nil
	}
	return routed{protocol: protocol.AWSJSON}, protocol.Errorf(protocol.ErrNotFoundPath, "No AWS API is served at "+quoteOp(r.Method+" "+r.URL.Path)+".")
}

// quoteOp quotes client-controlled text for a message.
func quoteOp(s string) string { return "'" + apierror.Printable(s) + "'" }
