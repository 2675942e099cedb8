package e2e

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	istypes "github.com/aws/aws-sdk-go-v2/service/identitystore/types"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	admintypes "github.com/aws/aws-sdk-go-v2/service/ssoadmin/types"
	ssotypes "github.com/aws/aws-sdk-go-v2/service/ssooidc/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"

	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/testserver"
)

// TestIdentityStoreEnforced: what the Identity Store API changes takes
// effect on the next call of every flow, without a restart. A user made by
// API and put in analysts by API gets a session, a token and the analysts'
// grants at the gateway; removed from the group, her next gateway login
// (with the same token) no longer has them; a user deleted by API is
// refused by CreateTokenWithIAM, AssumeRole (with an earlier assertion),
// GetIdentityCenterAuthToken (with an earlier session) and the gateway
// (with an earlier token).
func TestIdentityStoreEnforced(t *testing.T) {
	t.Parallel()
	srv, _ := gatewayWorld(t, nil)
	ctx := context.Background()
	is := srv.IdentityStore(srv.Admin)
	sid := aws.String(storeID)

	// dave, made by API, joins analysts by API.
	dave, err := is.CreateUser(ctx, &identitystore.CreateUserInput{IdentityStoreId: sid, UserName: aws.String("dave"), DisplayName: aws.String("Dave Data"),
		Emails: []istypes.Email{{Value: aws.String("dave@example.com"), Primary: true}}})
	if err != nil {
		t.Fatal(err)
	}
	analysts, err := is.GetGroupId(ctx, &identitystore.GetGroupIdInput{IdentityStoreId: sid, AlternateIdentifier: &istypes.AlternateIdentifierMemberUniqueAttribute{
		Value: istypes.UniqueAttribute{AttributePath: aws.String("displayName"), AttributeValue: docString("analysts")}}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := is.CreateGroupMembership(ctx, &identitystore.CreateGroupMembershipInput{IdentityStoreId: sid, GroupId: analysts.GroupId, MemberId: member(aws.ToString(dave.UserId))})
	if err != nil {
		t.Fatal(err)
	}
	daveTok := tokenFor(t, srv, "dave", "demo")
	c, err := connectGateway(t, srv, daveTok, "")
	if err != nil {
		t.Fatal(err)
	}
	var total int
	if err := c.QueryRow(ctx, "SELECT sum(amount) FROM sales").Scan(&total); err != nil || total != 350 {
		t.Fatalf("dave, an analyst by API, reads sales: %d %v", total, err)
	}
	c.Close(ctx)

	t.Run("membership removed", func(t *testing.T) {
		if _, err := is.DeleteGroupMembership(ctx, &identitystore.DeleteGroupMembershipInput{IdentityStoreId: sid, MembershipId: m.MembershipId}); err != nil {
			t.Fatal(err)
		}
		c, err := connectGateway(t, srv, daveTok, "")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		var analyst bool
		if err := c.QueryRow(ctx, `SELECT pg_has_role('AWSIDC:analysts', 'MEMBER')`).Scan(&analyst); err != nil || analyst {
			t.Fatalf("dave is still an analyst at the gateway after his membership was deleted: %v %v", analyst, err)
		}
		_, err = c.Exec(ctx, "SELECT sum(amount) FROM sales")
		wantPgError(t, err, "42501", "permission denied")
	})

	t.Run("user deleted", func(t *testing.T) {
		// Everything bob had before his deletion: an IdP JWT, an identity
		// context assertion, a role session and a gateway token.
		jwt := srv.IdPToken(t, "bob", "idcgate-demo", 600)
		assertion := srv.IdentityContext(t, "bob")
		session := srv.IdentitySession(t, "bob", testserver.AnalystRoleArn)
		bobTok := tokenFor(t, srv, "bob", "demo")

		bob, err := is.GetUserId(ctx, &identitystore.GetUserIdInput{IdentityStoreId: sid, AlternateIdentifier: userName("bob")})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := is.DeleteUser(ctx, &identitystore.DeleteUserInput{IdentityStoreId: sid, UserId: bob.UserId}); err != nil {
			t.Fatal(err)
		}

		_, err = ssoExchange(srv, testserver.ApplicationArn, jwt)
		var ig *ssotypes.InvalidGrantException
		if !errors.As(err, &ig) {
			t.Fatalf("CreateTokenWithIAM for a deleted user: %v, want InvalidGrantException", err)
		}

		_, err = srv.STS(srv.App).AssumeRole(ctx, &sts.AssumeRoleInput{
			RoleArn: aws.String(testserver.AnalystRoleArn), RoleSessionName: aws.String("bob"),
			ProvidedContexts: []ststypes.ProvidedContext{{ProviderArn: aws.String(testserver.ContextProvider), ContextAssertion: aws.String(assertion)}}})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDenied" || !strings.Contains(ae.ErrorMessage(), "no longer exists") {
			t.Fatalf("AssumeRole with a deleted user's assertion: %v, want AccessDenied", err)
		}

		_, err = getToken(t, srv, session, "demo")
		if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDeniedException" || !strings.Contains(ae.ErrorMessage(), "no longer exists") {
			t.Fatalf("GetIdentityCenterAuthToken for a deleted user: %v, want AccessDeniedException", err)
		}

		_, err = connectGateway(t, srv, bobTok, "")
		wantPgError(t, err, "28000", "the Identity Center user bob")
	})
}

