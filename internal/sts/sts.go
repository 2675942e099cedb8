// Package sts implements STS GetCallerIdentity and AssumeRole, including
// ProvidedContexts from Identity Center, which makes the role session
// identity-enhanced. Session credentials are stateless: the session token
// is a seal holding the whole session (keys, role, expiry, session policy,
// identity context), so any replica with the master key can verify it and
// nobody can forge or edit one.
package sts

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"regexp"
	"time"

	"github.com/idcgate/idcgate/internal/apierror"
	"github.com/idcgate/idcgate/internal/auth"
	"github.com/idcgate/idcgate/internal/clock"
	"github.com/idcgate/idcgate/internal/iam"
	"github.com/idcgate/idcgate/internal/identitycenter"
	"github.com/idcgate/idcgate/internal/jwtverify"
	"github.com/idcgate/idcgate/internal/seal"
	"github.com/idcgate/idcgate/internal/sigv4"
	"github.com/idcgate/idcgate/internal/validation"
)

// Sentinels, mapped to STS error codes by the wire table.
var (
	ErrMalformedPolicy     = errors.New("sts: malformed policy document")
	ErrPackedPolicyTooBig  = errors.New("sts: packed policy too large")
	ErrInvalidParameter    = errors.New("sts: invalid parameter value")
	ErrExpiredContext      = errors.New("sts: expired context assertion")
	ErrSessionTokenInvalid = errors.New("session token invalid")
)

var fail = apierror.New

// errRoleGone: a session's role (or IAM user) no longer exists: its keys stop working.
var errRoleGone = errors.New("sts: role no longer exists")

// Service is STS.
type Service struct {
	Registry *auth.Registry
	Dir      *identitycenter.Directory
	Contexts *seal.Box // identity-context assertions from SSO-OIDC
	Sessions *seal.Box // session tokens
	Clock    clock.Clock
	Rand     io.Reader
	// IssuerKeys gives the keys of an OpenID Connect provider's issuer URL
	// (AssumeRoleWithWebIdentity); each call for one URL may share a cache.
	IssuerKeys func(issuer string) jwtverify.KeySource

	opened openedSessions
}

// session is what a session token holds.
type session struct {
	AccessKeyID   string                  `json:"ak"`
	Secret        string                  `json:"sk"`
	Account       string                  `json:"a"`
	RoleArn       string                  `json:"r"`
	SessionName   string                  `json:"n"`
	IssuedAt      time.Time               `json:"i"`
	Expires       time.Time               `json:"e"`
	SessionPolicy string                  `json:"p,omitempty"`
	Context       *identitycenter.Context `json:"c,omitempty"`
	// UserArn and UserID name the IAM user of a GetSessionToken session
	// (RoleArn is then empty); a user deleted and made again under the same
	// name has another id, and gets none of its predecessor's sessions.
	UserArn string `json:"u,omitempty"`
	UserID  string `json:"ui,omitempty"`
}

var keyAlphabet = base32.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567").WithPadding(base32.NoPadding)

// LookupCredential implements sigv4.CredentialSource for session keys.
func (s *Service) LookupCredential(ctx context.Context, accessKeyID, token string) (sigv4.Credential, error) {
	if token == "" {
		return sigv4.Credential{}, fmt.Errorf("session %s: %w", accessKeyID, sigv4.ErrInvalidClientToken)
	}
	ss, ok := s.opened.get(token)
	if !ok {
		if s.Sessions.Open(token, &ss) != nil {
			return sigv4.Credential{}, fmt.Errorf("session %s: %w", accessKeyID, sigv4.ErrInvalidClientToken)
		}
		s.opened.put(token, ss)
	}
	if ss.AccessKeyID != accessKeyID {
		return sigv4.Credential{}, fmt.Errorf("session %s: %w", accessKeyID, sigv4.ErrInvalidClientToken)
	}
	if !s.Clock.Now().Before(ss.Expires) {
		return sigv4.Credential{}, sigv4.ErrExpiredToken
	}
	p, err := s.principal(ctx, &ss)
	if errors.Is(err, errRoleGone) || errors.As(err, new(*iam.PolicyError)) {
		return sigv4.Credential{}, fmt.Errorf("session %s: %w", accessKeyID, sigv4.ErrInvalidClientToken)
	}
	if err != nil {
		return sigv4.Credential{}, err
	}
	return sigv4.Credential{AccessKeyID: accessKeyID, SecretAccessKey: ss.Secret, SessionToken: token, Expiration: ss.Expires, Principal: p}, nil
}

