package server

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/idcgate/idcgate/internal/auth"
	"github.com/idcgate/idcgate/internal/iam"
	"github.com/idcgate/idcgate/internal/issuer"
	"github.com/idcgate/idcgate/internal/jsonenc"
	"github.com/idcgate/idcgate/internal/protocol/awsjson"
	"github.com/idcgate/idcgate/internal/serverless"
	"github.com/idcgate/idcgate/internal/validation"
)

// serverlessOps are the RedshiftServerless.* operations served, by name.
// Each decodes its input, authorizes the IAM action on the resource ARN of
// the service authorization reference, and calls the domain.
var serverlessOps = opTable[handler]{unknown: notServedBy("Redshift Serverless"), ops: map[string]handler{
	"CreateNamespace": create(namespaces, func(in *serverless.CreateNamespaceInput) []serverless.Tag { return in.Tags }, (*serverless.Service).CreateNamespace),
	"GetNamespace":    get(namespaces),
	"ListNamespaces": list((*serverless.Service).ListNamespaces, wireNamespace, func(ns []namespaceWire, next *string) any {
		return listNamespacesOutput{Namespaces: ns, NextToken: next}
	}),
	"UpdateNamespace": change(namespaces, (*serverless.Service).UpdateNamespace),
	"DeleteNamespace": change(namespaces, (*serverless.Service).DeleteNamespace),
	"CreateWorkgroup": create(workgroups, func(in *serverless.CreateWorkgroupInput) []serverless.Tag { return in.Tags }, (*serverless.Service).CreateWorkgroup),
	"GetWorkgroup":    get(workgroups),
	"ListWorkgroups": list((*serverless.Service).ListWorkgroups, wireWorkgroup, func(wgs []workgroupWire, next *string) any {
		return listWorkgroupsOutput{Workgroups: wgs, NextToken: next}
	}),
	"UpdateWorkgroup": change(workgroups, (*serverless.Service).UpdateWorkgroup),
	"DeleteWorkgroup": change(workgroups, (*serverless.Service).DeleteWorkgroup),

	opGetIdentityCenterAuthToken: (*Server).getIdentityCenterAuthToken,

	"TagResource":         (*Server).tagResource,
	"UntagResource":       (*Server).untagResource,
	"ListTagsForResource": (*Server).listTagsForResource,
	"GetCredentials":      (*Server).getCredentials,
	"GetEndpointAccess":   (*Server).getEndpointAccess,
	"ListEndpointAccess": alwaysEmpty("endpoints", func(s *Server, c *call, in *serverless.ListEndpointAccessInput) error {
		return s.d.Serverless.ListEndpointAccess(c.ctx, s.scope(c), *in)
	}),
	"ListUsageLimits": alwaysEmpty("usageLimits", func(s *Server, c *call, in *serverless.ListUsageLimitsInput) error {
		return s.d.Serverless.ListUsageLimits(c.ctx, s.scope(c), *in)
	}),
	"ListSnapshots": alwaysEmpty("snapshots", func(s *Server, c *call, in *snapshotListInput) error {
		return s.d.Serverless.ListSnapshots(c.ctx, s.scope(c), in.SnapshotListInput)
	}),
	"ListRecoveryPoints": alwaysEmpty("recoveryPoints", func(s *Server, c *call, in *snapshotListInput) error {
		return s.d.Serverless.ListRecoveryPoints(in.SnapshotListInput)
	}),
	"ListScheduledActions": alwaysEmpty("scheduledActions", func(s *Server, c *call, in *scheduledActionsInput) error {
		return s.d.Serverless.ListScheduledActions(c.ctx, s.scope(c), in.MaxResults, in.NextToken, in.NamespaceName)
	}),
	"GetTrack":   (*Server).getTrack,
	"ListTracks": (*Server).listTracks,
}}

const opGetIdentityCenterAuthToken = "GetIdentityCenterAuthToken"

type identityCenterAuthTokenOutput struct {
	Token          string        `json:"token"`
	ExpirationTime *awsjson.Time `json:"expirationTime"`
}

// AppendJSON encodes the output as encoding/json would (the hot path of
// the service: see TestTokenOutputEncodesAsEncodingJSON).
func (o identityCenterAuthTokenOutput) AppendJSON(b []byte) []byte {
	// One allocation for the answer: a 20-workgroup token is kilobytes.
	b = slices.Grow(b, len(`{"token":"","expirationTime":"2006-01-02T15:04:05Z"}`)+len(o.Token))
	b = append(b, `{"token":`...)
	b = jsonenc.AppendString(b, o.Token)
	b = append(b, `,"expirationTime":`...)
	if o.ExpirationTime == nil {
		b = append(b, "null"...)
	} else {
		b = awsjson.AppendTime(b, time.Time(*o.ExpirationTime))
	}
	return append(b, '}')
}

