package server

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/idcgate/idcgate/internal/apierror"
	"github.com/idcgate/idcgate/internal/auth"
	"github.com/idcgate/idcgate/internal/iamstore"
	"github.com/idcgate/idcgate/internal/protocol/awsquery"
	"github.com/idcgate/idcgate/internal/sigv4"
	"github.com/idcgate/idcgate/internal/validation"
)

// IAM is global: its requests are signed for us-east-1 (BEHAVIOUR 8.1).
const iamRegion = "us-east-1"

// iamOps are the IAM actions served (awsQuery, Version 2010-05-08): the
// operations roles and users share are their kind's (iamKind.ops); the
// OpenID Connect provider actions are iam_oidc_api.go's.
var iamOps = opTable[queryHandler]{unknown: notInVersion(iamVersion), ops: joinOps(
	map[string]queryHandler{
		"CreateRole":             (*Server).iamCreateRole,
		"GetRole":                (*Server).iamGetRole,
		"ListRoles":              (*Server).iamListRoles,
		"UpdateAssumeRolePolicy": (*Server).iamUpdateAssumeRolePolicy,
		"CreateUser":             (*Server).iamCreateUser,
		"GetUser":                (*Server).iamGetUser,
		"ListUsers":              (*Server).iamListUsers,
	},
	iamRoles.ops(),
	iamUsers.ops(),
	servedBy((*Server).iamRoleEmptyList, "ListAttachedRolePolicies", "ListInstanceProfilesForRole"),
	servedBy((*Server).serveAccessKeys, "CreateAccessKey", "DeleteAccessKey", "ListAccessKeys"),
	iamOIDCOps,
)}

// iamVersion is IAM's API version.
const iamVersion = "2010-05-08"

type iamTagXML struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

// iamTagsXML is a user's or role's Tags: absent when it has none (a
// pointer, since encoding/xml writes the parent of an empty "a>b" list).
type iamTagsXML struct {
	Member []iamTagXML `xml:"member"`
}

func entityTags(tags []iamstore.Tag) *iamTagsXML {
	if len(tags) == 0 {
		return nil
	}
	return &iamTagsXML{Member: wireTags(tags)}
}

type iamRoleXML struct {
	Path                     string      `xml:"Path"`
	RoleName                 string      `xml:"RoleName"`
	RoleId                   string      `xml:"RoleId"`
	Arn                      string      `xml:"Arn"`
	CreateDate               string      `xml:"CreateDate"`
	AssumeRolePolicyDocument string      `xml:"AssumeRolePolicyDocument,omitempty"`
	Description              string      `xml:"Description,omitempty"`
	MaxSessionDuration       int64       `xml:"MaxSessionDuration,omitempty"`
	Tags                     *iamTagsXML `xml:"Tags,omitempty"`
}

type iamUserXML struct {
	Path       string      `xml:"Path"`
	UserName   string      `xml:"UserName,omitempty"`
	UserId     string      `xml:"UserId"`
	Arn        string      `xml:"Arn"`
	CreateDate string      `xml:"CreateDate,omitempty"`
	Tags       *iamTagsXML `xml:"Tags,omitempty"`
}

type iamAccessKeyXML struct {
	UserName        string `xml:"UserName,omitempty"`
	AccessKeyId     string `xml:"AccessKeyId"`
	Status          string `xml:"Status"`
	SecretAccessKey string `xml:"SecretAccessKey,omitempty"`
	CreateDate      string `xml:"CreateDate,omitempty"`
}

type iamRoleResult struct {
	XMLName xml.Name
	Role    iamRoleXML `xml:"Role"`
}

type iamUserResult struct {
	XMLName xml.Name
	User    iamUserXML `xml:"User"`
}

// iamMore ends every list answer: whether there is more, and the Marker
// that asks for it (encoding/xml writes an embedded struct's fields in
// its place, so the answers keep their order).
type iamMore struct {
	IsTruncated bool   `xml:"IsTruncated"`
	Marker      string `xml:"Marker,omitempty"`
}

