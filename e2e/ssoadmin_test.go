package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin/document"
	ssotypes "github.com/aws/aws-sdk-go-v2/service/ssoadmin/types"
	jose "github.com/go-jose/go-jose/v4"

	"github.com/idcgate/idcgate/internal/clock"
	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/testserver"
)

var (
	appArnRe = regexp.MustCompile(`^arn:aws:sso::123456789012:application/ssoins-7223a1b2c3d4e5f6/apl-[0-9a-f]{16}$`)
	ttiArnRe = regexp.MustCompile(`^arn:aws:sso::123456789012:trustedTokenIssuer/ssoins-7223a1b2c3d4e5f6/tti-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

// ssoUserID is a directory user's id, from the sub of a token the example
// application gives her (alice, bob and carol are assigned to it).
func ssoUserID(t *testing.T, srv *testserver.Server, user string) string {
	t.Helper()
	out, err := ssoExchange(srv, testserver.ApplicationArn, srv.IdPToken(t, user, "idcgate-demo", 600))
	if err != nil {
		t.Fatalf("token for %s: %v", user, err)
	}
	return imUserOf(t, out)
}

func accountActorPolicy() document.Interface {
	return document.NewLazyDocument(map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Effect": "Allow", "Principal": map[string]any{"AWS": "arn:aws:iam::123456789012:root"},
		"Action": "sso-oauth:CreateTokenWithIAM", "Resource": "*"}}})
}

// TestSSOAdminAPI drives every sso-admin operation with the Go SDK: the
// example's instance and application, API-made applications, issuers,
// grants, scopes, methods and assignments, pagination, and each error shape.
func TestSSOAdminAPI(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	ctx := context.Background()
	sso := srv.SSOAdmin(srv.Admin)
	before := time.Now().Add(-time.Minute)

	// Instance.
	insts, err := sso.ListInstances(ctx, &ssoadmin.ListInstancesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(insts.Instances) != 1 || aws.ToString(insts.Instances[0].InstanceArn) != testserver.InstanceArn ||
		aws.ToString(insts.Instances[0].IdentityStoreId) != "d-9067a1b2c3" || aws.ToString(insts.Instances[0].OwnerAccountId) != "123456789012" ||
		insts.Instances[0].CreatedDate.Before(before) || insts.Instances[0].Status != ssotypes.InstanceStatusActive {
		t.Fatalf("instances: %+v", insts.Instances)
	}
	di, err := sso.DescribeInstance(ctx, &ssoadmin.DescribeInstanceInput{InstanceArn: aws.String(testserver.InstanceArn)})
	if err != nil || aws.ToString(di.IdentityStoreId) != "d-9067a1b2c3" {
		t.Fatalf("describe instance: %+v %v", di, err)
	}
	_, err = sso.DescribeInstance(ctx, &ssoadmin.DescribeInstanceInput{InstanceArn: aws.String("arn:aws:sso:::instance/ssoins-0000000000000000")})
	wantAPIError(t, err, "ResourceNotFoundException", 404, "Instance arn:aws:sso:::instance/ssoins-0000000000000000 does not exist.")

	// Providers.
	provs, err := sso.ListApplicationProviders(ctx, &ssoadmin.ListApplicationProvidersInput{})
	if err != nil {
		t.Fatal(err)
	}
	var provArns []string
	for _, p := range provs.ApplicationProviders {
		provArns = append(provArns, aws.ToString(p.ApplicationProviderArn))
	}
	for _, want := range []string{"arn:aws:sso::aws:applicationProvider/redshift", "arn:aws:sso::aws:applicationProvider/custom"} {
		if !slices.Contains(provArns, want) {
			t.Fatalf("providers %v lack %s", provArns, want)
		}
	}

	// The example's application, from the config.
	ex, err := sso.DescribeApplication(ctx, &ssoadmin.DescribeApplicationInput{ApplicationArn: aws.String(testserver.ApplicationArn)})
	if err != nil || aws.ToString(ex.Name) != "idcgate-demo-app" || ex.Status != ssotypes.ApplicationStatusEnabled {
		t.Fatalf("example application: %+v %v", ex, err)
	}
	exCfg, err := sso.GetApplicationAssignmentConfiguration(ctx, &ssoadmin.GetApplicationAssignmentConfigurationInput{ApplicationArn: aws.String(testserver.ApplicationArn)})
	if err != nil || !aws.ToBool(exCfg.AssignmentRequired) {
		t.Fatalf("example assignment configuration: %+v %v", exCfg, err)
	}
	exAsg, err := sso.ListApplicationAssignments(ctx, &ssoadmin.ListApplicationAssignmentsInput{ApplicationArn: aws.String(testserver.ApplicationArn)})
	if err != nil || len(exAsg.ApplicationAssignments) != 3 {
		t.Fatalf("example assignments: %+v %v", exAsg, err)
	}
	var groupID string
	for _, a := range exAsg.ApplicationAssignments {
		if a.PrincipalType == ssotypes.PrincipalTypeGroup {
			groupID = aws.ToString(a.PrincipalId)
		}
	}

	// Applications.
	created, err := sso.CreateApplication(ctx, &ssoadmin.CreateApplicationInput{
		InstanceArn: aws.String(testserver.InstanceArn), ApplicationProviderArn: aws.String("arn:aws:sso::aws:applicationProvider/custom"),
		Name: aws.String("reporting"), Description: aws.String("Reporting"), ClientToken: aws.String("tok-1"),
		PortalOptions: &ssotypes.PortalOptions{Visibility: ssotypes.ApplicationVisibilityDisabled}})
	if err != nil {
		t.Fatal(err)
	}
	app := aws.ToString(created.ApplicationArn)
	if !appArnRe.MatchString(app) || aws.ToString(created.IdentityStoreArn) != "arn:aws:identitystore::123456789012:identitystore/d-9067a1b2c3" {
		t.Fatalf("created %+v", created)
	}
	// The same ClientToken and input: the same application.
	again, err := sso.CreateApplication(ctx, &ssoadmin.CreateApplicationInput{
		InstanceArn: aws.String(testserver.InstanceArn), ApplicationProviderArn: aws.String("arn:aws:sso::aws:applicationProvider/custom"),
		Name: aws.String("reporting"), Description: aws.String("Reporting"), ClientToken: aws.String("tok-1"),
		PortalOptions: &ssotypes.PortalOptions{Visibility: ssotypes.ApplicationVisibilityDisabled}})
	if err != nil || aws.ToString(again.ApplicationArn) != app {
		t.Fatalf("idempotent create: %+v %v", again, err)
	}
	_, err = sso.CreateApplication(ctx, &ssoadmin.CreateApplicationInput{
		InstanceArn: aws.String(testserver.InstanceArn), ApplicationProviderArn: aws.String("arn:aws:sso::aws:applicationProvider/custom"),
		Name: aws.String("other"), ClientToken: aws.String("tok-1")})
	wantAPIError(t, err, "ConflictException", 409, "The ClientToken tok-1 was already used with other parameters.")
	da, err := sso.DescribeApplication(ctx, &ssoadmin.DescribeApplicationInput{ApplicationArn: aws.String(app)})
	if err != nil || aws.ToString(da.Name) != "reporting" || aws.ToString(da.Description) != "Reporting" || aws.ToString(da.ApplicationAccount) != "123456789012" ||
		da.CreatedDate.Before(before) || da.PortalOptions == nil || da.PortalOptions.Visibility != ssotypes.ApplicationVisibilityDisabled {
		t.Fatalf("describe application: %+v %v", da, err)
	}
	if _, err := sso.UpdateApplication(ctx, &ssoadmin.UpdateApplicationInput{ApplicationArn: aws.String(app), Name: aws.String("reports"), Status: ssotypes.ApplicationStatusDisabled}); err != nil {
		t.Fatal(err)
	}
	da, _ = sso.DescribeApplication(ctx, &ssoadmin.DescribeApplicationInput{ApplicationArn: aws.String(app)})
	if aws.ToString(da.Name) != "reports" || da.Status != ssotypes.ApplicationStatusDisabled {
		t.Fatalf("updated: %+v", da)
	}
	_, err = sso.CreateApplication(ctx, &ssoadmin.CreateApplicationInput{InstanceArn: aws.String(testserver.InstanceArn),
		ApplicationProviderArn: aws.String("arn:aws:sso::aws:applicationProvider/custom"), Name: aws.String("")})
	wantAPIError(t, err, "ValidationException", 400, "1 validation error detected: Value '' at 'name' failed to satisfy constraint: Member must have length greater than or equal to 1")
	_, err = sso.CreateApplication(ctx, &ssoadmin.CreateApplicationInput{InstanceArn: aws.String(testserver.InstanceArn),
		ApplicationProviderArn: aws.String("arn:aws:sso::aws:applicationProvider/nothing"), Name: aws.String("x")})
	wantAPIError(t, err, "ValidationException", 400, "The application provider arn:aws:sso::aws:applicationProvider/nothing does not exist.")
	_, err = sso.DescribeApplication(ctx, &ssoadmin.DescribeApplicationInput{ApplicationArn: aws.String("arn:aws:sso::123456789012:application/ssoins-7223a1b2c3d4e5f6/apl-ffffffffffffffff")})
	wantAPIError(t, err, "ResourceNotFoundException", 404, "Application arn:aws:sso::123456789012:application/ssoins-7223a1b2c3d4e5f6/apl-ffffffffffffffff does not exist.")
	for _, n := range []string{"a1", "a2", "a3"} {
		if _, err := sso.CreateApplication(ctx, &ssoadmin.CreateApplicationInput{InstanceArn: aws.String(testserver.InstanceArn),
			ApplicationProviderArn: aws.String("arn:aws:sso::aws:applicationProvider/redshift"), Name: aws.String(n)}); err != nil {
			t.Fatal(err)
		}
	}
	names, pages := pagedNames(t, ssoadmin.NewListApplicationsPaginator(sso, &ssoadmin.ListApplicationsInput{InstanceArn: aws.String(testserver.InstanceArn), MaxResults: aws.Int32(2)}),
		func(o *ssoadmin.ListApplicationsOutput) []ssotypes.Application { return o.Applications },
		func(a ssotypes.Application) string { return aws.ToString(a.Name) })
	slices.Sort(names)
	// demo-idc is the seeded Redshift IdC application's managed application.
	if pages != 3 || !slices.Equal(names, []string{"a1", "a2", "a3", "demo-idc", "idcgate-demo-app", "reports"}) {
		t.Fatalf("%d pages: %v", pages, names)
	}
	rs, err := sso.ListApplications(ctx, &ssoadmin.ListApplicationsInput{InstanceArn: aws.String(testserver.InstanceArn),
		Filter: &ssotypes.ListApplicationsFilter{ApplicationProvider: aws.String("arn:aws:sso::aws:applicationProvider/redshift")}})
	if err != nil || len(rs.Applications) != 4 {
		t.Fatalf("filtered: %+v %v", rs, err)
	}
	_, err = sso.ListApplications(ctx, &ssoadmin.ListApplicationsInput{InstanceArn: aws.String(testserver.InstanceArn), NextToken: aws.String("bm90LWEtdG9rZW4")})
	wantAPIError(t, err, "ValidationException", 400, "Invalid nextToken provided.")

	// Trusted token issuers.
	tti, err := sso.CreateTrustedTokenIssuer(ctx, &ssoadmin.CreateTrustedTokenIssuerInput{
		InstanceArn: aws.String(testserver.InstanceArn), Name: aws.String("corp"), TrustedTokenIssuerType: ssotypes.TrustedTokenIssuerTypeOidcJwt,
		TrustedTokenIssuerConfiguration: &ssotypes.TrustedTokenIssuerConfigurationMemberOidcJwtConfiguration{Value: ssotypes.OidcJwtConfiguration{
			IssuerUrl: aws.String("https://idp.corp.example"), ClaimAttributePath: aws.String("email"),
			IdentityStoreAttributePath: aws.String("emails.value"), JwksRetrievalOption: ssotypes.JwksRetrievalOptionOpenIdDiscovery}}})
	if err != nil {
		t.Fatal(err)
	}
	ttiArn := aws.ToString(tti.TrustedTokenIssuerArn)
	if !ttiArnRe.MatchString(ttiArn) {
		t.Fatalf("issuer ARN %s", ttiArn)
	}
	dt, err := sso.DescribeTrustedTokenIssuer(ctx, &ssoadmin.DescribeTrustedTokenIssuerInput{TrustedTokenIssuerArn: aws.String(ttiArn)})
	if err != nil {
		t.Fatal(err)
	}
	oc, ok := dt.TrustedTokenIssuerConfiguration.(*ssotypes.TrustedTokenIssuerConfigurationMemberOidcJwtConfiguration)
	if !ok || aws.ToString(oc.Value.IssuerUrl) != "https://idp.corp.example" || aws.ToString(dt.Name) != "corp" || dt.TrustedTokenIssuerType != ssotypes.TrustedTokenIssuerTypeOidcJwt {
		t.Fatalf("describe issuer: %+v", dt)
	}
	_, err = sso.CreateTrustedTokenIssuer(ctx, &ssoadmin.CreateTrustedTokenIssuerInput{
		InstanceArn: aws.String(testserver.InstanceArn), Name: aws.String("corp"), TrustedTokenIssuerType: ssotypes.TrustedTokenIssuerTypeOidcJwt,
		TrustedTokenIssuerConfiguration: &ssotypes.TrustedTokenIssuerConfigurationMemberOidcJwtConfiguration{Value: ssotypes.OidcJwtConfiguration{
			IssuerUrl: aws.String("https://other.corp.example"), ClaimAttributePath: aws.String("email"),
			IdentityStoreAttributePath: aws.String("emails.value"), JwksRetrievalOption: ssotypes.JwksRetrievalOptionOpenIdDiscovery}}})
	wantAPIError(t, err, "ConflictException", 409, "A trusted token issuer named corp already exists.")
	if _, err := sso.UpdateTrustedTokenIssuer(ctx, &ssoadmin.UpdateTrustedTokenIssuerInput{TrustedTokenIssuerArn: aws.String(ttiArn), Name: aws.String("corp-2"),
		TrustedTokenIssuerConfiguration: &ssotypes.TrustedTokenIssuerUpdateConfigurationMemberOidcJwtConfiguration{Value: ssotypes.OidcJwtUpdateConfiguration{
			ClaimAttributePath: aws.String("preferred_username"), IdentityStoreAttributePath: aws.String("userName")}}}); err != nil {
		t.Fatal(err)
	}
	dt, _ = sso.DescribeTrustedTokenIssuer(ctx, &ssoadmin.DescribeTrustedTokenIssuerInput{TrustedTokenIssuerArn: aws.String(ttiArn)})
	oc = dt.TrustedTokenIssuerConfiguration.(*ssotypes.TrustedTokenIssuerConfigurationMemberOidcJwtConfiguration)
	if aws.ToString(dt.Name) != "corp-2" || aws.ToString(oc.Value.ClaimAttributePath) != "preferred_username" || aws.ToString(oc.Value.IdentityStoreAttributePath) != "userName" {
		t.Fatalf("updated issuer: %+v %+v", dt, oc.Value)
	}
	lt, err := sso.ListTrustedTokenIssuers(ctx, &ssoadmin.ListTrustedTokenIssuersInput{InstanceArn: aws.String(testserver.InstanceArn), MaxResults: aws.Int32(1)})
	if err != nil || len(lt.TrustedTokenIssuers) != 1 || lt.NextToken == nil {
		t.Fatalf("issuers page 1: %+v %v", lt, err)
	}
	lt2, err := sso.ListTrustedTokenIssuers(ctx, &ssoadmin.ListTrustedTokenIssuersInput{InstanceArn: aws.String(testserver.InstanceArn), MaxResults: aws.Int32(1), NextToken: lt.NextToken})
	if err != nil || len(lt2.TrustedTokenIssuers) != 1 || lt2.NextToken != nil {
		t.Fatalf("issuers page 2: %+v %v", lt2, err)
	}
	// The next token is the operation's own.
	_, err = sso.ListApplications(ctx, &ssoadmin.ListApplicationsInput{InstanceArn: aws.String(testserver.InstanceArn), NextToken: lt.NextToken})
	wantAPIError(t, err, "ValidationException", 400, "Invalid nextToken provided.")

	// Grants.
	arn := aws.String(app)
	jwtGrant := &ssotypes.GrantMemberJwtBearer{Value: ssotypes.JwtBearerGrant{AuthorizedTokenIssuers: []ssotypes.AuthorizedTokenIssuer{
		{TrustedTokenIssuerArn: aws.String(ttiArn), AuthorizedAudiences: []string{"corp-app"}}}}}
	if _, err := sso.PutApplicationGrant(ctx, &ssoadmin.PutApplicationGrantInput{ApplicationArn: arn, GrantType: ssotypes.GrantTypeJwtBearer, Grant: jwtGrant}); err != nil {
		t.Fatal(err)
	}
	if _, err := sso.PutApplicationGrant(ctx, &ssoadmin.PutApplicationGrantInput{ApplicationArn: arn, GrantType: ssotypes.GrantTypeRefreshToken, Grant: &ssotypes.GrantMemberRefreshToken{}}); err != nil {
		t.Fatal(err)
	}
	if _, err := sso.PutApplicationGrant(ctx, &ssoadmin.PutApplicationGrantInput{ApplicationArn: arn, GrantType: ssotypes.GrantTypeAuthorizationCode,
		Grant: &ssotypes.GrantMemberAuthorizationCode{Value: ssotypes.AuthorizationCodeGrant{RedirectUris: []string{"https://app.example.com/cb"}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := sso.PutApplicationGrant(ctx, &ssoadmin.PutApplicationGrantInput{ApplicationArn: arn, GrantType: ssotypes.GrantTypeTokenExchange, Grant: &ssotypes.GrantMemberTokenExchange{}}); err != nil {
		t.Fatal(err)
	}
	gg, err := sso.GetApplicationGrant(ctx, &ssoadmin.GetApplicationGrantInput{ApplicationArn: arn, GrantType: ssotypes.GrantTypeJwtBearer})
	if err != nil {
		t.Fatal(err)
	}
	jb, ok := gg.Grant.(*ssotypes.GrantMemberJwtBearer)
	if !ok || len(jb.Value.AuthorizedTokenIssuers) != 1 || aws.ToString(jb.Value.AuthorizedTokenIssuers[0].TrustedTokenIssuerArn) != ttiArn ||
		!slices.Equal(jb.Value.AuthorizedTokenIssuers[0].AuthorizedAudiences, []string{"corp-app"}) {
		t.Fatalf("jwt-bearer grant: %#v", gg.Grant)
	}
	lg, err := sso.ListApplicationGrants(ctx, &ssoadmin.ListApplicationGrantsInput{ApplicationArn: arn})
	if err != nil || len(lg.Grants) != 4 {
		t.Fatalf("grants: %+v %v", lg, err)
	}
	if ac, ok := lg.Grants[0].Grant.(*ssotypes.GrantMemberAuthorizationCode); !ok || lg.Grants[0].GrantType != ssotypes.GrantTypeAuthorizationCode || ac.Value.RedirectUris[0] != "https://app.example.com/cb" {
		t.Fatalf("first grant: %#v", lg.Grants[0])
	}
	if _, err := sso.DeleteApplicationGrant(ctx, &ssoadmin.DeleteApplicationGrantInput{ApplicationArn: arn, GrantType: ssotypes.GrantTypeRefreshToken}); err != nil {
		t.Fatal(err)
	}
	_, err = sso.GetApplicationGrant(ctx, &ssoadmin.GetApplicationGrantInput{ApplicationArn: arn, GrantType: ssotypes.GrantTypeRefreshToken})
	wantAPIError(t, err, "ResourceNotFoundException", 404, "Application "+app+" has no refresh_token grant.")
	_, err = sso.DeleteApplicationGrant(ctx, &ssoadmin.DeleteApplicationGrantInput{ApplicationArn: arn, GrantType: ssotypes.GrantTypeRefreshToken})
	wantAPIError(t, err, "ResourceNotFoundException", 404, "")
	_, err = sso.PutApplicationGrant(ctx, &ssoadmin.PutApplicationGrantInput{ApplicationArn: arn, GrantType: ssotypes.GrantTypeJwtBearer,
		Grant: &ssotypes.GrantMemberJwtBearer{Value: ssotypes.JwtBearerGrant{AuthorizedTokenIssuers: []ssotypes.AuthorizedTokenIssuer{
			{TrustedTokenIssuerArn: aws.String("arn:aws:sso::123456789012:trustedTokenIssuer/ssoins-7223a1b2c3d4e5f6/tti-00000000-0000-4000-8000-000000000000"), AuthorizedAudiences: []string{"x"}}}}}})
	wantAPIError(t, err, "ResourceNotFoundException", 404, "Trusted token issuer arn:aws:sso::123456789012:trustedTokenIssuer/ssoins-7223a1b2c3d4e5f6/tti-00000000-0000-4000-8000-000000000000 does not exist.")
	_, err = sso.PutApplicationGrant(ctx, &ssoadmin.PutApplicationGrantInput{ApplicationArn: arn, GrantType: ssotypes.GrantTypeRefreshToken, Grant: jwtGrant})
	wantAPIError(t, err, "ValidationException", 400, "The grant does not match the grant type refresh_token.")
	// An issuer a grant names cannot be deleted.
	_, err = sso.DeleteTrustedTokenIssuer(ctx, &ssoadmin.DeleteTrustedTokenIssuerInput{TrustedTokenIssuerArn: aws.String(ttiArn)})
	wantAPIError(t, err, "ConflictException", 409, "Trusted token issuer "+ttiArn+" is used by the jwt-bearer grant of application "+app+".")

	// Access scopes.
	for _, sc := range []string{"redshift:connect", "sso:account:access", "analytics_read"} {
		if _, err := sso.PutApplicationAccessScope(ctx, &ssoadmin.PutApplicationAccessScopeInput{ApplicationArn: arn, Scope: aws.String(sc),
			AuthorizedTargets: []string{testserver.ApplicationArn}}); err != nil {
			t.Fatal(err)
		}
	}
	gs, err := sso.GetApplicationAccessScope(ctx, &ssoadmin.GetApplicationAccessScopeInput{ApplicationArn: arn, Scope: aws.String("redshift:connect")})
	if err != nil || aws.ToString(gs.Scope) != "redshift:connect" || !slices.Equal(gs.AuthorizedTargets, []string{testserver.ApplicationArn}) {
		t.Fatalf("scope: %+v %v", gs, err)
	}
	scopes, _ := pagedNames(t, ssoadmin.NewListApplicationAccessScopesPaginator(sso, &ssoadmin.ListApplicationAccessScopesInput{ApplicationArn: arn, MaxResults: aws.Int32(1)}),
		func(o *ssoadmin.ListApplicationAccessScopesOutput) []ssotypes.ScopeDetails { return o.Scopes },
		func(s ssotypes.ScopeDetails) string { return aws.ToString(s.Scope) })
	if !slices.Equal(scopes, []string{"analytics_read", "redshift:connect", "sso:account:access"}) {
		t.Fatalf("scopes %v", scopes)
	}
	if _, err := sso.DeleteApplicationAccessScope(ctx, &ssoadmin.DeleteApplicationAccessScopeInput{ApplicationArn: arn, Scope: aws.String("analytics_read")}); err != nil {
		t.Fatal(err)
	}
	_, err = sso.GetApplicationAccessScope(ctx, &ssoadmin.GetApplicationAccessScopeInput{ApplicationArn: arn, Scope: aws.String("analytics_read")})
	wantAPIError(t, err, "ResourceNotFoundException", 404, "Application "+app+" has no access scope analytics_read.")
	_, err = sso.PutApplicationAccessScope(ctx, &ssoadmin.PutApplicationAccessScopeInput{ApplicationArn: arn, Scope: aws.String("a:b:c:d")})
	wantAPIError(t, err, "ValidationException", 400, "")

	// Authentication methods.
	if _, err := sso.PutApplicationAuthenticationMethod(ctx, &ssoadmin.PutApplicationAuthenticationMethodInput{ApplicationArn: arn,
		AuthenticationMethodType: ssotypes.AuthenticationMethodTypeIam,
		AuthenticationMethod:     &ssotypes.AuthenticationMethodMemberIam{Value: ssotypes.IamAuthenticationMethod{ActorPolicy: accountActorPolicy()}}}); err != nil {
		t.Fatal(err)
	}
	gm, err := sso.GetApplicationAuthenticationMethod(ctx, &ssoadmin.GetApplicationAuthenticationMethodInput{ApplicationArn: arn, AuthenticationMethodType: ssotypes.AuthenticationMethodTypeIam})
	if err != nil {
		t.Fatal(err)
	}
	iamM, ok := gm.AuthenticationMethod.(*ssotypes.AuthenticationMethodMemberIam)
	if !ok {
		t.Fatalf("method %#v", gm.AuthenticationMethod)
	}
	var pol map[string]any
	if err := iamM.Value.ActorPolicy.UnmarshalSmithyDocument(&pol); err != nil || pol["Version"] != "2012-10-17" {
		t.Fatalf("actor policy %v %v", pol, err)
	}
	lm, err := sso.ListApplicationAuthenticationMethods(ctx, &ssoadmin.ListApplicationAuthenticationMethodsInput{ApplicationArn: arn})
	if err != nil || len(lm.AuthenticationMethods) != 1 || lm.AuthenticationMethods[0].AuthenticationMethodType != ssotypes.AuthenticationMethodTypeIam {
		t.Fatalf("methods: %+v %v", lm, err)
	}
	_, err = sso.PutApplicationAuthenticationMethod(ctx, &ssoadmin.PutApplicationAuthenticationMethodInput{ApplicationArn: arn,
		AuthenticationMethodType: ssotypes.AuthenticationMethodTypeIam,
		AuthenticationMethod: &ssotypes.AuthenticationMethodMemberIam{Value: ssotypes.IamAuthenticationMethod{ActorPolicy: document.NewLazyDocument(map[string]any{
			"Version": "2012-10-17", "Statement": []any{map[string]any{"Effect": "Allow", "Action": "sso-oauth:CreateTokenWithIAM", "Resource": "*"}}})}}})
	wantAPIError(t, err, "ValidationException", 400, "")
	if _, err := sso.DeleteApplicationAuthenticationMethod(ctx, &ssoadmin.DeleteApplicationAuthenticationMethodInput{ApplicationArn: arn, AuthenticationMethodType: ssotypes.AuthenticationMethodTypeIam}); err != nil {
		t.Fatal(err)
	}
	_, err = sso.GetApplicationAuthenticationMethod(ctx, &ssoadmin.GetApplicationAuthenticationMethodInput{ApplicationArn: arn, AuthenticationMethodType: ssotypes.AuthenticationMethodTypeIam})
	wantAPIError(t, err, "ResourceNotFoundException", 404, "Application "+app+" has no IAM authentication method.")

	// Assignment configuration and assignments.
	ac, err := sso.GetApplicationAssignmentConfiguration(ctx, &ssoadmin.GetApplicationAssignmentConfigurationInput{ApplicationArn: arn})
	if err != nil || !aws.ToBool(ac.AssignmentRequired) {
		t.Fatalf("a new application requires assignment: %+v %v", ac, err)
	}
	if _, err := sso.PutApplicationAssignmentConfiguration(ctx, &ssoadmin.PutApplicationAssignmentConfigurationInput{ApplicationArn: arn, AssignmentRequired: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	if ac, _ := sso.GetApplicationAssignmentConfiguration(ctx, &ssoadmin.GetApplicationAssignmentConfigurationInput{ApplicationArn: arn}); aws.ToBool(ac.AssignmentRequired) {
		t.Fatal("AssignmentRequired still true")
	}
	alice := ssoUserID(t, srv, "alice")
	for _, p := range []struct {
		typ ssotypes.PrincipalType
		id  string
	}{{ssotypes.PrincipalTypeUser, alice}, {ssotypes.PrincipalTypeGroup, groupID}} {
		if _, err := sso.CreateApplicationAssignment(ctx, &ssoadmin.CreateApplicationAssignmentInput{ApplicationArn: arn, PrincipalId: aws.String(p.id), PrincipalType: p.typ}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = sso.CreateApplicationAssignment(ctx, &ssoadmin.CreateApplicationAssignmentInput{ApplicationArn: arn, PrincipalId: aws.String(alice), PrincipalType: ssotypes.PrincipalTypeUser})
	wantAPIError(t, err, "ConflictException", 409, "User "+alice+" is already assigned to application "+app+".")
	const nobody = "00000000-0000-4000-8000-000000000000"
	_, err = sso.CreateApplicationAssignment(ctx, &ssoadmin.CreateApplicationAssignmentInput{ApplicationArn: arn, PrincipalId: aws.String(nobody), PrincipalType: ssotypes.PrincipalTypeUser})
	wantAPIError(t, err, "ResourceNotFoundException", 404, "User "+nobody+" does not exist in identity store d-9067a1b2c3.")
	da2, err := sso.DescribeApplicationAssignment(ctx, &ssoadmin.DescribeApplicationAssignmentInput{ApplicationArn: arn, PrincipalId: aws.String(alice), PrincipalType: ssotypes.PrincipalTypeUser})
	if err != nil || aws.ToString(da2.PrincipalId) != alice || aws.ToString(da2.ApplicationArn) != app {
		t.Fatalf("describe assignment: %+v %v", da2, err)
	}
	assigned, _ := pagedNames(t, ssoadmin.NewListApplicationAssignmentsPaginator(sso, &ssoadmin.ListApplicationAssignmentsInput{ApplicationArn: arn, MaxResults: aws.Int32(1)}),
		func(o *ssoadmin.ListApplicationAssignmentsOutput) []ssotypes.ApplicationAssignment {
			return o.ApplicationAssignments
		},
		func(a ssotypes.ApplicationAssignment) string {
			return string(a.PrincipalType) + ":" + aws.ToString(a.PrincipalId)
		})
	if !slices.Equal(assigned, []string{"GROUP:" + groupID, "USER:" + alice}) {
		t.Fatalf("assignments %v", assigned)
	}
	fp, err := sso.ListApplicationAssignmentsForPrincipal(ctx, &ssoadmin.ListApplicationAssignmentsForPrincipalInput{InstanceArn: aws.String(testserver.InstanceArn),
		PrincipalId: aws.String(groupID), PrincipalType: ssotypes.PrincipalTypeGroup})
	if err != nil || len(fp.ApplicationAssignments) != 2 {
		t.Fatalf("for the group: %+v %v", fp, err)
	}
	fp, err = sso.ListApplicationAssignmentsForPrincipal(ctx, &ssoadmin.ListApplicationAssignmentsForPrincipalInput{InstanceArn: aws.String(testserver.InstanceArn),
		PrincipalId: aws.String(groupID), PrincipalType: ssotypes.PrincipalTypeGroup, Filter: &ssotypes.ListApplicationAssignmentsFilter{ApplicationArn: arn}})
	if err != nil || len(fp.ApplicationAssignments) != 1 || aws.ToString(fp.ApplicationAssignments[0].ApplicationArn) != app {
		t.Fatalf("for the group, filtered: %+v %v", fp, err)
	}
	if _, err := sso.DeleteApplicationAssignment(ctx, &ssoadmin.DeleteApplicationAssignmentInput{ApplicationArn: arn, PrincipalId: aws.String(alice), PrincipalType: ssotypes.PrincipalTypeUser}); err != nil {
		t.Fatal(err)
	}
	_, err = sso.DescribeApplicationAssignment(ctx, &ssoadmin.DescribeApplicationAssignmentInput{ApplicationArn: arn, PrincipalId: aws.String(alice), PrincipalType: ssotypes.PrincipalTypeUser})
	wantAPIError(t, err, "ResourceNotFoundException", 404, "User "+alice+" is not assigned to application "+app+".")

	// Access denied: the user app may call none of it (403, sso-admin's status).
	_, err = srv.SSOAdmin(srv.App).ListApplications(ctx, &ssoadmin.ListApplicationsInput{InstanceArn: aws.String(testserver.InstanceArn)})
	wantAPIError(t, err, "AccessDeniedException", 403, "User: arn:aws:iam::123456789012:user/app is not authorized to perform: sso:ListApplications on resource: "+testserver.InstanceArn+" because no identity-based policy allows the sso:ListApplications action")
	if out, err := srv.SSOAdmin(srv.App).ListInstances(ctx, &ssoadmin.ListInstancesInput{}); err == nil {
		t.Fatalf("app listed instances: %+v", out)
	}

	// Deleting the application deletes its assignments too.
	if _, err := sso.DeleteApplication(ctx, &ssoadmin.DeleteApplicationInput{ApplicationArn: arn}); err != nil {
		t.Fatal(err)
	}
	_, err = sso.DescribeApplication(ctx, &ssoadmin.DescribeApplicationInput{ApplicationArn: arn})
	wantAPIError(t, err, "ResourceNotFoundException", 404, "")
	fp, err = sso.ListApplicationAssignmentsForPrincipal(ctx, &ssoadmin.ListApplicationAssignmentsForPrincipalInput{InstanceArn: aws.String(testserver.InstanceArn),
		PrincipalId: aws.String(groupID), PrincipalType: ssotypes.PrincipalTypeGroup})
	if err != nil || len(fp.ApplicationAssignments) != 1 || aws.ToString(fp.ApplicationAssignments[0].ApplicationArn) != testserver.ApplicationArn {
		t.Fatalf("after the delete: %+v %v", fp, err)
	}
	// Now the issuer is free.
	if _, err := sso.DeleteTrustedTokenIssuer(ctx, &ssoadmin.DeleteTrustedTokenIssuerInput{TrustedTokenIssuerArn: aws.String(ttiArn)}); err != nil {
		t.Fatal(err)
	}
	_, err = sso.DescribeTrustedTokenIssuer(ctx, &ssoadmin.DescribeTrustedTokenIssuerInput{TrustedTokenIssuerArn: aws.String(ttiArn)})
	wantAPIError(t, err, "ResourceNotFoundException", 404, "Trusted token issuer "+ttiArn+" does not exist.")

	// The issuer quota: 10 per instance (the config's built-in one counts).
	var quotaErr error
	for i := 0; i < 12 && quotaErr == nil; i++ {
		_, quotaErr = sso.CreateTrustedTokenIssuer(ctx, &ssoadmin.CreateTrustedTokenIssuerInput{
			InstanceArn: aws.String(testserver.InstanceArn), Name: aws.String("q" + string(rune('a'+i))), TrustedTokenIssuerType: ssotypes.TrustedTokenIssuerTypeOidcJwt,
			TrustedTokenIssuerConfiguration: &ssotypes.TrustedTokenIssuerConfigurationMemberOidcJwtConfiguration{Value: ssotypes.OidcJwtConfiguration{
				IssuerUrl: aws.String("https://q" + string(rune('a'+i)) + ".example"), ClaimAttributePath: aws.String("email"),
				IdentityStoreAttributePath: aws.String("emails.value"), JwksRetrievalOption: ssotypes.JwksRetrievalOptionOpenIdDiscovery}}})
		if quotaErr != nil && i != 9 {
			t.Fatalf("quota reached at %d: %v", i, quotaErr)
		}
	}
	wantAPIError(t, quotaErr, "ServiceQuotaExceededException", 402, "The instance already has 10 trusted token issuers, the most it may have.")
}

// oidcIssuer is an external IdP with OpenID discovery (the only JWKS
// retrieval option of an issuer made by API).
func oidcIssuer(t *testing.T, key imKey) *httptest.Server {
	t.Helper()
	var srv *httptest.Server
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"issuer": srv.URL, "jwks_uri": srv.URL + "/keys"})
	})
	mux.HandleFunc("/keys", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{key.jwk()}})
	})
	srv = httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// TestSSOAdminEnforced: CreateTokenWithIAM honours what sso-admin holds,
// and each rule refuses, with SSO-OIDC's error, once its object is
// missing or removed; the next call sees the change.
func TestSSOAdminEnforced(t *testing.T) {
	t.Parallel()
	clk := &clock.Offset{}
	srv := testserver.Start(t, testserver.Options{Clock: clk.Now})
	ctx := context.Background()
	sso := srv.SSOAdmin(srv.Admin)
	app := aws.String(testserver.ApplicationArn)
	token := func(user string, scope ...string) error {
		_, err := ssoExchange(srv, testserver.ApplicationArn, srv.IdPToken(t, user, "idcgate-demo", 600), scope...)
		return err
	}
	for _, u := range []string{"alice", "bob", "carol"} {
		if err := token(u, "redshift:connect", "openid"); err != nil {
			t.Fatalf("%s: %v", u, err)
		}
	}
	carol, bob := ssoUserID(t, srv, "carol"), ssoUserID(t, srv, "bob")
	asg, err := sso.ListApplicationAssignments(ctx, &ssoadmin.ListApplicationAssignmentsInput{ApplicationArn: app})
	if err != nil {
		t.Fatal(err)
	}
	var groups []string
	for _, a := range asg.ApplicationAssignments {
		if a.PrincipalType == ssotypes.PrincipalTypeGroup {
			groups = append(groups, aws.ToString(a.PrincipalId))
		}
	}

	// Assignment: carol is assigned directly, bob through engineers.
	if _, err := sso.DeleteApplicationAssignment(ctx, &ssoadmin.DeleteApplicationAssignmentInput{ApplicationArn: app, PrincipalId: aws.String(carol), PrincipalType: ssotypes.PrincipalTypeUser}); err != nil {
		t.Fatal(err)
	}
	wantAPIError(t, token("carol"), "AccessDeniedException", 400, "")
	for _, g := range groups {
		if _, err := sso.DeleteApplicationAssignment(ctx, &ssoadmin.DeleteApplicationAssignmentInput{ApplicationArn: app, PrincipalId: aws.String(g), PrincipalType: ssotypes.PrincipalTypeGroup}); err != nil {
			t.Fatal(err)
		}
	}
	wantAPIError(t, token("bob"), "AccessDeniedException", 400, "")
	wantAPIError(t, token("alice"), "AccessDeniedException", 400, "")
	if _, err := sso.CreateApplicationAssignment(ctx, &ssoadmin.CreateApplicationAssignmentInput{ApplicationArn: app, PrincipalId: aws.String(bob), PrincipalType: ssotypes.PrincipalTypeUser}); err != nil {
		t.Fatal(err)
	}
	if err := token("bob"); err != nil {
		t.Fatalf("bob assigned directly: %v", err)
	}
	if _, err := sso.PutApplicationAssignmentConfiguration(ctx, &ssoadmin.PutApplicationAssignmentConfigurationInput{ApplicationArn: app, AssignmentRequired: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	if err := token("carol"); err != nil {
		t.Fatalf("assignment not required: %v", err)
	}

	// Scopes: only the application's (and openid, aws, sts:identity_context).
	if _, err := sso.DeleteApplicationAccessScope(ctx, &ssoadmin.DeleteApplicationAccessScopeInput{ApplicationArn: app, Scope: aws.String("redshift:connect")}); err != nil {
		t.Fatal(err)
	}
	wantAPIError(t, token("alice", "redshift:connect"), "InvalidScopeException", 400, "")

	// Authentication method: none, then one naming someone else.
	if _, err := sso.DeleteApplicationAuthenticationMethod(ctx, &ssoadmin.DeleteApplicationAuthenticationMethodInput{ApplicationArn: app, AuthenticationMethodType: ssotypes.AuthenticationMethodTypeIam}); err != nil {
		t.Fatal(err)
	}
	wantAPIError(t, token("alice"), "AccessDeniedException", 400, "")
	other := document.NewLazyDocument(map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Effect": "Allow", "Principal": map[string]any{"AWS": "arn:aws:iam::123456789012:user/someone-else"},
		"Action": "sso-oauth:CreateTokenWithIAM", "Resource": "*"}}})
	put := func(pol document.Interface) {
		t.Helper()
		if _, err := sso.PutApplicationAuthenticationMethod(ctx, &ssoadmin.PutApplicationAuthenticationMethodInput{ApplicationArn: app,
			AuthenticationMethodType: ssotypes.AuthenticationMethodTypeIam,
			AuthenticationMethod:     &ssotypes.AuthenticationMethodMemberIam{Value: ssotypes.IamAuthenticationMethod{ActorPolicy: pol}}}); err != nil {
			t.Fatal(err)
		}
	}
	put(other)
	wantAPIError(t, token("alice"), "AccessDeniedException", 400, "")
	put(accountActorPolicy())
	if err := token("alice"); err != nil {
		t.Fatalf("method restored: %v", err)
	}

	// An issuer made by API, keys by OpenID discovery, in the grant.
	key := imNewKey(t, "corp-1", jose.ES256)
	idp := oidcIssuer(t, key)
	tti, err := sso.CreateTrustedTokenIssuer(ctx, &ssoadmin.CreateTrustedTokenIssuerInput{
		InstanceArn: aws.String(testserver.InstanceArn), Name: aws.String("corp"), TrustedTokenIssuerType: ssotypes.TrustedTokenIssuerTypeOidcJwt,
		TrustedTokenIssuerConfiguration: &ssotypes.TrustedTokenIssuerConfigurationMemberOidcJwtConfiguration{Value: ssotypes.OidcJwtConfiguration{
			IssuerUrl: aws.String(idp.URL), ClaimAttributePath: aws.String("email"),
			IdentityStoreAttributePath: aws.String("emails.value"), JwksRetrievalOption: ssotypes.JwksRetrievalOptionOpenIdDiscovery}}})
	if err != nil {
		t.Fatal(err)
	}
	corp := imClaims(clk, idp.URL, nil)
	_, err = ssoExchange(srv, testserver.ApplicationArn, key.sign(t, corp))
	imWantOAuth(t, err, "UnauthorizedClientException", 400, "unauthorized_client", "Application "+testserver.ApplicationArn+" does not accept tokens from issuer "+idp.URL+".")
	grant, err := sso.GetApplicationGrant(ctx, &ssoadmin.GetApplicationGrantInput{ApplicationArn: app, GrantType: ssotypes.GrantTypeJwtBearer})
	if err != nil {
		t.Fatal(err)
	}
	jb := grant.Grant.(*ssotypes.GrantMemberJwtBearer)
	jb.Value.AuthorizedTokenIssuers = append(jb.Value.AuthorizedTokenIssuers, ssotypes.AuthorizedTokenIssuer{TrustedTokenIssuerArn: tti.TrustedTokenIssuerArn, AuthorizedAudiences: []string{imCorpAudience}})
	if _, err := sso.PutApplicationGrant(ctx, &ssoadmin.PutApplicationGrantInput{ApplicationArn: app, GrantType: ssotypes.GrantTypeJwtBearer, Grant: jb}); err != nil {
		t.Fatal(err)
	}
	out, err := ssoExchange(srv, testserver.ApplicationArn, key.sign(t, corp))
	if err != nil {
		t.Fatalf("API-made issuer: %v", err)
	}
	if imUserOf(t, out) != ssoUserID(t, srv, "alice") {
		t.Fatal("mapped to another user")
	}
	// The audience is the grant's.
	_, err = ssoExchange(srv, testserver.ApplicationArn, key.sign(t, imClaims(clk, idp.URL, func(c map[string]any) { c["aud"] = "idcgate-demo" })))
	imWantOAuth(t, err, "InvalidGrantException", 400, "invalid_grant", "The assertion's audience is not accepted by application "+testserver.ApplicationArn+".")
	// A changed claim mapping takes effect on the next call.
	if _, err := sso.UpdateTrustedTokenIssuer(ctx, &ssoadmin.UpdateTrustedTokenIssuerInput{TrustedTokenIssuerArn: tti.TrustedTokenIssuerArn,
		TrustedTokenIssuerConfiguration: &ssotypes.TrustedTokenIssuerUpdateConfigurationMemberOidcJwtConfiguration{Value: ssotypes.OidcJwtUpdateConfiguration{
			ClaimAttributePath: aws.String("preferred_username"), IdentityStoreAttributePath: aws.String("userName")}}}); err != nil {
		t.Fatal(err)
	}
	out, err = ssoExchange(srv, testserver.ApplicationArn, key.sign(t, imClaims(clk, idp.URL, func(c map[string]any) {
		c["email"] = "nobody@example.com"
		c["preferred_username"] = "bob"
	})))
	if err != nil || imUserOf(t, out) != bob {
		t.Fatalf("after the mapping changed: %v", err)
	}

	// Grant: without a jwt-bearer grant, no assertion is accepted.
	if _, err := sso.DeleteApplicationGrant(ctx, &ssoadmin.DeleteApplicationGrantInput{ApplicationArn: app, GrantType: ssotypes.GrantTypeJwtBearer}); err != nil {
		t.Fatal(err)
	}
	err = token("alice")
	imWantOAuth(t, err, "UnauthorizedClientException", 400, "unauthorized_client", "Application "+testserver.ApplicationArn+" has no urn:ietf:params:oauth:grant-type:jwt-bearer grant.")

	// Application: deleted, it is an unknown client.
	if _, err := sso.DeleteApplication(ctx, &ssoadmin.DeleteApplicationInput{ApplicationArn: app}); err != nil {
		t.Fatal(err)
	}
	err = token("alice")
	imWantOAuth(t, err, "InvalidClientException", 401, "invalid_client", "Application "+testserver.ApplicationArn+" does not exist.")
}

// TestSSOAdminZeroConfig: with no identityCenter in the config the server
// starts with one instance, its ids derived from the master key, and
// sso-admin works on it.
func TestSSOAdminZeroConfig(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{ConfigYAML: "region: us-east-1\npgUpstream: none\n"})
	ctx := context.Background()
	sso := srv.SSOAdmin(srv.Admin)
	insts, err := sso.ListInstances(ctx, &ssoadmin.ListInstancesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(insts.Instances) != 1 {
		t.Fatalf("instances %+v", insts.Instances)
	}
	in := insts.Instances[0]
	if !regexp.MustCompile(`^arn:aws:sso:::instance/ssoins-[0-9a-f]{16}$`).MatchString(aws.ToString(in.InstanceArn)) ||
		!regexp.MustCompile(`^d-[0-9a-f]{10}$`).MatchString(aws.ToString(in.IdentityStoreId)) || aws.ToString(in.OwnerAccountId) != "123456789012" {
		t.Fatalf("instance %+v", in)
	}
	apps, err := sso.ListApplications(ctx, &ssoadmin.ListApplicationsInput{InstanceArn: in.InstanceArn})
	if err != nil || len(apps.Applications) != 0 {
		t.Fatalf("applications %+v %v", apps, err)
	}
	created, err := sso.CreateApplication(ctx, &ssoadmin.CreateApplicationInput{InstanceArn: in.InstanceArn,
		ApplicationProviderArn: aws.String("arn:aws:sso::aws:applicationProvider/custom"), Name: aws.String("app")})
	if err != nil || !strings.Contains(aws.ToString(created.ApplicationArn), strings.TrimPrefix(aws.ToString(in.InstanceArn), "arn:aws:sso:::instance/")) {
		t.Fatalf("create: %+v %v", created, err)
	}
	// Audited like every call, as CloudTrail names sso-admin's events.
	recs := auditRecords(t, srv.DataDir)
	seen := map[string]bool{}
	for _, r := range recs {
		if r.EventSource == "sso.amazonaws.com" && r.ErrorCode == "" {
			seen[r.EventName] = r.ReadOnly
		}
	}
	if ro, ok := seen["CreateApplication"]; !ok || ro {
		t.Fatalf("CreateApplication record: %v (%v)", ok, seen)
	}
	if ro, ok := seen["ListInstances"]; !ok || !ro {
		t.Fatalf("ListInstances record: %v (%v)", ok, seen)
	}
}

// TestSSOAdminRestart: the config's objects are re-applied at every start
// (the config wins for what it names; removed from it, removed), and what
// an API made persists.
func TestSSOAdminRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	srv := testserver.Start(t, testserver.Options{DataDir: dir})
	sso := srv.SSOAdmin(srv.Admin)
	app := aws.String(testserver.ApplicationArn)
	ins := aws.String(testserver.InstanceArn)
	mine, err := sso.CreateApplication(ctx, &ssoadmin.CreateApplicationInput{InstanceArn: ins,
		ApplicationProviderArn: aws.String("arn:aws:sso::aws:applicationProvider/custom"), Name: aws.String("mine")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sso.UpdateApplication(ctx, &ssoadmin.UpdateApplicationInput{ApplicationArn: app, Name: aws.String("renamed")}); err != nil {
		t.Fatal(err)
	}
	if _, err := sso.PutApplicationAssignmentConfiguration(ctx, &ssoadmin.PutApplicationAssignmentConfigurationInput{ApplicationArn: app, AssignmentRequired: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	issuers := func(srv *testserver.Server) []string {
		t.Helper()
		out, err := srv.SSOAdmin(srv.Admin).ListTrustedTokenIssuers(ctx, &ssoadmin.ListTrustedTokenIssuersInput{InstanceArn: ins})
		if err != nil {
			t.Fatal(err)
		}
		arns := namesOf(out.TrustedTokenIssuers, func(ti ssotypes.TrustedTokenIssuerMetadata) string {
			return aws.ToString(ti.Name) + "=" + aws.ToString(ti.TrustedTokenIssuerArn)
		})
		slices.Sort(arns)
		return arns
	}
	before := issuers(srv)
	srv.Stop()

	srv = testserver.Start(t, testserver.Options{DataDir: dir})
	sso = srv.SSOAdmin(srv.Admin)
	da, err := sso.DescribeApplication(ctx, &ssoadmin.DescribeApplicationInput{ApplicationArn: app})
	if err != nil || aws.ToString(da.Name) != "idcgate-demo-app" {
		t.Fatalf("the config did not win: %+v %v", da, err)
	}
	if ac, _ := sso.GetApplicationAssignmentConfiguration(ctx, &ssoadmin.GetApplicationAssignmentConfigurationInput{ApplicationArn: app}); !aws.ToBool(ac.AssignmentRequired) {
		t.Fatal("AssignmentRequired not re-applied")
	}
	if _, err := sso.DescribeApplication(ctx, &ssoadmin.DescribeApplicationInput{ApplicationArn: mine.ApplicationArn}); err != nil {
		t.Fatalf("the API's application: %v", err)
	}
	if after := issuers(srv); !slices.Equal(after, before) {
		t.Fatalf("the config's issuer changed ARN: %v, was %v", after, before)
	}
	srv.Stop()

	srv = testserver.Start(t, testserver.Options{DataDir: dir, Edit: func(c *config.Config) { c.IdentityCenter.Applications = nil }})
	sso = srv.SSOAdmin(srv.Admin)
	_, err = sso.DescribeApplication(ctx, &ssoadmin.DescribeApplicationInput{ApplicationArn: app})
	wantAPIError(t, err, "ResourceNotFoundException", 404, "")
	if _, err := sso.DescribeApplication(ctx, &ssoadmin.DescribeApplicationInput{ApplicationArn: mine.ApplicationArn}); err != nil {
		t.Fatalf("the API's application: %v", err)
	}
	_, err = ssoExchange(srv, testserver.ApplicationArn, srv.IdPToken(t, "alice", "idcgate-demo", 600))
	wantAPIError(t, err, "InvalidClientException", 401, "")
}

// TestSSOAdminIssuerDiscoveryDown: an API-made issuer whose discovery
// document cannot be read makes CreateTokenWithIAM answer
// InternalServerException (retryable), never invalid_grant.
func TestSSOAdminIssuerDiscoveryDown(t *testing.T) {
	t.Parallel()
	clk := &clock.Offset{}
	srv := testserver.Start(t, testserver.Options{Clock: clk.Now})
	ctx := context.Background()
	sso := srv.SSOAdmin(srv.Admin)
	key := imNewKey(t, "down-1", jose.ES256)
	down := httptest.NewServer(http.NotFoundHandler())
	url := down.URL
	down.Close()
	tti, err := sso.CreateTrustedTokenIssuer(ctx, &ssoadmin.CreateTrustedTokenIssuerInput{
		InstanceArn: aws.String(testserver.InstanceArn), Name: aws.String("down"), TrustedTokenIssuerType: ssotypes.TrustedTokenIssuerTypeOidcJwt,
		TrustedTokenIssuerConfiguration: &ssotypes.TrustedTokenIssuerConfigurationMemberOidcJwtConfiguration{Value: ssotypes.OidcJwtConfiguration{
			IssuerUrl: aws.String(url), ClaimAttributePath: aws.String("email"),
			IdentityStoreAttributePath: aws.String("emails.value"), JwksRetrievalOption: ssotypes.JwksRetrievalOptionOpenIdDiscovery}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sso.PutApplicationGrant(ctx, &ssoadmin.PutApplicationGrantInput{ApplicationArn: aws.String(testserver.ApplicationArn), GrantType: ssotypes.GrantTypeJwtBearer,
		Grant: &ssotypes.GrantMemberJwtBearer{Value: ssotypes.JwtBearerGrant{AuthorizedTokenIssuers: []ssotypes.AuthorizedTokenIssuer{
			{TrustedTokenIssuerArn: tti.TrustedTokenIssuerArn, AuthorizedAudiences: []string{imCorpAudience}}}}}}); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second within 30 s: the failure is remembered
		_, err = ssoExchange(srv, testserver.ApplicationArn, key.sign(t, imClaims(clk, url, nil)))
		imWantOAuth(t, err, "InternalServerException", 500, "server_error", "The keys of trusted token issuer down could not be retrieved; try again later.")
	}
}