// DryRunHeader asks GetIdentityCenterAuthToken to run every check and answer
// DryRunException instead of a token.
const DryRunHeader = "X-Idcgate-Dry-Run"

func (s *Server) getIdentityCenterAuthToken(c *call) (any, error) {
	res, err := s.d.Issuer.Issue(c.ctx, issuer.Request{
		Principal: c.principal, Auth: c.authReq, Scope: s.scope(c), Body: c.body,
		DryRun: strings.EqualFold(c.http.Header.Get(DryRunHeader), "true"),
		Fault:  func(ctx context.Context) error { return s.d.Faults.Apply(ctx, c.op) },
	})
	if err != nil {
		return nil, err
	}
	if s.d.Metrics != nil {
		s.d.Metrics.TokensIssued.WithLabelValues(strconv.Itoa(len(res.Claims.Workgroups))).Inc()
	}
	c.log.Info("identity center token issued", "user_id", res.Claims.UserID, "workgroups", len(res.Claims.Workgroups), "expires", res.Expires)
	return identityCenterAuthTokenOutput{Token: res.Token, ExpirationTime: awsjson.Timestamp(res.Expires)}, nil
}

func (s *Server) serveServerless(c *call) (any, error) { return serveOp(s, c, serverlessOps) }

func (s *Server) scope(c *call) serverless.Scope {
	return serverless.Scope{Account: c.principal.Account, Region: s.d.Region}
}

// authorize checks the IAM action "<service>:<op>" on resource.
func (s *Server) authorize(c *call, service, resource string) error {
	return auth.Authorize(c.principal, service+":"+c.op, resource, c.authReq, nil)
}

// authorizeTagged checks "redshift-serverless:<op>" on resource with the
// request's or the resource's tag condition keys in extra.
func (s *Server) authorizeTagged(c *call, resource string, extra iam.Context) error {
	return auth.Authorize(c.principal, serviceServerless+":"+c.op, resource, c.authReq, extra)
}

// authorizeCreate authorizes a create on the type's wildcard ARN with the
// request's tags as aws:RequestTag/… and aws:TagKeys. Creating with tags
// also needs redshift-serverless:TagResource, as the service authorization
// reference maps CreateNamespace and CreateWorkgroup to both actions.
func (s *Server) authorizeCreate(c *call, resourceType string, tags []serverless.Tag) error {
	extra, err := serverless.RequestTagContext(tags)
	if err != nil {
		return err
	}
	arn := s.wildcardARN(c, resourceType)
	if err := s.authorizeTagged(c, arn, extra); err != nil {
		return err
	}
	if len(tags) == 0 {
		return nil
	}
	return auth.Authorize(c.principal, serviceServerless+":TagResource", arn, c.authReq, extra)
}

// wildcardARN names every resource of a type in the caller's account, for
// actions on resources that do not exist (yet).
func (s *Server) wildcardARN(c *call, resourceType string) string {
	return "arn:aws:redshift-serverless:" + s.d.Region + ":" + c.principal.Account + ":" + resourceType + "/*"
}

// authorizeExisting authorizes on arn, with the resource's tags as
// aws:ResourceTag/…, when lookupErr is nil; when the resource does not exist
// it authorizes on the type's wildcard first, so a caller who may not act
// learns nothing about what exists.
func (s *Server) authorizeExisting(c *call, resourceType, arn string, tags []serverless.Tag, lookupErr error) error {
	switch {
	case lookupErr == nil:
		return s.authorizeTagged(c, arn, serverless.ResourceTagContext(tags))
	case errors.Is(lookupErr, serverless.ErrNotFound):
		if err := s.authorize(c, serviceServerless, s.wildcardARN(c, resourceType)); err != nil {
			return err
		}
		return lookupErr
	default:
		return lookupErr
	}
}

type nameInput struct {
	NamespaceName *string `json:"namespaceName"`
	WorkgroupName *string `json:"workgroupName"`
}

