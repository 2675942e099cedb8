package server

import (
	"encoding/xml"
	"fmt"
	"strconv"

	"github.com/idcgate/idcgate/internal/protocol"
	"github.com/idcgate/idcgate/internal/protocol/awsquery"
	"github.com/idcgate/idcgate/internal/redshiftidc"
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

// idcApplicationResult is the answer of CreateRedshiftIdcApplication and
// ModifyRedshiftIdcApplication (<Op>Result).
type idcApplicationResult struct {
	XMLName                xml.Name
	RedshiftIdcApplication idcApplicationXML `xml:"RedshiftIdcApplication"`
}

// idcApplicationAnswer is the application a create or modify made, or its
// error.
func idcApplicationAnswer(c *call, app redshiftidc.Application, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return idcApplicationResult{XMLName: xml.Name{Local: c.op + "Result"}, RedshiftIdcApplication: wireIdcApplication(app)}, nil
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

// maxListMembers is the most members read of one list; a list with more
// is refused, not cut.
const maxListMembers = 1000

// queryForm is a request's parameters with every key's dotted prefixes
// indexed ("A.member.1.B" gives "A", "A.member", "A.member.1" and the key
// itself), so finding a list's members costs a lookup each, however many
// parameters the body holds.
type queryForm struct {
	p        awsquery.Params
	prefixes map[string]bool
}

func newQueryForm(p awsquery.Params) queryForm {
	f := queryForm{p: p, prefixes: make(map[string]bool, len(p))}
	for k := range p {
		f.prefixes[k] = true
		for i := 0; i < len(k); i++ {
			if k[i] == '.' {
				f.prefixes[k[:i]] = true
			}
		}
	}
	return f
}

// present reports whether the request gives name or anything under it
// (an empty list is sent as "name=").
func (f queryForm) present(name string) bool { return f.prefixes[name] }

// items are the prefixes name.<member>.1, name.<member>.2, … that are
// present, in order (a gap ends the list, as the SDKs number from 1).
func (f queryForm) items(v *validation.Collector, name, member string) []string {
	var out []string
	for i := 1; ; i++ {
		pre := name + "." + member + "." + strconv.Itoa(i)
		if !f.present(pre) {
			return out
		}
		if i > maxListMembers {
			v.Add(name, fmt.Sprintf("[more than %d members]", maxListMembers), fmt.Sprintf("Member must have length less than or equal to %d", maxListMembers))
			return out
		}
		out = append(out, pre)
	}
}

// applicationLists reads an application's two optional lists, each nil
// when the request leaves it out (a modify then keeps it).
func (f queryForm) applicationLists(v *validation.Collector) (*[]redshiftidc.AuthorizedTokenIssuer, *[]redshiftidc.ServiceIntegration) {
	var issuers *[]redshiftidc.AuthorizedTokenIssuer
	var integrations *[]redshiftidc.ServiceIntegration
	if f.present("AuthorizedTokenIssuerList") {
		l := f.issuers(v)
		issuers = &l
	}
	if f.present("ServiceIntegrations") {
		l := f.integrations(v)
		integrations = &l
	}
	return issuers, integrations
}

func (f queryForm) issuers(v *validation.Collector) []redshiftidc.AuthorizedTokenIssuer {
	out := []redshiftidc.AuthorizedTokenIssuer{}
	for _, pre := range f.items(v, "AuthorizedTokenIssuerList", "member") {
		t := redshiftidc.AuthorizedTokenIssuer{TrustedTokenIssuerArn: f.p.Get(pre + ".TrustedTokenIssuerArn")}
		for _, a := range f.items(v, pre+".AuthorizedAudiencesList", "member") {
			t.AuthorizedAudiences = append(t.AuthorizedAudiences, f.p.Get(a))
		}
		out = append(out, t)
	}
	return out
}

// integrations reads the ServiceIntegrationsUnion members: one service
// each; a member naming none or several is left with no service for
// validation to refuse.
func (f queryForm) integrations(v *validation.Collector) []redshiftidc.ServiceIntegration {
	out := []redshiftidc.ServiceIntegration{}
	for _, pre := range f.items(v, "ServiceIntegrations", "member") {
		var si redshiftidc.ServiceIntegration
		n := 0
		for _, svc := range []string{redshiftidc.ServiceLakeFormation, redshiftidc.ServiceRedshift, redshiftidc.ServiceS3AccessGrants} {
			if !f.present(pre + "." + svc) {
				continue
			}
			n++
			si.Service = svc
			si.Authorizations = []string{}
			for _, sc := range f.items(v, pre+"."+svc, "member") {
				si.Authorizations = append(si.Authorizations, f.p.Get(sc+"."+redshiftidc.ScopeOf[svc]+".Authorization"))
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

// idcApplicationArn is the RedshiftIdcApplicationArn an operation on one
// application names: required, and the caller must be allowed it.
func (s *Server) idcApplicationArn(c *call, params awsquery.Params) (string, error) {
	arn := params.Get("RedshiftIdcApplicationArn")
	var v validation.Collector
	v.Required("redshiftIdcApplicationArn", arn != "")
	if err := v.Err(); err != nil {
		return "", err
	}
	return arn, s.authorize(c, serviceRedshift, arn)
}

// redshiftOps are the Redshift actions served (awsQuery, Version
// 2012-12-01): the Redshift IdC applications.
var redshiftOps = opTable[queryHandler]{unknown: notInVersion("2012-12-01"), ops: map[string]queryHandler{
	"CreateRedshiftIdcApplication":    (*Server).createIdcApplication,
	"ModifyRedshiftIdcApplication":    (*Server).modifyIdcApplication,
	"DescribeRedshiftIdcApplications": (*Server).describeIdcApplications,
	"DeleteRedshiftIdcApplication":    (*Server).deleteIdcApplication,
}}

func (s *Server) serveRedshift(c *call) (any, error) {
	return serveQuery(s, c, redshiftOps)
}

// idcApplicationsARN names every Redshift IdC application of the caller's
// account, for the actions on none in particular.
func (s *Server) idcApplicationsARN(c *call) string {
	return "arn:aws:redshift:" + s.d.Region + ":" + c.principal.Account + ":redshiftidcapplication:*"
}

func (s *Server) createIdcApplication(c *call, params awsquery.Params) (any, error) {
	wildcard := s.idcApplicationsARN(c)
	scope := s.scope(c)
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
	form := newQueryForm(params)
	var v validation.Collector
	issuers, integrations := form.applicationLists(&v)
	app.AuthorizedTokenIssuers, app.ServiceIntegrations = deref(issuers), deref(integrations)
	for _, pre := range form.items(&v, "Tags", "Tag") {
		app.Tags = append(app.Tags, redshiftidc.Tag{Key: params.Get(pre + ".Key"), Value: params.Get(pre + ".Value")})
	}
	for _, pre := range form.items(&v, "SsoTagKeys", "TagKey") {
		app.SsoTagKeys = append(app.SsoTagKeys, params.Get(pre))
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := redshiftidc.Validate(app); err != nil {
		return nil, err
	}
	if s.d.Directory == nil || app.IdcInstanceArn != s.d.Directory.InstanceArn {
		return nil, validation.Newf("IdcInstanceArn %s is not an Identity Center instance of this deployment.", app.IdcInstanceArn)
	}
	created, err := s.d.IdcApps.Create(c.ctx, scope, app)
	return idcApplicationAnswer(c, created, err)
}

func (s *Server) modifyIdcApplication(c *call, params awsquery.Params) (any, error) {
	scope := s.scope(c)
	arn, err := s.idcApplicationArn(c, params)
	if err != nil {
		return nil, err
	}
	in := redshiftidc.ModifyInput{
		Arn: arn, IdentityNamespace: queryOptional(params, "IdentityNamespace"), IamRoleArn: queryOptional(params, "IamRoleArn"),
		DisplayName: queryOptional(params, "IdcDisplayName"),
	}
	var v validation.Collector
	in.AuthorizedTokenIssuers, in.ServiceIntegrations = newQueryForm(params).applicationLists(&v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	app, err := s.d.IdcApps.Modify(c.ctx, scope, in)
	return idcApplicationAnswer(c, app, err)
}

func (s *Server) describeIdcApplications(c *call, params awsquery.Params) (any, error) {
	wildcard := s.idcApplicationsARN(c)
	scope := s.scope(c)
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
	return describeIdcApplicationsResult{RedshiftIdcApplications: wireAll(apps, wireIdcApplication), Marker: marker}, nil
}

func (s *Server) deleteIdcApplication(c *call, params awsquery.Params) (any, error) {
	scope := s.scope(c)
	arn, err := s.idcApplicationArn(c, params)
	if err != nil {
		return nil, err
	}
	return nil, s.d.IdcApps.Delete(c.ctx, scope, arn)
}
