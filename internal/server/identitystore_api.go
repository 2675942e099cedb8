package server

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/idcgate/idcgate/internal/auth"
	"github.com/idcgate/idcgate/internal/identitystore"
	"github.com/idcgate/idcgate/internal/validation"
)

// The Identity Store API (awsJson1_1, X-Amz-Target AWSIdentityStore.<Op>,
// SigV4 service "identitystore"; BEHAVIOUR 16): UpperCamel members,
// epoch-second timestamps. Every operation is authorized as
// identitystore:<Op> on the identity store's ARN, then on the user, group
// or membership ARNs the service authorization reference lists for it.

const serviceIdentityStore = "identitystore"

var identityStoreOps = opTable[handler]{unknown: notServedBy("the Identity Store"), ops: map[string]handler{
	"CreateUser":                    (*Server).isCreateUser,
	"DescribeUser":                  isDescribe(isUsers),
	"UpdateUser":                    isUpdate(isUsers),
	"DeleteUser":                    isDelete(isUsers),
	"ListUsers":                     isList(isUsers),
	"GetUserId":                     isGetID(isUsers),
	"CreateGroup":                   (*Server).isCreateGroup,
	"DescribeGroup":                 isDescribe(isGroups),
	"UpdateGroup":                   isUpdate(isGroups),
	"DeleteGroup":                   isDelete(isGroups),
	"ListGroups":                    isList(isGroups),
	"GetGroupId":                    isGetID(isGroups),
	"CreateGroupMembership":         (*Server).isCreateMembership,
	"DeleteGroupMembership":         (*Server).isDeleteMembership,
	"DescribeGroupMembership":       (*Server).isDescribeMembership,
	"ListGroupMemberships":          (*Server).isListMemberships,
	"ListGroupMembershipsForMember": (*Server).isListMembershipsForMember,
	"GetGroupMembershipId":          (*Server).isGetMembershipID,
	"IsMemberInGroups":              (*Server).isIsMemberInGroups,
}}

func (s *Server) serveIdentityStore(c *call) (any, error) { return serveOp(s, c, identityStoreOps) }

// epoch is a timestamp as the Identity Store sends it: epoch seconds.
type epoch time.Time

func (t epoch) MarshalJSON() ([]byte, error) {
	return strconv.AppendInt(nil, time.Time(t).Unix(), 10), nil
}

func epochOf(t time.Time) *epoch {
	if t.IsZero() {
		return nil
	}
	e := epoch(t)
	return &e
}

// isInput is every member the operations take (each reads its own).
type isInput struct {
	IdentityStoreId *string       `json:"IdentityStoreId"`
	UserId          *string       `json:"UserId"`
	GroupId         *string       `json:"GroupId"`
	MembershipId    *string       `json:"MembershipId"`
	Revision        *string       `json:"Revision"`
	Operations      []isOperation `json:"Operations"`
	Filters         []isFilter    `json:"Filters"`
	MaxResults      *int64        `json:"MaxResults"`
	NextToken       *string       `json:"NextToken"`
	MemberId        *isMemberID   `json:"MemberId"`
	GroupIds        []string      `json:"GroupIds"`
	Extensions      []string      `json:"Extensions"`
	Alternate       *isAlternate  `json:"AlternateIdentifier"`
	DisplayName     *string       `json:"DisplayName"`
	Description     *string       `json:"Description"`
}

type isOperation struct {
	AttributePath  *string         `json:"AttributePath"`
	AttributeValue json.RawMessage `json:"AttributeValue"`
}

type isFilter struct {
	AttributePath  *string `json:"AttributePath"`
	AttributeValue *string `json:"AttributeValue"`
}

type isMemberID struct {
	UserId *string `json:"UserId"`
}

type isAlternate struct {
	ExternalId      *identitystore.ExternalID `json:"ExternalId"`
	UniqueAttribute *isOperation              `json:"UniqueAttribute"`
}