// iamPageEnd is the end of a page, next the Marker of the one after it.
func iamPageEnd(next string) iamMore { return iamMore{IsTruncated: next != "", Marker: next} }

type listRolesResult struct {
	XMLName xml.Name     `xml:"ListRolesResult"`
	Roles   []iamRoleXML `xml:"Roles>member"`
	iamMore
}

type listUsersResult struct {
	XMLName xml.Name     `xml:"ListUsersResult"`
	Users   []iamUserXML `xml:"Users>member"`
	iamMore
}

type getPolicyResult struct {
	XMLName        xml.Name
	RoleName       string `xml:"RoleName,omitempty"`
	UserName       string `xml:"UserName,omitempty"`
	PolicyName     string `xml:"PolicyName"`
	PolicyDocument string `xml:"PolicyDocument"`
}

type listPoliciesResult struct {
	XMLName     xml.Name
	PolicyNames []string `xml:"PolicyNames>member"`
	iamMore
}

type createAccessKeyResult struct {
	XMLName   xml.Name        `xml:"CreateAccessKeyResult"`
	AccessKey iamAccessKeyXML `xml:"AccessKey"`
}

type listAccessKeysResult struct {
	XMLName           xml.Name          `xml:"ListAccessKeysResult"`
	AccessKeyMetadata []iamAccessKeyXML `xml:"AccessKeyMetadata>member"`
	iamMore
}

type listTagsResult struct {
	XMLName xml.Name
	Tags    []iamTagXML `xml:"Tags>member"`
	iamMore
}

// iamTime is IAM's ISO-8601 timestamp.
func iamTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// policyEscape URL-encodes a policy document as IAM returns it (RFC 3986:
// everything but unreserved characters percent-encoded).
func policyEscape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

func wireTags(tags []iamstore.Tag) []iamTagXML {
	return wireAll(tags, func(t iamstore.Tag) iamTagXML { return iamTagXML{Key: t.Key, Value: t.Value} })
}

// wireRole is a role as IAM shows it; ListRoles shows none of its tags
// (withTags false), as IAM's does.
func wireRole(r iamstore.Role, withTags bool) iamRoleXML {
	x := iamRoleXML{Path: r.Path, RoleName: r.Name, RoleId: r.RoleID, Arn: r.ARN(), CreateDate: iamTime(r.CreateDate),
		AssumeRolePolicyDocument: policyEscape(r.AssumeRolePolicyDocument), Description: r.Description, MaxSessionDuration: r.MaxSessionDuration}
	if withTags {
		x.Tags = entityTags(r.Tags)
	}
	return x
}

// wireUser is a user as IAM shows it; ListUsers shows none of its tags
// (withTags false), as IAM's does.
func wireUser(u iamstore.User, withTags bool) iamUserXML {
	x := iamUserXML{Path: u.Path, UserName: u.Name, UserId: u.UserID, Arn: u.ARN(), CreateDate: iamTime(u.CreateDate)}
	if withTags {
		x.Tags = entityTags(u.Tags)
	}
	return x
}

// iamPage reads Marker and MaxItems.
func iamPage(params awsquery.Params) (iamstore.ListInput, error) {
	in := iamstore.ListInput{Marker: params.Get("Marker")}
	if params.Has("Marker") && in.Marker == "" {
		var v validation.Collector
		v.Length("marker", "", 1, 320)
		return in, v.Err()
	}
	if !params.Has("MaxItems") {
		return in, nil
	}
	raw := params.Get("MaxItems")
	n, err := strconv.ParseInt(raw, 10, 32)
	if err != nil {
		var v validation.Collector
		v.Add("maxItems", apierror.Printable(raw), "Member must be an integer")
		return in, v.Err()
	}
	in.MaxItems, in.MaxItemsSet = int(n), true
	return in, nil
}