// resource is what the handlers of one resource kind (namespace,
// workgroup) differ in; each handler is built once from it below.
type resource[R any] struct {
	kind   string // IAM resource type, as in the ARN
	member string // the name member of the request
	name   func(nameInput) *string
	get    func(*serverless.Service, context.Context, serverless.Scope, string) (R, error)
	// facts are what authorization needs of an existing resource.
	facts func(R) (arn, id string, tags []serverless.Tag)
	wire  func(R) any // the one-resource answer
}

var namespaces = resource[serverless.Namespace]{
	kind: "namespace", member: "namespaceName",
	name: func(in nameInput) *string { return in.NamespaceName },
	get:  (*serverless.Service).GetNamespace,
	facts: func(ns serverless.Namespace) (string, string, []serverless.Tag) {
		return ns.NamespaceArn, ns.NamespaceId, ns.Tags
	},
	wire: func(ns serverless.Namespace) any { return namespaceOutput{Namespace: wireNamespace(ns)} },
}

var workgroups = resource[serverless.Workgroup]{
	kind: "workgroup", member: "workgroupName",
	name: func(in nameInput) *string { return in.WorkgroupName },
	get:  (*serverless.Service).GetWorkgroup,
	facts: func(wg serverless.Workgroup) (string, string, []serverless.Tag) {
		return wg.WorkgroupArn, wg.WorkgroupId, wg.Tags
	},
	wire: func(wg serverless.Workgroup) any { return workgroupOutput{Workgroup: wireWorkgroup(wg)} },
}

// create authorizes the create with the request's tags, then creates.
func create[In, R any](k resource[R], tags func(*In) []serverless.Tag, do func(*serverless.Service, context.Context, serverless.Scope, In) (R, error)) handler {
	return func(s *Server, c *call) (any, error) {
		var in In
		if err := awsjson.Decode(c.body, &in); err != nil {
			return nil, err
		}
		if err := s.authorizeCreate(c, k.kind, tags(&in)); err != nil {
			return nil, err
		}
		r, err := do(s.d.Serverless, c.ctx, s.scope(c), in)
		if err != nil {
			return nil, err
		}
		return k.wire(r), nil
	}
}

// lookup finds the named resource and authorizes the call on it (with its
// tags); an unknown name is told only to a caller allowed to know it.
func lookup[R any](s *Server, c *call, k resource[R]) (R, error) {
	var in nameInput
	var r R
	if err := decodeValid(c, &in, func(v *validation.Collector) { v.Required(k.member, k.name(in) != nil) }); err != nil {
		return r, err
	}
	r, err := k.get(s.d.Serverless, c.ctx, s.scope(c), *k.name(in))
	arn, _, tags := k.facts(r)
	if err := s.authorizeExisting(c, k.kind, arn, tags, err); err != nil {
		return r, err
	}
	return r, nil
}

func get[R any](k resource[R]) handler {
	return func(s *Server, c *call) (any, error) {
		r, err := lookup(s, c, k)
		if err != nil {
			return nil, err
		}
		return k.wire(r), nil
	}
}

// change updates or deletes the resource just authorized, bound to its id:
// one recreated under the same name in between is not touched.
func change[In, R any](k resource[R], do func(*serverless.Service, context.Context, serverless.Scope, string, In) (R, error)) handler {
	return func(s *Server, c *call) (any, error) {
		cur, err := lookup(s, c, k)
		if err != nil {
			return nil, err
		}
		var in In
		if err := awsjson.Decode(c.body, &in); err != nil {
			return nil, err
		}
		_, id, _ := k.facts(cur)
		r, err := do(s.d.Serverless, c.ctx, s.scope(c), id, in)
		if err != nil {
			return nil, err
		}
		return k.wire(r), nil
	}
}

// list authorizes on "*" (List actions have no resource) and pages.
func list[In, R, W any](do func(*serverless.Service, context.Context, serverless.Scope, In) ([]R, *string, error), wire func(R) W, out func([]W, *string) any) handler {
	return func(s *Server, c *call) (any, error) {
		var in In
		if err := awsjson.Decode(c.body, &in); err != nil {
			return nil, err
		}
		if err := s.authorize(c, serviceServerless, "*"); err != nil {
			return nil, err
		}
		rs, next, err := do(s.d.Serverless, c.ctx, s.scope(c), in)
		if err != nil {
			return nil, err
		}
		return out(wireAll(rs, wire), next), nil
	}
}

// required reports a missing member the way AWS does.
func required(member string, v *string) error {
	var col validation.Collector
	col.Required(member, v != nil)
	return col.Err()
}
