package e2e

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/redshiftserverless"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/idcgate/idcgate/internal/testserver"
)

func iamClient(srv *testserver.Server, creds aws.Credentials) *iam.Client {
	return iam.NewFromConfig(srv.Config(creds))
}

// iamUserWithKey makes the IAM user name through c and an access key of
// hers, and returns that key as credentials.
func iamUserWithKey(t *testing.T, c *iam.Client, name string) aws.Credentials {
	t.Helper()
	ctx := context.Background()
	if _, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	k, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.Credentials{AccessKeyID: aws.ToString(k.AccessKey.AccessKeyId), SecretAccessKey: aws.ToString(k.AccessKey.SecretAccessKey)}
}

func decodePolicy(t *testing.T, s *string) string {
	t.Helper()
	doc, err := url.QueryUnescape(aws.ToString(s))
	if err != nil {
		t.Fatalf("policy document not URL-encoded: %q", aws.ToString(s))
	}
	return doc
}

const (
	trustApp    = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/app"},"Action":["sts:AssumeRole","sts:SetContext"]}]}`
	trustNobody = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::210987654321:root"},"Action":["sts:AssumeRole","sts:SetContext"]}]}`
	allowToken  = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"redshift-serverless:GetIdentityCenterAuthToken","Resource":"*"}]}`
)

// TestIAMRoles: roles and their inline policies made by API are what
// AssumeRole and GetIdentityCenterAuthToken enforce, on the next call.
func TestIAMRoles(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	ctx := context.Background()
	admin := iamClient(srv, srv.Admin)

	created, err := admin.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName: aws.String("etl"), Path: aws.String("/svc/"), AssumeRolePolicyDocument: aws.String(trustApp),
		Description: aws.String("ETL jobs"), MaxSessionDuration: aws.Int32(7200),
		Tags: []iamtypes.Tag{{Key: aws.String("team"), Value: aws.String("data")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := created.Role
	const etlArn = "arn:aws:iam::123456789012:role/svc/etl"
	if aws.ToString(r.Arn) != etlArn || aws.ToString(r.Path) != "/svc/" || aws.ToString(r.RoleName) != "etl" ||
		!strings.HasPrefix(aws.ToString(r.RoleId), "AROA") || len(aws.ToString(r.RoleId)) != 21 ||
		aws.ToInt32(r.MaxSessionDuration) != 7200 || aws.ToString(r.Description) != "ETL jobs" ||
		r.CreateDate == nil || time.Since(*r.CreateDate) > time.Minute || decodePolicy(t, r.AssumeRolePolicyDocument) != trustApp {
		t.Fatalf("created role %+v", r)
	}
	got, err := admin.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("ETL")})
	if err != nil || aws.ToString(got.Role.RoleId) != aws.ToString(r.RoleId) || decodePolicy(t, got.Role.AssumeRolePolicyDocument) != trustApp ||
		len(got.Role.Tags) != 1 || aws.ToString(got.Role.Tags[0].Value) != "data" {
		t.Fatalf("GetRole: %v %+v", err, got)
	}

	// Errors, each with IAM's code and status.
	_, err = admin.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("ETL"), AssumeRolePolicyDocument: aws.String(trustApp)})
	wantAPIError(t, err, "EntityAlreadyExists", 409, "Role with name ETL already exists.")
	_, err = admin.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("nope")})
	wantAPIError(t, err, "NoSuchEntity", 404, "The role with name nope cannot be found.")
	_, err = admin.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("bad"), AssumeRolePolicyDocument: aws.String(allowToken)})
	wantAPIError(t, err, "MalformedPolicyDocument", 400, "")
	_, err = admin.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("ghost"), AssumeRolePolicyDocument: aws.String(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/nobody"},"Action":"sts:AssumeRole"}]}`)})
	wantAPIError(t, err, "MalformedPolicyDocument", 400, `Invalid principal in policy: "AWS":"arn:aws:iam::123456789012:user/nobody"`)
	_, err = admin.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("bad name"), AssumeRolePolicyDocument: aws.String(trustApp)})
	wantAPIError(t, err, "ValidationError", 400, `1 validation error detected: Value 'bad name' at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+`)
	_, err = admin.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("bounded"), AssumeRolePolicyDocument: aws.String(trustApp),
		PermissionsBoundary: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")})
	wantAPIError(t, err, "ValidationError", 400, "PermissionsBoundary: idcgate has no managed policies, so arn:aws:iam::aws:policy/ReadOnlyAccess cannot be a permissions boundary; create the role without one.")
	_, err = admin.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("short"), AssumeRolePolicyDocument: aws.String(trustApp), MaxSessionDuration: aws.Int32(60)})
	wantAPIError(t, err, "ValidationError", 400, "")
	_, err = admin.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("etl"), PolicyName: aws.String("p"), PolicyDocument: aws.String(trustApp)})
	wantAPIError(t, err, "MalformedPolicyDocument", 400, "")
	_, err = admin.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("etl"), PolicyName: aws.String("tok")})
	wantAPIError(t, err, "NoSuchEntity", 404, "The role policy with name tok cannot be found.")

	// A session of the role may do nothing until a policy allows it.
	alice := srv.IdentitySession(t, "alice", etlArn)
	_, err = getToken(t, srv, alice, "demo")
	wantAPIError(t, err, "AccessDeniedException", 400, "")
	if _, err := admin.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("etl"), PolicyName: aws.String("tok"), PolicyDocument: aws.String(allowToken)}); err != nil {
		t.Fatal(err)
	}
	if _, err := getToken(t, srv, alice, "demo"); err != nil {
		t.Fatalf("token with the policy put: %v", err)
	}
	// The role made by API is a candidate of `idcgate login` for app, beside the config's analyst.
	resp := srv.CallAdmin(t, srv.Admin, "GetLoginCandidates", []byte(`{"callerArn":"arn:aws:iam::123456789012:user/app"}`))
	if resp.Status != 200 || fmt.Sprint(resp.JSON(t)["roles"]) != "[arn:aws:iam::123456789012:role/analyst "+etlArn+"]" {
		t.Fatalf("GetLoginCandidates: %d %s", resp.Status, resp.Body)
	}
	// Its MaxSessionDuration bounds its sessions.
	_, err = srv.STS(srv.App).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(etlArn), RoleSessionName: aws.String("long"), DurationSeconds: aws.Int32(7201)})
	wantAPIError(t, err, "ValidationError", 400, "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	gp, err := admin.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("etl"), PolicyName: aws.String("tok")})
	if err != nil || decodePolicy(t, gp.PolicyDocument) != allowToken || aws.ToString(gp.RoleName) != "etl" || aws.ToString(gp.PolicyName) != "tok" {
		t.Fatalf("GetRolePolicy: %v %+v", err, gp)
	}
	lp, err := admin.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String("etl")})
	if err != nil || len(lp.PolicyNames) != 1 || lp.PolicyNames[0] != "tok" || lp.IsTruncated {
		t.Fatalf("ListRolePolicies: %v %+v", err, lp)
	}
	att, err := admin.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String("etl")})
	if err != nil || len(att.AttachedPolicies) != 0 || att.IsTruncated {
		t.Fatalf("ListAttachedRolePolicies: %v %+v", err, att)
	}
	ip, err := admin.ListInstanceProfilesForRole(ctx, &iam.ListInstanceProfilesForRoleInput{RoleName: aws.String("etl")})
	if err != nil || len(ip.InstanceProfiles) != 0 {
		t.Fatalf("ListInstanceProfilesForRole: %v %+v", err, ip)
	}
	tags, err := admin.ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: aws.String("etl")})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "team" {
		t.Fatalf("ListRoleTags: %v %+v", err, tags)
	}
	_, err = admin.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("etl")})
	wantAPIError(t, err, "DeleteConflict", 409, "Cannot delete entity, must delete policies first.")

	// A trust policy that no longer names the caller refuses the next AssumeRole.
	if _, err := admin.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("etl"), PolicyDocument: aws.String(trustNobody)}); err != nil {
		t.Fatal(err)
	}
	_, err = srv.STS(srv.App).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(etlArn), RoleSessionName: aws.String("etl-job")})
	wantAPIError(t, err, "AccessDenied", 403, "")

	// Deleting the permission policy refuses the session's next call.
	if _, err := admin.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String("etl"), PolicyName: aws.String("tok")}); err != nil {
		t.Fatal(err)
	}
	_, err = getToken(t, srv, alice, "demo")
	wantAPIError(t, err, "AccessDeniedException", 400, "")
	_, err = admin.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String("etl"), PolicyName: aws.String("tok")})
	wantAPIError(t, err, "NoSuchEntity", 404, "")

	// A deleted role's sessions stop working.
	if _, err := admin.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("etl")}); err != nil {
		t.Fatal(err)
	}
	_, err = getToken(t, srv, alice, "demo")
	wantAPIError(t, err, "UnrecognizedClientException", 400, "")
	_, err = admin.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("etl")})
	wantAPIError(t, err, "NoSuchEntity", 404, "")
}

