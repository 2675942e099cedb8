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
	"github.com/idcgate/idcgate/internal/protocol"
	"github.com/idcgate/idcgate/internal/protocol/awsjson"
	"github.com/idcgate/idcgate/internal/serverless"
	"github.com/idcgate/idcgate/internal/validation"
)

// serverlessOps are the RedshiftServerless.* operations served, by name.
// Each decodes its input, authorizes the IAM action on the resource ARN of
// the service authorization reference, and calls the domain.
var serverlessOps = map[string]func(*Server, *call) (any, error){
	"CreateNamespace": (*Server).createNamespace,
	"GetNamespace":    (*Server).getNamespace,
	"ListNamespaces":  (*Server).listNamespaces,
	"UpdateNamespace": (*Server).updateNamespace,
	"DeleteNamespace": (*Server).deleteNamespace,
	"CreateWorkgroup": (*Server).createWorkgroup,
	"GetWorkgroup":    (*Server).getWorkgroup,
	"ListWorkgroups":  (*Server).listWorkgroups,
	"UpdateWorkgroup": (*Server).updateWorkgroup,
	"DeleteWorkgroup": (*Server).deleteWorkgroup,

	opGetIdentityCenterAuthToken: (*Server).getIdentityCenterAuthToken,
}

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

func (s *Server) serveServerless(c *call) (any, error) {
	op, ok := serverlessOps[c.op]
	if !ok {
		return nil, protocol.Errorf(protocol.ErrUnknownOperation,
			"The operation "+quoteOp(c.op)+" is not supported by Redshift Serverless on this endpoint.")
	}
	return op(s, c)
}

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

func (s *Server) createNamespace(c *call) (any, error) {
	var in serverless.CreateNamespaceInput
	if err := awsjson.Decode(c.body, &in); err != nil {
		return nil, err
	}
	if err := s.authorizeCreate(c, "namespace", in.Tags); err != nil {
		return nil, err
	}
	ns, err := s.d.Serverless.CreateNamespace(c.ctx, s.scope(c), in)
	if err != nil {
		return nil, err
	}
	return namespaceOutput{Namespace: wireNamespace(ns)}, nil
}

func (s *Server) lookupNamespace(c *call) (serverless.Namespace, error) {
	var in nameInput
	if err := awsjson.Decode(c.body, &in); err != nil {
		return serverless.Namespace{}, err
	}
	if err := required("namespaceName", in.NamespaceName); err != nil {
		return serverless.Namespace{}, err
	}
	ns, err := s.d.Serverless.GetNamespace(c.ctx, s.scope(c), *in.NamespaceName)
	if err := s.authorizeExisting(c, "namespace", ns.NamespaceArn, ns.Tags, err); err != nil {
		return ns, err
	}
	return ns, nil
}

func (s *Server) getNamespace(c *call) (any, error) {
	ns, err := s.lookupNamespace(c)
	if err != nil {
		return nil, err
	}
	return namespaceOutput{Namespace: wireNamespace(ns)}, nil
}

func (s *Server) updateNamespace(c *call) (any, error) {
	cur, err := s.lookupNamespace(c)
	if err != nil {
		return nil, err
	}
	var in serverless.UpdateNamespaceInput
	if err := awsjson.Decode(c.body, &in); err != nil {
		return nil, err
	}
	// Bound to the id just authorized: a namespace or workgroup recreated
	// under the same name in between is not touched.
	ns, err := s.d.Serverless.UpdateNamespace(c.ctx, s.scope(c), cur.NamespaceId, in)
	if err != nil {
		return nil, err
	}
	return namespaceOutput{Namespace: wireNamespace(ns)}, nil
}

func (s *Server) deleteNamespace(c *call) (any, error) {
	cur, err := s.lookupNamespace(c)
	if err != nil {
		return nil, err
	}
	var in serverless.DeleteNamespaceInput
	if err := awsjson.Decode(c.body, &in); err != nil {
		return nil, err
	}
	// Bound to the id just authorized: a namespace or workgroup recreated
	// under the same name in between is not touched.
	ns, err := s.d.Serverless.DeleteNamespace(c.ctx, s.scope(c), cur.NamespaceId, in)
	if err != nil {
		return nil, err
	}
	return namespaceOutput{Namespace: wireNamespace(ns)}, nil
}

