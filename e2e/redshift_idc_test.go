package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/redshift"
	rstypes "github.com/aws/aws-sdk-go-v2/service/redshift/types"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	ssotypes "github.com/aws/aws-sdk-go-v2/service/ssoadmin/types"

	"github.com/idcgate/idcgate/internal/testserver"
)

const rsInstanceArn = "arn:aws:sso:::instance/ssoins-7223a1b2c3d4e5f6"

func createTTI(t *testing.T, sso *ssoadmin.Client, name, url string) string {
	t.Helper()
	tti, err := sso.CreateTrustedTokenIssuer(context.Background(), &ssoadmin.CreateTrustedTokenIssuerInput{
		InstanceArn: aws.String(testserver.InstanceArn), Name: aws.String(name), TrustedTokenIssuerType: ssotypes.TrustedTokenIssuerTypeOidcJwt,
		TrustedTokenIssuerConfiguration: &ssotypes.TrustedTokenIssuerConfigurationMemberOidcJwtConfiguration{Value: ssotypes.OidcJwtConfiguration{
			IssuerUrl: aws.String(url), ClaimAttributePath: aws.String("email"),
			IdentityStoreAttributePath: aws.String("emails.value"), JwksRetrievalOption: ssotypes.JwksRetrievalOptionOpenIdDiscovery}}})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(tti.TrustedTokenIssuerArn)
}

// integrationsText renders ServiceIntegrations as "LakeFormation:Enabled Redshift:Enabled,Disabled …".
func integrationsText(list []rstypes.ServiceIntegrationsUnion) string {
	var parts []string
	for _, u := range list {
		var auths []string
		switch v := u.(type) {
		case *rstypes.ServiceIntegrationsUnionMemberLakeFormation:
			for _, s := range v.Value {
				auths = append(auths, string(s.(*rstypes.LakeFormationScopeUnionMemberLakeFormationQuery).Value.Authorization))
			}
			parts = append(parts, "LakeFormation:"+strings.Join(auths, ","))
		case *rstypes.ServiceIntegrationsUnionMemberRedshift:
			for _, s := range v.Value {
				auths = append(auths, string(s.(*rstypes.RedshiftScopeUnionMemberConnect).Value.Authorization))
			}
			parts = append(parts, "Redshift:"+strings.Join(auths, ","))
		case *rstypes.ServiceIntegrationsUnionMemberS3AccessGrants:
			for _, s := range v.Value {
				auths = append(auths, string(s.(*rstypes.S3AccessGrantsScopeUnionMemberReadWriteAccess).Value.Authorization))
			}
			parts = append(parts, "S3AccessGrants:"+strings.Join(auths, ","))
		default:
			parts = append(parts, fmt.Sprintf("%T", u))
		}
	}
	return strings.Join(parts, " ")
}

func issuersText(list []rstypes.AuthorizedTokenIssuer) string {
	var parts []string
	for _, t := range list {
		parts = append(parts, aws.ToString(t.TrustedTokenIssuerArn)+"="+strings.Join(t.AuthorizedAudiencesList, ","))
	}
	return strings.Join(parts, " ")
}