// principal rebuilds the caller from a session; the role's policies are the
// current ones, as in AWS.
func (s *Service) principal(ctx context.Context, ss *session) (*auth.Principal, error) {
	if ss.UserArn != "" {
		return s.userPrincipal(ctx, ss)
	}
	role, ok, err := s.Registry.Role(ctx, ss.RoleArn)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errRoleGone
	}
	p := role.Session(ss.SessionName)
	p.AccessKeyID, p.IssuedAt, p.Expiration, p.IdentityContext = ss.AccessKeyID, ss.IssuedAt, ss.Expires, ss.Context
	p.Context = make(iam.Context, 5)
	if ss.SessionPolicy != "" {
		pol, err := iam.ParsePolicy([]byte(ss.SessionPolicy), iam.KindSession)
		if err != nil {
			return nil, err
		}
		p.Session, p.HasSession = []*iam.Policy{pol}, true
	}
	if ss.Context != nil {
		ss.Context.SetConditionKeys(p.Context)
	}
	return p, nil
}

// CallerIdentity is GetCallerIdentity's answer.
type CallerIdentity struct{ Account, Arn, UserId string }

// GetCallerIdentity needs no permission (as in AWS).
func GetCallerIdentity(p *auth.Principal) CallerIdentity {
	return CallerIdentity{Account: p.Account, Arn: p.ARN, UserId: p.UserID}
}

// ProvidedContext is one ProvidedContexts member.
type ProvidedContext struct{ ProviderArn, ContextAssertion string }

// AssumeRoleInput is AssumeRole's input. The members idcgate does not act
// on (ExternalId … TransitiveTagKeys) are still held to AWS's bounds, so a
// request AWS refuses is refused here too, before anything is evaluated.
type AssumeRoleInput struct {
	RoleArn          string
	RoleSessionName  string
	DurationSeconds  *int64
	Policy           string
	ProvidedContexts []ProvidedContext

	ExternalId, SourceIdentity, SerialNumber, TokenCode *string
	PolicyArns                                          []string
	Tags                                                []Tag
	TransitiveTagKeys                                   []string
}

// Tag is one session tag; Key is nil when the member was not sent.
type Tag struct{ Key, Value *string }

// Credentials are temporary credentials.
type Credentials struct {
	AccessKeyId, SecretAccessKey, SessionToken string
	Expiration                                 time.Time
}

// AssumeRoleOutput is AssumeRole's answer.
type AssumeRoleOutput struct {
	Credentials      Credentials
	AssumedRoleId    string
	Arn              string
	PackedPolicySize int
}