func iamTags(params awsquery.Params) []iamstore.Tag {
	var tags []iamstore.Tag
	for _, m := range params.Members("Tags", "Key", "Value") {
		tags = append(tags, iamstore.Tag{Key: m["Key"], Value: m["Value"]})
	}
	return tags
}

// iamARN is the ARN of a user or role of the caller's account named in a
// request, before it is known to exist.
func iamARN(c *call, kind, path, name string) string {
	return "arn:aws:iam::" + c.principal.Account + ":" + kind + iamstore.NormalizePath(path) + name
}

func (s *Server) authorizeIAM(c *call, resource string) error {
	return auth.Authorize(c.principal, "iam:"+c.op, resource, c.authReq, nil)
}

// iamLookup looks the named role, user or OpenID Connect provider up and
// authorizes the call on it: on its ARN when it exists, else on every one
// of its kind in the account, so a caller without permission learns
// nothing of which exist.
func iamLookup[E any](s *Server, c *call, kind, name string, get func(*iamstore.Service, context.Context, string, string) (E, error), arn func(*E) string) (E, error) {
	e, err := get(s.d.IAM, c.ctx, c.principal.Account, name)
	switch {
	case err == nil:
		return e, s.authorizeIAM(c, arn(&e))
	case errors.Is(err, iamstore.ErrNoSuchEntity):
		if aerr := s.authorizeIAM(c, iamARN(c, kind, "/", "*")); aerr != nil {
			return e, aerr
		}
	}
	return e, err
}

// iamRole is iamLookup for roles.
func (s *Server) iamRole(c *call, name string) (iamstore.Role, error) {
	return iamLookup(s, c, "role", name, (*iamstore.Service).GetRole, (*iamstore.Role).ARN)
}

// iamUser is iamLookup for users.
func (s *Server) iamUser(c *call, name string) (iamstore.User, error) {
	return iamLookup(s, c, "user", name, (*iamstore.Service).GetUser, (*iamstore.User).ARN)
}

// iamIdentity is what the operations roles and users share read of either.
type iamIdentity struct {
	name, id string
	tags     []iamstore.Tag
}

// iamKind is a role or a user as the operations both have see it
// (Delete, the inline policies, the tags): they differ only in these names.
type iamKind struct {
	member string // the request member naming the role or user, and the answer's
	lookup func(*Server, *call, string) (iamIdentity, error)
	// The store's operations on one of this kind, by name and id.
	remove       func(*iamstore.Service, context.Context, string, string, string) error
	putPolicy    func(*iamstore.Service, context.Context, string, string, string, string, string) error
	getPolicy    func(*iamstore.Service, context.Context, string, string, string) (iamstore.Policy, error)
	listPolicies func(*iamstore.Service, context.Context, string, string, iamstore.ListInput) ([]string, string, error)
	deletePolicy func(*iamstore.Service, context.Context, string, string, string, string) error
}

var iamRoles = iamKind{
	member: "RoleName",
	lookup: func(s *Server, c *call, name string) (iamIdentity, error) {
		r, err := s.iamRole(c, name)
		return iamIdentity{name: r.Name, id: r.RoleID, tags: r.Tags}, err
	},
	remove:       (*iamstore.Service).DeleteRole,
	putPolicy:    (*iamstore.Service).PutRolePolicy,
	getPolicy:    (*iamstore.Service).GetRolePolicy,
	listPolicies: (*iamstore.Service).ListRolePolicies,
	deletePolicy: (*iamstore.Service).DeleteRolePolicy,
}

var iamUsers = iamKind{
	member: "UserName",
	lookup: func(s *Server, c *call, name string) (iamIdentity, error) {
		u, err := s.iamUser(c, name)
		return iamIdentity{name: u.Name, id: u.UserID, tags: u.Tags}, err
	},
	remove:       (*iamstore.Service).DeleteUser,
	putPolicy:    (*iamstore.Service).PutUserPolicy,
	getPolicy:    (*iamstore.Service).GetUserPolicy,
	listPolicies: (*iamstore.Service).ListUserPolicies,
	deletePolicy: (*iamstore.Service).DeleteUserPolicy,
}

