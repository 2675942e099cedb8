package server

import (
	"context"
	"errors"
	"regexp"
	"time"

	"github.com/idcgate/idcgate/internal/dbcreds"
	"github.com/idcgate/idcgate/internal/dbuser"
	"github.com/idcgate/idcgate/internal/iam"
	"github.com/idcgate/idcgate/internal/ids"
	"github.com/idcgate/idcgate/internal/keyring"
	"github.com/idcgate/idcgate/internal/protocol/awsjson"
	"github.com/idcgate/idcgate/internal/serverless"
	"github.com/idcgate/idcgate/internal/validation"
)

// The Redshift Serverless operations beyond namespaces, workgroups and
// GetIdentityCenterAuthToken: tagging (BEHAVIOUR 3.6), GetCredentials
// (3.7) and the read operations tools call after a create (3.8).

// mergeContext is a with b's keys added.
func mergeContext(a, b iam.Context) iam.Context {
	out := iam.Context{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// taggedResource finds the resource an ARN names and authorizes the call on
// it, with its tags as aws:ResourceTag/… and extra; a well-formed ARN that
// names nothing is authorized as it is, then answered not found, so a
// caller who may not act learns nothing.
func (s *Server) taggedResource(c *call, arn *string, extra iam.Context) (serverless.TaggedResource, error) {
	if err := required("resourceArn", arn); err != nil {
		return serverless.TaggedResource{}, err
	}
	res, err := s.d.Serverless.ResourceByARN(c.ctx, s.scope(c), *arn)
	switch {
	case err == nil:
		return res, s.authorizeTagged(c, res.ARN, mergeContext(serverless.ResourceTagContext(res.Tags), extra))
	case errors.Is(err, serverless.ErrNotFound):
		if err := s.authorizeTagged(c, *arn, extra); err != nil {
			return res, err
		}
	}
	return res, err
}

type tagResourceInput struct {
	ResourceArn *string          `json:"resourceArn"`
	Tags        []serverless.Tag `json:"tags"`
}

type tagWire struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

func (s *Server) tagResource(c *call) (any, error) {
	var in tagResourceInput
	if err := decodeValid(c, &in, func(v *validation.Collector) {
		v.Required("resourceArn", in.ResourceArn != nil)
		v.Required("tags", in.Tags != nil)
	}); err != nil {
		return nil, err
	}
	// The tags are validated before anything is authorized, as at create
	// (RequestTagContext refuses keys that differ only in case).
	extra, err := serverless.RequestTagContext(in.Tags)
	if err != nil {
		return nil, err
	}
	return retag(s, c, in.ResourceArn, extra, (*serverless.Service).TagResource, in.Tags)
}

// retag is TagResource's and UntagResource's change: authorized on the
// resource with the request's condition keys (extra), then made.
func retag[T any](s *Server, c *call, arn *string, extra iam.Context,
	change func(*serverless.Service, context.Context, serverless.Scope, serverless.TaggedResource, T) ([]serverless.Tag, error), items T) (any, error) {
	res, err := s.taggedResource(c, arn, extra)
	if err != nil {
		return nil, err
	}
	if _, err := change(s.d.Serverless, c.ctx, s.scope(c), res, items); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

type untagResourceInput struct {
	ResourceArn *string  `json:"resourceArn"`
	TagKeys     []string `json:"tagKeys"`
}

func (s *Server) untagResource(c *call) (any, error) {
	var in untagResourceInput
	if err := decodeValid(c, &in, func(v *validation.Collector) {
		v.Required("resourceArn", in.ResourceArn != nil)
		v.Required("tagKeys", in.TagKeys != nil)
	}); err != nil {
		return nil, err
	}
	if err := serverless.CheckUntagResource(in.TagKeys); err != nil {
		return nil, err
	}
	extra := iam.Context{}
	if len(in.TagKeys) > 0 {
		extra.Set("aws:TagKeys", in.TagKeys...)
	}
	return retag(s, c, in.ResourceArn, extra, (*serverless.Service).UntagResource, in.TagKeys)
}

type listTagsOutput struct {
	Tags []tagWire `json:"tags"`
}

func (s *Server) listTagsForResource(c *call) (any, error) {
	var in tagResourceInput
	if err := awsjson.Decode(c.body, &in); err != nil {
		return nil, err
	}
	res, err := s.taggedResource(c, in.ResourceArn, nil)
	if err != nil {
		return nil, err
	}
	return listTagsOutput{Tags: wireAll(res.Tags, func(t serverless.Tag) tagWire { return tagWire(t) })}, nil
}

// GetCredentials' limits (the API reference): 900 to 3600 seconds, 900 by
// default.
const (
	minCredentialSeconds     = 900
	maxCredentialSeconds     = 3600
	defaultCredentialSeconds = 900
)

var (
	credentialsDbNameRe = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_+.@-]*$`)
	customDomainRe      = regexp.MustCompile(`^((([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]{0,61}[A-Za-z0-9])\.)+([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]{0,61}[A-Za-z0-9]))$`)
)

type getCredentialsInput struct {
	CustomDomainName *string `json:"customDomainName"`
	DbName           *string `json:"dbName"`
	DurationSeconds  *int32  `json:"durationSeconds"`
	WorkgroupName    *string `json:"workgroupName"`
}

type getCredentialsOutput struct {
	DbUser          string         `json:"dbUser"`
	DbPassword      string         `json:"dbPassword"`
	Expiration      *awsjson.Epoch `json:"expiration"`
	NextRefreshTime *awsjson.Epoch `json:"nextRefreshTime"`
}

// getCredentials answers a temporary password for the IAM database user of
// the caller (package dbuser: "IAMR:<role>" for a role session, "IAM:<user>"
// for an IAM user) on one workgroup: sealed (package dbcreds), never
// stored, never logged.
func (s *Server) getCredentials(c *call) (any, error) {
	var in getCredentialsInput
	seconds := int64(defaultCredentialSeconds)
	if err := decodeValid(c, &in, func(v *validation.Collector) {
		if in.WorkgroupName != nil {
			v.LengthAndPattern("workgroupName", *in.WorkgroupName, 3, 64, workgroupNameRe, workgroupNameRe.String())
		}
		if in.CustomDomainName != nil {
			v.LengthAndPattern("customDomainName", *in.CustomDomainName, 1, 253, customDomainRe, customDomainRe.String())
		}
		if in.DbName != nil {
			v.LengthAndPattern("dbName", *in.DbName, 1, 64, credentialsDbNameRe, credentialsDbNameRe.String())
		}
		if in.DurationSeconds != nil {
			seconds = int64(*in.DurationSeconds)
			v.Range("durationSeconds", seconds, minCredentialSeconds, maxCredentialSeconds)
		}
	}); err != nil {
		return nil, err
	}
	switch {
	case in.WorkgroupName == nil && in.CustomDomainName == nil:
		return nil, validation.Newf("Either workgroupName or customDomainName must be specified.")
	case in.WorkgroupName != nil && in.CustomDomainName != nil:
		return nil, validation.Newf("Specify either workgroupName or customDomainName, not both.")
	case in.CustomDomainName != nil:
		// No workgroup has a custom domain here: authorized on every
		// workgroup first, so a caller who may not act learns nothing.
		if err := s.authorize(c, serviceServerless, s.wildcardARN(c, "workgroup")); err != nil {
			return nil, err
		}
		return nil, &serverless.Error{Kind: serverless.ErrNotFound, ResourceName: *in.CustomDomainName,
			Message: "Custom domain " + *in.CustomDomainName + " is not associated with any workgroup."}
	}
	wg, err := s.d.Serverless.GetWorkgroup(c.ctx, s.scope(c), *in.WorkgroupName)
	if err := s.authorizeExisting(c, "workgroup", wg.WorkgroupArn, wg.Tags, err); err != nil {
		return nil, err
	}
	now := s.d.Clock.Now().UTC()
	expires := now.Add(time.Duration(seconds) * time.Second)
	// (ours) Never beyond the calling session: the password must not
	// outlive the credentials that asked for it.
	if exp := c.principal.Expiration; !exp.IsZero() && exp.Before(expires) {
		expires = exp
	}
	expires = expires.Truncate(time.Second)
	u := dbuser.For(c.principal)
	claims := dbcreds.Claims{DbUser: u.Role(), UserID: u.ID, Principal: c.principal.ARN, DbName: deref(in.DbName),
		IssuedAt: now.Unix(), ExpiresAt: expires.Unix(), ID: ids.MustUUID()}
	sealer := dbcreds.Sealer{Keys: s.d.Keys, Clock: s.d.Clock}
	sc := s.scope(c)
	password, err := sealer.Seal(c.ctx, keyring.ID{Account: sc.Account, Region: sc.Region, WorkgroupID: wg.WorkgroupId}, claims)
	if err != nil {
		return nil, err
	}
	c.log.Info("database credentials issued", "db_user", claims.DbUser, "workgroup", wg.WorkgroupName, "credential_id", claims.ID, "expires", expires)
	return getCredentialsOutput{DbUser: claims.DbUser, DbPassword: password,
		Expiration: awsjson.EpochOf(expires), NextRefreshTime: awsjson.EpochOf(expires)}, nil
}

var workgroupNameRe = regexp.MustCompile(`^[a-z0-9-]+$`)

// deref is what p points to, or the zero value.
func deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

// alwaysEmpty serves a list operation whose list is always empty here
// (BEHAVIOUR 3.8): the input decoded, the action authorized on "*", the
// input checked as AWS checks it (check), then {member: []}.
func alwaysEmpty[In any](member string, check func(s *Server, c *call, in *In) error) handler {
	return func(s *Server, c *call) (any, error) {
		var in In
		if err := s.listAll(c, &in); err != nil {
			return nil, err
		}
		if err := check(s, c, &in); err != nil {
			return nil, err
		}
		return map[string][]struct{}{member: {}}, nil
	}
}

// scheduledActionsInput is ListScheduledActions' input.
type scheduledActionsInput struct {
	MaxResults    *int32  `json:"maxResults"`
	NextToken     *string `json:"nextToken"`
	NamespaceName *string `json:"namespaceName"`
}

// listAll authorizes an operation with no resource type on "*".
func (s *Server) listAll(c *call, in any) error {
	if err := awsjson.Decode(c.body, in); err != nil {
		return err
	}
	return s.authorize(c, serviceServerless, "*")
}

// getEndpointAccess: there are no VPC endpoints, so every name is not found,
// once the caller is allowed to look at any.
func (s *Server) getEndpointAccess(c *call) (any, error) {
	var in struct {
		EndpointName *string `json:"endpointName"`
	}
	if err := decodeValid(c, &in, func(v *validation.Collector) { v.Required("endpointName", in.EndpointName != nil) }); err != nil {
		return nil, err
	}
	if err := s.authorize(c, serviceServerless, s.wildcardARN(c, "managedvpcendpoint")); err != nil {
		return nil, err
	}
	return nil, s.d.Serverless.GetEndpointAccess(in.EndpointName)
}

// snapshotListInput adds the time filters, numbers on the wire, which
// nothing here needs but the decoder checks the type of.
type snapshotListInput struct {
	serverless.SnapshotListInput
	StartTime *float64 `json:"startTime"`
	EndTime   *float64 `json:"endTime"`
}

type updateTargetWire struct {
	TrackName        string `json:"trackName"`
	WorkgroupVersion string `json:"workgroupVersion"`
}

type trackWire struct {
	TrackName        string             `json:"trackName"`
	WorkgroupVersion string             `json:"workgroupVersion"`
	UpdateTargets    []updateTargetWire `json:"updateTargets"`
}

func wireTrack(t serverless.Track) trackWire {
	out := trackWire{TrackName: t.Name, WorkgroupVersion: t.WorkgroupVersion, UpdateTargets: []updateTargetWire{}}
	for _, u := range t.UpdateTargets {
		out.UpdateTargets = append(out.UpdateTargets, updateTargetWire(u))
	}
	return out
}

func (s *Server) getTrack(c *call) (any, error) {
	var in struct {
		TrackName *string `json:"trackName"`
	}
	if err := s.listAll(c, &in); err != nil {
		return nil, err
	}
	t, err := s.d.Serverless.GetTrack(in.TrackName)
	if err != nil {
		return nil, err
	}
	return struct {
		Track trackWire `json:"track"`
	}{wireTrack(t)}, nil
}

type listTracksOutput struct {
	Tracks    []trackWire `json:"tracks"`
	NextToken *string     `json:"nextToken,omitempty"`
}

func (s *Server) listTracks(c *call) (any, error) {
	var in struct {
		MaxResults *int32  `json:"maxResults"`
		NextToken  *string `json:"nextToken"`
	}
	if err := s.listAll(c, &in); err != nil {
		return nil, err
	}
	ts, next, err := s.d.Serverless.ListTracks(s.scope(c), in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	return listTracksOutput{Tracks: wireAll(ts, wireTrack), NextToken: next}, nil
}