// AWS's patterns for AssumeRole's members (the STS service model).
var (
	sessionNameRe = regexp.MustCompile(`^[\w+=,.@-]*$`)
	externalIDRe  = regexp.MustCompile(`^[\w+=,.@:/-]*$`)
	serialRe      = regexp.MustCompile(`^[\w+=/:,.@-]*$`)
	tokenCodeRe   = regexp.MustCompile(`^\d*$`)
	arnTypeRe     = regexp.MustCompile(`^[\x{0009}\x{000A}\x{000D}\x{0020}-\x{007E}\x{0085}\x{00A0}-\x{D7FF}\x{E000}-\x{FFFD}\x{10000}-\x{10FFFF}]+$`)
	policyDocRe   = regexp.MustCompile(`^[\x{0009}\x{000A}\x{000D}\x{0020}-\x{00FF}]+$`)
	tagKeyRe      = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$`)
	tagValueRe    = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
)

// The model's patterns, as its validation messages show them.
const (
	arnTypePattern  = `[\u0009\u000A\u000D\u0020-\u007E\u0085\u00A0-\uD7FF\uE000-\uFFFD\u10000-\u10FFFF]+`
	tagKeyPattern   = `[\p{L}\p{Z}\p{N}_.:/=+\-@]+`
	tagValuePattern = `[\p{L}\p{Z}\p{N}_.:/=+\-@]*`
)

// MaxSessionPolicy is the largest inline session policy, in bytes.
const MaxSessionPolicy = 2048

// AssumeRole creates a role session for caller.
func (s *Service) AssumeRole(ctx context.Context, caller *auth.Principal, in AssumeRoleInput, req auth.Request) (AssumeRoleOutput, error) {
	if err := validateAssumeRole(&in); err != nil {
		return AssumeRoleOutput{}, err
	}
	// Managed session policies would narrow the session; idcgate has no
	// managed policies yet, so a session that ignored them would be broader
	// than the caller asked for. Refused, never ignored.
	if len(in.PolicyArns) > 0 {
		return AssumeRoleOutput{}, validation.Newf("PolicyArns: idcgate has no managed policies, so %s cannot narrow the session; pass the statements inline as Policy.", in.PolicyArns[0])
	}
	if caller.Kind == auth.KindRoot {
		return AssumeRoleOutput{}, apierror.New(auth.ErrAccessDenied, "Roles may not be assumed by root accounts.")
	}
	role, ok, err := s.Registry.Role(ctx, in.RoleArn)
	if err != nil {
		return AssumeRoleOutput{}, err
	}
	if !ok {
		// Answered as a policy refusal, so the caller learns nothing of which roles exist.
		return AssumeRoleOutput{}, &apierror.Error{Kind: auth.ErrAccessDenied, Message: iam.DenyMessage(caller.ARN, "sts:AssumeRole", in.RoleArn, iam.Result{Decision: iam.DecisionImplicitDeny})}
	}
	actions := []string{"sts:AssumeRole"}
	if len(in.ProvidedContexts) > 0 {
		actions = append(actions, "sts:SetContext")
	}
	for _, action := range actions {
		if err := s.trusts(caller, role, action, req); err != nil {
			return AssumeRoleOutput{}, err
		}
	}
	now := s.Clock.Now().UTC()
	duration := time.Hour
	if in.DurationSeconds != nil {
		duration = time.Duration(*in.DurationSeconds) * time.Second
	}
	max := role.MaxSessionDuration
	if caller.Kind == auth.KindAssumedRole {
		max = time.Hour // role chaining is limited to one hour
	}
	if duration > max {
		return AssumeRoleOutput{}, validation.Newf("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	packed, err := sessionPolicy(in.Policy)
	if err != nil {
		return AssumeRoleOutput{}, err
	}
	ictx, err := s.context(ctx, caller, in.ProvidedContexts, now)
	if err != nil {
		return AssumeRoleOutput{}, err
	}
	expires := now.Add(duration).Truncate(time.Second)
	if ictx != nil && ictx.Expires.Before(expires) && len(in.ProvidedContexts) == 0 {
		expires = ictx.Expires
	}
	creds, err := s.issue(session{
		Account: role.Account, RoleArn: role.ARN,
		SessionName: in.RoleSessionName, IssuedAt: now.Truncate(time.Second), Expires: expires,
		SessionPolicy: in.Policy, Context: ictx,
	})
	if err != nil {
		return AssumeRoleOutput{}, err
	}
	return roleSession(role, in.RoleSessionName, creds, packed), nil
}

// issue makes ss's key pair, in its account, and seals ss into the
// session token that carries it.
func (s *Service) issue(ss session) (Credentials, error) {
	var err error
	if ss.AccessKeyID, ss.Secret, err = s.newKeys(ss.Account); err != nil {
		return Credentials{}, err
	}
	tok, err := s.Sessions.Seal(ss)
	if err != nil {
		return Credentials{}, err
	}
	return Credentials{AccessKeyId: ss.AccessKeyID, SecretAccessKey: ss.Secret, SessionToken: tok, Expiration: ss.Expires}, nil
}

// roleSession is the answer naming a new session of role.
func roleSession(role *Role, name string, creds Credentials, packed int) AssumeRoleOutput {
	return AssumeRoleOutput{
		Credentials:      creds,
		AssumedRoleId:    role.RoleID + ":" + name,
		Arn:              "arn:aws:sts::" + role.Account + ":assumed-role/" + role.Name + "/" + name,
		PackedPolicySize: packed,
	}
}

// sessionPolicy checks an inline session policy and gives its packed size
// (a percentage of the allowed size; 0 without a policy).
func sessionPolicy(doc string) (int, error) {
	if doc == "" {
		return 0, nil
	}
	if len(doc) > MaxSessionPolicy {
		return 0, fail(ErrPackedPolicyTooBig, "Packed size of the session policy exceeds the limit: %d%% of allowed size.", len(doc)*100/MaxSessionPolicy)
	}
	if _, err := iam.ParsePolicy([]byte(doc), iam.KindSession); err != nil {
		var pe *iam.PolicyError
		if !errors.As(err, &pe) {
			return 0, err
		}
		return 0, fail(ErrMalformedPolicy, "%s", pe.Message)
	}
	return len(doc) * 100 / MaxSessionPolicy, nil
}

// validateAssumeRole holds every member to the STS model's bounds before
// anything is evaluated: a value past them (a megabyte RoleArn, say) is a
// ValidationError that costs nothing more to answer.
func validateAssumeRole(in *AssumeRoleInput) error {
	var v validation.Collector
	checkRoleSession(&v, in.RoleArn, in.RoleSessionName)
	checkDurationAndPolicy(&v, in.DurationSeconds, in.Policy)
	optional := func(path string, s *string, min, max int, re *regexp.Regexp, pattern string) {
		if s != nil {
			v.LengthAndPattern(path, *s, min, max, re, pattern)
		}
	}
	optional("externalId", in.ExternalId, 2, 1224, externalIDRe, `[\w+=,.@:\/-]*`)
	optional("sourceIdentity", in.SourceIdentity, 2, 64, sessionNameRe, `[\w+=,.@-]*`)
	optional("serialNumber", in.SerialNumber, 9, 256, serialRe, `[\w+=/:,.@-]*`)
	optional("tokenCode", in.TokenCode, 6, 6, tokenCodeRe, `[\d]*`)
	checkPolicyArns(&v, in.PolicyArns)
	if len(in.Tags) > 50 {
		v.Add("tags", nil, "Member must have length less than or equal to 50")
	}
	for i, tag := range in.Tags {
		path := fmt.Sprintf("tags.%d.member", i+1)
		if v.Required(path+".key", tag.Key != nil) {
			v.LengthAndPattern(path+".key", *tag.Key, 1, 128, tagKeyRe, tagKeyPattern)
		}
		if v.Required(path+".value", tag.Value != nil) {
			v.LengthAndPattern(path+".value", *tag.Value, 0, 256, tagValueRe, tagValuePattern)
		}
	}
	if len(in.TransitiveTagKeys) > 50 {
		v.Add("transitiveTagKeys", nil, "Member must have length less than or equal to 50")
	}
	for i, k := range in.TransitiveTagKeys {
		path := fmt.Sprintf("transitiveTagKeys.%d.member", i+1)
		v.LengthAndPattern(path, k, 1, 128, tagKeyRe, tagKeyPattern)
	}
	if len(in.ProvidedContexts) > 5 {
		v.Add("providedContexts", fmt.Sprint(len(in.ProvidedContexts)), "Member must have length less than or equal to 5")
	} else {
		// Empty members are left to context(), which names what is missing.
		for i, pc := range in.ProvidedContexts {
			path := fmt.Sprintf("providedContexts.%d.member", i+1)
			if pc.ProviderArn != "" {
				v.LengthAndPattern(path+".providerArn", pc.ProviderArn, 20, 2048, arnTypeRe, arnTypePattern)
			}
			if pc.ContextAssertion != "" {
				// An assertion is a credential: never quoted back.
				v.SecretLength(path+".contextAssertion", pc.ContextAssertion, 4, 2048)
			}
		}
	}
	return v.Err()
}

// checkRoleSession checks the RoleArn and RoleSessionName members of an
// operation that makes a role session.
func checkRoleSession(v *validation.Collector, roleArn, sessionName string) {
	if v.Required("roleArn", roleArn != "") {
		v.LengthAndPattern("roleArn", roleArn, 20, 2048, arnTypeRe, arnTypePattern)
	}
	if v.Required("roleSessionName", sessionName != "") {
		v.LengthAndPattern("roleSessionName", sessionName, 2, 64, sessionNameRe, `[\w+=,.@-]*`)
	}
}

// checkDurationAndPolicy checks a role session's DurationSeconds and the
// characters of its Policy: a length over 2048 is PackedPolicyTooLarge,
// answered later (as AWS does).
func checkDurationAndPolicy(v *validation.Collector, duration *int64, policy string) {
	if duration != nil {
		v.Range("durationSeconds", *duration, 900, 43200)
	}
	if policy != "" && len(policy) <= MaxSessionPolicy {
		v.Pattern("policy", policy, policyDocRe, `[\u0009\u000A\u000D\u0020-\u00FF]+`)
	}
}

// checkPolicyArns checks a role session's PolicyArns members.
func checkPolicyArns(v *validation.Collector, arns []string) {
	if len(arns) > 10 {
		v.Add("policyArns", nil, "Member must have length less than or equal to 10")
	}
	for i, arn := range arns {
		v.LengthAndPattern(fmt.Sprintf("policyArns.%d.member.arn", i+1), arn, 20, 2048, arnTypeRe, arnTypePattern)
	}
}

// trusts applies the trust policy and the caller's identity policies.
// Within one account a trust policy that names the caller suffices; one that
// names the account needs the caller's identity policy to allow too.
func (s *Service) trusts(caller *auth.Principal, role *Role, action string, req auth.Request) error {
	ireq := &iam.Request{Action: action, Resource: role.ARN, Principal: caller.IAMPrincipal(), Context: auth.Conditions(caller, req, nil)}
	switch role.Trust.Evaluate(ireq) {
	case iam.DecisionExplicitDeny:
		return auth.Deny(caller.ARN, action, role.ARN, " with an explicit deny in a resource-based policy")
	case iam.DecisionImplicitDeny:
		return auth.Deny(caller.ARN, action, role.ARN, " because the role's trust policy does not allow it")
	}
	err := auth.Authorize(caller, action, role.ARN, req, nil)
	if err != nil && caller.Account == role.Account && role.Trust.NamesPrincipal(caller.IAMPrincipal()) && !auth.IsExplicitDeny(err) {
		return nil
	}
	return err
}

// Role is the auth registry's role.
type Role = auth.Role

// context opens the provided Identity Center context; with none provided, a
// chained session keeps the caller's context so it is never dropped silently.
func (s *Service) context(ctx context.Context, caller *auth.Principal, provided []ProvidedContext, now time.Time) (*identitycenter.Context, error) {
	if len(provided) == 0 {
		return caller.IdentityContext, nil
	}
	var out *identitycenter.Context
	for i, pc := range provided {
		if pc.ProviderArn != identitycenter.ProviderArn {
			return nil, fail(ErrInvalidParameter, "ProvidedContexts.member.%d.ProviderArn %q is not a supported context provider; use %s.", i+1, printable(pc.ProviderArn), identitycenter.ProviderArn)
		}
		if pc.ContextAssertion == "" || len(pc.ContextAssertion) > 4096 {
			return nil, fail(ErrInvalidParameter, "ProvidedContexts.member.%d.ContextAssertion must be 4 to 4096 characters.", i+1)
		}
		var c identitycenter.Context
		if err := s.Contexts.Open(pc.ContextAssertion, &c); err != nil {
			return nil, fail(ErrInvalidParameter, "The context assertion provided for %s is invalid.", identitycenter.ProviderArn)
		}
		if !now.Before(c.Expires) {
			return nil, fail(ErrExpiredContext, "The context assertion provided for %s has expired.", identitycenter.ProviderArn)
		}
		if s.Dir == nil || c.InstanceArn != s.Dir.InstanceArn {
			return nil, fail(ErrInvalidParameter, "The context assertion was not issued by this Identity Center instance.")
		}
		// The user must still be in the directory (BEHAVIOUR 16.6): a user
		// deleted by API gets no new session from an earlier assertion.
		if _, err := s.Dir.UserByID(ctx, c.UserID); errors.Is(err, identitycenter.ErrNoSuchUser) {
			return nil, apierror.New(auth.ErrAccessDenied, "The Identity Center user %s of the context assertion no longer exists in identity store %s.", c.UserID, c.IdentityStoreID)
		} else if err != nil {
			return nil, err
		}
		if caller.IdentityContext != nil && caller.IdentityContext.UserID != c.UserID {
			return nil, apierror.New(auth.ErrAccessDenied, "A session with an identity context cannot assume a role with another user's context.")
		}
		out = &c
	}
	return out, nil
}

// newKeys makes a session's key pair. The key id carries its account as
// AWS's do (KeyIDAccount reads it back), so GetAccessKeyInfo answers for
// session keys without the token.
func (s *Service) newKeys(account string) (string, string, error) {
	r := s.Rand
	if r == nil {
		r = rand.Reader
	}
	var id [10]byte
	var secret [30]byte
	if _, err := io.ReadFull(r, id[:]); err != nil {
		return "", "", err
	}
	if _, err := io.ReadFull(r, secret[:]); err != nil {
		return "", "", err
	}
	withAccount(&id, account)
	return "ASIA" + keyAlphabet.EncodeToString(id[:]), base64.StdEncoding.EncodeToString(secret[:]), nil
}

var printable = apierror.Printable