// ops are the kind's entries of iamOps: the operations roles and users
// share, named by the kind ("DeleteRole", "DeleteUser").
func (k iamKind) ops() map[string]queryHandler {
	kind := strings.TrimSuffix(k.member, "Name")
	return map[string]queryHandler{
		"Delete" + kind: k.on(false, func(s *Server, c *call, _ awsquery.Params, id iamIdentity, _ iamstore.ListInput) (any, error) {
			return nil, k.remove(s.d.IAM, c.ctx, c.principal.Account, id.name, id.id)
		}),
		"Put" + kind + "Policy": k.on(false, func(s *Server, c *call, params awsquery.Params, id iamIdentity, _ iamstore.ListInput) (any, error) {
			return nil, k.putPolicy(s.d.IAM, c.ctx, c.principal.Account, id.name, id.id, params.Get("PolicyName"), params.Get("PolicyDocument"))
		}),
		"Get" + kind + "Policy": k.on(false, func(s *Server, c *call, params awsquery.Params, id iamIdentity, _ iamstore.ListInput) (any, error) {
			p, err := k.getPolicy(s.d.IAM, c.ctx, c.principal.Account, id.name, params.Get("PolicyName"))
			if err != nil {
				return nil, err
			}
			out := getPolicyResult{XMLName: xml.Name{Local: c.op + "Result"}, PolicyName: p.Name, PolicyDocument: policyEscape(p.Document)}
			if k.member == "RoleName" {
				out.RoleName = id.name
			} else {
				out.UserName = id.name
			}
			return out, nil
		}),
		"List" + kind + "Policies": k.on(true, func(s *Server, c *call, _ awsquery.Params, id iamIdentity, page iamstore.ListInput) (any, error) {
			names, next, err := k.listPolicies(s.d.IAM, c.ctx, c.principal.Account, id.name, page)
			if err != nil {
				return nil, err
			}
			return listPoliciesResult{XMLName: xml.Name{Local: c.op + "Result"}, PolicyNames: append([]string{}, names...), iamMore: iamPageEnd(next)}, nil
		}),
		"Delete" + kind + "Policy": k.on(false, func(s *Server, c *call, params awsquery.Params, id iamIdentity, _ iamstore.ListInput) (any, error) {
			return nil, k.deletePolicy(s.d.IAM, c.ctx, c.principal.Account, id.name, id.id, params.Get("PolicyName"))
		}),
		"List" + kind + "Tags": k.on(true, func(_ *Server, c *call, _ awsquery.Params, id iamIdentity, page iamstore.ListInput) (any, error) {
			return tagsPage(c.op, id.tags, page)
		}),
	}
}

// on is an operation on the role or user the request names, looked up
// and authorized; a list (paged) reads its Marker and MaxItems first, so a
// bad Marker is refused whether or not the owner exists.
func (k iamKind) on(paged bool, do func(*Server, *call, awsquery.Params, iamIdentity, iamstore.ListInput) (any, error)) queryHandler {
	return func(s *Server, c *call, params awsquery.Params) (any, error) {
		var page iamstore.ListInput
		if paged {
			var err error
			if page, err = iamPage(params); err != nil {
				return nil, err
			}
		}
		id, err := k.lookup(s, c, params.Get(k.member))
		if err != nil {
			return nil, err
		}
		return do(s, c, params, id, page)
	}
}

