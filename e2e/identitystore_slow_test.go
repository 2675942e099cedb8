//go:build slow

package e2e

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	istypes "github.com/aws/aws-sdk-go-v2/service/identitystore/types"
	ssotypes "github.com/aws/aws-sdk-go-v2/service/ssooidc/types"

	"github.com/idcgate/idcgate/internal/testserver"
)

// TestIdentityStoreReplicas: two replicas on one PostgreSQL store see each
// other's Identity Store changes at once: a user made on one signs in
// through the other, and once deleted on the first is refused by the other.
func TestIdentityStoreReplicas(t *testing.T) {
	t.Parallel()
	a, b := twoReplicas(t)
	ctx := context.Background()
	sid := aws.String(storeID)

	dave, err := a.IdentityStore(a.Admin).CreateUser(ctx, &identitystore.CreateUserInput{IdentityStoreId: sid, UserName: aws.String("dave"),
		Emails: []istypes.Email{{Value: aws.String("dave@example.com"), Primary: true}}})
	if err != nil {
		t.Fatal(err)
	}
	// The example's application requires assignment: dave is assigned on a.
	assignToExampleApp(t, a, aws.ToString(dave.UserId))
	// b signs dave's JWT, and exchanges it.
	jwt := b.IdPToken(t, "dave", "idcgate-demo", 600) // b knows dave at once
	if _, err := ssoExchange(b, testserver.ApplicationArn, jwt); err != nil {
		t.Fatalf("dave, made on a, on b: %v", err)
	}
	if _, err := a.IdentityStore(a.Admin).DeleteUser(ctx, &identitystore.DeleteUserInput{IdentityStoreId: sid, UserId: dave.UserId}); err != nil {
		t.Fatal(err)
	}
	_, err = ssoExchange(b, testserver.ApplicationArn, jwt)
	var ig *ssotypes.InvalidGrantException
	if !errors.As(err, &ig) {
		t.Fatalf("dave, deleted on a, on b: %v; want InvalidGrantException", err)
	}
}

// TestIdentityStoreGroupOnManagedUpstream: a group made by API gets its
// role in the managed upstream (as the config's groups do at start), and a
// member added by API has it at her next gateway login.
func TestIdentityStoreGroupOnManagedUpstream(t *testing.T) {
	t.Parallel()
	p, dataDir := startManagedFresh(t)
	ctx := context.Background()
	is := p.IdentityStore(p.Admin)
	sid := aws.String(storeID)
	g, err := is.CreateGroup(ctx, &identitystore.CreateGroupInput{IdentityStoreId: sid, DisplayName: aws.String("auditors")})
	if err != nil {
		t.Fatal(err)
	}
	admin := p.admin(t, "postgres")
	eventuallyCount(t, 30*time.Second, admin, "role AWSIDC:auditors", 1, "SELECT count(*) FROM pg_roles WHERE rolname = 'AWSIDC:auditors' AND NOT rolcanlogin")
	alice, err := is.GetUserId(ctx, &identitystore.GetUserIdInput{IdentityStoreId: sid, AlternateIdentifier: userName("alice")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := is.CreateGroupMembership(ctx, &identitystore.CreateGroupMembershipInput{IdentityStoreId: sid, GroupId: g.GroupId, MemberId: member(aws.ToString(alice.UserId))}); err != nil {
		t.Fatal(err)
	}
	var auditor bool
	c := p.login(t, "alice")
	if err := c.QueryRow(ctx, "SELECT pg_has_role('AWSIDC:auditors', 'MEMBER')").Scan(&auditor); err != nil || !auditor {
		t.Fatalf("alice, an auditor by API, at the gateway: %v %v", auditor, err)
	}
	c.Close(ctx) // an open session would hold the shutdown for its grace period
	p.sigterm(t, dataDir)
}
