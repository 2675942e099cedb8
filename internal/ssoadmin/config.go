package ssoadmin

import (
	"context"
	"encoding/json"
	"errors"
	"sort"

	"github.com/idcgate/idcgate/internal/store"
)

// ConfigApplication is an application as the config declares it, with
// names already resolved to ARNs and principal ids.
type ConfigApplication struct {
	Arn                string
	Name               string
	JWTBearer          []AuthorizedTokenIssuer
	Scopes             []string
	ActorPolicy        json.RawMessage // nil: no authentication method
	AssignmentRequired bool
	Assignments        []Assignment // PrincipalType and PrincipalId
}

// ApplyConfig re-applies the config's trusted token issuers and
// applications in one transaction (BEHAVIOUR 15.2): what the config
// names is written as the config says (an application's grants, scopes,
// authentication methods and assignment configuration with it, keeping
// its CreatedDate, and the grants of other types, assignments and portal
// options an API call gave it); objects an earlier config made and this
// one no longer names are deleted, with their assignments; objects made
// by API are left alone.
func (s *Service) ApplyConfig(ctx context.Context, issuers []TrustedTokenIssuer, apps []ConfigApplication) error {
	return s.Store.Update(ctx, func(tx store.Tx) error {
		named := map[string]bool{}
		for _, t := range issuers {
			named[t.TrustedTokenIssuerArn] = true
			t.FromConfig = true
			t.TrustedTokenIssuerType = TrustedTokenIssuerTypeOIDCJWT
			t.JwksRetrievalOption = JwksOpenIDDiscovery
			old, err := s.getTTI(tx, t.TrustedTokenIssuerArn)
			switch {
			case err == nil:
				t.CreatedDate, t.Version, t.Tags = old.CreatedDate, old.Version, old.Tags
				if sameIssuer(old, t) {
					continue
				}
				t.Version++
			case errors.Is(err, ErrNotFound):
				t.CreatedDate, t.Version = s.now(), 1
			default:
				return err
			}
			if err := store.PutJSON(tx, s.ttiKey(t.TrustedTokenIssuerArn), t); err != nil {
				return err
			}
		}
		err := store.DropSelected(tx, s.ttiPrefix(), func(t TrustedTokenIssuer) bool { return t.FromConfig && !named[t.TrustedTokenIssuerArn] }, nil)
		if err != nil {
			return err
		}

		for _, c := range apps {
			named[c.Arn] = true
			app, err := s.getApp(tx, c.Arn)
			switch {
			case errors.Is(err, ErrNotFound):
				app = Application{ApplicationArn: c.Arn, CreatedDate: s.now()}
			case err != nil:
				return err
			}
			app.ApplicationProviderArn = ProviderCustom
			app.ApplicationAccount = s.Instance.OwnerAccountID
			app.InstanceArn = s.Instance.InstanceArn
			app.IdentityStoreArn = s.Instance.IdentityStoreArn()
			app.Name = c.Name
			app.Status = StatusEnabled
			app.AssignmentRequired = c.AssignmentRequired
			app.FromConfig = true
			if app.Grants == nil {
				app.Grants = map[string]Grant{}
			}
			app.Grants[GrantJWTBearer] = Grant{AuthorizedTokenIssuers: c.JWTBearer}
			app.Scopes = map[string][]string{}
			for _, sc := range c.Scopes {
				app.Scopes[sc] = nil
			}
			app.AuthenticationMethods = nil
			if c.ActorPolicy != nil {
				app.AuthenticationMethods = map[string]AuthenticationMethod{AuthenticationMethodIAM: {ActorPolicy: c.ActorPolicy}}
			}
			if err := store.PutJSON(tx, s.appKey(c.Arn), app); err != nil {
				return err
			}
			want := map[Assignment]bool{}
			for _, a := range c.Assignments {
				a.ApplicationArn, a.FromConfig = c.Arn, true
				want[a] = true
				if _, err := s.putAssignment(tx, a); err != nil {
					return err
				}
			}
			err = store.DropSelected(tx, s.asgAppPrefix(c.Arn), func(a Assignment) bool { return a.FromConfig && !want[a] },
				func(_ string, a Assignment) error {
					return s.deleteAssignment(tx, a.ApplicationArn, a.PrincipalType, a.PrincipalId)
				})
			if err != nil {
				return err
			}
		}
		return store.DropSelected(tx, s.appPrefix(), func(a Application) bool { return a.FromConfig && !named[a.ApplicationArn] },
			func(_ string, a Application) error { return s.deleteApp(tx, a) })
	})
}

// sameIssuer compares what a verifier is built from.
func sameIssuer(a, b TrustedTokenIssuer) bool {
	a.CreatedDate, a.Version, a.Tags = b.CreatedDate, b.Version, b.Tags
	return a.TrustedTokenIssuerArn == b.TrustedTokenIssuerArn && a.Name == b.Name && a.IssuerUrl == b.IssuerUrl &&
		a.ClaimAttributePath == b.ClaimAttributePath && a.IdentityStoreAttributePath == b.IdentityStoreAttributePath &&
		a.Builtin == b.Builtin && a.JWKSURL == b.JWKSURL && a.JWKS == b.JWKS && a.FromConfig == b.FromConfig
}

// Applications lists every application (unpaged; `idcgate login` and the
// config's callers).
func (s *Service) Applications(ctx context.Context) ([]Application, error) {
	return store.Read(ctx, s.Store, func(r store.Reader) ([]Application, error) {
		_, apps, err := store.Select(r, s.appPrefix(), func(Application) bool { return true })
		return apps, err
	})
}

// TrustedTokenIssuers lists every issuer (unpaged).
func (s *Service) TrustedTokenIssuers(ctx context.Context) ([]TrustedTokenIssuer, error) {
	out, _, err := s.listTTIs(ctx, Page{MaxResults: ptr(int32(MaxTrustedTokenIssuers + 1000))})
	return out, err
}

// LoginApplication is an application `idcgate login` may use: its
// jwt-bearer grant accepts the built-in IdP with these audiences.
type LoginApplication struct {
	ApplicationArn string
	Audiences      []string
}

// LoginApplications are the enabled applications whose jwt-bearer grant
// accepts the built-in IdP, in ARN order.
func (s *Service) LoginApplications(ctx context.Context) ([]LoginApplication, error) {
	issuers, err := s.TrustedTokenIssuers(ctx)
	if err != nil {
		return nil, err
	}
	builtin := map[string]bool{}
	for _, t := range issuers {
		if t.Builtin {
			builtin[t.TrustedTokenIssuerArn] = true
		}
	}
	apps, err := s.Applications(ctx)
	if err != nil {
		return nil, err
	}
	var out []LoginApplication
	for _, a := range apps {
		if a.Status == StatusDisabled {
			continue
		}
		for _, t := range a.Grants[GrantJWTBearer].AuthorizedTokenIssuers {
			if builtin[str(t.TrustedTokenIssuerArn)] {
				out = append(out, LoginApplication{ApplicationArn: a.ApplicationArn, Audiences: append([]string{}, t.AuthorizedAudiences...)})
				break
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ApplicationArn < out[j].ApplicationArn })
	return out, nil
}