// iamList is ListRoles and ListUsers: authorized on every resource (as
// IAM's), a page of the account's roles or users under PathPrefix, each
// without its tags.
func iamList[E, W any](s *Server, c *call, params awsquery.Params, list func(*iamstore.Service, context.Context, string, string, iamstore.ListInput) ([]E, string, error),
	wire func(E, bool) W, out func([]W, string) any) (any, error) {
	page, err := iamPage(params)
	if err != nil {
		return nil, err
	}
	if err := s.authorizeIAM(c, "*"); err != nil {
		return nil, err
	}
	es, next, err := list(s.d.IAM, c.ctx, c.principal.Account, params.Get("PathPrefix"), page)
	if err != nil {
		return nil, err
	}
	return out(wireAll(es, func(e E) W { return wire(e, false) }), next), nil
}

// iamUserName is the UserName member, or, when absent, the calling user
// (as IAM answers from the access key that signed the request).
func (s *Server) iamUserName(c *call, params awsquery.Params) (string, error) {
	if params.Has("UserName") {
		return params.Get("UserName"), nil
	}
	switch c.principal.Kind {
	case auth.KindUser:
		return c.principal.Name, nil
	case auth.KindRoot:
		return "", nil
	}
	return "", validation.Newf("Must specify userName when calling with non-User credentials")
}

func (s *Server) serveIAM(c *call) (any, error) {
	c.authReq.Region = iamRegion // a global service: aws:RequestedRegion is us-east-1
	params, err := awsquery.Parse(c.http, c.body)
	if err != nil {
		return nil, err
	}
	if c.principal.UserSession {
		// GetSessionToken's credentials may not call IAM without MFA, which
		// idcgate has not: AWS answers InvalidClientTokenId (BEHAVIOUR 5.5).
		return nil, fmt.Errorf("iam call with GetSessionToken credentials: %w", sigv4.ErrInvalidClientToken)
	}
	op, err := iamOps.find(c.op)
	if err != nil {
		return nil, err
	}
	return op(s, c, params)
}

// noPermissionsBoundary refuses a create that asks for a permissions
// boundary: one would narrow what the user or role may do; idcgate has no
// managed policies, so one ignored would leave it broader than asked.
// Refused, never ignored (as STS's PolicyArns), before anything else.
func noPermissionsBoundary(kind string, params awsquery.Params) error {
	if !params.Has("PermissionsBoundary") {
		return nil
	}
	return validation.Newf("PermissionsBoundary: idcgate has no managed policies, so %s cannot be a permissions boundary; create the %s without one.",
		apierror.Printable(params.Get("PermissionsBoundary")), kind)
}

func (s *Server) iamCreateRole(c *call, params awsquery.Params) (any, error) {
	if err := noPermissionsBoundary("role", params); err != nil {
		return nil, err
	}
	account := c.principal.Account
	in := iamstore.CreateRoleInput{RoleName: params.Get("RoleName"), Path: params.Get("Path"),
		AssumeRolePolicyDocument: params.Get("AssumeRolePolicyDocument"), Description: params.Get("Description"), Tags: iamTags(params)}
	if params.Has("MaxSessionDuration") {
		n, err := strconv.ParseInt(params.Get("MaxSessionDuration"), 10, 64)
		if err != nil {
			var v validation.Collector
			v.Add("maxSessionDuration", apierror.Printable(params.Get("MaxSessionDuration")), "Member must be an integer")
			return nil, v.Err()
		}
		in.MaxSessionDuration, in.MaxSessionSet = n, true
	}
	if err := iamstore.ValidateRole(in); err != nil {
		return nil, err
	}
	if err := s.authorizeIAM(c, iamARN(c, "role", in.Path, in.RoleName)); err != nil {
		return nil, err
	}
	role, err := s.d.IAM.CreateRole(c.ctx, account, in)
	if err != nil {
		return nil, err
	}
	return iamRoleResult{XMLName: xml.Name{Local: "CreateRoleResult"}, Role: wireRole(role, true)}, nil
}