// isAuthorize authorizes identitystore:<op> on the identity store named by
// the request, then on each of resources; then checks that it is this
// one (ResourceNotFoundException IDENTITY_STORE otherwise).
func (s *Server) isAuthorize(c *call, storeID string, resources ...string) error {
	if s.d.IdStore == nil {
		return validation.Newf("This server has no Identity Center instance: the identityCenter section of the config declares one.")
	}
	arns := append([]string{"arn:aws:identitystore::" + s.d.IdStore.Account + ":identitystore/" + storeID}, resources...)
	if err := auth.AuthorizeAll(c.principal, serviceIdentityStore+":"+c.op, arns, c.authReq, nil); err != nil {
		return err
	}
	return s.d.IdStore.CheckStore(storeID)
}

func (in *isInput) validate(v *validation.Collector) {
	identitystore.ValidateStoreID(v, "identityStoreId", in.IdentityStoreId)
}

// isCall decodes an input, validates its store id and then what check
// adds, and authorizes on the store and the resources named by the input
// (read only once it is valid). Every operation but CreateUser, whose
// attributes are an input of their own, reads its input so.
func (s *Server) isCall(c *call, in *isInput, check func(*validation.Collector), resources func() []string) error {
	if err := decodeValid(c, in, func(v *validation.Collector) {
		in.validate(v)
		if check != nil {
			check(v)
		}
	}); err != nil {
		return err
	}
	var res []string
	if resources != nil {
		res = resources()
	}
	return s.isAuthorize(c, *in.IdentityStoreId, res...)
}

// constantARNs is a fixed list of resources, for isCall.
func constantARNs(res ...string) func() []string { return func() []string { return res } }

// isKind is what the handlers of users and groups differ in; DescribeX,
// UpdateX, DeleteX and ListX are each built once from it below.
type isKind[R, W any] struct {
	member string                       // the id member of the request
	id     func(*isInput) *string       // reads it
	arn    func(id string) string       // the resource authorized
	all    string                       // the resource a List or GetXId is authorized on
	filter string                       // the attribute a List filters on
	wire   func(*Server, R, *isInput) W // the one-resource answer
	ref    func(*Server, R) any         // the answer of a create or update
	list   func([]W, *string) any       // the answer of a List

	// GetXId: the unique attributes an AlternateIdentifier may name, each
	// with its look-up (in the order the error message lists them), the
	// look-up by external id, and the answer.
	idBy         []isIDLookup
	idByExternal func(*identitystore.Service, context.Context, identitystore.ExternalID) (string, error)
	idAnswer     func(s *Server, id string) any

	describe func(*identitystore.Service, context.Context, string) (R, error)
	update   func(*identitystore.Service, context.Context, string, string, *string, []identitystore.Operation) (R, error)
	delete   func(*identitystore.Service, context.Context, string, *string) error
	page     func(*identitystore.Service, context.Context, *string, identitystore.Page) ([]R, string, error)
}

var isUsers = isKind[identitystore.User, isUserWire]{
	member: "userId", id: func(in *isInput) *string { return in.UserId }, arn: identitystore.UserArn,
	all: "arn:aws:identitystore:::user/*", filter: "UserName",
	wire: func(s *Server, u identitystore.User, in *isInput) isUserWire { return s.toWireUser(u, in.Extensions) },
	ref:  (*Server).userRef,
	list: func(us []isUserWire, next *string) any { return listUsersOutput{Users: us, NextToken: next} },

	idBy:         []isIDLookup{{"userName", (*identitystore.Service).UserIDByName}, {"emails.value", (*identitystore.Service).UserIDByEmail}},
	idByExternal: (*identitystore.Service).UserIDByExternalID,
	idAnswer: func(s *Server, id string) any {
		return userIDOutput{IdentityStoreId: s.d.IdStore.StoreID, UserId: id, UserArn: identitystore.UserArn(id)}
	},

	describe: (*identitystore.Service).DescribeUser, update: (*identitystore.Service).UpdateUser,
	delete: (*identitystore.Service).DeleteUser, page: (*identitystore.Service).ListUsers,
}

