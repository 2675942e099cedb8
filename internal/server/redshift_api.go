package server

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"

	"github.com/idcgate/idcgate/internal/protocol"
	"github.com/idcgate/idcgate/internal/protocol/awsquery"
	"github.com/idcgate/idcgate/internal/redshiftidc"
	"github.com/idcgate/idcgate/internal/serverless"
	"github.com/idcgate/idcgate/internal/validation"
)

// idcApplicationXML is the model's RedshiftIdcApplication.
type idcApplicationXML struct {
	IdcInstanceArn             string                             `xml:"IdcInstanceArn"`
	RedshiftIdcApplicationName string                             `xml:"RedshiftIdcApplicationName"`
	RedshiftIdcApplicationArn  string                             `xml:"RedshiftIdcApplicationArn"`
	IdentityNamespace          string                             `xml:"IdentityNamespace"`
	IdcDisplayName             string                             `xml:"IdcDisplayName,omitempty"`
	IamRoleArn                 string                             `xml:"IamRoleArn,omitempty"`
	IdcManagedApplicationArn   string                             `xml:"IdcManagedApplicationArn,omitempty"`
	IdcOnboardStatus           string                             `xml:"IdcOnboardStatus"`
	AuthorizedTokenIssuerList  *listXML[authorizedTokenIssuerXML] `xml:"AuthorizedTokenIssuerList"`
	ServiceIntegrations        *listXML[serviceIntegrationXML]    `xml:"ServiceIntegrations"`
	ApplicationType            string                             `xml:"ApplicationType,omitempty"`
	Tags                       *tagListXML                        `xml:"Tags"`
	SsoTagKeys                 *tagKeyListXML                     `xml:"SsoTagKeys"`
}

// listXML is an awsQuery list (<member> items); a nil one is left out,
// which encoding/xml's "a>b,omitempty" does not do for the parent.
type listXML[T any] struct {
	Member []T `xml:"member"`
}

func xmlList[T any](items []T) *listXML[T] {
	if items == nil {
		return nil
	}
	return &listXML[T]{Member: items}
}

type tagListXML struct {
	Tag []tagXML `xml:"Tag"`
}

type tagKeyListXML struct {
	TagKey []string `xml:"TagKey"`
}

type authorizedTokenIssuerXML struct {
	TrustedTokenIssuerArn   string           `xml:"TrustedTokenIssuerArn"`
	AuthorizedAudiencesList *listXML[string] `xml:"AuthorizedAudiencesList"`
}

// serviceIntegrationXML is the ServiceIntegrationsUnion: one member set.
type serviceIntegrationXML struct {
	LakeFormation  *listXML[lakeFormationScopeXML]  `xml:"LakeFormation"`
	Redshift       *listXML[redshiftScopeXML]       `xml:"Redshift"`
	S3AccessGrants *listXML[s3AccessGrantsScopeXML] `xml:"S3AccessGrants"`
}

type authorizationXML struct {
	Authorization string `xml:"Authorization"`
}

type lakeFormationScopeXML struct {
	LakeFormationQuery authorizationXML `xml:"LakeFormationQuery"`
}

type redshiftScopeXML struct {
	Connect authorizationXML `xml:"Connect"`
}

type s3AccessGrantsScopeXML struct {
	ReadWriteAccess authorizationXML `xml:"ReadWriteAccess"`
}

type tagXML struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

type createIdcApplicationResult struct {
	XMLName                xml.Name          `xml:"CreateRedshiftIdcApplicationResult"`
	RedshiftIdcApplication idcApplicationXML `xml:"RedshiftIdcApplication"`
}

type modifyIdcApplicationResult struct {
	XMLName                xml.Name          `xml:"ModifyRedshiftIdcApplicationResult"`
	RedshiftIdcApplication idcApplicationXML `xml:"RedshiftIdcApplication"`
}

type describeIdcApplicationsResult struct {
	XMLName                 xml.Name            `xml:"DescribeRedshiftIdcApplicationsResult"`
	RedshiftIdcApplications []idcApplicationXML `xml:"RedshiftIdcApplications>member"`
	Marker                  string              `xml:"Marker,omitempty"`
}