func (s *Server) iamGetRole(c *call, params awsquery.Params) (any, error) {
	role, err := s.iamRole(c, params.Get("RoleName"))
	if err != nil {
		return nil, err
	}
	return iamRoleResult{XMLName: xml.Name{Local: "GetRoleResult"}, Role: wireRole(role, true)}, nil
}

func (s *Server) iamListRoles(c *call, params awsquery.Params) (any, error) {
	return iamList(s, c, params, (*iamstore.Service).ListRoles, wireRole, func(roles []iamRoleXML, next string) any {
		return listRolesResult{Roles: roles, iamMore: iamPageEnd(next)}
	})
}

func (s *Server) iamUpdateAssumeRolePolicy(c *call, params awsquery.Params) (any, error) {
	account := c.principal.Account
	role, err := s.iamRole(c, params.Get("RoleName"))
	if err != nil {
		return nil, err
	}
	return nil, s.d.IAM.UpdateAssumeRolePolicy(c.ctx, account, role.Name, role.RoleID, params.Get("PolicyDocument"))
}

func (s *Server) iamRoleEmptyList(c *call, params awsquery.Params) (any, error) {
	// idcgate has no managed policies or instance profiles: a role has
	// none, truthfully (what IaC tools read back after a create).
	if _, err := iamPage(params); err != nil {
		return nil, err
	}
	if _, err := s.iamRole(c, params.Get("RoleName")); err != nil {
		return nil, err
	}
	member := "AttachedPolicies"
	if c.op == "ListInstanceProfilesForRole" {
		member = "InstanceProfiles"
	}
	return emptyList(c.op+"Result", member), nil
}

func (s *Server) iamCreateUser(c *call, params awsquery.Params) (any, error) {
	if err := noPermissionsBoundary("user", params); err != nil {
		return nil, err
	}
	account := c.principal.Account
	in := iamstore.CreateUserInput{UserName: params.Get("UserName"), Path: params.Get("Path"), Tags: iamTags(params)}
	if err := s.authorizeIAM(c, iamARN(c, "user", in.Path, in.UserName)); err != nil {
		return nil, err
	}
	u, err := s.d.IAM.CreateUser(c.ctx, account, in)
	if err != nil {
		return nil, err
	}
	return iamUserResult{XMLName: xml.Name{Local: "CreateUserResult"}, User: wireUser(u, true)}, nil
}

func (s *Server) iamGetUser(c *call, params awsquery.Params) (any, error) {
	account := c.principal.Account
	name, err := s.iamUserName(c, params)
	if err != nil {
		return nil, err
	}
	if name == "" {
		// The account root, as IAM shows it: no user name or path of its own.
		return iamUserResult{XMLName: xml.Name{Local: "GetUserResult"}, User: iamUserXML{Path: "/", UserId: account, Arn: c.principal.ARN}}, nil
	}
	u, err := s.iamUser(c, name)
	if err != nil {
		return nil, err
	}
	return iamUserResult{XMLName: xml.Name{Local: "GetUserResult"}, User: wireUser(u, true)}, nil
}

func (s *Server) iamListUsers(c *call, params awsquery.Params) (any, error) {
	return iamList(s, c, params, (*iamstore.Service).ListUsers, wireUser, func(users []iamUserXML, next string) any {
		return listUsersResult{Users: users, iamMore: iamPageEnd(next)}
	})
}