var isGroups = isKind[identitystore.Group, wireGroup]{
	member: "groupId", id: func(in *isInput) *string { return in.GroupId }, arn: identitystore.GroupArn,
	all: "arn:aws:identitystore:::group/*", filter: "DisplayName",
	wire: func(s *Server, g identitystore.Group, _ *isInput) wireGroup { return s.toWireGroup(g) },
	ref:  (*Server).groupRef,
	list: func(gs []wireGroup, next *string) any { return listGroupsOutput{Groups: gs, NextToken: next} },

	idBy:         []isIDLookup{{"displayName", (*identitystore.Service).GroupIDByName}},
	idByExternal: (*identitystore.Service).GroupIDByExternalID,
	idAnswer: func(s *Server, id string) any {
		return groupIDOutput{IdentityStoreId: s.d.IdStore.StoreID, GroupId: id, GroupArn: identitystore.GroupArn(id)}
	},

	describe: (*identitystore.Service).DescribeGroup, update: (*identitystore.Service).UpdateGroup,
	delete: (*identitystore.Service).DeleteGroup, page: (*identitystore.Service).ListGroups,
}

// one decodes an input naming one resource of the kind, validates it with
// more, and authorizes on the resource.
func (k isKind[R, W]) one(s *Server, c *call, in *isInput, more func(*validation.Collector)) error {
	return s.isCall(c, in, func(v *validation.Collector) {
		identitystore.ValidateResourceID(v, k.member, k.id(in))
		if more != nil {
			more(v)
		}
	}, func() []string { return []string{k.arn(*k.id(in))} })
}

func isDescribe[R, W any](k isKind[R, W]) handler {
	return func(s *Server, c *call) (any, error) {
		var in isInput
		if err := k.one(s, c, &in, nil); err != nil {
			return nil, err
		}
		r, err := k.describe(s.d.IdStore, c.ctx, *k.id(&in))
		if err != nil {
			return nil, err
		}
		return k.wire(s, r, &in), nil
	}
}

func isUpdate[R, W any](k isKind[R, W]) handler {
	return func(s *Server, c *call) (any, error) {
		var in isInput
		var ops []identitystore.Operation
		if err := k.one(s, c, &in, func(v *validation.Collector) { ops = opsOf(v, &in) }); err != nil {
			return nil, err
		}
		r, err := k.update(s.d.IdStore, c.ctx, c.principal.ARN, *k.id(&in), in.Revision, ops)
		if err != nil {
			return nil, err
		}
		return k.ref(s, r), nil
	}
}

func isDelete[R, W any](k isKind[R, W]) handler {
	return func(s *Server, c *call) (any, error) {
		var in isInput
		if err := k.one(s, c, &in, nil); err != nil {
			return nil, err
		}
		return struct{}{}, k.delete(s.d.IdStore, c.ctx, *k.id(&in), in.Revision)
	}
}

// isList authorizes on every resource of the kind and pages, or answers
// the one the filter names.
func isList[R, W any](k isKind[R, W]) handler {
	return func(s *Server, c *call) (any, error) {
		var in isInput
		var page identitystore.Page
		var filter *string
		if err := s.isCall(c, &in, func(v *validation.Collector) {
			page = pageOf(v, &in)
			filter = filterOf(v, &in, k.filter)
		}, constantARNs(k.all)); err != nil {
			return nil, err
		}
		rs, next, err := k.page(s.d.IdStore, c.ctx, filter, page)
		if err != nil {
			return nil, err
		}
		return k.list(wireAll(rs, func(r R) W { return k.wire(s, r, &in) }), str(next)), nil
	}
}

// isIDLookup is a unique attribute GetUserId or GetGroupId may name
// (its path) and the look-up of an id by its value.
type isIDLookup struct {
	path string
	by   func(*identitystore.Service, context.Context, string) (string, error)
}

// isGetID is GetUserId and GetGroupId: authorized on every resource of
// the kind, the id the AlternateIdentifier names (an external id, or a
// unique attribute's value).
func isGetID[R, W any](k isKind[R, W]) handler {
	return func(s *Server, c *call) (any, error) {
		paths := make([]string, len(k.idBy))
		for i, l := range k.idBy {
			paths[i] = l.path
		}
		var in isInput
		var path, value string
		var x *identitystore.ExternalID
		if err := s.isCall(c, &in, func(v *validation.Collector) {
			path, value, x = alternate(v, in.Alternate, paths...)
		}, constantARNs(k.all)); err != nil {
			return nil, err
		}
		var id string
		var err error
		if x != nil {
			id, err = k.idByExternal(s.d.IdStore, c.ctx, *x)
		} else {
			// alternate answers one of paths, or refuses the input.
			id, err = k.idBy[slices.Index(paths, path)].by(s.d.IdStore, c.ctx, value)
		}
		if err != nil {
			return nil, err
		}
		return k.idAnswer(s, id), nil
	}
}

