package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	idstypes "github.com/aws/aws-sdk-go-v2/service/identitystore/types"
	"github.com/aws/aws-sdk-go-v2/service/redshift"
	"github.com/aws/aws-sdk-go-v2/service/redshiftserverless"
	rstypes "github.com/aws/aws-sdk-go-v2/service/redshiftserverless/types"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin/document"
	ssotypes "github.com/aws/aws-sdk-go-v2/service/ssoadmin/types"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/jackc/pgx/v5"

	"github.com/idcgate/idcgate/internal/pgtest"
	"github.com/idcgate/idcgate/internal/testserver"
)

// TestWholeSetupByAPI builds the example's trusted-identity-propagation
// setup by API on a server whose config names nothing but its region and
// upstream (BEHAVIOUR 15 and 16): users, a group and a membership; the
// built-in IdP as a trusted token issuer; an application with its grant,
// scope, authentication method and assignment; IAM's broker user with a
// key and a policy and a role with its trust and permission policies; a
// Redshift IdC application, a namespace and a workgroup. Then alice gets a
// session and a token and logs in through the gateway, and bob, whom the
// application does not admit, is refused.
func TestWholeSetupByAPI(t *testing.T) {
	t.Parallel()
	srv := configLessWorld(t)
	ctx := context.Background()
	cfg := srv.Config(srv.Admin)
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	// The one instance a config-less server starts with.
	sso := ssoadmin.NewFromConfig(cfg)
	insts, err := sso.ListInstances(ctx, &ssoadmin.ListInstancesInput{})
	must("ListInstances", err)
	if len(insts.Instances) != 1 {
		t.Fatalf("instances: %+v", insts.Instances)
	}
	instance, storeID := insts.Instances[0].InstanceArn, insts.Instances[0].IdentityStoreId

	// The directory.
	ids := identitystore.NewFromConfig(cfg)
	user := func(name string) string {
		out, err := ids.CreateUser(ctx, &identitystore.CreateUserInput{IdentityStoreId: storeID, UserName: aws.String(name),
			DisplayName: aws.String(name), Name: &idstypes.Name{GivenName: aws.String(name), FamilyName: aws.String("Example")},
			Emails: []idstypes.Email{{Value: aws.String(name + "@example.com"), Primary: true, Type: aws.String("work")}}})
		must("CreateUser "+name, err)
		return aws.ToString(out.UserId)
	}
	aliceID := user("alice")
	user("bob")
	group, err := ids.CreateGroup(ctx, &identitystore.CreateGroupInput{IdentityStoreId: storeID, DisplayName: aws.String("analysts")})
	must("CreateGroup", err)
	_, err = ids.CreateGroupMembership(ctx, &identitystore.CreateGroupMembershipInput{IdentityStoreId: storeID, GroupId: group.GroupId,
		MemberId: &idstypes.MemberIdMemberUserId{Value: aliceID}})
	must("CreateGroupMembership", err)

	// IAM: the broker's user and key, the role sessions run as.
	iamc := iam.NewFromConfig(cfg)
	broker, err := iamc.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("broker")})
	must("CreateUser", err)
	_, err = iamc.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("broker"), PolicyName: aws.String("identity-broker"),
		PolicyDocument: aws.String(policyJSON(t, "sts:AssumeRole", "sts:SetContext", "sso-oauth:CreateTokenWithIAM"))})
	must("PutUserPolicy", err)
	key, err := iamc.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("broker")})
	must("CreateAccessKey", err)
	brokerCreds := aws.Credentials{AccessKeyID: aws.ToString(key.AccessKey.AccessKeyId), SecretAccessKey: aws.ToString(key.AccessKey.SecretAccessKey)}
	trust := mustJSON(t, map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{"Effect": "Allow",
		"Principal": map[string]any{"AWS": aws.ToString(broker.User.Arn)}, "Action": []string{"sts:AssumeRole", "sts:SetContext"}}}})
	role, err := iamc.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("analyst"), AssumeRolePolicyDocument: aws.String(trust)})
	must("CreateRole", err)
	_, err = iamc.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("analyst"), PolicyName: aws.String("redshift"),
		PolicyDocument: aws.String(policyJSON(t, "redshift-serverless:GetIdentityCenterAuthToken", "redshift-serverless:GetWorkgroup"))})
	must("PutRolePolicy", err)

	// The built-in IdP as a trusted token issuer, and the application.
	tti, err := sso.CreateTrustedTokenIssuer(ctx, &ssoadmin.CreateTrustedTokenIssuerInput{InstanceArn: instance, Name: aws.String("idcgate-idp"),
		TrustedTokenIssuerType: ssotypes.TrustedTokenIssuerTypeOidcJwt,
		TrustedTokenIssuerConfiguration: &ssotypes.TrustedTokenIssuerConfigurationMemberOidcJwtConfiguration{Value: ssotypes.OidcJwtConfiguration{
			IssuerUrl: aws.String(srv.URL + "/idp"), ClaimAttributePath: aws.String("email"),
			IdentityStoreAttributePath: aws.String("emails.value"), JwksRetrievalOption: ssotypes.JwksRetrievalOptionOpenIdDiscovery}}})
	must("CreateTrustedTokenIssuer", err)
	app, err := sso.CreateApplication(ctx, &ssoadmin.CreateApplicationInput{InstanceArn: instance, Name: aws.String("reports"),
		ApplicationProviderArn: aws.String("arn:aws:sso::aws:applicationProvider/custom")})
	must("CreateApplication", err)
	_, err = sso.PutApplicationGrant(ctx, &ssoadmin.PutApplicationGrantInput{ApplicationArn: app.ApplicationArn, GrantType: ssotypes.GrantTypeJwtBearer,
		Grant: &ssotypes.GrantMemberJwtBearer{Value: ssotypes.JwtBearerGrant{AuthorizedTokenIssuers: []ssotypes.AuthorizedTokenIssuer{
			{TrustedTokenIssuerArn: tti.TrustedTokenIssuerArn, AuthorizedAudiences: []string{"reports"}}}}}})
	must("PutApplicationGrant", err)
	_, err = sso.PutApplicationAccessScope(ctx, &ssoadmin.PutApplicationAccessScopeInput{ApplicationArn: app.ApplicationArn, Scope: aws.String("redshift:connect")})
	must("PutApplicationAccessScope", err)
	_, err = sso.PutApplicationAuthenticationMethod(ctx, &ssoadmin.PutApplicationAuthenticationMethodInput{ApplicationArn: app.ApplicationArn,
		AuthenticationMethodType: ssotypes.AuthenticationMethodTypeIam,
		AuthenticationMethod: &ssotypes.AuthenticationMethodMemberIam{Value: ssotypes.IamAuthenticationMethod{ActorPolicy: document.NewLazyDocument(
			map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{"Effect": "Allow",
				"Principal": map[string]any{"AWS": aws.ToString(broker.User.Arn)}, "Action": "sso-oauth:CreateTokenWithIAM", "Resource": "*"}}})}}})
	must("PutApplicationAuthenticationMethod", err)
	_, err = sso.PutApplicationAssignmentConfiguration(ctx, &ssoadmin.PutApplicationAssignmentConfigurationInput{ApplicationArn: app.ApplicationArn, AssignmentRequired: aws.Bool(true)})
	must("PutApplicationAssignmentConfiguration", err)
	_, err = sso.CreateApplicationAssignment(ctx, &ssoadmin.CreateApplicationAssignmentInput{ApplicationArn: app.ApplicationArn,
		PrincipalId: group.GroupId, PrincipalType: ssotypes.PrincipalTypeGroup})
	must("CreateApplicationAssignment", err)

	// Redshift: the IdC application, a namespace using it, a workgroup.
	idc, err := redshift.NewFromConfig(cfg).CreateRedshiftIdcApplication(ctx, &redshift.CreateRedshiftIdcApplicationInput{
		IdcInstanceArn: instance, RedshiftIdcApplicationName: aws.String("demo-idc"), IdentityNamespace: aws.String("AWSIDC"),
		IdcDisplayName: aws.String("demo"), IamRoleArn: role.Role.Arn})
	must("CreateRedshiftIdcApplication", err)
	rs := redshiftserverless.NewFromConfig(cfg)
	_, err = rs.CreateNamespace(ctx, &redshiftserverless.CreateNamespaceInput{NamespaceName: aws.String("demo"), DbName: aws.String("dev"),
		RedshiftIdcApplicationArn: idc.RedshiftIdcApplication.RedshiftIdcApplicationArn})
	must("CreateNamespace", err)
	_, err = rs.CreateWorkgroup(ctx, &redshiftserverless.CreateWorkgroupInput{WorkgroupName: aws.String("demo"), NamespaceName: aws.String("demo"), BaseCapacity: aws.Int32(8)})
	must("CreateWorkgroup", err)
	waitWorkgroup(t, rs, "demo", rstypes.WorkgroupStatusAvailable)

	// alice: the IdP's JWT, the application's token, a role session
	// carrying her, a token for the workgroup, a gateway login.
	identity := func(name string) (string, error) {
		out, err := srv.OIDC(brokerCreds).CreateTokenWithIAM(ctx, &ssooidc.CreateTokenWithIAMInput{ClientId: app.ApplicationArn,
			GrantType: aws.String(testserver.JWTBearer), Assertion: aws.String(srv.IdPToken(t, name, "reports", 600))})
		if err != nil {
			return "", err
		}
		return testserver.IDTokenClaims(t, aws.ToString(out.IdToken))["sts:identity_context"].(string), nil
	}
	assertion, err := identity("alice")
	must("CreateTokenWithIAM for alice", err)
	ar, err := srv.STS(brokerCreds).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: role.Role.Arn, RoleSessionName: aws.String("alice"),
		ProvidedContexts: []ststypes.ProvidedContext{{ProviderArn: aws.String(testserver.ContextProvider), ContextAssertion: aws.String(assertion)}}})
	must("AssumeRole", err)
	session := aws.Credentials{AccessKeyID: aws.ToString(ar.Credentials.AccessKeyId), SecretAccessKey: aws.ToString(ar.Credentials.SecretAccessKey),
		SessionToken: aws.ToString(ar.Credentials.SessionToken)}
	tok, err := srv.Serverless(session).GetIdentityCenterAuthToken(ctx, &redshiftserverless.GetIdentityCenterAuthTokenInput{WorkgroupNames: []string{"demo"}})
	must("GetIdentityCenterAuthToken", err)
	host, port, _ := net.SplitHostPort(srv.PGAddr())
	conn, err := pgx.Connect(ctx, fmt.Sprintf("host=%s port=%s user=alice dbname=dev sslmode=require password=%s", host, port, aws.ToString(tok.Token)))
	must("gateway login", err)
	defer conn.Close(ctx)
	var who string
	var total int
	must("query", conn.QueryRow(ctx, "SELECT current_user, (SELECT sum(amount) FROM sales)").Scan(&who, &total))
	if who != "AWSIDC:alice" || total != 350 {
		t.Fatalf("alice's session: current_user %q, sum %d", who, total)
	}

	// bob is in the directory but not assigned to the application.
	_, err = identity("bob")
	wantAPIError(t, err, "AccessDeniedException", 400, "")
}

// configLessWorld is a server whose config names only its region and an
// upstream PostgreSQL holding a sales table for "AWSIDC:analysts".
func configLessWorld(t *testing.T) *testserver.Server {
	t.Helper()
	pg := pgtest.Start(t)
	pg.CreateDatabase(t, "dev")
	pg.Exec(t, "dev",
		`CREATE ROLE "AWSIDC:analysts" NOLOGIN`,
		`CREATE TABLE sales(id int, amount int)`,
		`INSERT INTO sales VALUES (1, 100), (2, 250)`,
		`GRANT SELECT ON sales TO "AWSIDC:analysts"`)
	srv := testserver.Start(t, testserver.Options{ConfigYAML: fmt.Sprintf(
		"region: us-east-1\npgUpstream: %q\nserverless: {transitionDelay: 0s}\n", pg.TLSDSN("dev"))})
	srv.TrustUpstreamCA(t, pg)
	return srv
}

// policyJSON is an identity policy allowing actions on every resource.
func policyJSON(t *testing.T, actions ...string) string {
	return mustJSON(t, map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{"Effect": "Allow", "Action": actions, "Resource": "*"}}})
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
