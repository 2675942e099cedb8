package server

import (
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/idcgate/idcgate/internal/apierror"
	"github.com/idcgate/idcgate/internal/audit"
	"github.com/idcgate/idcgate/internal/protocol/awsquery"
	"github.com/idcgate/idcgate/internal/sts"
	"github.com/idcgate/idcgate/internal/validation"
)

type getCallerIdentityResult struct {
	XMLName xml.Name `xml:"GetCallerIdentityResult"`
	Arn     string   `xml:"Arn"`
	UserId  string   `xml:"UserId"`
	Account string   `xml:"Account"`
}

type credentialsXML struct {
	AccessKeyId     string `xml:"AccessKeyId"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	SessionToken    string `xml:"SessionToken"`
	Expiration      string `xml:"Expiration"`
}

type assumeRoleResult struct {
	XMLName         xml.Name       `xml:"AssumeRoleResult"`
	Credentials     credentialsXML `xml:"Credentials"`
	AssumedRoleUser struct {
		AssumedRoleId string `xml:"AssumedRoleId"`
		Arn           string `xml:"Arn"`
	} `xml:"AssumedRoleUser"`
	PackedPolicySize *int `xml:"PackedPolicySize,omitempty"`
}

type getSessionTokenResult struct {
	XMLName     xml.Name       `xml:"GetSessionTokenResult"`
	Credentials credentialsXML `xml:"Credentials"`
}

type assumeRoleWithWebIdentityResult struct {
	XMLName                     xml.Name       `xml:"AssumeRoleWithWebIdentityResult"`
	SubjectFromWebIdentityToken string         `xml:"SubjectFromWebIdentityToken"`
	Audience                    string         `xml:"Audience"`
	Credentials                 credentialsXML `xml:"Credentials"`
	AssumedRoleUser             struct {
		AssumedRoleId string `xml:"AssumedRoleId"`
		Arn           string `xml:"Arn"`
	} `xml:"AssumedRoleUser"`
	Provider         string `xml:"Provider"`
	PackedPolicySize *int   `xml:"PackedPolicySize,omitempty"`
}

type getAccessKeyInfoResult struct {
	XMLName xml.Name `xml:"GetAccessKeyInfoResult"`
	Account string   `xml:"Account"`
}

func wireCredentials(c sts.Credentials) credentialsXML {
	return credentialsXML{AccessKeyId: c.AccessKeyId, SecretAccessKey: c.SecretAccessKey,
		SessionToken: c.SessionToken, Expiration: c.Expiration.UTC().Format(time.RFC3339)}
}

// policyArns reads the PolicyArns members of an operation that makes a role session.
func policyArns(params awsquery.Params) []string {
	var arns []string
	for _, m := range params.Members("PolicyArns", "arn") {
		arns = append(arns, m["arn"])
	}
	return arns
}

// stsOps are the STS actions (awsQuery, Version 2011-06-15).
var stsOps = opTable[queryHandler]{unknown: notInVersion("2011-06-15"), before: stsSessionMayCall, ops: map[string]queryHandler{
	"AssumeRole":                (*Server).assumeRole,
	"AssumeRoleWithWebIdentity": (*Server).assumeRoleWithWebIdentity,
	"GetCallerIdentity":         (*Server).getCallerIdentity,
	"GetSessionToken":           (*Server).getSessionToken,
	"GetAccessKeyInfo":          (*Server).getAccessKeyInfo,
}}

func (s *Server) serveSTS(c *call) (any, error) {
	return serveQuery(s, c, stsOps)
}

// stsSessionMayCall refuses an operation the calling session may not
// call; an unsigned call (unsignedOps) has no principal.
func stsSessionMayCall(_ *Server, c *call) error {
	if c.principal == nil {
		return nil
	}
	return sts.SessionMayCall(c.principal, c.op)
}

func (s *Server) getSessionToken(c *call, params awsquery.Params) (any, error) {
	var err error
	in := sts.GetSessionTokenInput{SerialNumber: queryOptional(params, "SerialNumber"), TokenCode: queryOptional(params, "TokenCode")}
	if in.DurationSeconds, err = durationSecondsUpTo(params, sts.MaxUserSession); err != nil {
		return nil, err
	}
	creds, err := s.d.STS.GetSessionToken(c.ctx, c.principal, in)
	if err != nil {
		return nil, err
	}
	c.log.Info("user session created", "user", c.principal.ARN, "expires", creds.Expiration)
	return getSessionTokenResult{Credentials: wireCredentials(creds)}, nil
}

func (s *Server) getAccessKeyInfo(c *call, params awsquery.Params) (any, error) {
	account, err := s.d.STS.GetAccessKeyInfo(c.ctx, c.principal, params.Get("AccessKeyId"), c.authReq)
	if err != nil {
		return nil, err
	}
	return getAccessKeyInfoResult{Account: account}, nil
}

func (s *Server) getCallerIdentity(c *call, _ awsquery.Params) (any, error) {
	id := sts.GetCallerIdentity(c.principal)
	return getCallerIdentityResult{Arn: id.Arn, UserId: id.UserId, Account: id.Account}, nil
}

func (s *Server) assumeRole(c *call, params awsquery.Params) (any, error) {
	var err error
	in := sts.AssumeRoleInput{
		RoleArn:         params.Get("RoleArn"),
		RoleSessionName: params.Get("RoleSessionName"),
		Policy:          params.Get("Policy"),
	}
	if in.DurationSeconds, err = durationSeconds(params); err != nil {
		return nil, err
	}
	for _, m := range params.Members("ProvidedContexts", "ProviderArn", "ContextAssertion") {
		in.ProvidedContexts = append(in.ProvidedContexts, sts.ProvidedContext{ProviderArn: m["ProviderArn"], ContextAssertion: m["ContextAssertion"]})
	}
	// Members idcgate does not act on, read so STS can hold them to AWS's bounds.
	opt := func(name string) *string { return queryOptional(params, name) }
	in.ExternalId, in.SourceIdentity, in.SerialNumber, in.TokenCode = opt("ExternalId"), opt("SourceIdentity"), opt("SerialNumber"), opt("TokenCode")
	in.PolicyArns = policyArns(params)
	for _, m := range params.Members("Tags", "Key", "Value") {
		var tag sts.Tag
		if k, ok := m["Key"]; ok {
			tag.Key = &k
		}
		if v, ok := m["Value"]; ok {
			tag.Value = &v
		}
		in.Tags = append(in.Tags, tag)
	}
	in.TransitiveTagKeys = listMembers(params, "TransitiveTagKeys")
	out, err := s.d.STS.AssumeRole(c.ctx, c.principal, in, c.authReq)
	if err != nil {
		return nil, err
	}
	res := assumeRoleResult{Credentials: wireCredentials(out.Credentials)}
	res.AssumedRoleUser.AssumedRoleId, res.AssumedRoleUser.Arn = out.AssumedRoleId, out.Arn
	if in.Policy != "" {
		res.PackedPolicySize = &out.PackedPolicySize
	}
	c.log.Info("role session created", "role_session", out.Arn, "expires", out.Credentials.Expiration,
		"identity_enhanced", len(in.ProvidedContexts) > 0 || c.principal.IdentityContext != nil)
	return res, nil
}

// assumeRoleWithWebIdentity serves the one unsigned STS operation: the
// token names the caller, recorded as CloudTrail's WebIdentityUser.
func (s *Server) assumeRoleWithWebIdentity(c *call, params awsquery.Params) (any, error) {
	in := sts.AssumeRoleWithWebIdentityInput{
		RoleArn: params.Get("RoleArn"), RoleSessionName: params.Get("RoleSessionName"),
		WebIdentityToken: params.Get("WebIdentityToken"), ProviderId: queryOptional(params, "ProviderId"), Policy: params.Get("Policy"),
	}
	var err error
	if in.DurationSeconds, err = durationSeconds(params); err != nil {
		return nil, err
	}
	in.PolicyArns = policyArns(params)
	out, who, err := s.d.STS.AssumeRoleWithWebIdentity(c.ctx, in, c.authReq)
	if who != nil && c.route.caller != nil {
		*c.route.caller = audit.Identity{Type: "WebIdentityUser", PrincipalID: who.ProviderArn + ":" + who.Audience + ":" + who.Subject,
			UserName: who.Subject, IdentityProvider: who.ProviderArn, AccountID: who.Account}
	}
	if err != nil {
		return nil, err
	}
	res := assumeRoleWithWebIdentityResult{SubjectFromWebIdentityToken: out.SubjectFromWebIdentityToken, Audience: out.Audience,
		Credentials: wireCredentials(out.Credentials), Provider: out.Provider}
	res.AssumedRoleUser.AssumedRoleId, res.AssumedRoleUser.Arn = out.AssumedRoleId, out.Arn
	if in.Policy != "" {
		res.PackedPolicySize = &out.PackedPolicySize
	}
	c.log.Info("role session created", "role_session", out.Arn, "expires", out.Credentials.Expiration, "web_identity_provider", out.Provider)
	return res, nil
}

// durationSeconds reads DurationSeconds. A value that is not an integer is a
// ValidationError in STS's validation form, as for any other bad value (not
// MalformedInput: the request itself is well formed).
func durationSeconds(params awsquery.Params) (*int64, error) {
	return durationSecondsUpTo(params, 43200)
}

// durationSecondsUpTo is durationSeconds for an operation whose most is max.
func durationSecondsUpTo(params awsquery.Params, max int64) (*int64, error) {
	if !params.Has("DurationSeconds") {
		return nil, nil
	}
	raw := params.Get("DurationSeconds")
	n, err := strconv.ParseInt(raw, 10, 64)
	if err == nil {
		return &n, nil
	}
	var v validation.Collector
	switch {
	case errors.Is(err, strconv.ErrRange) && !strings.HasPrefix(raw, "-"):
		v.Add("durationSeconds", apierror.Printable(raw), fmt.Sprintf("Member must have value less than or equal to %d", max))
	case errors.Is(err, strconv.ErrRange):
		v.Add("durationSeconds", apierror.Printable(raw), "Member must have value greater than or equal to 900")
	default:
		v.Add("durationSeconds", apierror.Printable(raw), "Member must be an integer")
	}
	return nil, v.Err()
}
