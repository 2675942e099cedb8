package server

import (
	"encoding/json"
	"errors"
	"maps"
	"slices"

	"github.com/idcgate/idcgate/internal/apierror"
	"github.com/idcgate/idcgate/internal/auth"
	"github.com/idcgate/idcgate/internal/protocol"
	"github.com/idcgate/idcgate/internal/protocol/awsjson"
	"github.com/idcgate/idcgate/internal/ssoadmin"
	"github.com/idcgate/idcgate/internal/validation"
)

// serviceSSOAdmin is sso-admin's signing name (X-Amz-Target
// SWBExternalService.<Op>, awsJson1_1).
const serviceSSOAdmin = "sso"

// ssoAdminOps are the SWBExternalService.* operations served: the
// trusted-identity-propagation subset of sso-admin (BEHAVIOUR 15). Each
// decodes its input, authorizes sso:<Op> on the resources the service
// authorization reference names, and calls the domain.
var ssoAdminOps = map[string]func(*Server, *call) (any, error){
	"ListInstances":                          (*Server).listInstances,
	"DescribeInstance":                       (*Server).describeInstance,
	"ListApplicationProviders":               (*Server).listApplicationProviders,
	"CreateApplication":                      (*Server).createApplication,
	"DescribeApplication":                    (*Server).describeApplication,
	"ListApplications":                       (*Server).listApplications,
	"UpdateApplication":                      (*Server).updateApplication,
	"DeleteApplication":                      (*Server).deleteApplication,
	"PutApplicationGrant":                    (*Server).putApplicationGrant,
	"GetApplicationGrant":                    (*Server).getApplicationGrant,
	"ListApplicationGrants":                  (*Server).listApplicationGrants,
	"DeleteApplicationGrant":                 (*Server).deleteApplicationGrant,
	"PutApplicationAccessScope":              (*Server).putApplicationAccessScope,
	"GetApplicationAccessScope":              (*Server).getApplicationAccessScope,
	"ListApplicationAccessScopes":            (*Server).listApplicationAccessScopes,
	"DeleteApplicationAccessScope":           (*Server).deleteApplicationAccessScope,
	"PutApplicationAuthenticationMethod":     (*Server).putApplicationAuthenticationMethod,
	"GetApplicationAuthenticationMethod":     (*Server).getApplicationAuthenticationMethod,
	"ListApplicationAuthenticationMethods":   (*Server).listApplicationAuthenticationMethods,
	"DeleteApplicationAuthenticationMethod":  (*Server).deleteApplicationAuthenticationMethod,
	"PutApplicationAssignmentConfiguration":  (*Server).putApplicationAssignmentConfiguration,
	"GetApplicationAssignmentConfiguration":  (*Server).getApplicationAssignmentConfiguration,
	"CreateApplicationAssignment":            (*Server).createApplicationAssignment,
	"DescribeApplicationAssignment":          (*Server).describeApplicationAssignment,
	"DeleteApplicationAssignment":            (*Server).deleteApplicationAssignment,
	"ListApplicationAssignments":             (*Server).listApplicationAssignments,
	"ListApplicationAssignmentsForPrincipal": (*Server).listApplicationAssignmentsForPrincipal,
	"CreateTrustedTokenIssuer":               (*Server).createTrustedTokenIssuer,
	"DescribeTrustedTokenIssuer":             (*Server).describeTrustedTokenIssuer,
	"ListTrustedTokenIssuers":                (*Server).listTrustedTokenIssuers,
	"UpdateTrustedTokenIssuer":               (*Server).updateTrustedTokenIssuer,
	"DeleteTrustedTokenIssuer":               (*Server).deleteTrustedTokenIssuer,
}

func ssoAdminOpNames() []string { return slices.Collect(maps.Keys(ssoAdminOps)) }

func (s *Server) serveSSOAdmin(c *call) (any, error) {
	op, ok := ssoAdminOps[c.op]
	if !ok || s.d.SSOAdmin == nil {
		return nil, protocol.Errorf(protocol.ErrUnknownOperation,
			"The operation "+quoteOp(c.op)+" is not supported by SSO Admin on this endpoint.")
	}
	return op(s, c)
}