func pageOf(v *validation.Collector, in *isInput) identitystore.Page {
	p := identitystore.Page{}
	if in.MaxResults != nil && v.Range("maxResults", *in.MaxResults, 1, 100) {
		p.MaxResults = int(*in.MaxResults)
	}
	if in.NextToken != nil {
		if v.Length("nextToken", *in.NextToken, 1, 65535) {
			p.NextToken = *in.NextToken
		}
	}
	return p
}

func memberOf(v *validation.Collector, in *isInput) string {
	if !v.Required("memberId", in.MemberId != nil) {
		return ""
	}
	identitystore.ValidateResourceID(v, "memberId.userId", in.MemberId.UserId)
	if in.MemberId.UserId == nil {
		return ""
	}
	return *in.MemberId.UserId
}

func opsOf(v *validation.Collector, in *isInput) []identitystore.Operation {
	v.Required("operations", in.Operations != nil)
	ops := make([]identitystore.Operation, 0, len(in.Operations))
	for _, o := range in.Operations {
		op := identitystore.Operation{AttributeValue: o.AttributeValue}
		if v.Required("operations.member.attributePath", o.AttributePath != nil) {
			op.AttributePath = *o.AttributePath
		}
		ops = append(ops, op)
	}
	return ops
}

// ---- users

type isUserWire struct {
	IdentityStoreId string `json:"IdentityStoreId"`
	UserId          string `json:"UserId"`
	UserArn         string `json:"UserArn"`
	Revision        string `json:"Revision"`
	identitystore.Attributes
	ExternalIds []identitystore.ExternalID `json:"ExternalIds,omitempty"`
	UserStatus  string                     `json:"UserStatus"`
	CreatedAt   *epoch                     `json:"CreatedAt,omitempty"`
	CreatedBy   string                     `json:"CreatedBy,omitempty"`
	UpdatedAt   *epoch                     `json:"UpdatedAt,omitempty"`
	UpdatedBy   string                     `json:"UpdatedBy,omitempty"`
}

// toWireUser shows u, with only the extensions asked for (AWS's rule).
func (s *Server) toWireUser(u identitystore.User, extensions []string) isUserWire {
	w := isUserWire{
		IdentityStoreId: s.d.IdStore.StoreID, UserId: u.UserID, UserArn: identitystore.UserArn(u.UserID),
		Revision: u.RevisionString(), Attributes: u.Attributes, ExternalIds: u.ExternalIds, UserStatus: "ENABLED",
		CreatedAt: epochOf(u.CreatedAt), CreatedBy: u.CreatedBy, UpdatedAt: epochOf(u.UpdatedAt), UpdatedBy: u.UpdatedBy,
	}
	w.Extensions = nil
	for _, name := range extensions {
		if x, ok := u.Extensions[name]; ok {
			if w.Extensions == nil {
				w.Extensions = map[string]json.RawMessage{}
			}
			w.Extensions[name] = x
		}
	}
	return w
}

type userRef struct {
	IdentityStoreId string `json:"IdentityStoreId"`
	UserId          string `json:"UserId"`
	UserArn         string `json:"UserArn"`
	Revision        string `json:"Revision,omitempty"`
}

func (s *Server) isCreateUser(c *call) (any, error) {
	// The attributes are decoded on their own: DisplayName and Extensions
	// are other members of other operations' inputs.
	var in struct {
		IdentityStoreId *string `json:"IdentityStoreId"`
		identitystore.Attributes
	}
	if err := decodeValid(c, &in, func(v *validation.Collector) {
		identitystore.ValidateStoreID(v, "identityStoreId", in.IdentityStoreId)
	}); err != nil {
		return nil, err
	}
	if err := s.isAuthorize(c, *in.IdentityStoreId); err != nil {
		return nil, err
	}
	u, err := s.d.IdStore.CreateUser(c.ctx, c.principal.ARN, in.Attributes)
	if err != nil {
		return nil, err
	}
	return s.userRef(u), nil
}

func (s *Server) userRef(u identitystore.User) any {
	return userRef{IdentityStoreId: s.d.IdStore.StoreID, UserId: u.UserID, UserArn: identitystore.UserArn(u.UserID), Revision: u.RevisionString()}
}

