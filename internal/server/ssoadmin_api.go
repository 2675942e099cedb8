package server

import (
	"context"
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
var ssoAdminOps = opTable[handler]{unknown: ssoAdminUnknown, before: ssoAdminServed, ops: map[string]handler{
	"ListInstances":            (*Server).listInstances,
	"DescribeInstance":         (*Server).describeInstance,
	"ListApplicationProviders": (*Server).listApplicationProviders,

	"CreateApplication": onInstance(func(in *ssoadmin.CreateApplicationInput) *string { return in.InstanceArn }, createApplication),
	"DescribeApplication": onAppInput(func(sso *ssoadmin.Service, ctx context.Context, in appArnInput) (any, error) {
		app, err := sso.Application(ctx, *in.ApplicationArn)
		return ssoAnswer(app, err, appOut)
	}),
	"ListApplications":  onInstance(func(in *ssoadmin.ListApplicationsInput) *string { return in.InstanceArn }, listApplications),
	"UpdateApplication": onApp(func(in *ssoadmin.UpdateApplicationInput) *string { return in.ApplicationArn }, ssoDone((*ssoadmin.Service).UpdateApplication)),
	"DeleteApplication": onAppInput(func(sso *ssoadmin.Service, ctx context.Context, in appArnInput) (any, error) {
		return struct{}{}, sso.DeleteApplication(ctx, *in.ApplicationArn)
	}),

	"PutApplicationGrant": onApp(func(in *ssoadmin.PutApplicationGrantInput) *string { return in.ApplicationArn }, ssoDone((*ssoadmin.Service).PutApplicationGrant)),
	"GetApplicationGrant": onAppInput(func(sso *ssoadmin.Service, ctx context.Context, in grantTypeInput) (any, error) {
		g, err := sso.GetApplicationGrant(ctx, in.ApplicationArn, in.GrantType)
		return ssoAnswer(g, err, func(g ssoadmin.Grant) any { return map[string]any{"Grant": g.Union(*in.GrantType)} })
	}),
	"ListApplicationGrants": onAppInput(listApplicationGrants),
	"DeleteApplicationGrant": onAppInput(func(sso *ssoadmin.Service, ctx context.Context, in grantTypeInput) (any, error) {
		return struct{}{}, sso.DeleteApplicationGrant(ctx, in.ApplicationArn, in.GrantType)
	}),

	"PutApplicationAccessScope": onAppInput(func(sso *ssoadmin.Service, ctx context.Context, in scopeInput) (any, error) {
		return struct{}{}, sso.PutApplicationAccessScope(ctx, in.ApplicationArn, in.Scope, in.AuthorizedTargets)
	}),
	"GetApplicationAccessScope": onAppInput(func(sso *ssoadmin.Service, ctx context.Context, in scopeInput) (any, error) {
		return sso.GetApplicationAccessScope(ctx, in.ApplicationArn, in.Scope)
	}),
	"ListApplicationAccessScopes": onAppInput(func(sso *ssoadmin.Service, ctx context.Context, in pagedAppInput) (any, error) {
		scopes, next, err := sso.ListApplicationAccessScopes(ctx, in.ApplicationArn, in.page())
		return ssoPage(scopes, next, err, func(scopes []ssoadmin.ScopeDetails, next *string) any {
			return struct {
				Scopes    []ssoadmin.ScopeDetails
				NextToken *string `json:",omitempty"`
			}{scopes, next}
		})
	}),
	"DeleteApplicationAccessScope": onAppInput(func(sso *ssoadmin.Service, ctx context.Context, in scopeInput) (any, error) {
		return struct{}{}, sso.DeleteApplicationAccessScope(ctx, in.ApplicationArn, in.Scope)
	}),

	"PutApplicationAuthenticationMethod": onAppInput(func(sso *ssoadmin.Service, ctx context.Context, in methodInput) (any, error) {
		return struct{}{}, sso.PutApplicationAuthenticationMethod(ctx, in.ApplicationArn, in.AuthenticationMethodType, in.AuthenticationMethod)
	}),
	"GetApplicationAuthenticationMethod": onAppInput(func(sso *ssoadmin.Service, ctx context.Context, in methodInput) (any, error) {
		m, err := sso.GetApplicationAuthenticationMethod(ctx, in.ApplicationArn, in.AuthenticationMethodType)
		return ssoAnswer(m, err, func(m ssoadmin.AuthenticationMethod) any {
			return map[string]any{"AuthenticationMethod": methodUnion(m)}
		})
	}),
	"ListApplicationAuthenticationMethods": onAppInput(listApplicationAuthenticationMethods),
	"DeleteApplicationAuthenticationMethod": onAppInput(func(sso *ssoadmin.Service, ctx context.Context, in methodInput) (any, error) {
		return struct{}{}, sso.DeleteApplicationAuthenticationMethod(ctx, in.ApplicationArn, in.AuthenticationMethodType)
	}),

	"PutApplicationAssignmentConfiguration": onAppInput(func(sso *ssoadmin.Service, ctx context.Context, in assignmentConfigInput) (any, error) {
		return struct{}{}, sso.PutApplicationAssignmentConfiguration(ctx, in.ApplicationArn, in.AssignmentRequired)
	}),
	"GetApplicationAssignmentConfiguration": onAppInput(func(sso *ssoadmin.Service, ctx context.Context, in assignmentConfigInput) (any, error) {
		required, err := sso.GetApplicationAssignmentConfiguration(ctx, in.ApplicationArn)
		return ssoAnswer(required, err, func(required bool) any { return map[string]bool{"AssignmentRequired": required} })
	}),

	"CreateApplicationAssignment": onApp(func(in *ssoadmin.AssignmentInput) *string { return in.ApplicationArn }, ssoDone((*ssoadmin.Service).CreateApplicationAssignment)),
	"DescribeApplicationAssignment": onApp(func(in *ssoadmin.AssignmentInput) *string { return in.ApplicationArn },
		func(sso *ssoadmin.Service, ctx context.Context, in ssoadmin.AssignmentInput) (any, error) {
			a, err := sso.DescribeApplicationAssignment(ctx, in)
			return ssoAnswer(a, err, wireAssignment)
		}),
	"DeleteApplicationAssignment": onApp(func(in *ssoadmin.AssignmentInput) *string { return in.ApplicationArn }, ssoDone((*ssoadmin.Service).DeleteApplicationAssignment)),
	"ListApplicationAssignments": onAppInput(func(sso *ssoadmin.Service, ctx context.Context, in pagedAppInput) (any, error) {
		as, next, err := sso.ListApplicationAssignments(ctx, in.ApplicationArn, in.page())
		return ssoPage(as, next, err, assignmentsPage)
	}),
	"ListApplicationAssignmentsForPrincipal": onInstance(func(in *ssoadmin.ListForPrincipalInput) *string { return in.InstanceArn },
		func(sso *ssoadmin.Service, ctx context.Context, in ssoadmin.ListForPrincipalInput) (any, error) {
			as, next, err := sso.ListApplicationAssignmentsForPrincipal(ctx, in)
			return ssoPage(as, next, err, assignmentsPage)
		}),

	"CreateTrustedTokenIssuer": onInstance(func(in *ssoadmin.CreateTrustedTokenIssuerInput) *string { return in.InstanceArn },
		func(sso *ssoadmin.Service, ctx context.Context, in ssoadmin.CreateTrustedTokenIssuerInput) (any, error) {
			t, err := sso.CreateTrustedTokenIssuer(ctx, in)
			return ssoAnswer(t, err, func(t ssoadmin.TrustedTokenIssuer) any {
				return map[string]string{"TrustedTokenIssuerArn": t.TrustedTokenIssuerArn}
			})
		}),
	"DescribeTrustedTokenIssuer": onTTI(func(in *ttiArnInput) *string { return in.TrustedTokenIssuerArn }, describeTrustedTokenIssuer),
	"ListTrustedTokenIssuers":    onInstance(func(in *pagedInstanceInput) *string { return in.InstanceArn }, listTrustedTokenIssuers),
	"UpdateTrustedTokenIssuer":   onTTI(func(in *ssoadmin.UpdateTrustedTokenIssuerInput) *string { return in.TrustedTokenIssuerArn }, ssoDone((*ssoadmin.Service).UpdateTrustedTokenIssuer)),
	"DeleteTrustedTokenIssuer": onTTI(func(in *ttiArnInput) *string { return in.TrustedTokenIssuerArn },
		func(sso *ssoadmin.Service, ctx context.Context, in ttiArnInput) (any, error) {
			return struct{}{}, sso.DeleteTrustedTokenIssuer(ctx, in.TrustedTokenIssuerArn)
		}),
}}

func (s *Server) serveSSOAdmin(c *call) (any, error) { return serveOp(s, c, ssoAdminOps) }

var ssoAdminUnknown = notServedBy("SSO Admin")

// ssoAdminServed: without an instance no operation is served.
func ssoAdminServed(s *Server, c *call) error {
	if s.d.SSOAdmin == nil {
		return protocol.Errorf(protocol.ErrUnknownOperation, ssoAdminUnknown(c.op))
	}
	return nil
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

// ssoOp is an operation's work once its input is decoded and authorized:
// the domain call and the wire form of its answer.
type ssoOp[In any] func(sso *ssoadmin.Service, ctx context.Context, in In) (any, error)

// onSSOResource is an operation on the resource an ARN member of its
// input names (arn): the input is decoded, the ARN checked (check; nil
// where the member is optional and the domain checks it) and sso:<Op>
// authorized on it when given, then do runs.
func onSSOResource[In any](check func(*validation.Collector, *string) bool, arn func(*In) *string, do ssoOp[In]) handler {
	return func(s *Server, c *call) (any, error) {
		var in In
		if err := decodeValid(c, &in, func(v *validation.Collector) {
			if check != nil {
				check(v, arn(&in))
			}
		}); err != nil {
			return nil, err
		}
		// A checked ARN is present, so a checked operation always authorizes.
		if a := arn(&in); a != nil {
			if err := s.authorizeSSO(c, *a); err != nil {
				return nil, err
			}
		}
		return do(s.d.SSOAdmin, c.ctx, in)
	}
}

// onApp is an operation on one application.
func onApp[In any](arn func(*In) *string, do ssoOp[In]) handler {
	return onSSOResource(func(v *validation.Collector, arn *string) bool {
		return ssoadmin.CheckApplicationArn(v, "applicationArn", arn)
	}, arn, do)
}

// onAppInput is onApp for an input with an appArn method.
func onAppInput[In any, P interface {
	*In
	appArn() *string
}](do ssoOp[In]) handler {
	return onApp(func(in *In) *string { return P(in).appArn() }, do)
}

// onTTI is an operation on one trusted token issuer.
func onTTI[In any](arn func(*In) *string, do ssoOp[In]) handler {
	return onSSOResource(ssoadmin.CheckTTIArn, arn, do)
}

// onInstance is an operation in the instance: an InstanceArn given is
// authorized on before the domain checks it (and requires it).
func onInstance[In any](arn func(*In) *string, do ssoOp[In]) handler {
	return onSSOResource(nil, arn, do)
}

// ssoDone is the ssoOp of a domain call that answers nothing on success.
func ssoDone[In any](call func(*ssoadmin.Service, context.Context, In) error) ssoOp[In] {
	return func(sso *ssoadmin.Service, ctx context.Context, in In) (any, error) {
		return struct{}{}, call(sso, ctx, in)
	}
}

// ssoAnswer is a domain call's result in its wire form, or its error.
func ssoAnswer[R, W any](r R, err error, wire func(R) W) (any, error) {
	if err != nil {
		return nil, err
	}
	return wire(r), nil
}

// ssoPage is a paged domain call's result in its wire form, or its error.
func ssoPage[R, W any](items []R, next *string, err error, wire func([]R, *string) W) (any, error) {
	if err != nil {
		return nil, err
	}
	return wire(items, next), nil
}

// onePageInput is the input of a list that is always one page: a page
// size is checked (and may be honoured), any next token is invalid.
type onePageInput struct {
	MaxResults *int32
	NextToken  *string
}

// decodeOnePage decodes and checks a one-page list's input and authorizes
// sso:<Op> on "*" (no resource scopes these lists).
func (s *Server) decodeOnePage(c *call) (onePageInput, error) {
	var in onePageInput
	if err := decodeValid(c, &in, func(v *validation.Collector) {
		if in.MaxResults != nil {
			v.Range("maxResults", int64(*in.MaxResults), 1, 100)
		}
	}); err != nil {
		return in, err
	}
	if in.NextToken != nil && *in.NextToken != "" {
		return in, validation.Newf("Invalid nextToken provided.")
	}
	return in, s.authorizeSSO(c, "*")
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
	if _, err := s.decodeOnePage(c); err != nil {
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
	var in struct{ InstanceArn *string }
	if err := decodeValid(c, &in, func(v *validation.Collector) { ssoadmin.CheckInstanceArn(v, "instanceArn", in.InstanceArn) }); err != nil {
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
	in, err := s.decodeOnePage(c)
	if err != nil {
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

func createApplication(sso *ssoadmin.Service, ctx context.Context, in ssoadmin.CreateApplicationInput) (any, error) {
	app, err := sso.CreateApplication(ctx, in)
	return ssoAnswer(app, err, func(app ssoadmin.Application) any {
		return map[string]string{"ApplicationArn": app.ApplicationArn, "IdentityStoreArn": app.IdentityStoreArn, "InstanceArn": app.InstanceArn}
	})
}

func listApplications(sso *ssoadmin.Service, ctx context.Context, in ssoadmin.ListApplicationsInput) (any, error) {
	apps, next, err := sso.ListApplications(ctx, in)
	return ssoPage(apps, next, err, func(apps []ssoadmin.Application, next *string) any {
		return struct {
			Applications []applicationOut
			NextToken    *string `json:",omitempty"`
		}{wireAll(apps, appOut), next}
	})
}

type appArnInput struct{ ApplicationArn *string }

// appArn is the ApplicationArn member of an input about one application,
// which onAppInput reads. (Each input has the member of its own: one
// embedded would be named by its type in a decoding error's path.)
func (in *appArnInput) appArn() *string           { return in.ApplicationArn }
func (in *grantTypeInput) appArn() *string        { return in.ApplicationArn }
func (in *grantsPageInput) appArn() *string       { return in.ApplicationArn }
func (in *scopeInput) appArn() *string            { return in.ApplicationArn }
func (in *pagedAppInput) appArn() *string         { return in.ApplicationArn }
func (in *methodInput) appArn() *string           { return in.ApplicationArn }
func (in *assignmentConfigInput) appArn() *string { return in.ApplicationArn }

// pagedAppInput is a paged list's input about one application.
type pagedAppInput struct {
	ApplicationArn *string
	MaxResults     *int32
	NextToken      *string
}

func (in pagedAppInput) page() ssoadmin.Page {
	return ssoadmin.Page{MaxResults: in.MaxResults, NextToken: in.NextToken}
}

type grantTypeInput struct {
	ApplicationArn *string
	GrantType      *string
}

// grantsPageInput is ListApplicationGrants' input (it has no MaxResults).
type grantsPageInput struct {
	ApplicationArn *string
	NextToken      *string
}

func listApplicationGrants(sso *ssoadmin.Service, ctx context.Context, in grantsPageInput) (any, error) {
	items, err := sso.ListApplicationGrants(ctx, in.ApplicationArn, in.NextToken)
	if err != nil {
		return nil, err
	}
	type item struct {
		GrantType string
		Grant     ssoadmin.GrantUnion
	}
	return map[string]any{"Grants": wireAll(items, func(it ssoadmin.GrantItem) item {
		return item{GrantType: it.GrantType, Grant: it.Grant.Union(it.GrantType)}
	})}, nil
}

type scopeInput struct {
	ApplicationArn    *string
	Scope             *string
	AuthorizedTargets []string
}

type methodInput struct {
	ApplicationArn           *string
	AuthenticationMethodType *string
	AuthenticationMethod     *ssoadmin.AuthenticationMethodUnion
}

func methodUnion(m ssoadmin.AuthenticationMethod) map[string]any {
	return map[string]any{"Iam": map[string]json.RawMessage{"ActorPolicy": m.ActorPolicy}}
}

func listApplicationAuthenticationMethods(sso *ssoadmin.Service, ctx context.Context, in pagedAppInput) (any, error) {
	ms, err := sso.ListApplicationAuthenticationMethods(ctx, in.ApplicationArn, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, t := range slices.Sorted(maps.Keys(ms)) {
		out = append(out, map[string]any{"AuthenticationMethodType": t, "AuthenticationMethod": methodUnion(ms[t])})
	}
	return map[string]any{"AuthenticationMethods": out}, nil
}

type assignmentConfigInput struct {
	ApplicationArn     *string
	AssignmentRequired *bool
}

type assignmentOut struct {
	ApplicationArn string
	PrincipalId    string
	PrincipalType  string
}

func assignmentsPage(as []ssoadmin.Assignment, next *string) any {
	return struct {
		ApplicationAssignments []assignmentOut
		NextToken              *string `json:",omitempty"`
	}{wireAll(as, wireAssignment), next}
}

func wireAssignment(a ssoadmin.Assignment) assignmentOut {
	return assignmentOut{a.ApplicationArn, a.PrincipalId, a.PrincipalType}
}

type ttiArnInput struct{ TrustedTokenIssuerArn *string }

func describeTrustedTokenIssuer(sso *ssoadmin.Service, ctx context.Context, in ttiArnInput) (any, error) {
	t, err := sso.DescribeTrustedTokenIssuer(ctx, in.TrustedTokenIssuerArn)
	return ssoAnswer(t, err, func(t ssoadmin.TrustedTokenIssuer) any {
		return struct {
			Name                            string
			TrustedTokenIssuerArn           string
			TrustedTokenIssuerType          string
			TrustedTokenIssuerConfiguration ssoadmin.TrustedTokenIssuerConfiguration
		}{t.Name, t.TrustedTokenIssuerArn, t.TrustedTokenIssuerType, t.Configuration()}
	})
}

// pagedInstanceInput is a paged list's input in the instance.
type pagedInstanceInput struct {
	InstanceArn *string
	MaxResults  *int32
	NextToken   *string
}

func listTrustedTokenIssuers(sso *ssoadmin.Service, ctx context.Context, in pagedInstanceInput) (any, error) {
	ts, next, err := sso.ListTrustedTokenIssuers(ctx, in.InstanceArn, ssoadmin.Page{MaxResults: in.MaxResults, NextToken: in.NextToken})
	return ssoPage(ts, next, err, func(ts []ssoadmin.TrustedTokenIssuer, next *string) any {
		type meta struct {
			Name                   string
			TrustedTokenIssuerArn  string
			TrustedTokenIssuerType string
		}
		return struct {
			TrustedTokenIssuers []meta
			NextToken           *string `json:",omitempty"`
		}{wireAll(ts, func(t ssoadmin.TrustedTokenIssuer) meta {
			return meta{t.Name, t.TrustedTokenIssuerArn, t.TrustedTokenIssuerType}
		}), next}
	})
}