// authorizeSSO authorizes sso:<Op> on every resource. The instance
// owner's root may do everything (the instance ARN names no account, so
// auth's in-account rule cannot see it); anyone else needs policies. A
// refusal is sso-admin's AccessDeniedException (403).
func (s *Server) authorizeSSO(c *call, resources ...string) error {
	p := c.principal
	if p.Kind == auth.KindRoot && p.Account == s.d.SSOAdmin.Instance.OwnerAccountID {
		return nil
	}
	err := auth.AuthorizeAll(p, "sso:"+c.op, resources, c.authReq, nil)
	var ae *apierror.Error
	if errors.Is(err, auth.ErrAccessDenied) && errors.As(err, &ae) {
		return &apierror.Error{Kind: ssoadmin.ErrAccessDenied, Message: ae.Message}
	}
	return err
}

func decodeSSO[T any](c *call) (T, error) {
	var in T
	err := awsjson.Decode(c.body, &in)
	return in, err
}

type instanceOut struct {
	CreatedDate      awsjson.Epoch
	IdentityStoreArn string
	IdentityStoreId  string
	InstanceArn      string
	Name             string `json:",omitempty"`
	OwnerAccountId   string
	PrimaryRegion    string
	Status           string
}

func (s *Server) instanceOut() instanceOut {
	i := s.d.SSOAdmin.Instance
	return instanceOut{CreatedDate: awsjson.Epoch(i.CreatedDate), IdentityStoreArn: i.IdentityStoreArn(), IdentityStoreId: i.IdentityStoreID,
		InstanceArn: i.InstanceArn, Name: i.Name, OwnerAccountId: i.OwnerAccountID, PrimaryRegion: s.d.Region, Status: "ACTIVE"}
}