// filterOf reads a list's one filter, on attribute (UserName, DisplayName).
func filterOf(v *validation.Collector, in *isInput, attribute string) *string {
	if len(in.Filters) > 1 {
		v.Add("filters", nil, "Member must have length less than or equal to 1")
		return nil
	}
	if len(in.Filters) == 0 {
		return nil
	}
	f := in.Filters[0]
	if !v.Required("filters.1.member.attributePath", f.AttributePath != nil) || !v.Required("filters.1.member.attributeValue", f.AttributeValue != nil) {
		return nil
	}
	if !strings.EqualFold(*f.AttributePath, attribute) {
		v.Add("filters.1.member.attributePath", *f.AttributePath, "Member must be "+attribute)
		return nil
	}
	v.Length("filters.1.member.attributeValue", *f.AttributeValue, 1, 1024)
	return f.AttributeValue
}

type listUsersOutput struct {
	Users     []isUserWire `json:"Users"`
	NextToken *string      `json:"NextToken,omitempty"`
}

// alternate validates an AlternateIdentifier: exactly one of ExternalId
// and UniqueAttribute, the attribute one of paths, its value a string.
func alternate(v *validation.Collector, a *isAlternate, paths ...string) (path, value string, x *identitystore.ExternalID) {
	if !v.Required("alternateIdentifier", a != nil) {
		return
	}
	switch {
	case a.ExternalId != nil && a.UniqueAttribute != nil, a.ExternalId == nil && a.UniqueAttribute == nil:
		v.Add("alternateIdentifier", nil, "Member must have exactly one of ExternalId, UniqueAttribute")
	case a.ExternalId != nil:
		identitystore.ValidateExternalID(v, "alternateIdentifier.externalId", *a.ExternalId)
		x = a.ExternalId
	default:
		ua := a.UniqueAttribute
		if !v.Required("alternateIdentifier.uniqueAttribute.attributePath", ua.AttributePath != nil) {
			return
		}
		for _, p := range paths {
			if strings.EqualFold(*ua.AttributePath, p) {
				path = p
			}
		}
		if path == "" {
			v.Add("alternateIdentifier.uniqueAttribute.attributePath", *ua.AttributePath, "Member must be one of ["+strings.Join(paths, ", ")+"]")
			return
		}
		if err := json.Unmarshal(ua.AttributeValue, &value); err != nil || value == "" {
			v.Add("alternateIdentifier.uniqueAttribute.attributeValue", nil, "Member must be a non-empty string")
		}
	}
	return
}

type userIDOutput struct {
	IdentityStoreId string `json:"IdentityStoreId"`
	UserId          string `json:"UserId"`
	UserArn         string `json:"UserArn"`
}

// ---- groups

type wireGroup struct {
	IdentityStoreId string `json:"IdentityStoreId"`
	GroupId         string `json:"GroupId"`
	GroupArn        string `json:"GroupArn"`
	Revision        string `json:"Revision"`
	identitystore.GroupAttributes
	ExternalIds []identitystore.ExternalID `json:"ExternalIds,omitempty"`
	CreatedAt   *epoch                     `json:"CreatedAt,omitempty"`
	CreatedBy   string                     `json:"CreatedBy,omitempty"`
	UpdatedAt   *epoch                     `json:"UpdatedAt,omitempty"`
	UpdatedBy   string                     `json:"UpdatedBy,omitempty"`
}

func (s *Server) toWireGroup(g identitystore.Group) wireGroup {
	return wireGroup{
		IdentityStoreId: s.d.IdStore.StoreID, GroupId: g.GroupID, GroupArn: identitystore.GroupArn(g.GroupID),
		Revision: g.RevisionString(), GroupAttributes: g.GroupAttributes, ExternalIds: g.ExternalIds,
		CreatedAt: epochOf(g.CreatedAt), CreatedBy: g.CreatedBy, UpdatedAt: epochOf(g.UpdatedAt), UpdatedBy: g.UpdatedBy,
	}
}

type groupRef struct {
	IdentityStoreId string `json:"IdentityStoreId"`
	GroupId         string `json:"GroupId"`
	GroupArn        string `json:"GroupArn"`
	Revision        string `json:"Revision,omitempty"`
}