func (s *Server) listNamespaces(c *call) (any, error) {
	var in serverless.ListInput
	if err := awsjson.Decode(c.body, &in); err != nil {
		return nil, err
	}
	if err := s.authorize(c, serviceServerless, "*"); err != nil {
		return nil, err
	}
	list, next, err := s.d.Serverless.ListNamespaces(c.ctx, s.scope(c), in)
	if err != nil {
		return nil, err
	}
	out := listNamespacesOutput{Namespaces: make([]namespaceWire, 0, len(list)), NextToken: next}
	for _, ns := range list {
		out.Namespaces = append(out.Namespaces, wireNamespace(ns))
	}
	return out, nil
}

func (s *Server) createWorkgroup(c *call) (any, error) {
	var in serverless.CreateWorkgroupInput
	if err := awsjson.Decode(c.body, &in); err != nil {
		return nil, err
	}
	if err := s.authorizeCreate(c, "workgroup", in.Tags); err != nil {
		return nil, err
	}
	wg, err := s.d.Serverless.CreateWorkgroup(c.ctx, s.scope(c), in)
	if err != nil {
		return nil, err
	}
	return workgroupOutput{Workgroup: wireWorkgroup(wg)}, nil
}

func (s *Server) lookupWorkgroup(c *call) (serverless.Workgroup, error) {
	var in nameInput
	if err := awsjson.Decode(c.body, &in); err != nil {
		return serverless.Workgroup{}, err
	}
	if err := required("workgroupName", in.WorkgroupName); err != nil {
		return serverless.Workgroup{}, err
	}
	wg, err := s.d.Serverless.GetWorkgroup(c.ctx, s.scope(c), *in.WorkgroupName)
	if err := s.authorizeExisting(c, "workgroup", wg.WorkgroupArn, wg.Tags, err); err != nil {
		return wg, err
	}
	return wg, nil
}

func (s *Server) getWorkgroup(c *call) (any, error) {
	wg, err := s.lookupWorkgroup(c)
	if err != nil {
		return nil, err
	}
	return workgroupOutput{Workgroup: wireWorkgroup(wg)}, nil
}

func (s *Server) updateWorkgroup(c *call) (any, error) {
	cur, err := s.lookupWorkgroup(c)
	if err != nil {
		return nil, err
	}
	var in serverless.UpdateWorkgroupInput
	if err := awsjson.Decode(c.body, &in); err != nil {
		return nil, err
	}
	// Bound to the id just authorized: a namespace or workgroup recreated
	// under the same name in between is not touched.
	wg, err := s.d.Serverless.UpdateWorkgroup(c.ctx, s.scope(c), cur.WorkgroupId, in)
	if err != nil {
		return nil, err
	}
	return workgroupOutput{Workgroup: wireWorkgroup(wg)}, nil
}

func (s *Server) deleteWorkgroup(c *call) (any, error) {
	cur, err := s.lookupWorkgroup(c)
	if err != nil {
		return nil, err
	}
	var in serverless.DeleteWorkgroupInput
	if err := awsjson.Decode(c.body, &in); err != nil {
		return nil, err
	}
	// Bound to the id just authorized: a namespace or workgroup recreated
	// under the same name in between is not touched.
	wg, err := s.d.Serverless.DeleteWorkgroup(c.ctx, s.scope(c), cur.WorkgroupId, in)
	if err != nil {
		return nil, err
	}
	return workgroupOutput{Workgroup: wireWorkgroup(wg)}, nil
}

func (s *Server) listWorkgroups(c *call) (any, error) {
	var in serverless.ListWorkgroupsInput
	if err := awsjson.Decode(c.body, &in); err != nil {
		return nil, err
	}
	if err := s.authorize(c, serviceServerless, "*"); err != nil {
		return nil, err
	}
	list, next, err := s.d.Serverless.ListWorkgroups(c.ctx, s.scope(c), in)
	if err != nil {
		return nil, err
	}
	out := listWorkgroupsOutput{Workgroups: make([]workgroupWire, 0, len(list)), NextToken: next}
	for _, wg := range list {
		out.Workgroups = append(out.Workgroups, wireWorkgroup(wg))
	}
	return out, nil
}

// required reports a missing member the way AWS does.
func required(member string, v *string) error {
	var col validation.Collector
	col.Required(member, v != nil)
	return col.Err()
}