func wireIdcApplication(a redshiftidc.Application) idcApplicationXML {
	out := idcApplicationXML{
		IdcInstanceArn: a.IdcInstanceArn, RedshiftIdcApplicationName: a.Name, RedshiftIdcApplicationArn: a.Arn,
		IdentityNamespace: a.IdentityNamespace, IdcDisplayName: a.DisplayName, IamRoleArn: a.IamRoleArn, IdcOnboardStatus: "Completed",
		IdcManagedApplicationArn: a.ManagedApplicationArn, ApplicationType: a.ApplicationType,
	}
	var issuers []authorizedTokenIssuerXML
	for _, t := range a.AuthorizedTokenIssuers {
		issuers = append(issuers, authorizedTokenIssuerXML{TrustedTokenIssuerArn: t.TrustedTokenIssuerArn, AuthorizedAudiencesList: xmlList(t.AuthorizedAudiences)})
	}
	out.AuthorizedTokenIssuerList = xmlList(issuers)
	var integrations []serviceIntegrationXML
	for _, si := range a.ServiceIntegrations {
		var w serviceIntegrationXML
		switch si.Service {
		case redshiftidc.ServiceLakeFormation:
			w.LakeFormation = &listXML[lakeFormationScopeXML]{Member: []lakeFormationScopeXML{}}
			for _, auth := range si.Authorizations {
				w.LakeFormation.Member = append(w.LakeFormation.Member, lakeFormationScopeXML{authorizationXML{auth}})
			}
		case redshiftidc.ServiceRedshift:
			w.Redshift = &listXML[redshiftScopeXML]{Member: []redshiftScopeXML{}}
			for _, auth := range si.Authorizations {
				w.Redshift.Member = append(w.Redshift.Member, redshiftScopeXML{authorizationXML{auth}})
			}
		case redshiftidc.ServiceS3AccessGrants:
			w.S3AccessGrants = &listXML[s3AccessGrantsScopeXML]{Member: []s3AccessGrantsScopeXML{}}
			for _, auth := range si.Authorizations {
				w.S3AccessGrants.Member = append(w.S3AccessGrants.Member, s3AccessGrantsScopeXML{authorizationXML{auth}})
			}
		}
		integrations = append(integrations, w)
	}
	out.ServiceIntegrations = xmlList(integrations)
	if a.Tags != nil {
		out.Tags = &tagListXML{}
		for _, t := range a.Tags {
			out.Tags.Tag = append(out.Tags.Tag, tagXML(t))
		}
	}
	if a.SsoTagKeys != nil {
		out.SsoTagKeys = &tagKeyListXML{TagKey: a.SsoTagKeys}
	}
	return out
}

// maxListMembers bounds the members read of one list (a body is at most
// 1 MiB, so this only stops a loop over absent indexes early).
const maxListMembers = 1000

// listPresent reports whether the request gives the list name at all
// (an empty list is sent as "name=").
func listPresent(p awsquery.Params, name string) bool {
	if p.Has(name) {
		return true
	}
	for k := range p {
		if strings.HasPrefix(k, name+".") {
			return true
		}
	}
	return false
}

// hasUnder reports whether any parameter lies under prefix + ".".
func hasUnder(p awsquery.Params, prefix string) bool {
	if p.Has(prefix) {
		return true
	}
	for k := range p {
		if strings.HasPrefix(k, prefix+".") {
			return true
		}
	}
	return false
}

// listItems are the prefixes name.<member>.1, name.<member>.2, … that are
// present, in order (a gap ends the list, as the SDKs number from 1).
func listItems(p awsquery.Params, name, member string) []string {
	var out []string
	for i := 1; i <= maxListMembers; i++ {
		pre := fmt.Sprintf("%s.%s.%d", name, member, i)
		if !hasUnder(p, pre) {
			break
		}
		out = append(out, pre)
	}
	return out
}

func parseIssuers(p awsquery.Params) []redshiftidc.AuthorizedTokenIssuer {
	out := []redshiftidc.AuthorizedTokenIssuer{}
	for _, pre := range listItems(p, "AuthorizedTokenIssuerList", "member") {
		t := redshiftidc.AuthorizedTokenIssuer{TrustedTokenIssuerArn: p.Get(pre + ".TrustedTokenIssuerArn")}
		for _, a := range listItems(p, pre+".AuthorizedAudiencesList", "member") {
			t.AuthorizedAudiences = append(t.AuthorizedAudiences, p.Get(a))
		}
		out = append(out, t)
	}
	return out
}

// parseIntegrations reads the ServiceIntegrationsUnion members: one
// service each; a member naming none or several is left with no service
// for validation to refuse.
func parseIntegrations(p awsquery.Params) []redshiftidc.ServiceIntegration {
	out := []redshiftidc.ServiceIntegration{}
	for _, pre := range listItems(p, "ServiceIntegrations", "member") {
		var si redshiftidc.ServiceIntegration
		n := 0
		for _, svc := range []string{redshiftidc.ServiceLakeFormation, redshiftidc.ServiceRedshift, redshiftidc.ServiceS3AccessGrants} {
			if !hasUnder(p, pre+"."+svc) {
				continue
			}
			n++
			si.Service = svc
			si.Authorizations = []string{}
			for _, sc := range listItems(p, pre+"."+svc, "member") {
				si.Authorizations = append(si.Authorizations, p.Get(sc+"."+redshiftidc.ScopeOf[svc]+".Authorization"))
			}
		}
		if n != 1 {
			si = redshiftidc.ServiceIntegration{}
		}
		out = append(out, si)
	}
	return out
}

func queryOptional(p awsquery.Params, name string) *string {
	if !p.Has(name) {
		return nil
	}
	v := p.Get(name)
	return &v
}