// TestIAMListRolesPages pages ListRoles with Marker/MaxItems and PathPrefix.
func TestIAMListRolesPages(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	ctx := context.Background()
	admin := iamClient(srv, srv.Admin)
	for _, n := range []string{"p1", "p2", "p3"} {
		if _, err := admin.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(n), Path: aws.String("/paged/"), AssumeRolePolicyDocument: aws.String(trustApp)}); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	var marker *string
	pages := 0
	for {
		out, err := admin.ListRoles(ctx, &iam.ListRolesInput{PathPrefix: aws.String("/paged/"), MaxItems: aws.Int32(2), Marker: marker})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, r := range out.Roles {
			names = append(names, aws.ToString(r.RoleName))
		}
		if !out.IsTruncated {
			break
		}
		marker = out.Marker
	}
	if strings.Join(names, ",") != "p1,p2,p3" || pages != 2 {
		t.Fatalf("paged roles %v in %d pages", names, pages)
	}
	// The paginator the SDK generates walks every role (the config's two too).
	roles, _ := pagedItems(t, iam.NewListRolesPaginator(admin, &iam.ListRolesInput{MaxItems: aws.Int32(1)}),
		func(o *iam.ListRolesOutput) []iamtypes.Role { return o.Roles })
	if len(roles) != 5 {
		t.Fatalf("paginator saw %d roles, want 5", len(roles))
	}
	_, err := admin.ListRoles(ctx, &iam.ListRolesInput{Marker: aws.String("not-a-marker")})
	wantAPIError(t, err, "ValidationError", 400, "")
	_, err = admin.ListRoles(ctx, &iam.ListRolesInput{MaxItems: aws.Int32(0)})
	wantAPIError(t, err, "ValidationError", 400, "")
}