func (s *Server) isCreateGroup(c *call) (any, error) {
	var in isInput
	if err := s.isCall(c, &in, nil, nil); err != nil {
		return nil, err
	}
	a := identitystore.GroupAttributes{}
	if in.DisplayName != nil {
		a.DisplayName = *in.DisplayName
	}
	if in.Description != nil {
		a.Description = *in.Description
	}
	g, err := s.d.IdStore.CreateGroup(c.ctx, c.principal.ARN, a)
	if err != nil {
		return nil, err
	}
	return s.groupRef(g), nil
}

func (s *Server) groupRef(g identitystore.Group) any {
	return groupRef{IdentityStoreId: s.d.IdStore.StoreID, GroupId: g.GroupID, GroupArn: identitystore.GroupArn(g.GroupID), Revision: g.RevisionString()}
}

type listGroupsOutput struct {
	Groups    []wireGroup `json:"Groups"`
	NextToken *string     `json:"NextToken,omitempty"`
}

type groupIDOutput struct {
	IdentityStoreId string `json:"IdentityStoreId"`
	GroupId         string `json:"GroupId"`
	GroupArn        string `json:"GroupArn"`
}

// ---- memberships

type wireMembership struct {
	IdentityStoreId string     `json:"IdentityStoreId"`
	MembershipId    string     `json:"MembershipId"`
	MembershipArn   string     `json:"MembershipArn"`
	GroupId         string     `json:"GroupId"`
	MemberId        isMemberID `json:"MemberId"`
	CreatedAt       *epoch     `json:"CreatedAt,omitempty"`
	CreatedBy       string     `json:"CreatedBy,omitempty"`
	UpdatedAt       *epoch     `json:"UpdatedAt,omitempty"`
	UpdatedBy       string     `json:"UpdatedBy,omitempty"`
}

func (s *Server) toWireMembership(m identitystore.Membership) wireMembership {
	uid := m.UserID
	return wireMembership{
		IdentityStoreId: s.d.IdStore.StoreID, MembershipId: m.MembershipID, MembershipArn: identitystore.MembershipArn(m.MembershipID),
		GroupId: m.GroupID, MemberId: isMemberID{UserId: &uid},
		CreatedAt: epochOf(m.CreatedAt), CreatedBy: m.CreatedBy, UpdatedAt: epochOf(m.UpdatedAt), UpdatedBy: m.UpdatedBy,
	}
}

type membershipRef struct {
	IdentityStoreId string `json:"IdentityStoreId"`
	MembershipId    string `json:"MembershipId"`
	MembershipArn   string `json:"MembershipArn"`
}

// groupMemberCall reads GroupId and MemberId and authorizes on both.
func (s *Server) groupMemberCall(c *call, in *isInput, more ...string) (string, error) {
	var user string
	err := s.isCall(c, in, func(v *validation.Collector) {
		identitystore.ValidateResourceID(v, "groupId", in.GroupId)
		user = memberOf(v, in)
	}, func() []string {
		return append([]string{identitystore.GroupArn(*in.GroupId), identitystore.UserArn(user)}, more...)
	})
	return user, err
}

func (s *Server) isCreateMembership(c *call) (any, error) {
	var in isInput
	user, err := s.groupMemberCall(c, &in)
	if err != nil {
		return nil, err
	}
	m, err := s.d.IdStore.CreateMembership(c.ctx, c.principal.ARN, *in.GroupId, user)
	if err != nil {
		return nil, err
	}
	return membershipRef{IdentityStoreId: s.d.IdStore.StoreID, MembershipId: m.MembershipID, MembershipArn: identitystore.MembershipArn(m.MembershipID)}, nil
}

func (s *Server) isGetMembershipID(c *call) (any, error) {
	var in isInput
	user, err := s.groupMemberCall(c, &in, "arn:aws:identitystore:::membership/*")
	if err != nil {
		return nil, err
	}
	id, err := s.d.IdStore.MembershipID(c.ctx, *in.GroupId, user)
	if err != nil {
		return nil, err
	}
	return membershipRef{IdentityStoreId: s.d.IdStore.StoreID, MembershipId: id, MembershipArn: identitystore.MembershipArn(id)}, nil
}