// TestRedshiftIdcApplicationMembers: create with issuers, integrations,
// tags and a type; describe shows them with the managed application,
// which sso-admin describes (provider redshift, the SSO tags); modify
// changes each member; unknown issuers and applications are refused and
// change nothing; delete removes the managed application.
func TestRedshiftIdcApplicationMembers(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	ctx := context.Background()
	rs := srv.Redshift(srv.Admin)
	sso := srv.SSOAdmin(srv.Admin)
	corp := createTTI(t, sso, "corp", "https://idp.corp.example")
	partner := createTTI(t, sso, "partner", "https://idp.partner.example")
	missing := corp[:len(corp)-4] + "0000"

	ssoApps := func() int {
		t.Helper()
		out, err := sso.ListApplications(ctx, &ssoadmin.ListApplicationsInput{InstanceArn: aws.String(testserver.InstanceArn)})
		if err != nil {
			t.Fatal(err)
		}
		return len(out.Applications)
	}
	appsBefore := ssoApps()

	created, err := rs.CreateRedshiftIdcApplication(ctx, &redshift.CreateRedshiftIdcApplicationInput{
		IdcInstanceArn: aws.String(rsInstanceArn), RedshiftIdcApplicationName: aws.String("lake"),
		IdcDisplayName: aws.String("Lake"), IamRoleArn: aws.String(testserver.AnalystRoleArn), IdentityNamespace: aws.String("LAKE"),
		AuthorizedTokenIssuerList: []rstypes.AuthorizedTokenIssuer{{TrustedTokenIssuerArn: aws.String(corp), AuthorizedAudiencesList: []string{"aud-1", "aud-2"}}},
		ServiceIntegrations: []rstypes.ServiceIntegrationsUnion{
			&rstypes.ServiceIntegrationsUnionMemberLakeFormation{Value: []rstypes.LakeFormationScopeUnion{
				&rstypes.LakeFormationScopeUnionMemberLakeFormationQuery{Value: rstypes.LakeFormationQuery{Authorization: rstypes.ServiceAuthorizationEnabled}}}},
			&rstypes.ServiceIntegrationsUnionMemberRedshift{Value: []rstypes.RedshiftScopeUnion{
				&rstypes.RedshiftScopeUnionMemberConnect{Value: rstypes.Connect{Authorization: rstypes.ServiceAuthorizationEnabled}}}},
			&rstypes.ServiceIntegrationsUnionMemberS3AccessGrants{Value: []rstypes.S3AccessGrantsScopeUnion{
				&rstypes.S3AccessGrantsScopeUnionMemberReadWriteAccess{Value: rstypes.ReadWriteAccess{Authorization: rstypes.ServiceAuthorizationDisabled}}}},
		},
		Tags:            []rstypes.Tag{{Key: aws.String("team"), Value: aws.String("data")}, {Key: aws.String("cost"), Value: aws.String("42")}},
		SsoTagKeys:      []string{"team"},
		ApplicationType: rstypes.ApplicationTypeLakehouse,
	})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(created.RedshiftIdcApplication.RedshiftIdcApplicationArn)
	check := func(a *rstypes.RedshiftIdcApplication, ns, role, display, issuers, integrations string) {
		t.Helper()
		if aws.ToString(a.IdentityNamespace) != ns || aws.ToString(a.IamRoleArn) != role || aws.ToString(a.IdcDisplayName) != display ||
			issuersText(a.AuthorizedTokenIssuerList) != issuers || integrationsText(a.ServiceIntegrations) != integrations {
			t.Fatalf("application: ns %s role %s display %s\nissuers %s\nintegrations %s\nwant %s %s %s\n%s\n%s",
				aws.ToString(a.IdentityNamespace), aws.ToString(a.IamRoleArn), aws.ToString(a.IdcDisplayName),
				issuersText(a.AuthorizedTokenIssuerList), integrationsText(a.ServiceIntegrations), ns, role, display, issuers, integrations)
		}
		if a.ApplicationType != rstypes.ApplicationTypeLakehouse || len(a.Tags) != 2 || aws.ToString(a.Tags[0].Key) != "team" ||
			aws.ToString(a.Tags[1].Value) != "42" || !slices.Equal(a.SsoTagKeys, []string{"team"}) || aws.ToString(a.IdcOnboardStatus) != "Completed" {
			t.Fatalf("type, tags, status: %+v", a)
		}
	}
	check(created.RedshiftIdcApplication, "LAKE", testserver.AnalystRoleArn, "Lake", corp+"=aud-1,aud-2",
		"LakeFormation:Enabled Redshift:Enabled S3AccessGrants:Disabled")
	managed := aws.ToString(created.RedshiftIdcApplication.IdcManagedApplicationArn)
	if !strings.HasPrefix(managed, "arn:aws:sso::123456789012:application/ssoins-7223a1b2c3d4e5f6/apl-") {
		t.Fatalf("IdcManagedApplicationArn %q", managed)
	}
	desc, err := rs.DescribeRedshiftIdcApplications(ctx, &redshift.DescribeRedshiftIdcApplicationsInput{RedshiftIdcApplicationArn: aws.String(arn)})
	if err != nil || len(desc.RedshiftIdcApplications) != 1 || desc.Marker != nil {
		t.Fatalf("describe: %+v %v", desc, err)
	}
	check(&desc.RedshiftIdcApplications[0], "LAKE", testserver.AnalystRoleArn, "Lake", corp+"=aud-1,aud-2",
		"LakeFormation:Enabled Redshift:Enabled S3AccessGrants:Disabled")
	if aws.ToString(desc.RedshiftIdcApplications[0].IdcManagedApplicationArn) != managed {
		t.Fatalf("describe shows managed %s, create %s", aws.ToString(desc.RedshiftIdcApplications[0].IdcManagedApplicationArn), managed)
	}

	// The managed application, as sso-admin shows it.
	da, err := sso.DescribeApplication(ctx, &ssoadmin.DescribeApplicationInput{ApplicationArn: aws.String(managed)})
	if err != nil || aws.ToString(da.ApplicationProviderArn) != "arn:aws:sso::aws:applicationProvider/redshift" ||
		aws.ToString(da.Name) != "Lake" || da.Status != ssotypes.ApplicationStatusEnabled || aws.ToString(da.InstanceArn) != testserver.InstanceArn {
		t.Fatalf("managed application: %+v %v", da, err)
	}
	ac, err := sso.GetApplicationAssignmentConfiguration(ctx, &ssoadmin.GetApplicationAssignmentConfigurationInput{ApplicationArn: aws.String(managed)})
	if err != nil || aws.ToBool(ac.AssignmentRequired) {
		t.Fatalf("managed assignment configuration: %+v %v", ac, err)
	}
	if n := ssoApps(); n != appsBefore+1 {
		t.Fatalf("%d sso-admin applications, want %d", n, appsBefore+1)
	}
	// The managed application is Redshift's: sso-admin does not delete it.
	_, err = sso.DeleteApplication(ctx, &ssoadmin.DeleteApplicationInput{ApplicationArn: aws.String(managed)})
	wantAPIError(t, err, "ValidationException", 400, "")
	if _, err := sso.DescribeApplication(ctx, &ssoadmin.DescribeApplicationInput{ApplicationArn: aws.String(managed)}); err != nil {
		t.Fatalf("after a refused DeleteApplication: %v", err)
	}

	// Modify each member.
	mod, err := rs.ModifyRedshiftIdcApplication(ctx, &redshift.ModifyRedshiftIdcApplicationInput{RedshiftIdcApplicationArn: aws.String(arn),
		IdentityNamespace: aws.String("LAKE2")})
	if err != nil {
		t.Fatal(err)
	}
	check(mod.RedshiftIdcApplication, "LAKE2", testserver.AnalystRoleArn, "Lake", corp+"=aud-1,aud-2",
		"LakeFormation:Enabled Redshift:Enabled S3AccessGrants:Disabled")
	otherRole := "arn:aws:iam::123456789012:role/other"
	if _, err := rs.ModifyRedshiftIdcApplication(ctx, &redshift.ModifyRedshiftIdcApplicationInput{RedshiftIdcApplicationArn: aws.String(arn),
		IamRoleArn: aws.String(otherRole), IdcDisplayName: aws.String("Lake2")}); err != nil {
		t.Fatal(err)
	}
	// The managed application is named after the display name.
	if da, err := sso.DescribeApplication(ctx, &ssoadmin.DescribeApplicationInput{ApplicationArn: aws.String(managed)}); err != nil || aws.ToString(da.Name) != "Lake2" {
		t.Fatalf("managed application after the display name changed: %+v %v", da, err)
	}
	if _, err := rs.ModifyRedshiftIdcApplication(ctx, &redshift.ModifyRedshiftIdcApplicationInput{RedshiftIdcApplicationArn: aws.String(arn),
		AuthorizedTokenIssuerList: []rstypes.AuthorizedTokenIssuer{
			{TrustedTokenIssuerArn: aws.String(partner), AuthorizedAudiencesList: []string{"p"}},
			{TrustedTokenIssuerArn: aws.String(corp), AuthorizedAudiencesList: []string{"aud-3"}}}}); err != nil {
		t.Fatal(err)
	}
	mod, err = rs.ModifyRedshiftIdcApplication(ctx, &redshift.ModifyRedshiftIdcApplicationInput{RedshiftIdcApplicationArn: aws.String(arn),
		ServiceIntegrations: []rstypes.ServiceIntegrationsUnion{&rstypes.ServiceIntegrationsUnionMemberRedshift{Value: []rstypes.RedshiftScopeUnion{
			&rstypes.RedshiftScopeUnionMemberConnect{Value: rstypes.Connect{Authorization: rstypes.ServiceAuthorizationDisabled}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	check(mod.RedshiftIdcApplication, "LAKE2", otherRole, "Lake2", partner+"=p "+corp+"=aud-3", "Redshift:Disabled")
	desc, err = rs.DescribeRedshiftIdcApplications(ctx, &redshift.DescribeRedshiftIdcApplicationsInput{RedshiftIdcApplicationArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	check(&desc.RedshiftIdcApplications[0], "LAKE2", otherRole, "Lake2", partner+"=p "+corp+"=aud-3", "Redshift:Disabled")

	// An empty list clears it.
	mod, err = rs.ModifyRedshiftIdcApplication(ctx, &redshift.ModifyRedshiftIdcApplicationInput{RedshiftIdcApplicationArn: aws.String(arn),
		ServiceIntegrations: []rstypes.ServiceIntegrationsUnion{}})
	if err != nil {
		t.Fatal(err)
	}
	check(mod.RedshiftIdcApplication, "LAKE2", otherRole, "Lake2", partner+"=p "+corp+"=aud-3", "")

	// A trusted token issuer the instance does not have is refused, and
	// nothing changes.
	_, err = rs.ModifyRedshiftIdcApplication(ctx, &redshift.ModifyRedshiftIdcApplicationInput{RedshiftIdcApplicationArn: aws.String(arn),
		IdcDisplayName:            aws.String("Changed"),
		AuthorizedTokenIssuerList: []rstypes.AuthorizedTokenIssuer{{TrustedTokenIssuerArn: aws.String(missing), AuthorizedAudiencesList: []string{"x"}}}})
	wantAPIError(t, err, "InvalidParameterValue", 400, "The trusted token issuer "+missing+" does not exist in the IAM Identity Center instance.")
	desc, err = rs.DescribeRedshiftIdcApplications(ctx, &redshift.DescribeRedshiftIdcApplicationsInput{RedshiftIdcApplicationArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	check(&desc.RedshiftIdcApplications[0], "LAKE2", otherRole, "Lake2", partner+"=p "+corp+"=aud-3", "")
	_, err = rs.CreateRedshiftIdcApplication(ctx, &redshift.CreateRedshiftIdcApplicationInput{
		IdcInstanceArn: aws.String(rsInstanceArn), RedshiftIdcApplicationName: aws.String("refused"),
		IdcDisplayName: aws.String("Refused"), IamRoleArn: aws.String(testserver.AnalystRoleArn),
		AuthorizedTokenIssuerList: []rstypes.AuthorizedTokenIssuer{{TrustedTokenIssuerArn: aws.String(missing)}}})
	wantAPIError(t, err, "InvalidParameterValue", 400, "")
	all, err := rs.DescribeRedshiftIdcApplications(ctx, &redshift.DescribeRedshiftIdcApplicationsInput{})
	if err != nil || len(all.RedshiftIdcApplications) != 2 {
		t.Fatalf("after a refused create: %+v %v", all, err)
	}
	if n := ssoApps(); n != appsBefore+1 {
		t.Fatalf("a refused create left an sso-admin application: %d, want %d", n, appsBefore+1)
	}
	// A bad Authorization, and an SSO tag key that is no tag.
	_, err = rs.ModifyRedshiftIdcApplication(ctx, &redshift.ModifyRedshiftIdcApplicationInput{RedshiftIdcApplicationArn: aws.String(arn),
		ServiceIntegrations: []rstypes.ServiceIntegrationsUnion{&rstypes.ServiceIntegrationsUnionMemberRedshift{Value: []rstypes.RedshiftScopeUnion{
			&rstypes.RedshiftScopeUnionMemberConnect{Value: rstypes.Connect{Authorization: "Sometimes"}}}}}})
	wantAPIError(t, err, "ValidationError", 400, "")
	_, err = rs.CreateRedshiftIdcApplication(ctx, &redshift.CreateRedshiftIdcApplicationInput{
		IdcInstanceArn: aws.String(rsInstanceArn), RedshiftIdcApplicationName: aws.String("refused"),
		IdcDisplayName: aws.String("Refused"), IamRoleArn: aws.String(testserver.AnalystRoleArn),
		Tags: []rstypes.Tag{{Key: aws.String("a"), Value: aws.String("b")}}, SsoTagKeys: []string{"c"}})
	wantAPIError(t, err, "InvalidParameterValue", 400, "")

	// An application that does not exist.
	_, err = rs.ModifyRedshiftIdcApplication(ctx, &redshift.ModifyRedshiftIdcApplicationInput{RedshiftIdcApplicationArn: aws.String(arn + "0"),
		IdcDisplayName: aws.String("X")})
	wantAPIError(t, err, "RedshiftIdcApplicationNotExists", 404, "")
	var nf *rstypes.RedshiftIdcApplicationNotExistsFault
	if !errors.As(err, &nf) {
		t.Fatalf("not the modelled fault: %T %v", err, err)
	}

	// Delete removes the managed application.
	if _, err := rs.DeleteRedshiftIdcApplication(ctx, &redshift.DeleteRedshiftIdcApplicationInput{RedshiftIdcApplicationArn: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	_, err = sso.DescribeApplication(ctx, &ssoadmin.DescribeApplicationInput{ApplicationArn: aws.String(managed)})
	wantAPIError(t, err, "ResourceNotFoundException", 404, "")
	if n := ssoApps(); n != appsBefore {
		t.Fatalf("%d sso-admin applications after delete, want %d", n, appsBefore)
	}
}

// TestRedshiftIdcApplicationsPaging: MaxRecords 20-100 and an opaque
// Marker, as the SDK's paginator uses them.
func TestRedshiftIdcApplicationsPaging(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	ctx := context.Background()
	rs := srv.Redshift(srv.Admin)
	want := []string{"demo-idc"}
	for i := range 44 {
		name := fmt.Sprintf("app-%02d", i)
		want = append(want, name)
		if _, err := rs.CreateRedshiftIdcApplication(ctx, &redshift.CreateRedshiftIdcApplicationInput{
			IdcInstanceArn: aws.String(rsInstanceArn), RedshiftIdcApplicationName: aws.String(name),
			IdcDisplayName: aws.String("App"), IamRoleArn: aws.String(testserver.AnalystRoleArn)}); err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(want)
	var sizes []int
	got, _ := pagedNames(t, redshift.NewDescribeRedshiftIdcApplicationsPaginator(rs, &redshift.DescribeRedshiftIdcApplicationsInput{MaxRecords: aws.Int32(20)}),
		func(o *redshift.DescribeRedshiftIdcApplicationsOutput) []rstypes.RedshiftIdcApplication {
			sizes = append(sizes, len(o.RedshiftIdcApplications))
			return o.RedshiftIdcApplications
		},
		func(a rstypes.RedshiftIdcApplication) string { return aws.ToString(a.RedshiftIdcApplicationName) })
	if !slices.Equal(got, want) || !slices.Equal(sizes, []int{20, 20, 5}) {
		t.Fatalf("pages %v: %v\nwant %v", sizes, got, want)
	}
	all, err := rs.DescribeRedshiftIdcApplications(ctx, &redshift.DescribeRedshiftIdcApplicationsInput{})
	if err != nil || len(all.RedshiftIdcApplications) != 45 || all.Marker != nil {
		t.Fatalf("default page: %d %v %v", len(all.RedshiftIdcApplications), all.Marker, err)
	}
	for _, n := range []int32{0, 19, 101} {
		_, err = rs.DescribeRedshiftIdcApplications(ctx, &redshift.DescribeRedshiftIdcApplicationsInput{MaxRecords: aws.Int32(n)})
		wantAPIError(t, err, "InvalidParameterValue", 400, "MaxRecords must be between 20 and 100.")
	}
	_, err = rs.DescribeRedshiftIdcApplications(ctx, &redshift.DescribeRedshiftIdcApplicationsInput{Marker: aws.String("bm90LWEtbWFya2Vy")})
	wantAPIError(t, err, "InvalidParameterValue", 400, "Invalid marker: bm90LWEtbWFya2Vy")
	// The marker is sealed: it shows no name.
	first, err := rs.DescribeRedshiftIdcApplications(ctx, &redshift.DescribeRedshiftIdcApplicationsInput{MaxRecords: aws.Int32(20)})
	if err != nil || first.Marker == nil {
		t.Fatalf("first page: %v", err)
	}
	if strings.Contains(aws.ToString(first.Marker), "app-") {
		t.Fatalf("marker shows the position: %s", aws.ToString(first.Marker))
	}
}

// TestRedshiftIdcApplicationRawErrors: the awsQuery error document, its
// status, and authorization of ModifyRedshiftIdcApplication by the IAM
// evaluator.
func TestRedshiftIdcApplicationRawErrors(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	ctx := context.Background()
	list := idcApplications(t, srv)
	if len(list) != 1 {
		t.Fatalf("%+v", list)
	}
	arn := aws.ToString(list[0].RedshiftIdcApplicationArn)
	call := func(creds aws.Credentials, form url.Values) *testserver.RawResponse {
		t.Helper()
		return signedQuery(t, srv, creds, "redshift", testserver.Region, time.Now(), form.Encode())
	}
	res := call(srv.Admin, url.Values{"Action": {"ModifyRedshiftIdcApplication"}, "Version": {"2012-12-01"},
		"RedshiftIdcApplicationArn": {arn + "0"}, "IdcDisplayName": {"X"}})
	if res.Status != 404 || !bytes.HasPrefix(res.Body, []byte(`<ErrorResponse xmlns="http://redshift.amazonaws.com/doc/2012-12-01/"><Error><Type>Sender</Type><Code>RedshiftIdcApplicationNotExists</Code><Message>`)) {
		t.Fatalf("%d %s", res.Status, res.Body)
	}
	res = call(srv.Admin, url.Values{"Action": {"ModifyRedshiftIdcApplication"}, "Version": {"2012-12-01"},
		"RedshiftIdcApplicationArn": {arn}, "AuthorizedTokenIssuerList.member.1.TrustedTokenIssuerArn": {"arn:aws:sso::123456789012:trustedTokenIssuer/ssoins-7223a1b2c3d4e5f6/tti-nothere"}})
	if res.Status != 400 || !bytes.Contains(res.Body, []byte(`<Type>Sender</Type><Code>InvalidParameterValue</Code>`)) {
		t.Fatalf("%d %s", res.Status, res.Body)
	}
	// A member of the union naming two services is refused.
	res = call(srv.Admin, url.Values{"Action": {"ModifyRedshiftIdcApplication"}, "Version": {"2012-12-01"}, "RedshiftIdcApplicationArn": {arn},
		"ServiceIntegrations.member.1.Redshift.member.1.Connect.Authorization":                 {"Enabled"},
		"ServiceIntegrations.member.1.LakeFormation.member.1.LakeFormationQuery.Authorization": {"Enabled"}})
	if res.Status != 400 || !bytes.Contains(res.Body, []byte(`<Code>ValidationError</Code>`)) {
		t.Fatalf("%d %s", res.Status, res.Body)
	}
	// The success document.
	res = call(srv.Admin, url.Values{"Action": {"ModifyRedshiftIdcApplication"}, "Version": {"2012-12-01"}, "RedshiftIdcApplicationArn": {arn},
		"ServiceIntegrations.member.1.Redshift.member.1.Connect.Authorization": {"Enabled"}})
	if res.Status != 200 || !bytes.Contains(res.Body, []byte(`<ModifyRedshiftIdcApplicationResponse xmlns="http://redshift.amazonaws.com/doc/2012-12-01/"><ModifyRedshiftIdcApplicationResult><RedshiftIdcApplication>`)) ||
		!bytes.Contains(res.Body, []byte(`<ServiceIntegrations><member><Redshift><member><Connect><Authorization>Enabled</Authorization></Connect></member></Redshift></member></ServiceIntegrations>`)) {
		t.Fatalf("%d %s", res.Status, res.Body)
	}

	// The IAM user "app" has no redshift:ModifyRedshiftIdcApplication.
	_, err := srv.Redshift(srv.App).ModifyRedshiftIdcApplication(ctx, &redshift.ModifyRedshiftIdcApplicationInput{
		RedshiftIdcApplicationArn: aws.String(arn), IdcDisplayName: aws.String("X")})
	wantAPIError(t, err, "AccessDenied", 403, "User: arn:aws:iam::123456789012:user/app is not authorized to perform: redshift:ModifyRedshiftIdcApplication on resource: "+arn+" because no identity-based policy allows the redshift:ModifyRedshiftIdcApplication action")
}

// TestRedshiftIdcManagedApplicationRestart: the config's application gets
// a managed application at first start, the same one after a restart.
func TestRedshiftIdcManagedApplicationRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	managedOf := func(srv *testserver.Server) string {
		t.Helper()
		list := idcApplications(t, srv)
		if len(list) != 1 {
			t.Fatalf("%+v", list)
		}
		arn := aws.ToString(list[0].IdcManagedApplicationArn)
		da, err := srv.SSOAdmin(srv.Admin).DescribeApplication(ctx, &ssoadmin.DescribeApplicationInput{ApplicationArn: aws.String(arn)})
		if err != nil || aws.ToString(da.ApplicationProviderArn) != "arn:aws:sso::aws:applicationProvider/redshift" {
			t.Fatalf("managed application %s: %+v %v", arn, da, err)
		}
		return arn
	}
	srv := testserver.Start(t, testserver.Options{DataDir: dir})
	first := managedOf(srv)
	srv.Stop()
	srv = testserver.Start(t, testserver.Options{DataDir: dir})
	if again := managedOf(srv); again != first {
		t.Fatalf("managed application %s after restart, was %s", again, first)
	}
}
