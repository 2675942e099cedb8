package server

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/idcgate/idcgate/internal/apierror"
	"github.com/idcgate/idcgate/internal/audit/query"
	"github.com/idcgate/idcgate/internal/auth"
	"github.com/idcgate/idcgate/internal/authtoken"
	"github.com/idcgate/idcgate/internal/faults"
	"github.com/idcgate/idcgate/internal/identitycenter"
	"github.com/idcgate/idcgate/internal/issuer"
	"github.com/idcgate/idcgate/internal/keyring"
	"github.com/idcgate/idcgate/internal/protocol/awsjson"
	"github.com/idcgate/idcgate/internal/serverless"
	"github.com/idcgate/idcgate/internal/ssoadmin"
	"github.com/idcgate/idcgate/internal/upstreamca"
	"github.com/idcgate/idcgate/internal/validation"
)

// idcgate's own administrator operations (X-Amz-Target: Idcgate.<Op>,
// SigV4 service "idcgate"): only an account root may call them.

type issueTestTokenInput struct {
	UserName   *string `json:"userName"`
	Audience   *string `json:"audience"`
	TTLSeconds *int64  `json:"ttlSeconds"`
}

type issueTestTokenOutput struct {
	Token          string        `json:"token"`
	ExpirationTime *awsjson.Time `json:"expirationTime"`
	Issuer         string        `json:"issuer"`
}

// adminOps are the Idcgate.* operations.
var adminOps = opTable[handler]{
	unknown: func(op string) string { return "Unknown idcgate operation " + quoteOp(op) + "." },
	ops: joinOps(map[string]handler{
		"IssueTestToken":     (*Server).issueTestToken,
		"SetUserPassword":    (*Server).setUserPassword,
		"SetFaults":          (*Server).setFaults,
		"GetFaults":          (*Server).getFaults,
		"LookupEvents":       (*Server).lookupEvents,
		"GetLoginCandidates": (*Server).getLoginCandidates,
		"GetUpstreamCA":      (*Server).getUpstreamCA,
		"InspectToken":       (*Server).inspectToken,
	}, servedBy((*Server).workgroupKeys, "RotateWorkgroupKey", "RetireWorkgroupKeys", "DescribeWorkgroupKeys")),
}

func (s *Server) serveAdmin(c *call) (any, error) {
	if c.principal.Kind != auth.KindRoot {
		return nil, auth.Deny(c.principal.ARN, "idcgate:"+c.op, "", ": administrator (account root) credentials are required")
	}
	return serveOp(s, c, adminOps)
}

func (s *Server) issueTestToken(c *call) (any, error) {
	var in issueTestTokenInput
	ttl := int64(3600)
	if err := decodeValid(c, &in, func(v *validation.Collector) {
		v.Required("userName", in.UserName != nil)
		if in.TTLSeconds != nil {
			ttl = *in.TTLSeconds
			v.Range("ttlSeconds", ttl, 1, 86400)
		}
	}); err != nil {
		return nil, err
	}
	if s.d.IdP == nil || s.d.Directory == nil {
		return nil, validation.Newf("The built-in IdP needs an identityCenter section in the config.")
	}
	user, err := s.d.Directory.UserByName(c.ctx, *in.UserName)
	if err != nil && !errors.Is(err, identitycenter.ErrNoSuchUser) {
		return nil, err
	}
	if err != nil {
		return nil, validation.Newf("User %s is not in identity store %s.", *in.UserName, s.d.Directory.IdentityStoreID)
	}
	aud := "idcgate-demo"
	if in.Audience != nil {
		aud = *in.Audience
	}
	tok, err := s.d.IdP.Issue(user, aud, time.Duration(ttl)*time.Second, s.d.Clock.Now())
	if err != nil {
		return nil, err
	}
	return issueTestTokenOutput{Token: tok.JWT, ExpirationTime: awsjson.Timestamp(tok.ExpiresAt), Issuer: s.d.IdP.Issuer()}, nil
}