func (s *Server) serveAccessKeys(c *call, params awsquery.Params) (any, error) {
	account := c.principal.Account
	name, err := s.iamUserName(c, params)
	if err != nil {
		return nil, err
	}
	if name == "" {
		// The root's own key is the deployment's (its secret derives from
		// the master key): shown, never made or deleted here (ours).
		if c.op != "ListAccessKeys" {
			return nil, validation.Newf("The account root's access key is managed by idcgate; pass UserName to manage an IAM user's keys.")
		}
		out := listAccessKeysResult{AccessKeyMetadata: []iamAccessKeyXML{}}
		for _, r := range s.d.STS.Registry.Roots() {
			if r.Account == account {
				out.AccessKeyMetadata = append(out.AccessKeyMetadata, iamAccessKeyXML{AccessKeyId: r.AccessKeyID, Status: "Active"})
			}
		}
		return out, nil
	}
	switch c.op {
	case "CreateAccessKey":
		u, err := s.iamUser(c, name)
		if err != nil {
			return nil, err
		}
		k, err := s.d.IAM.CreateAccessKey(c.ctx, account, u.Name, u.UserID)
		if err != nil {
			return nil, err
		}
		c.log.Info("access key created", "user", u.ARN(), "access_key_id", k.AccessKeyID)
		return createAccessKeyResult{AccessKey: iamAccessKeyXML{UserName: k.UserName, AccessKeyId: k.AccessKeyID, Status: k.Status,
			SecretAccessKey: k.Secret, CreateDate: iamTime(k.CreateDate)}}, nil
	case "DeleteAccessKey":
		u, err := s.iamUser(c, name)
		if err != nil {
			return nil, err
		}
		return nil, s.d.IAM.DeleteAccessKey(c.ctx, account, u.Name, params.Get("AccessKeyId"))
	default:
		page, err := iamPage(params)
		if err != nil {
			return nil, err
		}
		u, err := s.iamUser(c, name)
		if err != nil {
			return nil, err
		}
		keys, next, err := s.d.IAM.ListAccessKeys(c.ctx, account, u.Name, page)
		if err != nil {
			return nil, err
		}
		return listAccessKeysResult{AccessKeyMetadata: wireAll(keys, func(k iamstore.AccessKey) iamAccessKeyXML {
			return iamAccessKeyXML{UserName: k.UserName, AccessKeyId: k.AccessKeyID, Status: k.Status, CreateDate: iamTime(k.CreateDate)}
		}), iamMore: iamPageEnd(next)}, nil
	}
}

// emptyList is <OpResult><Member/><IsTruncated>false</IsTruncated></OpResult>.
func emptyList(result, member string) any {
	return struct {
		XMLName     xml.Name
		Member      struct{ XMLName xml.Name }
		IsTruncated bool `xml:"IsTruncated"`
	}{XMLName: xml.Name{Local: result}, Member: struct{ XMLName xml.Name }{xml.Name{Local: member}}}
}

// tagsPage pages a user's or role's tags (at most 50) by position.
func tagsPage(op string, tags []iamstore.Tag, page iamstore.ListInput) (any, error) {
	var v validation.Collector
	max := iamstore.DefaultMaxItems
	if page.MaxItemsSet {
		v.Range("maxItems", int64(page.MaxItems), 1, 1000)
		max = page.MaxItems
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	start := 0
	if page.Marker != "" {
		n, err := strconv.Atoi(page.Marker)
		if err != nil || n < 0 || n > len(tags) {
			return nil, validation.Newf("Invalid Marker.")
		}
		start = n
	}
	out := listTagsResult{XMLName: xml.Name{Local: op + "Result"}, Tags: wireTags(tags[start:min(start+max, len(tags))])}
	if start+max < len(tags) {
		out.IsTruncated, out.Marker = true, strconv.Itoa(start+max)
	}
	return out, nil
}

// iamSigningRegion is the region an IAM request must be signed for:
// us-east-1, IAM's, as the SDKs sign for the global endpoint; a request
// signed for the deployment's own region is taken too, since an SDK given
// this endpoint with that region signs so (BEHAVIOUR 8.1, ours). Only the
// scope is read here; Verify checks it is the one signed.
func iamSigningRegion(r *http.Request, own string) string {
	cred := r.Header.Get("Authorization")
	if cred == "" {
		cred = r.URL.Query().Get("X-Amz-Credential")
	}
	if own != iamRegion && strings.Contains(cred, "/"+own+"/iam/aws4_request") {
		return own
	}
	return iamRegion
}