// TestIAMUsersAndKeys: a user and key made by API sign calls at once; a
// deleted key is refused on its next call.
func TestIAMUsersAndKeys(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	ctx := context.Background()
	admin := iamClient(srv, srv.Admin)

	cu, err := admin.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("bob"), Path: aws.String("/eng/")})
	if err != nil {
		t.Fatal(err)
	}
	const bobArn = "arn:aws:iam::123456789012:user/eng/bob"
	if aws.ToString(cu.User.Arn) != bobArn || !strings.HasPrefix(aws.ToString(cu.User.UserId), "AIDA") || len(aws.ToString(cu.User.UserId)) != 21 || cu.User.CreateDate == nil {
		t.Fatalf("created user %+v", cu.User)
	}
	_, err = admin.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("BOB")})
	wantAPIError(t, err, "EntityAlreadyExists", 409, "User with name BOB already exists.")

	k1, err := admin.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("bob")})
	if err != nil {
		t.Fatal(err)
	}
	key := k1.AccessKey
	if !strings.HasPrefix(aws.ToString(key.AccessKeyId), "AKIA") || len(aws.ToString(key.AccessKeyId)) != 20 || len(aws.ToString(key.SecretAccessKey)) != 40 ||
		key.Status != iamtypes.StatusTypeActive || aws.ToString(key.UserName) != "bob" {
		t.Fatalf("access key %+v", key)
	}
	bob := aws.Credentials{AccessKeyID: aws.ToString(key.AccessKeyId), SecretAccessKey: aws.ToString(key.SecretAccessKey)}
	id, err := srv.STS(bob).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Arn) != bobArn || aws.ToString(id.UserId) != aws.ToString(cu.User.UserId) {
		t.Fatalf("GetCallerIdentity as bob: %v %+v", err, id)
	}

	// GetUser without a name is the caller, once a policy allows it.
	_, err = iamClient(srv, bob).GetUser(ctx, &iam.GetUserInput{})
	wantAPIError(t, err, "AccessDenied", 403, "User: "+bobArn+" is not authorized to perform: iam:GetUser on resource: "+bobArn+" because no identity-based policy allows the iam:GetUser action")
	self := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:GetUser","iam:ListAccessKeys"],"Resource":"arn:aws:iam::*:user/eng/${aws:username}"}]}`
	if _, err := admin.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("bob"), PolicyName: aws.String("self"), PolicyDocument: aws.String(self)}); err != nil {
		t.Fatal(err)
	}
	me, err := iamClient(srv, bob).GetUser(ctx, &iam.GetUserInput{})
	if err != nil || aws.ToString(me.User.UserName) != "bob" || aws.ToString(me.User.Arn) != bobArn {
		t.Fatalf("GetUser as bob: %v %+v", err, me)
	}
	up, err := admin.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: aws.String("bob"), PolicyName: aws.String("self")})
	if err != nil || decodePolicy(t, up.PolicyDocument) != self || aws.ToString(up.UserName) != "bob" {
		t.Fatalf("GetUserPolicy: %v %+v", err, up)
	}
	ul, err := admin.ListUserPolicies(ctx, &iam.ListUserPoliciesInput{UserName: aws.String("bob")})
	if err != nil || len(ul.PolicyNames) != 1 {
		t.Fatalf("ListUserPolicies: %v %+v", err, ul)
	}
	root, err := admin.GetUser(ctx, &iam.GetUserInput{})
	if err != nil || aws.ToString(root.User.Arn) != "arn:aws:iam::123456789012:root" {
		t.Fatalf("GetUser as root: %v %+v", err, root)
	}

	k2, err := admin.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("bob")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = admin.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("bob")})
	wantAPIError(t, err, "LimitExceeded", 409, "Cannot exceed quota for AccessKeysPerUser: 2")
	seen, _ := pagedNames(t, iam.NewListAccessKeysPaginator(iamClient(srv, bob), &iam.ListAccessKeysInput{MaxItems: aws.Int32(1)}),
		func(o *iam.ListAccessKeysOutput) []iamtypes.AccessKeyMetadata { return o.AccessKeyMetadata },
		func(m iamtypes.AccessKeyMetadata) string { return aws.ToString(m.AccessKeyId) })
	if len(seen) != 2 {
		t.Fatalf("ListAccessKeys pages: %v", seen)
	}
	ut, err := admin.ListUserTags(ctx, &iam.ListUserTagsInput{UserName: aws.String("bob")})
	if err != nil || len(ut.Tags) != 0 || ut.IsTruncated {
		t.Fatalf("ListUserTags: %v %+v", err, ut)
	}
	users, err := admin.ListUsers(ctx, &iam.ListUsersInput{PathPrefix: aws.String("/eng/")})
	if err != nil || len(users.Users) != 1 || aws.ToString(users.Users[0].UserName) != "bob" {
		t.Fatalf("ListUsers: %v %+v", err, users)
	}

	_, err = admin.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("bob")})
	wantAPIError(t, err, "DeleteConflict", 409, "Cannot delete entity, must delete policies first.")
	if _, err := admin.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("bob"), AccessKeyId: key.AccessKeyId}); err != nil {
		t.Fatal(err)
	}
	_, err = srv.STS(bob).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantAPIError(t, err, "InvalidClientTokenId", 403, "The security token included in the request is invalid.")
	_, err = srv.Serverless(bob).ListWorkgroups(ctx, &redshiftserverless.ListWorkgroupsInput{})
	wantAPIError(t, err, "UnrecognizedClientException", 400, "")
	_, err = admin.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("bob"), AccessKeyId: key.AccessKeyId})
	wantAPIError(t, err, "NoSuchEntity", 404, "The Access Key with id "+aws.ToString(key.AccessKeyId)+" cannot be found.")

	if _, err := admin.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: aws.String("bob"), PolicyName: aws.String("self")}); err != nil {
		t.Fatal(err)
	}
	_, err = admin.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("bob")})
	wantAPIError(t, err, "DeleteConflict", 409, "Cannot delete entity, must delete access keys first.")
	if _, err := admin.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("bob"), AccessKeyId: k2.AccessKey.AccessKeyId}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("bob")}); err != nil {
		t.Fatal(err)
	}
	_, err = admin.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("bob")})
	wantAPIError(t, err, "NoSuchEntity", 404, "The user with name bob cannot be found.")
}