// setUserPassword sets a directory user's sign-in password (BEHAVIOUR
// 18.6); the audit record hides the password member (audit.Redact).
func (s *Server) setUserPassword(c *call) (any, error) {
	var in struct {
		UserName *string `json:"userName"`
		Password *string `json:"password"`
	}
	if err := decodeValid(c, &in, func(v *validation.Collector) {
		v.Required("userName", in.UserName != nil)
		v.Required("password", in.Password != nil)
	}); err != nil {
		return nil, err
	}
	if s.d.Passwords == nil {
		return nil, validation.Newf("Sign-in passwords need an identityCenter section in the config.")
	}
	u, err := s.d.Passwords.Set(c.ctx, *in.UserName, *in.Password)
	if err != nil {
		return nil, err
	}
	c.log.Info("sign-in password set", "user_id", u.ID)
	return map[string]string{"userName": u.Name, "userId": u.ID, "identityStoreId": s.d.IdStore.StoreID}, nil
}

func (s *Server) setFaults(c *call) (any, error) {
	var in struct {
		Rules []faults.Rule `json:"rules"`
	}
	if err := awsjson.Decode(c.body, &in); err != nil {
		return nil, err
	}
	if err := s.d.Faults.Set(c.ctx, in.Rules); err != nil {
		return nil, err
	}
	c.log.Warn("fault injection rules set", "rules", len(in.Rules))
	return map[string]any{"rules": in.Rules}, nil
}

func (s *Server) getFaults(c *call) (any, error) {
	rules, err := s.d.Faults.Rules(c.ctx)
	if err != nil {
		return nil, err
	}
	return map[string]any{"rules": orEmpty(rules)}, nil
}

func (s *Server) lookupEvents(c *call) (any, error) {
	var in struct {
		After      string `json:"after"`
		Until      string `json:"until"`
		UserName   string `json:"userName"`
		EventName  string `json:"eventName"`
		MaxResults int    `json:"maxResults"`
		Latest     bool   `json:"latest"`
	}
	if err := decodeValid(c, &in, func(v *validation.Collector) {
		v.Range("maxResults", int64(in.MaxResults), 0, query.MaxLookup)
	}); err != nil {
		return nil, err
	}
	// Read this process's own writes (the embedded store's copy of the
	// trail may lag the file by a moment).
	if err := s.d.Audit.Flush(c.ctx); err != nil {
		return nil, err
	}
	events, last, err := query.Lookup(c.ctx, s.d.Store, query.Filter{After: in.After, Until: in.Until, UserName: in.UserName,
		EventName: in.EventName, Max: in.MaxResults, Latest: in.Latest})
	if err != nil {
		return nil, err
	}
	return lookupEventsOutput{Events: orEmpty(events), Cursor: last}, nil
}

// getLoginCandidates answers the roles and applications `idcgate login`
// may take for a caller
// (the rule is the server's: where its data comes from may change).
func (s *Server) getLoginCandidates(c *call) (any, error) {
	var in struct {
		CallerArn *string `json:"callerArn"`
	}
	if err := decodeValid(c, &in, func(v *validation.Collector) { v.Required("callerArn", in.CallerArn != nil) }); err != nil {
		return nil, err
	}
	caller, ok, err := s.d.STS.Registry.PrincipalByARN(c.ctx, *in.CallerArn)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, validation.Newf("callerArn %q is not a principal of this server: pass the ARN GetCallerIdentity shows for the credentials login signs with.", clip(*in.CallerArn))
	}
	if caller.Kind == auth.KindRoot {
		// What AssumeRole would answer it.
		return nil, apierror.New(auth.ErrAccessDenied, "Roles may not be assumed by root accounts.")
	}
	roles, err := s.d.STS.LoginRoles(c.ctx, caller, c.authReq)
	if err != nil {
		return nil, err
	}
	out := loginCandidatesOutput{Roles: orEmpty(roles), Applications: []loginApplication{}}
	if s.d.SSOAdmin != nil {
		apps, err := s.d.SSOAdmin.LoginApplications(c.ctx)
		if err != nil {
			return nil, err
		}
		out.Applications = wireAll(apps, func(a ssoadmin.LoginApplication) loginApplication {
			return loginApplication{ApplicationArn: a.ApplicationArn, Audiences: a.Audiences}
		})
	}
	return out, nil
}

// getUpstreamCA answers the certificate only: what an upstream's
// ssl_ca_file needs.
func (s *Server) getUpstreamCA(c *call) (any, error) {
	cert, err := upstreamca.CertificatePEM(c.ctx, s.d.Store)
	if errors.Is(err, upstreamca.ErrNone) {
		return nil, validation.Newf("There is no upstream CA yet: idcgate creates it when it first starts with the gateway on.")
	}
	if err != nil {
		return nil, err
	}
	return map[string]string{"certificate": string(cert)}, nil
}