func (s *Server) listInstances(c *call) (any, error) {
	in, err := decodeSSO[struct {
		MaxResults *int32
		NextToken  *string
	}](c)
	if err != nil {
		return nil, err
	}
	var v validation.Collector
	if in.MaxResults != nil {
		v.Range("maxResults", int64(*in.MaxResults), 1, 100)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if in.NextToken != nil && *in.NextToken != "" {
		return nil, validation.Newf("Invalid nextToken provided.")
	}
	if err := s.authorizeSSO(c, "*"); err != nil {
		return nil, err
	}
	out := []instanceOut{}
	// Only the owner account sees the instance (a member account would
	// see an account instance of its own, which it has none of).
	if c.principal.Account == s.d.SSOAdmin.Instance.OwnerAccountID {
		out = append(out, s.instanceOut())
	}
	return map[string]any{"Instances": out}, nil
}

func (s *Server) describeInstance(c *call) (any, error) {
	in, err := decodeSSO[struct{ InstanceArn *string }](c)
	if err != nil {
		return nil, err
	}
	var v validation.Collector
	ssoadmin.CheckInstanceArn(&v, "instanceArn", in.InstanceArn)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := s.authorizeSSO(c, *in.InstanceArn); err != nil {
		return nil, err
	}
	if err := s.d.SSOAdmin.CheckInstance(*in.InstanceArn); err != nil {
		return nil, err
	}
	return s.instanceOut(), nil
}

type providerOut struct {
	ApplicationProviderArn string
	DisplayData            map[string]string
	FederationProtocol     string
	ResourceServerConfig   *resourceServerConfig `json:",omitempty"`
}

type resourceServerConfig struct {
	Scopes map[string]map[string]string
}

func (s *Server) listApplicationProviders(c *call) (any, error) {
	in, err := decodeSSO[struct {
		MaxResults *int32
		NextToken  *string
	}](c)
	if err != nil {
		return nil, err
	}
	var v validation.Collector
	if in.MaxResults != nil {
		v.Range("maxResults", int64(*in.MaxResults), 1, 100)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if in.NextToken != nil && *in.NextToken != "" {
		return nil, validation.Newf("Invalid nextToken provided.")
	}
	if err := s.authorizeSSO(c, "*"); err != nil {
		return nil, err
	}
	out := []providerOut{}
	for _, p := range ssoadmin.Providers {
		po := providerOut{ApplicationProviderArn: p.ApplicationProviderArn, FederationProtocol: p.FederationProtocol,
			DisplayData: map[string]string{"DisplayName": p.DisplayName, "Description": p.Description}}
		if len(p.Scopes) > 0 {
			po.ResourceServerConfig = &resourceServerConfig{Scopes: map[string]map[string]string{}}
			for sc, title := range p.Scopes {
				po.ResourceServerConfig.Scopes[sc] = map[string]string{"DetailedTitle": title}
			}
		}
		out = append(out, po)
	}
	// All fit on one page of the largest size; a smaller page is honoured.
	if in.MaxResults != nil && int(*in.MaxResults) < len(out) {
		out = out[:*in.MaxResults]
	}
	return map[string]any{"ApplicationProviders": out}, nil
}

type applicationOut struct {
	ApplicationAccount     string
	ApplicationArn         string
	ApplicationProviderArn string
	CreatedDate            awsjson.Epoch
	Description            string `json:",omitempty"`
	IdentityStoreArn       string
	InstanceArn            string
	Name                   string
	PortalOptions          *ssoadmin.PortalOptions `json:",omitempty"`
	Status                 string
}

func appOut(a ssoadmin.Application) applicationOut {
	return applicationOut{ApplicationAccount: a.ApplicationAccount, ApplicationArn: a.ApplicationArn, ApplicationProviderArn: a.ApplicationProviderArn,
		CreatedDate: awsjson.Epoch(a.CreatedDate), Description: a.Description, IdentityStoreArn: a.IdentityStoreArn, InstanceArn: a.InstanceArn,
		Name: a.Name, PortalOptions: a.PortalOptions, Status: a.Status}
}

func (s *Server) createApplication(c *call) (any, error) {
	in, err := decodeSSO[ssoadmin.CreateApplicationInput](c)
	if err != nil {
		return nil, err
	}
	if in.InstanceArn != nil {
		if err := s.authorizeSSO(c, *in.InstanceArn); err != nil {
			return nil, err
		}
	}
	app, err := s.d.SSOAdmin.CreateApplication(c.ctx, in)
	if err != nil {
		return nil, err
	}
	return map[string]string{"ApplicationArn": app.ApplicationArn, "IdentityStoreArn": app.IdentityStoreArn, "InstanceArn": app.InstanceArn}, nil
}

type appArnInput struct{ ApplicationArn *string }

// appInput decodes an input naming an application, validates the ARN and
// authorizes on it.
func appInput[T any](s *Server, c *call, arn func(*T) *string) (T, error) {
	in, err := decodeSSO[T](c)
	if err != nil {
		return in, err
	}
	var v validation.Collector
	ssoadmin.CheckApplicationArn(&v, "applicationArn", arn(&in))
	if err := v.Err(); err != nil {
		return in, err
	}
	return in, s.authorizeSSO(c, *arn(&in))
}

func (s *Server) describeApplication(c *call) (any, error) {
	in, err := appInput(s, c, func(in *appArnInput) *string { return in.ApplicationArn })
	if err != nil {
		return nil, err
	}
	app, err := s.d.SSOAdmin.Application(c.ctx, *in.ApplicationArn)
	if err != nil {
		return nil, err
	}
	return appOut(app), nil
}

func (s *Server) listApplications(c *call) (any, error) {
	in, err := decodeSSO[ssoadmin.ListApplicationsInput](c)
	if err != nil {
		return nil, err
	}
	if in.InstanceArn != nil {
		if err := s.authorizeSSO(c, *in.InstanceArn); err != nil {
			return nil, err
		}
	}
	apps, next, err := s.d.SSOAdmin.ListApplications(c.ctx, in)
	if err != nil {
		return nil, err
	}
	out := make([]applicationOut, 0, len(apps))
	for _, a := range apps {
		out = append(out, appOut(a))
	}
	return struct {
		Applications []applicationOut
		NextToken    *string `json:",omitempty"`
	}{out, next}, nil
}

func (s *Server) updateApplication(c *call) (any, error) {
	in, err := appInput(s, c, func(in *ssoadmin.UpdateApplicationInput) *string { return in.ApplicationArn })
	if err != nil {
		return nil, err
	}
	return struct{}{}, s.d.SSOAdmin.UpdateApplication(c.ctx, in)
}

func (s *Server) deleteApplication(c *call) (any, error) {
	in, err := appInput(s, c, func(in *appArnInput) *string { return in.ApplicationArn })
	if err != nil {
		return nil, err
	}
	return struct{}{}, s.d.SSOAdmin.DeleteApplication(c.ctx, *in.ApplicationArn)
}

type grantTypeInput struct {
	ApplicationArn *string
	GrantType      *string
}

func (s *Server) putApplicationGrant(c *call) (any, error) {
	in, err := appInput(s, c, func(in *ssoadmin.PutApplicationGrantInput) *string { return in.ApplicationArn })
	if err != nil {
		return nil, err
	}
	return struct{}{}, s.d.SSOAdmin.PutApplicationGrant(c.ctx, in)
}

func (s *Server) getApplicationGrant(c *call) (any, error) {
	in, err := appInput(s, c, func(in *grantTypeInput) *string { return in.ApplicationArn })
	if err != nil {
		return nil, err
	}
	g, err := s.d.SSOAdmin.GetApplicationGrant(c.ctx, in.ApplicationArn, in.GrantType)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Grant": g.Union(*in.GrantType)}, nil
}

func (s *Server) listApplicationGrants(c *call) (any, error) {
	in, err := appInput(s, c, func(in *struct {
		ApplicationArn *string
		NextToken      *string
	}) *string {
		return in.ApplicationArn
	})
	if err != nil {
		return nil, err
	}
	items, err := s.d.SSOAdmin.ListApplicationGrants(c.ctx, in.ApplicationArn, in.NextToken)
	if err != nil {
		return nil, err
	}
	type item struct {
		GrantType string
		Grant     ssoadmin.GrantUnion
	}
	out := make([]item, 0, len(items))
	for _, it := range items {
		out = append(out, item{GrantType: it.GrantType, Grant: it.Grant.Union(it.GrantType)})
	}
	return map[string]any{"Grants": out}, nil
}

func (s *Server) deleteApplicationGrant(c *call) (any, error) {
	in, err := appInput(s, c, func(in *grantTypeInput) *string { return in.ApplicationArn })
	if err != nil {
		return nil, err
	}
	return struct{}{}, s.d.SSOAdmin.DeleteApplicationGrant(c.ctx, in.ApplicationArn, in.GrantType)
}

type scopeInput struct {
	ApplicationArn    *string
	Scope             *string
	AuthorizedTargets []string
}

func (s *Server) putApplicationAccessScope(c *call) (any, error) {
	in, err := appInput(s, c, func(in *scopeInput) *string { return in.ApplicationArn })
	if err != nil {
		return nil, err
	}
	return struct{}{}, s.d.SSOAdmin.PutApplicationAccessScope(c.ctx, in.ApplicationArn, in.Scope, in.AuthorizedTargets)
}

func (s *Server) getApplicationAccessScope(c *call) (any, error) {
	in, err := appInput(s, c, func(in *scopeInput) *string { return in.ApplicationArn })
	if err != nil {
		return nil, err
	}
	return s.d.SSOAdmin.GetApplicationAccessScope(c.ctx, in.ApplicationArn, in.Scope)
}

type pagedAppInput struct {
	ApplicationArn *string
	MaxResults     *int32
	NextToken      *string
}

func (s *Server) listApplicationAccessScopes(c *call) (any, error) {
	in, err := appInput(s, c, func(in *pagedAppInput) *string { return in.ApplicationArn })
	if err != nil {
		return nil, err
	}
	scopes, next, err := s.d.SSOAdmin.ListApplicationAccessScopes(c.ctx, in.ApplicationArn, ssoadmin.Page{MaxResults: in.MaxResults, NextToken: in.NextToken})
	if err != nil {
		return nil, err
	}
	return struct {
		Scopes    []ssoadmin.ScopeDetails
		NextToken *string `json:",omitempty"`
	}{scopes, next}, nil
}

func (s *Server) deleteApplicationAccessScope(c *call) (any, error) {
	in, err := appInput(s, c, func(in *scopeInput) *string { return in.ApplicationArn })
	if err != nil {
		return nil, err
	}
	return struct{}{}, s.d.SSOAdmin.DeleteApplicationAccessScope(c.ctx, in.ApplicationArn, in.Scope)
}

type methodInput struct {
	ApplicationArn           *string
	AuthenticationMethodType *string
	AuthenticationMethod     *ssoadmin.AuthenticationMethodUnion
}

func methodUnion(m ssoadmin.AuthenticationMethod) map[string]any {
	return map[string]any{"Iam": map[string]json.RawMessage{"ActorPolicy": m.ActorPolicy}}
}

func (s *Server) putApplicationAuthenticationMethod(c *call) (any, error) {
	in, err := appInput(s, c, func(in *methodInput) *string { return in.ApplicationArn })
	if err != nil {
		return nil, err
	}
	return struct{}{}, s.d.SSOAdmin.PutApplicationAuthenticationMethod(c.ctx, in.ApplicationArn, in.AuthenticationMethodType, in.AuthenticationMethod)
}

func (s *Server) getApplicationAuthenticationMethod(c *call) (any, error) {
	in, err := appInput(s, c, func(in *methodInput) *string { return in.ApplicationArn })
	if err != nil {
		return nil, err
	}
	m, err := s.d.SSOAdmin.GetApplicationAuthenticationMethod(c.ctx, in.ApplicationArn, in.AuthenticationMethodType)
	if err != nil {
		return nil, err
	}
	return map[string]any{"AuthenticationMethod": methodUnion(m)}, nil
}

func (s *Server) listApplicationAuthenticationMethods(c *call) (any, error) {
	in, err := appInput(s, c, func(in *pagedAppInput) *string { return in.ApplicationArn })
	if err != nil {
		return nil, err
	}
	ms, err := s.d.SSOAdmin.ListApplicationAuthenticationMethods(c.ctx, in.ApplicationArn, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, t := range slices.Sorted(maps.Keys(ms)) {
		out = append(out, map[string]any{"AuthenticationMethodType": t, "AuthenticationMethod": methodUnion(ms[t])})
	}
	return map[string]any{"AuthenticationMethods": out}, nil
}

func (s *Server) deleteApplicationAuthenticationMethod(c *call) (any, error) {
	in, err := appInput(s, c, func(in *methodInput) *string { return in.ApplicationArn })
	if err != nil {
		return nil, err
	}
	return struct{}{}, s.d.SSOAdmin.DeleteApplicationAuthenticationMethod(c.ctx, in.ApplicationArn, in.AuthenticationMethodType)
}

type assignmentConfigInput struct {
	ApplicationArn     *string
	AssignmentRequired *bool
}

func (s *Server) putApplicationAssignmentConfiguration(c *call) (any, error) {
	in, err := appInput(s, c, func(in *assignmentConfigInput) *string { return in.ApplicationArn })
	if err != nil {
		return nil, err
	}
	return struct{}{}, s.d.SSOAdmin.PutApplicationAssignmentConfiguration(c.ctx, in.ApplicationArn, in.AssignmentRequired)
}

func (s *Server) getApplicationAssignmentConfiguration(c *call) (any, error) {
	in, err := appInput(s, c, func(in *assignmentConfigInput) *string { return in.ApplicationArn })
	if err != nil {
		return nil, err
	}
	req, err := s.d.SSOAdmin.GetApplicationAssignmentConfiguration(c.ctx, in.ApplicationArn)
	if err != nil {
		return nil, err
	}
	return map[string]bool{"AssignmentRequired": req}, nil
}

type assignmentOut struct {
	ApplicationArn string
	PrincipalId    string
	PrincipalType  string
}

func assignmentsOut(as []ssoadmin.Assignment) []assignmentOut {
	out := make([]assignmentOut, 0, len(as))
	for _, a := range as {
		out = append(out, assignmentOut{a.ApplicationArn, a.PrincipalId, a.PrincipalType})
	}
	return out
}

func (s *Server) createApplicationAssignment(c *call) (any, error) {
	in, err := appInput(s, c, func(in *ssoadmin.AssignmentInput) *string { return in.ApplicationArn })
	if err != nil {
		return nil, err
	}
	return struct{}{}, s.d.SSOAdmin.CreateApplicationAssignment(c.ctx, in)
}

func (s *Server) describeApplicationAssignment(c *call) (any, error) {
	in, err := appInput(s, c, func(in *ssoadmin.AssignmentInput) *string { return in.ApplicationArn })
	if err != nil {
		return nil, err
	}
	a, err := s.d.SSOAdmin.DescribeApplicationAssignment(c.ctx, in)
	if err != nil {
		return nil, err
	}
	return assignmentOut{a.ApplicationArn, a.PrincipalId, a.PrincipalType}, nil
}

func (s *Server) deleteApplicationAssignment(c *call) (any, error) {
	in, err := appInput(s, c, func(in *ssoadmin.AssignmentInput) *string { return in.ApplicationArn })
	if err != nil {
		return nil, err
	}
	return struct{}{}, s.d.SSOAdmin.DeleteApplicationAssignment(c.ctx, in)
}

type assignmentsPage struct {
	ApplicationAssignments []assignmentOut
	NextToken              *string `json:",omitempty"`
}

func (s *Server) listApplicationAssignments(c *call) (any, error) {
	in, err := appInput(s, c, func(in *pagedAppInput) *string { return in.ApplicationArn })
	if err != nil {
		return nil, err
	}
	as, next, err := s.d.SSOAdmin.ListApplicationAssignments(c.ctx, in.ApplicationArn, ssoadmin.Page{MaxResults: in.MaxResults, NextToken: in.NextToken})
	if err != nil {
		return nil, err
	}
	return assignmentsPage{assignmentsOut(as), next}, nil
}

func (s *Server) listApplicationAssignmentsForPrincipal(c *call) (any, error) {
	in, err := decodeSSO[ssoadmin.ListForPrincipalInput](c)
	if err != nil {
		return nil, err
	}
	if in.InstanceArn != nil {
		if err := s.authorizeSSO(c, *in.InstanceArn); err != nil {
			return nil, err
		}
	}
	as, next, err := s.d.SSOAdmin.ListApplicationAssignmentsForPrincipal(c.ctx, in)
	if err != nil {
		return nil, err
	}
	return assignmentsPage{assignmentsOut(as), next}, nil
}

func (s *Server) createTrustedTokenIssuer(c *call) (any, error) {
	in, err := decodeSSO[ssoadmin.CreateTrustedTokenIssuerInput](c)
	if err != nil {
		return nil, err
	}
	if in.InstanceArn != nil {
		if err := s.authorizeSSO(c, *in.InstanceArn); err != nil {
			return nil, err
		}
	}
	t, err := s.d.SSOAdmin.CreateTrustedTokenIssuer(c.ctx, in)
	if err != nil {
		return nil, err
	}
	return map[string]string{"TrustedTokenIssuerArn": t.TrustedTokenIssuerArn}, nil
}

type ttiArnInput struct{ TrustedTokenIssuerArn *string }

// ttiInput decodes an input naming a trusted token issuer, validates the
// ARN and authorizes on it.
func ttiInput[T any](s *Server, c *call, arn func(*T) *string) (T, error) {
	in, err := decodeSSO[T](c)
	if err != nil {
		return in, err
	}
	var v validation.Collector
	ssoadmin.CheckTTIArn(&v, arn(&in))
	if err := v.Err(); err != nil {
		return in, err
	}
	return in, s.authorizeSSO(c, *arn(&in))
}

func (s *Server) describeTrustedTokenIssuer(c *call) (any, error) {
	in, err := ttiInput(s, c, func(in *ttiArnInput) *string { return in.TrustedTokenIssuerArn })
	if err != nil {
		return nil, err
	}
	t, err := s.d.SSOAdmin.DescribeTrustedTokenIssuer(c.ctx, in.TrustedTokenIssuerArn)
	if err != nil {
		return nil, err
	}
	return struct {
		Name                            string
		TrustedTokenIssuerArn           string
		TrustedTokenIssuerType          string
		TrustedTokenIssuerConfiguration ssoadmin.TrustedTokenIssuerConfiguration
	}{t.Name, t.TrustedTokenIssuerArn, t.TrustedTokenIssuerType, t.Configuration()}, nil
}

func (s *Server) listTrustedTokenIssuers(c *call) (any, error) {
	in, err := decodeSSO[struct {
		InstanceArn *string
		MaxResults  *int32
		NextToken   *string
	}](c)
	if err != nil {
		return nil, err
	}
	if in.InstanceArn != nil {
		if err := s.authorizeSSO(c, *in.InstanceArn); err != nil {
			return nil, err
		}
	}
	ts, next, err := s.d.SSOAdmin.ListTrustedTokenIssuers(c.ctx, in.InstanceArn, ssoadmin.Page{MaxResults: in.MaxResults, NextToken: in.NextToken})
	if err != nil {
		return nil, err
	}
	type meta struct {
		Name                   string
		TrustedTokenIssuerArn  string
		TrustedTokenIssuerType string
	}
	out := make([]meta, 0, len(ts))
	for _, t := range ts {
		out = append(out, meta{t.Name, t.TrustedTokenIssuerArn, t.TrustedTokenIssuerType})
	}
	return struct {
		TrustedTokenIssuers []meta
		NextToken           *string `json:",omitempty"`
	}{out, next}, nil
}

func (s *Server) updateTrustedTokenIssuer(c *call) (any, error) {
	in, err := ttiInput(s, c, func(in *ssoadmin.UpdateTrustedTokenIssuerInput) *string { return in.TrustedTokenIssuerArn })
	if err != nil {
		return nil, err
	}
	return struct{}{}, s.d.SSOAdmin.UpdateTrustedTokenIssuer(c.ctx, in)
}

func (s *Server) deleteTrustedTokenIssuer(c *call) (any, error) {
	in, err := ttiInput(s, c, func(in *ttiArnInput) *string { return in.TrustedTokenIssuerArn })
	if err != nil {
		return nil, err
	}
	return struct{}{}, s.d.SSOAdmin.DeleteTrustedTokenIssuer(c.ctx, in.TrustedTokenIssuerArn)
}