// TestIAMWire checks the raw awsQuery answers: the XML namespace, the
// error document, and the signing region of a global service.
func TestIAMWire(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	call := func(body, region string) (int, string) {
		resp := signedQuery(t, srv, srv.Admin, "iam", region, time.Now(), body)
		return resp.Status, string(resp.Body)
	}
	status, body := call("Action=GetRole&Version=2010-05-08&RoleName=missing", "us-east-1")
	if status != 404 || !strings.HasPrefix(body, `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>The role with name missing cannot be found.</Message></Error><RequestId>`) {
		t.Fatalf("error: %d %s", status, body)
	}
	status, body = call("Action=GetRole&Version=2010-05-08&RoleName=analyst", "us-east-1")
	if status != 200 || !strings.HasPrefix(body, `<GetRoleResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GetRoleResult><Role><Path>/</Path><RoleName>analyst</RoleName>`) ||
		!strings.Contains(body, "<AssumeRolePolicyDocument>%7B%22") || !strings.Contains(body, "<MaxSessionDuration>43200</MaxSessionDuration>") {
		t.Fatalf("GetRole: %d %s", status, body)
	}
	status, body = call("Action=ListUsers&Version=2010-05-08", "eu-west-1")
	if status != 403 || !strings.Contains(body, "<Code>SignatureDoesNotMatch</Code>") {
		t.Fatalf("signed for another region: %d %s", status, body)
	}
	status, body = call("Action=DeleteRole&Version=2010-05-08&RoleName=analyst", "us-east-1")
	if status != 409 || !strings.Contains(body, "<Code>DeleteConflict</Code>") {
		t.Fatalf("DeleteRole of a role with policies: %d %s", status, body)
	}
	status, body = call("Action=CreateUser&Version=2010-05-08&UserName=x&Path=nopath", "us-east-1")
	if status != 400 || !strings.Contains(body, "<Code>ValidationError</Code>") {
		t.Fatalf("bad path: %d %s", status, body)
	}
	status, body = call("Action=NoSuchThing&Version=2010-05-08", "us-east-1")
	if status != 400 || !strings.Contains(body, "<Code>InvalidAction</Code>") {
		t.Fatalf("unknown action: %d %s", status, body)
	}
}