func (s *Server) membershipCall(c *call, in *isInput) error {
	return s.isCall(c, in, func(v *validation.Collector) {
		identitystore.ValidateResourceID(v, "membershipId", in.MembershipId)
	}, func() []string { return []string{identitystore.MembershipArn(*in.MembershipId)} })
}

func (s *Server) isDescribeMembership(c *call) (any, error) {
	var in isInput
	if err := s.membershipCall(c, &in); err != nil {
		return nil, err
	}
	m, err := s.d.IdStore.DescribeMembership(c.ctx, *in.MembershipId)
	if err != nil {
		return nil, err
	}
	return s.toWireMembership(m), nil
}

func (s *Server) isDeleteMembership(c *call) (any, error) {
	var in isInput
	if err := s.membershipCall(c, &in); err != nil {
		return nil, err
	}
	return struct{}{}, s.d.IdStore.DeleteMembership(c.ctx, *in.MembershipId)
}

type listMembershipsOutput struct {
	GroupMemberships []wireMembership `json:"GroupMemberships"`
	NextToken        *string          `json:"NextToken,omitempty"`
}

func (s *Server) membershipsOutput(ms []identitystore.Membership, next string) listMembershipsOutput {
	return listMembershipsOutput{GroupMemberships: wireAll(ms, s.toWireMembership), NextToken: str(next)}
}

func (s *Server) isListMemberships(c *call) (any, error) {
	var in isInput
	var page identitystore.Page
	if err := s.groupCallWith(c, &in, &page); err != nil {
		return nil, err
	}
	ms, next, err := s.d.IdStore.ListMemberships(c.ctx, *in.GroupId, page)
	if err != nil {
		return nil, err
	}
	return s.membershipsOutput(ms, next), nil
}

func (s *Server) groupCallWith(c *call, in *isInput, page *identitystore.Page) error {
	return s.isCall(c, in, func(v *validation.Collector) {
		identitystore.ValidateResourceID(v, "groupId", in.GroupId)
		*page = pageOf(v, in)
	}, func() []string {
		return []string{identitystore.GroupArn(*in.GroupId), "arn:aws:identitystore:::membership/*"}
	})
}

func (s *Server) isListMembershipsForMember(c *call) (any, error) {
	var in isInput
	var user string
	var page identitystore.Page
	if err := s.isCall(c, &in, func(v *validation.Collector) {
		user = memberOf(v, &in)
		page = pageOf(v, &in)
	}, func() []string { return []string{identitystore.UserArn(user), "arn:aws:identitystore:::membership/*"} }); err != nil {
		return nil, err
	}
	ms, next, err := s.d.IdStore.ListMembershipsForMember(c.ctx, user, page)
	if err != nil {
		return nil, err
	}
	return s.membershipsOutput(ms, next), nil
}

type existenceResult struct {
	GroupId          string     `json:"GroupId"`
	MemberId         isMemberID `json:"MemberId"`
	MembershipExists bool       `json:"MembershipExists"`
}

type isMemberInGroupsOutput struct {
	Results []existenceResult `json:"Results"`
}

func (s *Server) isIsMemberInGroups(c *call) (any, error) {
	var in isInput
	var user string
	if err := s.isCall(c, &in, func(v *validation.Collector) {
		user = memberOf(v, &in)
		if v.Required("groupIds", in.GroupIds != nil) && v.Items("groupIds", in.GroupIds, 1, 100) {
			for i := range in.GroupIds {
				identitystore.ValidateResourceID(v, "groupIds.member", &in.GroupIds[i])
			}
		}
	}, func() []string {
		res := []string{identitystore.UserArn(user)}
		for _, g := range in.GroupIds {
			res = append(res, identitystore.GroupArn(g))
		}
		return res
	}); err != nil {
		return nil, err
	}
	exists, err := s.d.IdStore.IsMemberInGroups(c.ctx, user, in.GroupIds)
	if err != nil {
		return nil, err
	}
	out := isMemberInGroupsOutput{Results: make([]existenceResult, 0, len(exists))}
	for i, g := range in.GroupIds {
		uid := user
		out.Results = append(out.Results, existenceResult{GroupId: g, MemberId: isMemberID{UserId: &uid}, MembershipExists: exists[i]})
	}
	return out, nil
}