func (s *Server) inspectToken(c *call) (any, error) {
	var in struct {
		Token *string `json:"token"`
	}
	if err := decodeValid(c, &in, func(v *validation.Collector) { v.Required("token", in.Token != nil) }); err != nil {
		return nil, err
	}
	h, claims, err := s.d.Issuer.Inspect(c.ctx, s.scope(c), *in.Token)
	out := inspectTokenOutput{Header: h, Claims: claims, Valid: err == nil}
	if err != nil {
		if errors.Is(err, authtoken.ErrMalformed) {
			return nil, validation.Newf("The token is not an idcgate Identity Center token.")
		}
		problem, ok := issuer.Problem(err)
		if !ok {
			return nil, err // not the token's fault: an internal error, logged
		}
		out.Problem = problem
	}
	return out, nil
}

func (s *Server) workgroupKeys(c *call) (any, error) {
	var in struct {
		WorkgroupName *string `json:"workgroupName"`
		MinVersion    *int    `json:"minVersion"`
	}
	if err := decodeValid(c, &in, func(v *validation.Collector) { v.Required("workgroupName", in.WorkgroupName != nil) }); err != nil {
		return nil, err
	}
	wg, err := s.d.Serverless.GetWorkgroup(c.ctx, s.scope(c), *in.WorkgroupName)
	if err != nil {
		return nil, err
	}
	// A workgroup's keys are destroyed when its deletion begins, and
	// never made again (issuer.KeysGone says what the caller gets).
	if wg.Status == serverless.StatusDeleting {
		return nil, issuer.KeysGoneFor(wg, keyring.ErrNoKeyring)
	}
	id := keyring.ID{Account: c.principal.Account, Region: s.d.Region, WorkgroupID: wg.WorkgroupId}
	switch c.op {
	case "RotateWorkgroupKey":
		if _, err := s.d.Keys.Rotate(c.ctx, id); err != nil {
			return nil, issuer.KeysGone(c.ctx, s.d.Serverless, s.scope(c), wg.WorkgroupName, err)
		}
		c.log.Info("workgroup key rotated", "workgroup", wg.WorkgroupName)
	case "RetireWorkgroupKeys":
		if in.MinVersion == nil {
			return nil, required("minVersion", nil)
		}
		if err := s.d.Keys.Retire(c.ctx, id, *in.MinVersion); err != nil {
			return nil, issuer.KeysGone(c.ctx, s.d.Serverless, s.scope(c), wg.WorkgroupName, err)
		}
		c.log.Info("workgroup keys retired", "workgroup", wg.WorkgroupName, "min_version", *in.MinVersion)
	}
	info, err := s.d.Keys.Describe(c.ctx, id)
	if err != nil {
		return nil, issuer.KeysGone(c.ctx, s.d.Serverless, s.scope(c), wg.WorkgroupName, err)
	}
	out := workgroupKeysOutput{WorkgroupName: wg.WorkgroupName, LatestVersion: info.Latest, MinDecryptVersion: info.MinDecrypt}
	for v := info.MinDecrypt; v <= info.Latest; v++ {
		out.Versions = append(out.Versions, keyVersionOutput{Version: v, CreatedAt: awsjson.Timestamp(info.Created[v])})
	}
	return out, nil
}

type loginCandidatesOutput struct {
	Roles        []string           `json:"roles"`
	Applications []loginApplication `json:"applications"`
}

// loginApplication is an application whose jwt-bearer grant accepts the
// built-in IdP, with that grant's audiences.
type loginApplication struct {
	ApplicationArn string   `json:"applicationArn"`
	Audiences      []string `json:"audiences"`
}

type inspectTokenOutput struct {
	Valid   bool              `json:"valid"`
	Problem string            `json:"problem,omitempty"`
	Header  authtoken.Header  `json:"header"`
	Claims  *authtoken.Claims `json:"claims,omitempty"`
}

type keyVersionOutput struct {
	Version   int           `json:"version"`
	CreatedAt *awsjson.Time `json:"createdAt"`
}

type workgroupKeysOutput struct {
	WorkgroupName     string             `json:"workgroupName"`
	LatestVersion     int                `json:"latestVersion"`
	MinDecryptVersion int                `json:"minDecryptVersion"`
	Versions          []keyVersionOutput `json:"versions"`
}

type lookupEventsOutput struct {
	Events []json.RawMessage `json:"events"`
	Cursor string            `json:"cursor"`
}
