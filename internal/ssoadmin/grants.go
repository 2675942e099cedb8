package ssoadmin

import (
	"context"
	"encoding/json"
	"regexp"
	"sort"

	"github.com/idcgate/idcgate/internal/iam"
	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/validation"
)

// Grant types.
const (
	GrantJWTBearer         = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantTokenExchange     = "urn:ietf:params:oauth:grant-type:token-exchange"
)

// GrantTypes are the grant types in the model's order.
var GrantTypes = []string{GrantAuthorizationCode, GrantRefreshToken, GrantJWTBearer, GrantTokenExchange}

// AuthenticationMethodIAM is the one authentication method type.
const AuthenticationMethodIAM = "IAM"

// GrantUnion is the wire's Grant union: exactly one member, the one of
// the grant type.
type GrantUnion struct {
	AuthorizationCode *struct {
		RedirectUris []string
	} `json:",omitempty"`
	JwtBearer *struct {
		AuthorizedTokenIssuers []AuthorizedTokenIssuer
	} `json:",omitempty"`
	RefreshToken  *struct{} `json:",omitempty"`
	TokenExchange *struct{} `json:",omitempty"`
}

// Union is the grant in its wire form.
func (g Grant) Union(grantType string) GrantUnion {
	var u GrantUnion
	switch grantType {
	case GrantAuthorizationCode:
		u.AuthorizationCode = &struct{ RedirectUris []string }{RedirectUris: nonNil(g.RedirectUris)}
	case GrantJWTBearer:
		u.JwtBearer = &struct{ AuthorizedTokenIssuers []AuthorizedTokenIssuer }{AuthorizedTokenIssuers: g.AuthorizedTokenIssuers}
		if u.JwtBearer.AuthorizedTokenIssuers == nil {
			u.JwtBearer.AuthorizedTokenIssuers = []AuthorizedTokenIssuer{}
		}
	case GrantRefreshToken:
		u.RefreshToken = &struct{}{}
	case GrantTokenExchange:
		u.TokenExchange = &struct{}{}
	}
	return u
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// appMap describes one of an application's keyed maps (its grants,
// access scopes and authentication methods), so their Get, Delete and
// Put share one load, check and update.
type appMap[V any] struct {
	checkKey func(*validation.Collector, *string) bool
	field    func(*Application) *map[string]V
	missing  string // the not-found message, of the ARN and the key
}

var (
	appGrants  = appMap[Grant]{checkGrantType, func(a *Application) *map[string]Grant { return &a.Grants }, "Application %s has no %s grant."}
	appScopes  = appMap[[]string]{checkScope, func(a *Application) *map[string][]string { return &a.Scopes }, "Application %s has no access scope %s."}
	appMethods = appMap[AuthenticationMethod]{checkMethodType, func(a *Application) *map[string]AuthenticationMethod { return &a.AuthenticationMethods },
		"Application %s has no %s authentication method."}
)

// check validates the application ARN and the key.
func (m appMap[V]) check(arn, key *string) error {
	var v validation.Collector
	CheckApplicationArn(&v, "applicationArn", arn)
	m.checkKey(&v, key)
	return v.Err()
}

// get returns the application's entry of the key.
func (m appMap[V]) get(ctx context.Context, s *Service, arn, key *string) (V, error) {
	var zero V
	if err := m.check(arn, key); err != nil {
		return zero, err
	}
	app, err := s.Application(ctx, *arn)
	if err != nil {
		return zero, err
	}
	e, ok := (*m.field(&app))[*key]
	if !ok {
		return zero, errorf(ErrNotFound, m.missing, *arn, *key)
	}
	return e, nil
}

// set adds or replaces the entry of the key, making the map if need be.
func (m appMap[V]) set(app *Application, key string, e V) {
	f := m.field(app)
	if *f == nil {
		*f = map[string]V{}
	}
	(*f)[key] = e
}

// put sets the entry in a transaction (its input validated by the caller).
func (m appMap[V]) put(ctx context.Context, s *Service, arn, key string, e V) error {
	return s.updateApp(ctx, arn, func(_ store.Tx, app *Application) error {
		m.set(app, key, e)
		return nil
	})
}

// delete removes the application's entry of the key.
func (m appMap[V]) delete(ctx context.Context, s *Service, arn, key *string) error {
	if err := m.check(arn, key); err != nil {
		return err
	}
	return s.updateApp(ctx, *arn, func(_ store.Tx, app *Application) error {
		f := m.field(app)
		if _, ok := (*f)[*key]; !ok {
			return errorf(ErrNotFound, m.missing, *arn, *key)
		}
		delete(*f, *key)
		return nil
	})
}

// onePageApp validates a one-page list's input (any next token is
// invalid: the list never has a second page) and loads the application.
func (s *Service) onePageApp(ctx context.Context, arn, next *string) (Application, error) {
	if err := checkAppPage(arn, Page{NextToken: next}); err != nil {
		return Application{}, err
	}
	if next != nil && *next != "" {
		return Application{}, validation.Newf("Invalid nextToken provided.")
	}
	return s.Application(ctx, *arn)
}

func checkGrantType(v *validation.Collector, t *string) bool {
	if !v.Required("grantType", t != nil) {
		return false
	}
	return v.OneOf("grantType", *t, GrantTypes...)
}

// PutApplicationGrantInput is PutApplicationGrant's input.
type PutApplicationGrantInput struct {
	ApplicationArn *string
	GrantType      *string
	Grant          *GrantUnion
}

// PutApplicationGrant adds or replaces the application's grant of a type.
// A jwt-bearer grant's issuers must exist.
func (s *Service) PutApplicationGrant(ctx context.Context, in PutApplicationGrantInput) error {
	var v validation.Collector
	CheckApplicationArn(&v, "applicationArn", in.ApplicationArn)
	okType := checkGrantType(&v, in.GrantType)
	v.Required("grant", in.Grant != nil)
	var g Grant
	if okType && in.Grant != nil {
		u := in.Grant
		n := 0
		for _, set := range []bool{u.AuthorizationCode != nil, u.JwtBearer != nil, u.RefreshToken != nil, u.TokenExchange != nil} {
			if set {
				n++
			}
		}
		want := map[string]bool{GrantAuthorizationCode: u.AuthorizationCode != nil, GrantJWTBearer: u.JwtBearer != nil,
			GrantRefreshToken: u.RefreshToken != nil, GrantTokenExchange: u.TokenExchange != nil}[*in.GrantType]
		switch {
		case n != 1:
			return validation.Newf("Grant must have exactly one member set.")
		case !want:
			return validation.Newf("The grant does not match the grant type %s.", *in.GrantType)
		}
		switch {
		case u.AuthorizationCode != nil:
			if v.Items("grant.authorizationCode.redirectUris", u.AuthorizationCode.RedirectUris, 1, 10) {
				for _, uri := range u.AuthorizationCode.RedirectUris {
					v.Length("grant.authorizationCode.redirectUris.member", uri, 1, 2048)
				}
			}
			g.RedirectUris = u.AuthorizationCode.RedirectUris
		case u.JwtBearer != nil:
			issuers := u.JwtBearer.AuthorizedTokenIssuers
			switch {
			case len(issuers) < 1:
				v.Add("grant.jwtBearer.authorizedTokenIssuers", "[]", "Member must have length greater than or equal to 1")
			case len(issuers) > 10:
				v.Add("grant.jwtBearer.authorizedTokenIssuers", "[...]", "Member must have length less than or equal to 10")
			}
			for _, t := range issuers {
				checkTTIArn(&v, "grant.jwtBearer.authorizedTokenIssuers.member.trustedTokenIssuerArn", t.TrustedTokenIssuerArn)
				if v.Items("grant.jwtBearer.authorizedTokenIssuers.member.authorizedAudiences", t.AuthorizedAudiences, 1, 10) {
					for _, a := range t.AuthorizedAudiences {
						v.Length("grant.jwtBearer.authorizedTokenIssuers.member.authorizedAudiences.member", a, 1, 512)
					}
				}
			}
			g.AuthorizedTokenIssuers = issuers
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	return s.updateApp(ctx, *in.ApplicationArn, func(tx store.Tx, app *Application) error {
		for _, t := range g.AuthorizedTokenIssuers {
			if _, err := s.getTTI(tx, *t.TrustedTokenIssuerArn); err != nil {
				return err
			}
		}
		appGrants.set(app, *in.GrantType, g)
		return nil
	})
}

// GetApplicationGrant returns the application's grant of a type.
func (s *Service) GetApplicationGrant(ctx context.Context, arn, grantType *string) (Grant, error) {
	return appGrants.get(ctx, s, arn, grantType)
}

// GrantItem is one grant with its type.
type GrantItem struct {
	GrantType string
	Grant     Grant
}

// ListApplicationGrants lists the application's grants in the model's
// type order (never more than four: one page).
func (s *Service) ListApplicationGrants(ctx context.Context, arn *string, next *string) ([]GrantItem, error) {
	app, err := s.onePageApp(ctx, arn, next)
	if err != nil {
		return nil, err
	}
	out := []GrantItem{}
	for _, t := range GrantTypes {
		if g, ok := app.Grants[t]; ok {
			out = append(out, GrantItem{GrantType: t, Grant: g})
		}
	}
	return out, nil
}

// DeleteApplicationGrant removes the application's grant of a type.
func (s *Service) DeleteApplicationGrant(ctx context.Context, arn, grantType *string) error {
	return appGrants.delete(ctx, s, arn, grantType)
}

// The model's access scope and target patterns.
const (
	scopePattern       = `([A-Za-z0-9_]{1,50})(:[A-Za-z0-9_]{1,50}){0,1}(:[A-Za-z0-9_]{1,50}){0,1}`
	scopeTargetPattern = `arn:aws(-[a-z]{1,5}){0,3}:sso::(\d{12}:application/(sso)?ins-[a-zA-Z0-9-.]{16}/apl-[a-zA-Z0-9]{16}|:instance/(sso)?ins-[a-zA-Z0-9-.]{16})`
)

var (
	scopeRe       = regexp.MustCompile(`^` + scopePattern + `$`)
	scopeTargetRe = regexp.MustCompile(`^` + scopeTargetPattern + `$`)
)

func checkScope(v *validation.Collector, scope *string) bool {
	return v.Required("scope", scope != nil) && v.Pattern("scope", *scope, scopeRe, scopePattern)
}

// PutApplicationAccessScope adds or replaces an access scope.
func (s *Service) PutApplicationAccessScope(ctx context.Context, arn, scope *string, targets []string) error {
	var v validation.Collector
	CheckApplicationArn(&v, "applicationArn", arn)
	checkScope(&v, scope)
	if targets != nil && v.Items("authorizedTargets", targets, 1, 10) {
		for _, t := range targets {
			if v.Length("authorizedTargets.member", t, 1, 100) {
				v.Pattern("authorizedTargets.member", t, scopeTargetRe, scopeTargetPattern)
			}
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	return appScopes.put(ctx, s, *arn, *scope, targets)
}

// ScopeDetails is one access scope.
type ScopeDetails struct {
	Scope             string
	AuthorizedTargets []string `json:",omitempty"`
}

// GetApplicationAccessScope returns one access scope.
func (s *Service) GetApplicationAccessScope(ctx context.Context, arn, scope *string) (ScopeDetails, error) {
	t, err := appScopes.get(ctx, s, arn, scope)
	if err != nil {
		return ScopeDetails{}, err
	}
	return ScopeDetails{Scope: *scope, AuthorizedTargets: t}, nil
}

// ListApplicationAccessScopes lists the scopes in name order, paged.
func (s *Service) ListApplicationAccessScopes(ctx context.Context, arn *string, p Page) ([]ScopeDetails, *string, error) {
	if err := checkAppPage(arn, p); err != nil {
		return nil, nil, err
	}
	app, err := s.Application(ctx, *arn)
	if err != nil {
		return nil, nil, err
	}
	names := make([]string, 0, len(app.Scopes))
	for k := range app.Scopes {
		names = append(names, k)
	}
	sort.Strings(names)
	// The position is the last scope name, sealed like a store key.
	prefix := s.appKey(*arn) + "#scope/"
	start := 0
	if p.NextToken != nil && *p.NextToken != "" {
		pg, err := s.Pages.DecodeFor(*p.NextToken, "ListApplicationAccessScopes", s.Instance.OwnerAccountID, s.Region)
		if err != nil || len(pg.After) < len(prefix) || pg.After[:len(prefix)] != prefix {
			return nil, nil, validation.Newf("Invalid nextToken provided.")
		}
		start = sort.SearchStrings(names, pg.After[len(prefix):]+"\x00")
	}
	limit := DefaultMaxResults
	if p.MaxResults != nil {
		limit = int(*p.MaxResults)
	}
	out := []ScopeDetails{}
	i := start
	for ; i < len(names) && len(out) < limit; i++ {
		out = append(out, ScopeDetails{Scope: names[i], AuthorizedTargets: app.Scopes[names[i]]})
	}
	var next *string
	if i < len(names) {
		tok, err := s.Pages.New("ListApplicationAccessScopes", s.Instance.OwnerAccountID, s.Region, prefix+names[i-1])
		if err != nil {
			return nil, nil, err
		}
		next = &tok
	}
	return out, next, nil
}

// DeleteApplicationAccessScope removes an access scope.
func (s *Service) DeleteApplicationAccessScope(ctx context.Context, arn, scope *string) error {
	return appScopes.delete(ctx, s, arn, scope)
}

// AuthenticationMethodUnion is the wire's AuthenticationMethod union.
type AuthenticationMethodUnion struct {
	Iam *struct {
		ActorPolicy json.RawMessage
	} `json:",omitempty"`
}

func checkMethodType(v *validation.Collector, t *string) bool {
	return v.Required("authenticationMethodType", t != nil) && v.OneOf("authenticationMethodType", *t, AuthenticationMethodIAM)
}

// MaxActorPolicy bounds an actor policy document (bytes, as sent).
const MaxActorPolicy = 10240

// ParseActorPolicy parses an actor policy as the resource-based policy it
// is (a Principal is required).
func ParseActorPolicy(doc []byte) (*iam.Policy, error) {
	return iam.ParsePolicy(doc, iam.KindResource)
}

// PutApplicationAuthenticationMethod sets the application's IAM
// authentication method: its actor policy must parse as a resource-based
// policy.
func (s *Service) PutApplicationAuthenticationMethod(ctx context.Context, arn, methodType *string, m *AuthenticationMethodUnion) error {
	var v validation.Collector
	CheckApplicationArn(&v, "applicationArn", arn)
	checkMethodType(&v, methodType)
	v.Required("authenticationMethod", m != nil)
	if m != nil {
		if v.Required("authenticationMethod.iam", m.Iam != nil) {
			v.Required("authenticationMethod.iam.actorPolicy", len(m.Iam.ActorPolicy) > 0 && string(m.Iam.ActorPolicy) != "null")
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	doc := m.Iam.ActorPolicy
	if len(doc) > MaxActorPolicy {
		return validation.Newf("The actor policy is longer than %d bytes.", MaxActorPolicy)
	}
	if _, err := ParseActorPolicy(doc); err != nil {
		return validation.Newf("The actor policy is not a valid resource-based policy: %s", policyProblem(err))
	}
	return appMethods.put(ctx, s, *arn, *methodType, AuthenticationMethod{ActorPolicy: append(json.RawMessage(nil), doc...)})
}

func policyProblem(err error) string {
	if pe, ok := err.(*iam.PolicyError); ok {
		return pe.Detail()
	}
	return "it is not a JSON policy document."
}

// GetApplicationAuthenticationMethod returns the method of a type.
func (s *Service) GetApplicationAuthenticationMethod(ctx context.Context, arn, methodType *string) (AuthenticationMethod, error) {
	return appMethods.get(ctx, s, arn, methodType)
}

// ListApplicationAuthenticationMethods lists the methods (at most one: one page).
func (s *Service) ListApplicationAuthenticationMethods(ctx context.Context, arn, next *string) (map[string]AuthenticationMethod, error) {
	app, err := s.onePageApp(ctx, arn, next)
	if err != nil {
		return nil, err
	}
	return app.AuthenticationMethods, nil
}

// DeleteApplicationAuthenticationMethod removes the method of a type.
func (s *Service) DeleteApplicationAuthenticationMethod(ctx context.Context, arn, methodType *string) error {
	var v validation.Collector
	CheckApplicationArn(&v, "applicationArn", arn)
	checkMethodType(&v, methodType)
	if err := v.Err(); err != nil {
		return err
	}
	return s.updateApp(ctx, *arn, func(_ store.Tx, app *Application) error {
		if _, ok := app.AuthenticationMethods[*methodType]; !ok {
			return errorf(ErrNotFound, "Application %s has no %s authentication method.", *arn, *methodType)
		}
		delete(app.AuthenticationMethods, *methodType)
		return nil
	})
}

// PutApplicationAssignmentConfiguration sets AssignmentRequired.
func (s *Service) PutApplicationAssignmentConfiguration(ctx context.Context, arn *string, required *bool) error {
	var v validation.Collector
	CheckApplicationArn(&v, "applicationArn", arn)
	v.Required("assignmentRequired", required != nil)
	if err := v.Err(); err != nil {
		return err
	}
	return s.updateApp(ctx, *arn, func(_ store.Tx, app *Application) error {
		app.AssignmentRequired = *required
		return nil
	})
}

// GetApplicationAssignmentConfiguration returns AssignmentRequired.
func (s *Service) GetApplicationAssignmentConfiguration(ctx context.Context, arn *string) (bool, error) {
	var v validation.Collector
	CheckApplicationArn(&v, "applicationArn", arn)
	if err := v.Err(); err != nil {
		return false, err
	}
	app, err := s.Application(ctx, *arn)
	return app.AssignmentRequired, err
}