// TestIdentityStoreRestart: what the API made persists across a restart
// (data dir and master key kept); the config is applied again: its users
// keep their ids, a user taken out of it is gone, and a config attribute
// changed by API is the config's again.
func TestIdentityStoreRestart(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	ctx := context.Background()
	sid := aws.String(storeID)

	before := testserver.Start(t, testserver.Options{DataDir: dir})
	is := before.IdentityStore(before.Admin)
	dave, err := is.CreateUser(ctx, &identitystore.CreateUserInput{IdentityStoreId: sid, UserName: aws.String("dave"),
		Emails: []istypes.Email{{Value: aws.String("dave@example.com"), Primary: true}}})
	if err != nil {
		t.Fatal(err)
	}
	// The example's application requires assignment: dave is assigned by
	// API, which persists as he does.
	assignToExampleApp(t, before, aws.ToString(dave.UserId))
	ops, err := is.CreateGroup(ctx, &identitystore.CreateGroupInput{IdentityStoreId: sid, DisplayName: aws.String("ops")})
	if err != nil {
		t.Fatal(err)
	}
	m, err := is.CreateGroupMembership(ctx, &identitystore.CreateGroupMembershipInput{IdentityStoreId: sid, GroupId: ops.GroupId, MemberId: member(aws.ToString(dave.UserId))})
	if err != nil {
		t.Fatal(err)
	}
	alice, err := is.GetUserId(ctx, &identitystore.GetUserIdInput{IdentityStoreId: sid, AlternateIdentifier: userName("alice")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := is.UpdateUser(ctx, &identitystore.UpdateUserInput{IdentityStoreId: sid, UserId: alice.UserId, Operations: []istypes.AttributeOperation{
		{AttributePath: aws.String("displayName"), AttributeValue: docString("Changed by API")},
		{AttributePath: aws.String("title"), AttributeValue: docString("Lead")},
	}}); err != nil {
		t.Fatal(err)
	}
	before.Stop()

	after := testserver.Start(t, testserver.Options{DataDir: dir, Edit: func(c *config.Config) {
		c.IdentityCenter.Users = slices.DeleteFunc(c.IdentityCenter.Users, func(u config.DirectoryUser) bool { return u.UserName == "carol" })
		// The example's application assigns carol: the config may not name
		// a user it does not declare.
		c.IdentityCenter.Applications[0].Assignments.Users = slices.DeleteFunc(c.IdentityCenter.Applications[0].Assignments.Users, func(u string) bool { return u == "carol" })
	}})
	is = after.IdentityStore(after.Admin)
	d, err := is.DescribeUser(ctx, &identitystore.DescribeUserInput{IdentityStoreId: sid, UserId: dave.UserId})
	if err != nil || aws.ToString(d.UserName) != "dave" {
		t.Fatalf("dave after the restart: %+v %v", d, err)
	}
	if _, err := is.DescribeGroupMembership(ctx, &identitystore.DescribeGroupMembershipInput{IdentityStoreId: sid, MembershipId: m.MembershipId}); err != nil {
		t.Fatalf("dave's membership after the restart: %v", err)
	}
	a, err := is.DescribeUser(ctx, &identitystore.DescribeUserInput{IdentityStoreId: sid, UserId: alice.UserId})
	if err != nil || aws.ToString(a.DisplayName) != "Alice Analyst" || aws.ToString(a.Title) != "Lead" {
		t.Fatalf("alice after the restart: %+v %v (want the config's display name, the API's title)", a, err)
	}
	_, err = is.GetUserId(ctx, &identitystore.GetUserIdInput{IdentityStoreId: sid, AlternateIdentifier: userName("carol")})
	wantNotFound(t, err, istypes.ResourceTypeUser, "")
	// dave, made by API, still signs in.
	after.IdentityContext(t, "dave")
}

// assignToExampleApp assigns a user to the example's application, which
// requires assignment (as an administrator would, by sso-admin's API).
func assignToExampleApp(t *testing.T, srv *testserver.Server, userID string) {
	t.Helper()
	if _, err := srv.SSOAdmin(srv.Admin).CreateApplicationAssignment(context.Background(), &ssoadmin.CreateApplicationAssignmentInput{
		ApplicationArn: aws.String(testserver.ApplicationArn), PrincipalId: aws.String(userID), PrincipalType: admintypes.PrincipalTypeUser}); err != nil {
		t.Fatal(err)
	}
}
