package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	"github.com/aws/aws-sdk-go-v2/service/identitystore/document"
	istypes "github.com/aws/aws-sdk-go-v2/service/identitystore/types"
	"github.com/aws/smithy-go"

	"github.com/idcgate/idcgate/internal/audit"
	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/masterkey"
	"github.com/idcgate/idcgate/internal/testserver"
)

const storeID = testserver.IdentityStoreID

// awsID is the form of the ids the Identity Store API makes: the identity
// store id's ten hex digits, a dash, a UUID.
var awsID = regexp.MustCompile(`^9067a1b2c3-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func userName(n string) istypes.AlternateIdentifier {
	return &istypes.AlternateIdentifierMemberUniqueAttribute{Value: istypes.UniqueAttribute{AttributePath: aws.String("userName"), AttributeValue: document.NewLazyDocument(n)}}
}

func member(id string) istypes.MemberId { return &istypes.MemberIdMemberUserId{Value: id} }

// wantNotFound checks a ResourceNotFoundException read back through the
// SDK's typed error, with its ResourceType and ResourceId.
func wantNotFound(t *testing.T, err error, typ istypes.ResourceType, id string) {
	t.Helper()
	var nf *istypes.ResourceNotFoundException
	if !errors.As(err, &nf) || nf.ResourceType != typ || aws.ToString(nf.ResourceId) != id || nf.ErrorMessage() == "" {
		t.Fatalf("got %v, want ResourceNotFoundException %s %q", err, typ, id)
	}
}

func wantConflict(t *testing.T, err error, reason istypes.ConflictExceptionReason) {
	t.Helper()
	var c *istypes.ConflictException
	if !errors.As(err, &c) || c.Reason != reason || c.ErrorMessage() == "" {
		t.Fatalf("got %v, want ConflictException %s", err, reason)
	}
}

func wantValidation(t *testing.T, err error) {
	t.Helper()
	var v *istypes.ValidationException
	if !errors.As(err, &v) || v.ErrorMessage() == "" {
		t.Fatalf("got %v, want ValidationException", err)
	}
}

func TestIdentityStoreUsers(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	c := srv.IdentityStore(srv.Admin)
	ctx := context.Background()
	before := time.Now().Add(-time.Second).Truncate(time.Second)

	created, err := c.CreateUser(ctx, &identitystore.CreateUserInput{
		IdentityStoreId: aws.String(storeID), UserName: aws.String("dave"), DisplayName: aws.String("Dave Data"),
		Name:         &istypes.Name{GivenName: aws.String("Dave"), FamilyName: aws.String("Data")},
		Emails:       []istypes.Email{{Value: aws.String("dave@example.com"), Type: aws.String("work"), Primary: true}},
		PhoneNumbers: []istypes.PhoneNumber{{Value: aws.String("+1 555 0100"), Type: aws.String("work")}},
		Addresses:    []istypes.Address{{Locality: aws.String("Seattle"), Country: aws.String("US")}},
		Title:        aws.String("Analyst"), Locale: aws.String("en-US"), Timezone: aws.String("America/Los_Angeles"),
		NickName: aws.String("d"), ProfileUrl: aws.String("https://example.com/dave"), UserType: aws.String("Employee"),
		PreferredLanguage: aws.String("en"),
	})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(created.UserId)
	if !awsID.MatchString(id) || aws.ToString(created.IdentityStoreId) != storeID || aws.ToString(created.UserArn) != "arn:aws:identitystore:::user/"+id {
		t.Fatalf("created %+v", created)
	}

	d, err := c.DescribeUser(ctx, &identitystore.DescribeUserInput{IdentityStoreId: aws.String(storeID), UserId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(d.UserName) != "dave" || aws.ToString(d.DisplayName) != "Dave Data" || aws.ToString(d.Name.GivenName) != "Dave" ||
		len(d.Emails) != 1 || aws.ToString(d.Emails[0].Value) != "dave@example.com" || !d.Emails[0].Primary ||
		aws.ToString(d.Title) != "Analyst" || aws.ToString(d.Timezone) != "America/Los_Angeles" || aws.ToString(d.Addresses[0].Locality) != "Seattle" ||
		aws.ToString(d.PhoneNumbers[0].Value) != "+1 555 0100" || d.UserStatus != istypes.UserStatusEnabled ||
		aws.ToString(d.CreatedBy) != "arn:aws:iam::123456789012:root" || aws.ToString(d.Revision) != aws.ToString(created.Revision) {
		t.Fatalf("described %+v", d)
	}
	if d.CreatedAt == nil || d.CreatedAt.Before(before) || d.CreatedAt.After(time.Now().Add(time.Second)) || !d.UpdatedAt.Equal(*d.CreatedAt) {
		t.Fatalf("timestamps %v %v (epoch seconds)", d.CreatedAt, d.UpdatedAt)
	}

	// Uniqueness: userName ignores case; the address is taken too.
	_, err = c.CreateUser(ctx, &identitystore.CreateUserInput{IdentityStoreId: aws.String(storeID), UserName: aws.String("DAVE")})
	wantConflict(t, err, istypes.ConflictExceptionReasonUniquenessConstraintViolation)
	_, err = c.CreateUser(ctx, &identitystore.CreateUserInput{IdentityStoreId: aws.String(storeID), UserName: aws.String("alice")})
	wantConflict(t, err, istypes.ConflictExceptionReasonUniquenessConstraintViolation)
	// Bad input changes nothing.
	for name, in := range map[string]*identitystore.CreateUserInput{
		"no user name":      {IdentityStoreId: aws.String(storeID)},
		"reserved name":     {IdentityStoreId: aws.String(storeID), UserName: aws.String("Administrator")},
		"space in the name": {IdentityStoreId: aws.String(storeID), UserName: aws.String("a b")},
		"two emails":        {IdentityStoreId: aws.String(storeID), UserName: aws.String("two"), Emails: []istypes.Email{{Value: aws.String("a@x")}, {Value: aws.String("b@x")}}},
		"bad store id":      {IdentityStoreId: aws.String("d-XYZ"), UserName: aws.String("x")},
	} {
		_, err := c.CreateUser(ctx, in)
		if err == nil {
			t.Fatalf("%s: accepted", name)
		}
		wantValidation(t, err)
	}
	_, err = c.CreateUser(ctx, &identitystore.CreateUserInput{IdentityStoreId: aws.String("d-0000000000"), UserName: aws.String("x")})
	wantNotFound(t, err, istypes.ResourceTypeIdentityStore, "d-0000000000")

	// GetUserId by name (any case), address, and an unknown one.
	for _, alt := range []istypes.AlternateIdentifier{
		userName("dave"), userName("Dave"),
		&istypes.AlternateIdentifierMemberUniqueAttribute{Value: istypes.UniqueAttribute{AttributePath: aws.String("emails.value"), AttributeValue: document.NewLazyDocument("DAVE@example.com")}},
	} {
		got, err := c.GetUserId(ctx, &identitystore.GetUserIdInput{IdentityStoreId: aws.String(storeID), AlternateIdentifier: alt})
		if err != nil || aws.ToString(got.UserId) != id || aws.ToString(got.UserArn) != "arn:aws:identitystore:::user/"+id {
			t.Fatalf("GetUserId %#v: %+v %v", alt, got, err)
		}
	}
	_, err = c.GetUserId(ctx, &identitystore.GetUserIdInput{IdentityStoreId: aws.String(storeID), AlternateIdentifier: userName("nobody")})
	wantNotFound(t, err, istypes.ResourceTypeUser, "")
	_, err = c.GetUserId(ctx, &identitystore.GetUserIdInput{IdentityStoreId: aws.String(storeID),
		AlternateIdentifier: &istypes.AlternateIdentifierMemberExternalId{Value: istypes.ExternalId{Issuer: aws.String("scim"), Id: aws.String("42")}}})
	wantNotFound(t, err, istypes.ResourceTypeUser, "")
	_, err = c.GetUserId(ctx, &identitystore.GetUserIdInput{IdentityStoreId: aws.String(storeID),
		AlternateIdentifier: &istypes.AlternateIdentifierMemberUniqueAttribute{Value: istypes.UniqueAttribute{AttributePath: aws.String("title"), AttributeValue: document.NewLazyDocument("x")}}})
	wantValidation(t, err)

	// UpdateUser: set, set a sub-attribute, remove; the revision moves on.
	up, err := c.UpdateUser(ctx, &identitystore.UpdateUserInput{IdentityStoreId: aws.String(storeID), UserId: aws.String(id), Operations: []istypes.AttributeOperation{
		{AttributePath: aws.String("displayName"), AttributeValue: document.NewLazyDocument("David Data")},
		{AttributePath: aws.String("name.givenName"), AttributeValue: document.NewLazyDocument("David")},
		{AttributePath: aws.String("nickName")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(up.Revision) == aws.ToString(created.Revision) {
		t.Fatalf("revision unchanged: %v", aws.ToString(up.Revision))
	}
	d, err = c.DescribeUser(ctx, &identitystore.DescribeUserInput{IdentityStoreId: aws.String(storeID), UserId: aws.String(id)})
	if err != nil || aws.ToString(d.DisplayName) != "David Data" || aws.ToString(d.Name.GivenName) != "David" || aws.ToString(d.Name.FamilyName) != "Data" || d.NickName != nil {
		t.Fatalf("after update: %+v %v", d, err)
	}
	_, err = c.UpdateUser(ctx, &identitystore.UpdateUserInput{IdentityStoreId: aws.String(storeID), UserId: aws.String(id), Revision: created.Revision,
		Operations: []istypes.AttributeOperation{{AttributePath: aws.String("title"), AttributeValue: document.NewLazyDocument("x")}}})
	wantConflict(t, err, istypes.ConflictExceptionReasonConcurrentModification)
	_, err = c.UpdateUser(ctx, &identitystore.UpdateUserInput{IdentityStoreId: aws.String(storeID), UserId: aws.String(id),
		Operations: []istypes.AttributeOperation{{AttributePath: aws.String("userName"), AttributeValue: document.NewLazyDocument("ALICE")}}})
	wantConflict(t, err, istypes.ConflictExceptionReasonUniquenessConstraintViolation)
	for _, op := range []istypes.AttributeOperation{
		{AttributePath: aws.String("userId"), AttributeValue: document.NewLazyDocument("x")},
		{AttributePath: aws.String("emails"), AttributeValue: document.NewLazyDocument("not a list")},
		{AttributePath: aws.String("userName")},
	} {
		_, err = c.UpdateUser(ctx, &identitystore.UpdateUserInput{IdentityStoreId: aws.String(storeID), UserId: aws.String(id), Operations: []istypes.AttributeOperation{op}})
		wantValidation(t, err)
	}

	// ListUsers: the filter, and pages of MaxResults.
	for i := range 5 {
		if _, err := c.CreateUser(ctx, &identitystore.CreateUserInput{IdentityStoreId: aws.String(storeID), UserName: aws.String(fmt.Sprintf("page-%d", i))}); err != nil {
			t.Fatal(err)
		}
	}
	l, err := c.ListUsers(ctx, &identitystore.ListUsersInput{IdentityStoreId: aws.String(storeID),
		Filters: []istypes.Filter{{AttributePath: aws.String("UserName"), AttributeValue: aws.String("DAVE")}}})
	if err != nil || len(l.Users) != 1 || aws.ToString(l.Users[0].UserId) != id || l.NextToken != nil {
		t.Fatalf("filtered: %+v %v", l, err)
	}
	names, pages := pagedNames(t, identitystore.NewListUsersPaginator(c, &identitystore.ListUsersInput{IdentityStoreId: aws.String(storeID), MaxResults: aws.Int32(2)}),
		func(o *identitystore.ListUsersOutput) []istypes.User { return o.Users },
		func(u istypes.User) string { return aws.ToString(u.UserName) })
	slices.Sort(names)
	if want := []string{"alice", "bob", "carol", "dave", "page-0", "page-1", "page-2", "page-3", "page-4"}; !slices.Equal(names, want) || pages != 5 {
		t.Fatalf("paged %d: %v, want %v", pages, names, want)
	}
	_, err = c.ListUsers(ctx, &identitystore.ListUsersInput{IdentityStoreId: aws.String(storeID), NextToken: aws.String("bm9wZQ==")})
	wantValidation(t, err)
	_, err = c.ListUsers(ctx, &identitystore.ListUsersInput{IdentityStoreId: aws.String(storeID),
		Filters: []istypes.Filter{{AttributePath: aws.String("Title"), AttributeValue: aws.String("x")}}})
	wantValidation(t, err)

	// DeleteUser: a stale revision is refused; then gone.
	_, err = c.DeleteUser(ctx, &identitystore.DeleteUserInput{IdentityStoreId: aws.String(storeID), UserId: aws.String(id), Revision: created.Revision})
	wantConflict(t, err, istypes.ConflictExceptionReasonConcurrentModification)
	if _, err := c.DeleteUser(ctx, &identitystore.DeleteUserInput{IdentityStoreId: aws.String(storeID), UserId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DescribeUser(ctx, &identitystore.DescribeUserInput{IdentityStoreId: aws.String(storeID), UserId: aws.String(id)})
	wantNotFound(t, err, istypes.ResourceTypeUser, id)
	_, err = c.DeleteUser(ctx, &identitystore.DeleteUserInput{IdentityStoreId: aws.String(storeID), UserId: aws.String(id)})
	wantNotFound(t, err, istypes.ResourceTypeUser, id)
	// Re-created under the same name, a user is another user.
	again, err := c.CreateUser(ctx, &identitystore.CreateUserInput{IdentityStoreId: aws.String(storeID), UserName: aws.String("dave")})
	if err != nil || aws.ToString(again.UserId) == id {
		t.Fatalf("re-created: %+v %v", again, err)
	}
}

func TestIdentityStoreGroupsAndMemberships(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	c := srv.IdentityStore(srv.Admin)
	ctx := context.Background()
	sid := aws.String(storeID)

	g, err := c.CreateGroup(ctx, &identitystore.CreateGroupInput{IdentityStoreId: sid, DisplayName: aws.String("Data Team"), Description: aws.String("reads")})
	if err != nil || !awsID.MatchString(aws.ToString(g.GroupId)) || aws.ToString(g.GroupArn) != "arn:aws:identitystore:::group/"+aws.ToString(g.GroupId) {
		t.Fatalf("CreateGroup %+v %v", g, err)
	}
	gid := aws.ToString(g.GroupId)
	_, err = c.CreateGroup(ctx, &identitystore.CreateGroupInput{IdentityStoreId: sid, DisplayName: aws.String("data team")})
	wantConflict(t, err, istypes.ConflictExceptionReasonUniquenessConstraintViolation)
	_, err = c.CreateGroup(ctx, &identitystore.CreateGroupInput{IdentityStoreId: sid})
	wantValidation(t, err)

	dg, err := c.DescribeGroup(ctx, &identitystore.DescribeGroupInput{IdentityStoreId: sid, GroupId: aws.String(gid)})
	if err != nil || aws.ToString(dg.DisplayName) != "Data Team" || aws.ToString(dg.Description) != "reads" || dg.CreatedAt == nil {
		t.Fatalf("DescribeGroup %+v %v", dg, err)
	}
	if _, err := c.UpdateGroup(ctx, &identitystore.UpdateGroupInput{IdentityStoreId: sid, GroupId: aws.String(gid),
		Operations: []istypes.AttributeOperation{{AttributePath: aws.String("description"), AttributeValue: document.NewLazyDocument("reads sales")}}}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetGroupId(ctx, &identitystore.GetGroupIdInput{IdentityStoreId: sid, AlternateIdentifier: &istypes.AlternateIdentifierMemberUniqueAttribute{
		Value: istypes.UniqueAttribute{AttributePath: aws.String("displayName"), AttributeValue: document.NewLazyDocument("DATA TEAM")}}})
	if err != nil || aws.ToString(got.GroupId) != gid {
		t.Fatalf("GetGroupId %+v %v", got, err)
	}
	analysts, err := c.GetGroupId(ctx, &identitystore.GetGroupIdInput{IdentityStoreId: sid, AlternateIdentifier: &istypes.AlternateIdentifierMemberUniqueAttribute{
		Value: istypes.UniqueAttribute{AttributePath: aws.String("displayName"), AttributeValue: document.NewLazyDocument("analysts")}}})
	if err != nil {
		t.Fatal(err)
	}
	lg, err := c.ListGroups(ctx, &identitystore.ListGroupsInput{IdentityStoreId: sid, Filters: []istypes.Filter{{AttributePath: aws.String("DisplayName"), AttributeValue: aws.String("Data Team")}}})
	if err != nil || len(lg.Groups) != 1 || aws.ToString(lg.Groups[0].Description) != "reads sales" {
		t.Fatalf("ListGroups filtered %+v %v", lg, err)
	}
	all, err := c.ListGroups(ctx, &identitystore.ListGroupsInput{IdentityStoreId: sid, MaxResults: aws.Int32(2)})
	if err != nil || len(all.Groups) != 2 || all.NextToken == nil {
		t.Fatalf("ListGroups page %+v %v", all, err)
	}
	rest, err := c.ListGroups(ctx, &identitystore.ListGroupsInput{IdentityStoreId: sid, MaxResults: aws.Int32(2), NextToken: all.NextToken})
	if err != nil || len(rest.Groups) != 1 || rest.NextToken != nil {
		t.Fatalf("ListGroups second page %+v %v", rest, err)
	}

	alice, err := c.GetUserId(ctx, &identitystore.GetUserIdInput{IdentityStoreId: sid, AlternateIdentifier: userName("alice")})
	if err != nil {
		t.Fatal(err)
	}
	aid := aws.ToString(alice.UserId)
	m, err := c.CreateGroupMembership(ctx, &identitystore.CreateGroupMembershipInput{IdentityStoreId: sid, GroupId: aws.String(gid), MemberId: member(aid)})
	if err != nil || !awsID.MatchString(aws.ToString(m.MembershipId)) || aws.ToString(m.MembershipArn) != "arn:aws:identitystore:::membership/"+aws.ToString(m.MembershipId) {
		t.Fatalf("CreateGroupMembership %+v %v", m, err)
	}
	mid := aws.ToString(m.MembershipId)
	_, err = c.CreateGroupMembership(ctx, &identitystore.CreateGroupMembershipInput{IdentityStoreId: sid, GroupId: aws.String(gid), MemberId: member(aid)})
	wantConflict(t, err, istypes.ConflictExceptionReasonUniquenessConstraintViolation)
	missing := "9067a1b2c3-00000000-0000-4000-8000-000000000000"
	_, err = c.CreateGroupMembership(ctx, &identitystore.CreateGroupMembershipInput{IdentityStoreId: sid, GroupId: aws.String(missing), MemberId: member(aid)})
	wantNotFound(t, err, istypes.ResourceTypeGroup, missing)
	_, err = c.CreateGroupMembership(ctx, &identitystore.CreateGroupMembershipInput{IdentityStoreId: sid, GroupId: aws.String(gid), MemberId: member(missing)})
	wantNotFound(t, err, istypes.ResourceTypeUser, missing)

	dm, err := c.DescribeGroupMembership(ctx, &identitystore.DescribeGroupMembershipInput{IdentityStoreId: sid, MembershipId: aws.String(mid)})
	if err != nil || aws.ToString(dm.GroupId) != gid || dm.MemberId.(*istypes.MemberIdMemberUserId).Value != aid || dm.CreatedAt == nil {
		t.Fatalf("DescribeGroupMembership %+v %v", dm, err)
	}
	gm, err := c.GetGroupMembershipId(ctx, &identitystore.GetGroupMembershipIdInput{IdentityStoreId: sid, GroupId: aws.String(gid), MemberId: member(aid)})
	if err != nil || aws.ToString(gm.MembershipId) != mid {
		t.Fatalf("GetGroupMembershipId %+v %v", gm, err)
	}
	lm, err := c.ListGroupMemberships(ctx, &identitystore.ListGroupMembershipsInput{IdentityStoreId: sid, GroupId: aws.String(gid)})
	if err != nil || len(lm.GroupMemberships) != 1 || aws.ToString(lm.GroupMemberships[0].MembershipId) != mid {
		t.Fatalf("ListGroupMemberships %+v %v", lm, err)
	}
	// alice: analysts (from the config) and Data Team, one per page.
	groups, _ := pagedNames(t, identitystore.NewListGroupMembershipsForMemberPaginator(c, &identitystore.ListGroupMembershipsForMemberInput{IdentityStoreId: sid, MemberId: member(aid), MaxResults: aws.Int32(1)}),
		func(o *identitystore.ListGroupMembershipsForMemberOutput) []istypes.GroupMembership {
			return o.GroupMemberships
		},
		func(m istypes.GroupMembership) string { return aws.ToString(m.GroupId) })
	if len(groups) != 2 || !slices.Contains(groups, gid) || !slices.Contains(groups, aws.ToString(analysts.GroupId)) {
		t.Fatalf("alice's memberships %v", groups)
	}
	in, err := c.IsMemberInGroups(ctx, &identitystore.IsMemberInGroupsInput{IdentityStoreId: sid, MemberId: member(aid), GroupIds: []string{gid, missing}})
	if err != nil || len(in.Results) != 2 || !in.Results[0].MembershipExists || in.Results[1].MembershipExists || aws.ToString(in.Results[1].GroupId) != missing {
		t.Fatalf("IsMemberInGroups %+v %v", in, err)
	}

	if _, err := c.DeleteGroupMembership(ctx, &identitystore.DeleteGroupMembershipInput{IdentityStoreId: sid, MembershipId: aws.String(mid)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DescribeGroupMembership(ctx, &identitystore.DescribeGroupMembershipInput{IdentityStoreId: sid, MembershipId: aws.String(mid)})
	wantNotFound(t, err, istypes.ResourceTypeGroupMembership, mid)
	_, err = c.GetGroupMembershipId(ctx, &identitystore.GetGroupMembershipIdInput{IdentityStoreId: sid, GroupId: aws.String(gid), MemberId: member(aid)})
	wantNotFound(t, err, istypes.ResourceTypeGroupMembership, "")

	// Deleting a group takes its memberships with it.
	m2, err := c.CreateGroupMembership(ctx, &identitystore.CreateGroupMembershipInput{IdentityStoreId: sid, GroupId: aws.String(gid), MemberId: member(aid)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteGroup(ctx, &identitystore.DeleteGroupInput{IdentityStoreId: sid, GroupId: aws.String(gid)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DescribeGroupMembership(ctx, &identitystore.DescribeGroupMembershipInput{IdentityStoreId: sid, MembershipId: m2.MembershipId})
	wantNotFound(t, err, istypes.ResourceTypeGroupMembership, aws.ToString(m2.MembershipId))
	_, err = c.DescribeGroup(ctx, &identitystore.DescribeGroupInput{IdentityStoreId: sid, GroupId: aws.String(gid)})
	wantNotFound(t, err, istypes.ResourceTypeGroup, gid)
	_, err = c.ListGroupMemberships(ctx, &identitystore.ListGroupMembershipsInput{IdentityStoreId: sid, GroupId: aws.String(gid)})
	wantNotFound(t, err, istypes.ResourceTypeGroup, gid)
}

// TestIdentityStoreAuthorization: identitystore:<Op> is authorised by the
// IAM evaluator. The example's IAM user "app" has no identitystore
// permission: AccessDeniedException, with AWS's text.
func TestIdentityStoreAuthorization(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	c := srv.IdentityStore(srv.App)
	_, err := c.ListUsers(context.Background(), &identitystore.ListUsersInput{IdentityStoreId: aws.String(storeID)})
	var ad *istypes.AccessDeniedException
	if !errors.As(err, &ad) || !regexp.MustCompile(`is not authorized to perform: identitystore:ListUsers on resource: arn:aws:identitystore::123456789012:identitystore/d-9067a1b2c3`).MatchString(ad.ErrorMessage()) {
		t.Fatalf("got %v, want AccessDeniedException", err)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDeniedException" {
		t.Fatalf("code %v", err)
	}
	// Both calls are audited, the refused one with its error.
	if _, err := srv.IdentityStore(srv.Admin).CreateUser(context.Background(), &identitystore.CreateUserInput{IdentityStoreId: aws.String(storeID), UserName: aws.String("audited")}); err != nil {
		t.Fatal(err)
	}
	recs := auditRecords(t, srv.DataDir)
	var refused, created bool
	for _, r := range recs {
		if r.EventSource != "identitystore.amazonaws.com" {
			continue
		}
		refused = refused || r.EventName == "ListUsers" && r.ErrorCode == "AccessDeniedException" && r.ReadOnly && r.UserIdentity.UserName == "app"
		// A person's data is hidden, as CloudTrail hides what the model
		// marks sensitive; the ids stay.
		created = created || r.EventName == "CreateUser" && r.ErrorCode == "" && !r.ReadOnly &&
			r.RequestParameters["UserName"] == audit.Hidden && r.RequestParameters["IdentityStoreId"] == storeID
	}
	if !refused || !created {
		t.Fatalf("audit records: refused ListUsers %v, CreateUser %v", refused, created)
	}
	if b, err := os.ReadFile(filepath.Join(srv.DataDir, "audit.log")); err != nil || strings.Contains(string(b), `"audited"`) {
		t.Fatalf("the user's name is in the audit log (%v)", err)
	}
}

func docString(s string) document.Interface { return document.NewLazyDocument(s) }

// TestIdentityStoreResourcePolicy: an identity policy can name one user's
// ARN: the IAM user may describe alice (the store's ARN and hers allowed)
// and list users, and is refused bob, and CreateUser.
func TestIdentityStoreResourcePolicy(t *testing.T) {
	t.Parallel()
	aliceID, bobID := userID(t, "alice"), userID(t, "bob")
	policy := `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["identitystore:DescribeUser","identitystore:ListUsers"],"Resource":"arn:aws:identitystore::123456789012:identitystore/d-9067a1b2c3"},
		{"Effect":"Allow","Action":"identitystore:DescribeUser","Resource":"arn:aws:identitystore:::user/` + aliceID + `"},
		{"Effect":"Allow","Action":"identitystore:ListUsers","Resource":"arn:aws:identitystore:::user/*"}]}`
	srv := testserver.Start(t, testserver.Options{Env: map[string]string{masterkey.EnvVar: fixedMasterKey}, Edit: func(c *config.Config) {
		u := &c.Accounts[0].Users[0]
		u.Policies = append(u.Policies, config.Policy{Name: "directory-reader", Document: config.Document{JSON: []byte(policy)}})
	}})
	c := srv.IdentityStore(srv.App)
	ctx := context.Background()
	sid := aws.String(storeID)
	if d, err := c.DescribeUser(ctx, &identitystore.DescribeUserInput{IdentityStoreId: sid, UserId: aws.String(aliceID)}); err != nil || aws.ToString(d.UserName) != "alice" {
		t.Fatalf("alice: %v %v", d, err)
	}
	if _, err := c.ListUsers(ctx, &identitystore.ListUsersInput{IdentityStoreId: sid}); err != nil {
		t.Fatalf("ListUsers: %v", err)
	}
	for name, call := range map[string]func() error{
		"DescribeUser bob": func() error {
			_, err := c.DescribeUser(ctx, &identitystore.DescribeUserInput{IdentityStoreId: sid, UserId: aws.String(bobID)})
			return err
		},
		"CreateUser": func() error {
			_, err := c.CreateUser(ctx, &identitystore.CreateUserInput{IdentityStoreId: sid, UserName: aws.String("x")})
			return err
		},
	} {
		var ad *istypes.AccessDeniedException
		if err := call(); !errors.As(err, &ad) {
			t.Errorf("%s: %v, want AccessDeniedException", name, err)
		}
	}
}