func (s *Server) serveRedshift(c *call) (any, error) {
	params, err := awsquery.Parse(c.http, c.body)
	if err != nil {
		return nil, err
	}
	scope := serverless.Scope{Account: c.principal.Account, Region: s.d.Region}
	wildcard := "arn:aws:redshift:" + s.d.Region + ":" + c.principal.Account + ":redshiftidcapplication:*"
	switch c.op {
	case "CreateRedshiftIdcApplication":
		if err := s.authorize(c, serviceRedshift, wildcard); err != nil {
			return nil, err
		}
		app := redshiftidc.Application{
			Name: params.Get("RedshiftIdcApplicationName"), IdcInstanceArn: params.Get("IdcInstanceArn"),
			IdentityNamespace: params.Get("IdentityNamespace"), DisplayName: params.Get("IdcDisplayName"), IamRoleArn: params.Get("IamRoleArn"),
			ApplicationType: params.Get("ApplicationType"),
		}
		if app.IdentityNamespace == "" {
			app.IdentityNamespace = "AWSIDC"
		}
		if listPresent(params, "AuthorizedTokenIssuerList") {
			app.AuthorizedTokenIssuers = parseIssuers(params)
		}
		if listPresent(params, "ServiceIntegrations") {
			app.ServiceIntegrations = parseIntegrations(params)
		}
		for _, pre := range listItems(params, "Tags", "Tag") {
			app.Tags = append(app.Tags, redshiftidc.Tag{Key: params.Get(pre + ".Key"), Value: params.Get(pre + ".Value")})
		}
		for _, pre := range listItems(params, "SsoTagKeys", "TagKey") {
			app.SsoTagKeys = append(app.SsoTagKeys, params.Get(pre))
		}
		if err := redshiftidc.Validate(app); err != nil {
			return nil, err
		}
		if s.d.Directory == nil || app.IdcInstanceArn != s.d.Directory.InstanceArn {
			return nil, validation.Newf("IdcInstanceArn %s is not an Identity Center instance of this deployment.", app.IdcInstanceArn)
		}
		created, err := s.d.IdcApps.Create(c.ctx, scope, app)
		if err != nil {
			return nil, err
		}
		return createIdcApplicationResult{RedshiftIdcApplication: wireIdcApplication(created)}, nil
	case "ModifyRedshiftIdcApplication":
		arn := params.Get("RedshiftIdcApplicationArn")
		var v validation.Collector
		v.Required("redshiftIdcApplicationArn", arn != "")
		if err := v.Err(); err != nil {
			return nil, err
		}
		if err := s.authorize(c, serviceRedshift, arn); err != nil {
			return nil, err
		}
		in := redshiftidc.ModifyInput{
			Arn: arn, IdentityNamespace: queryOptional(params, "IdentityNamespace"), IamRoleArn: queryOptional(params, "IamRoleArn"),
			DisplayName: queryOptional(params, "IdcDisplayName"),
		}
		if listPresent(params, "AuthorizedTokenIssuerList") {
			l := parseIssuers(params)
			in.AuthorizedTokenIssuers = &l
		}
		if listPresent(params, "ServiceIntegrations") {
			l := parseIntegrations(params)
			in.ServiceIntegrations = &l
		}
		app, err := s.d.IdcApps.Modify(c.ctx, scope, in)
		if err != nil {
			return nil, err
		}
		return modifyIdcApplicationResult{RedshiftIdcApplication: wireIdcApplication(app)}, nil
	case "DescribeRedshiftIdcApplications":
		arn := params.Get("RedshiftIdcApplicationArn")
		resource := wildcard
		if arn != "" {
			resource = arn
		}
		if err := s.authorize(c, serviceRedshift, resource); err != nil {
			return nil, err
		}
		maxRecords := 0
		if params.Has("MaxRecords") {
			n, err := strconv.ParseInt(params.Get("MaxRecords"), 10, 32)
			if err != nil {
				return nil, protocol.Errorf(protocol.ErrSerialization, "MaxRecords must be an integer.")
			}
			// Outside 20-100 (0, or an int32 far outside) is refused alike.
			maxRecords = int(max(min(n, 1000), -1))
			if maxRecords == 0 {
				maxRecords = -1
			}
		}
		apps, marker, err := s.d.IdcApps.Describe(c.ctx, scope, arn, maxRecords, params.Get("Marker"))
		if err != nil {
			return nil, err
		}
		out := describeIdcApplicationsResult{RedshiftIdcApplications: []idcApplicationXML{}, Marker: marker}
		for _, a := range apps {
			out.RedshiftIdcApplications = append(out.RedshiftIdcApplications, wireIdcApplication(a))
		}
		return out, nil
	case "DeleteRedshiftIdcApplication":
		arn := params.Get("RedshiftIdcApplicationArn")
		var v validation.Collector
		v.Required("redshiftIdcApplicationArn", arn != "")
		if err := v.Err(); err != nil {
			return nil, err
		}
		if err := s.authorize(c, serviceRedshift, arn); err != nil {
			return nil, err
		}
		return nil, s.d.IdcApps.Delete(c.ctx, scope, arn)
	}
	return nil, protocol.Errorf(protocol.ErrUnknownOperation, "Could not find operation "+quoteOp(c.op)+" for version 2012-12-01.")
}
