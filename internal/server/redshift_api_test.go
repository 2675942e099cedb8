package server

import (
	"encoding/xml"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/idcgate/idcgate/internal/protocol/awsquery"
	"github.com/idcgate/idcgate/internal/redshiftidc"
	"github.com/idcgate/idcgate/internal/validation"
)

// TestQueryFormLists: the SDK's awsQuery keys for the Redshift IdC
// application's lists and unions read back as the domain's members; a
// union member naming two services is left for validation to refuse; a
// list of more members than we read is refused, not cut.
func TestQueryFormLists(t *testing.T) {
	vals, err := url.ParseQuery("AuthorizedTokenIssuerList.member.1.TrustedTokenIssuerArn=tti-1" +
		"&AuthorizedTokenIssuerList.member.1.AuthorizedAudiencesList.member.1=a" +
		"&AuthorizedTokenIssuerList.member.1.AuthorizedAudiencesList.member.2=b" +
		"&AuthorizedTokenIssuerList.member.2.TrustedTokenIssuerArn=tti-2" +
		"&ServiceIntegrations.member.1.LakeFormation.member.1.LakeFormationQuery.Authorization=Enabled" +
		"&ServiceIntegrations.member.2.Redshift.member.1.Connect.Authorization=Disabled" +
		"&ServiceIntegrations.member.3.S3AccessGrants.member.1.ReadWriteAccess.Authorization=Enabled" +
		"&ServiceIntegrations.member.4.Redshift.member.1.Connect.Authorization=Enabled" +
		"&ServiceIntegrations.member.4.S3AccessGrants.member.1.ReadWriteAccess.Authorization=Enabled")
	if err != nil {
		t.Fatal(err)
	}
	f := newQueryForm(awsquery.Params(vals))
	var v validation.Collector
	issuers := f.issuers(&v)
	want := []redshiftidc.AuthorizedTokenIssuer{{TrustedTokenIssuerArn: "tti-1", AuthorizedAudiences: []string{"a", "b"}}, {TrustedTokenIssuerArn: "tti-2"}}
	if !reflect.DeepEqual(issuers, want) {
		t.Fatalf("issuers %+v", issuers)
	}
	got := f.integrations(&v)
	wantSI := []redshiftidc.ServiceIntegration{
		{Service: "LakeFormation", Authorizations: []string{"Enabled"}}, {Service: "Redshift", Authorizations: []string{"Disabled"}},
		{Service: "S3AccessGrants", Authorizations: []string{"Enabled"}}, {}}
	if !reflect.DeepEqual(got, wantSI) || v.Err() != nil {
		t.Fatalf("integrations %+v %v", got, v.Err())
	}

	empty := newQueryForm(awsquery.Params(url.Values{"ServiceIntegrations": {""}}))
	if !empty.present("ServiceIntegrations") || len(empty.integrations(&v)) != 0 || empty.present("AuthorizedTokenIssuerList") {
		t.Fatal("an empty list is present and empty; an absent one is absent")
	}

	var b strings.Builder
	for i := 1; i <= maxListMembers+1; i++ {
		fmt.Fprintf(&b, "&SsoTagKeys.TagKey.%d=k", i)
	}
	vals, _ = url.ParseQuery(b.String()[1:])
	var v2 validation.Collector
	if n := len(newQueryForm(awsquery.Params(vals)).items(&v2, "SsoTagKeys", "TagKey")); n != maxListMembers || v2.Err() == nil {
		t.Fatalf("%d items, %v", n, v2.Err())
	}
}

// TestIdcApplicationXML: absent lists are left out, present ones carry
// the model's member names.
func TestIdcApplicationXML(t *testing.T) {
	bare, _ := xml.Marshal(wireIdcApplication(redshiftidc.Application{Name: "a"}))
	for _, absent := range []string{"AuthorizedTokenIssuerList", "ServiceIntegrations", "Tags", "SsoTagKeys", "ApplicationType", "IdcManagedApplicationArn"} {
		if strings.Contains(string(bare), absent) {
			t.Fatalf("%s in %s", absent, bare)
		}
	}
	full, _ := xml.Marshal(wireIdcApplication(redshiftidc.Application{Name: "a", ManagedApplicationArn: "m",
		AuthorizedTokenIssuers: []redshiftidc.AuthorizedTokenIssuer{{TrustedTokenIssuerArn: "t", AuthorizedAudiences: []string{"x"}}},
		ServiceIntegrations:    []redshiftidc.ServiceIntegration{{Service: "S3AccessGrants", Authorizations: []string{"Enabled"}}},
		Tags:                   []redshiftidc.Tag{{Key: "k", Value: "v"}}, SsoTagKeys: []string{"k"}, ApplicationType: "None"}))
	for _, want := range []string{
		"<IdcManagedApplicationArn>m</IdcManagedApplicationArn>",
		"<AuthorizedTokenIssuerList><member><TrustedTokenIssuerArn>t</TrustedTokenIssuerArn><AuthorizedAudiencesList><member>x</member></AuthorizedAudiencesList></member></AuthorizedTokenIssuerList>",
		"<ServiceIntegrations><member><S3AccessGrants><member><ReadWriteAccess><Authorization>Enabled</Authorization></ReadWriteAccess></member></S3AccessGrants></member></ServiceIntegrations>",
		"<ApplicationType>None</ApplicationType>",
		"<Tags><Tag><Key>k</Key><Value>v</Value></Tag></Tags>",
		"<SsoTagKeys><TagKey>k</TagKey></SsoTagKeys>",
	} {
		if !strings.Contains(string(full), want) {
			t.Fatalf("no %s in %s", want, full)
		}
	}
}

// TestIdcApplicationResultNames: a create's and a modify's answer is
// wrapped in <Op>Result, as the SDKs read it; an error answers nothing.
func TestIdcApplicationResultNames(t *testing.T) {
	t.Parallel()
	for _, op := range []string{"CreateRedshiftIdcApplication", "ModifyRedshiftIdcApplication"} {
		out, err := idcApplicationAnswer(&call{op: op}, redshiftidc.Application{Name: "app"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, err := xml.Marshal(out)
		if err != nil {
			t.Fatal(err)
		}
		want := "<" + op + "Result><RedshiftIdcApplication><IdcInstanceArn></IdcInstanceArn><RedshiftIdcApplicationName>app</RedshiftIdcApplicationName>"
		if !strings.HasPrefix(string(b), want) || !strings.HasSuffix(string(b), "</"+op+"Result>") {
			t.Errorf("%s: %s", op, b)
		}
	}
	if out, err := idcApplicationAnswer(&call{op: "CreateRedshiftIdcApplication"}, redshiftidc.Application{}, redshiftidc.ErrNotFound); out != nil || err == nil {
		t.Errorf("an error: %v %v", out, err)
	}
}
