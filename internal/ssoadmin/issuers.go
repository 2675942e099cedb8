package ssoadmin

import (
	"context"
	"regexp"
	"strings"
	"time"

	"github.com/idcgate/idcgate/internal/ids"
	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/validation"
)

// TrustedTokenIssuerTypeOIDCJWT is the one trusted token issuer type.
const TrustedTokenIssuerTypeOIDCJWT = "OIDC_JWT"

// JwksOpenIDDiscovery is the one JWKS retrieval option: the keys are found
// through the issuer's /.well-known/openid-configuration.
const JwksOpenIDDiscovery = "OPEN_ID_DISCOVERY"

// TrustedTokenIssuer is an OIDC issuer whose JWTs applications may accept.
type TrustedTokenIssuer struct {
	TrustedTokenIssuerArn      string
	Name                       string
	TrustedTokenIssuerType     string
	IssuerUrl                  string
	ClaimAttributePath         string
	IdentityStoreAttributePath string
	JwksRetrievalOption        string
	CreatedDate                time.Time
	Tags                       []Tag `json:",omitempty"`
	// Version grows with every change, so a verifier built for the issuer
	// is kept only while it is still the same issuer (see internal/app).
	Version uint64
	// Builtin is idcgate's own IdP (its keys are in process).
	Builtin bool `json:",omitempty"`
	// JWKSURL or JWKS (inline) replace discovery for config issuers.
	JWKSURL string `json:",omitempty"`
	JWKS    string `json:",omitempty"`
	// FromConfig marks an issuer the config declares.
	FromConfig bool `json:",omitempty"`
}

// The model's patterns.
const (
	ttiArnPattern       = `arn:aws(-[a-z]{1,5}){0,3}:sso::\d{12}:trustedTokenIssuer/(sso)?ins-[a-zA-Z0-9-.]{16}/tti-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}`
	ttiNamePattern      = `[\w+=,.@-]+`
	issuerURLPattern    = `https?:\/\/[-a-zA-Z0-9+&@\/%=~_|!:,.;]*[-a-zA-Z0-9+&@\/%=~_|]`
	claimPathPattern    = `\p{L}+(?:(\.|\_)\p{L}+){0,2}`
	storeAttrPathPatten = `\p{L}+(?:\.\p{L}+){0,2}`
)

var (
	ttiArnRe    = regexp.MustCompile(`^` + ttiArnPattern + `$`)
	ttiNameRe   = regexp.MustCompile(`^` + ttiNamePattern + `$`)
	issuerURLRe = regexp.MustCompile(`^` + issuerURLPattern + `$`)
	claimPathRe = regexp.MustCompile(`^` + claimPathPattern + `$`)
	storePathRe = regexp.MustCompile(`^` + storeAttrPathPatten + `$`)
)

// StoreAttributes are the identity store attributes a claim can be
// matched to (identitycenter.Directory.FindUser).
var StoreAttributes = []string{"userName", "emails.value"}

func checkTTIArn(v *validation.Collector, path string, arn *string) bool {
	if !v.Required(path, arn != nil) {
		return false
	}
	return v.Length(path, *arn, 10, 1224) && v.Pattern(path, *arn, ttiArnRe, ttiArnPattern)
}

// CheckTTIArn validates a TrustedTokenIssuerArn member.
func CheckTTIArn(v *validation.Collector, arn *string) bool {
	return checkTTIArn(v, "trustedTokenIssuerArn", arn)
}

func checkTTIName(v *validation.Collector, name *string, required bool) {
	if present(v, "name", name, required) && v.Length("name", *name, 1, 255) {
		v.Pattern("name", *name, ttiNameRe, ttiNamePattern)
	}
}

// present reports whether member p, at path, is there to be checked; a
// required one that is absent is refused.
func present(v *validation.Collector, path string, p *string, required bool) bool {
	if p == nil && required {
		v.Required(path, false)
	}
	return p != nil
}

func checkClaimPath(v *validation.Collector, path string, p *string, required bool) {
	if present(v, path, p, required) && v.Length(path, *p, 1, 255) {
		v.Pattern(path, *p, claimPathRe, claimPathPattern)
	}
}

func checkStorePath(v *validation.Collector, path string, p *string, required bool) {
	if present(v, path, p, required) && v.Length(path, *p, 1, 255) && v.Pattern(path, *p, storePathRe, storeAttrPathPatten) {
		v.OneOf(path, *p, StoreAttributes...)
	}
}

func checkJwks(v *validation.Collector, path string, p *string, required bool) {
	if present(v, path, p, required) {
		v.OneOf(path, *p, JwksOpenIDDiscovery)
	}
}

// OidcJwtConfiguration is the OIDC_JWT configuration on the wire.
type OidcJwtConfiguration struct {
	IssuerUrl                  *string `json:",omitempty"`
	ClaimAttributePath         *string `json:",omitempty"`
	IdentityStoreAttributePath *string `json:",omitempty"`
	JwksRetrievalOption        *string `json:",omitempty"`
}

// TrustedTokenIssuerConfiguration is the wire's configuration union.
type TrustedTokenIssuerConfiguration struct {
	OidcJwtConfiguration *OidcJwtConfiguration `json:",omitempty"`
}

// Configuration is the issuer's configuration in its wire form.
func (t TrustedTokenIssuer) Configuration() TrustedTokenIssuerConfiguration {
	return TrustedTokenIssuerConfiguration{OidcJwtConfiguration: &OidcJwtConfiguration{
		IssuerUrl: ptr(t.IssuerUrl), ClaimAttributePath: ptr(t.ClaimAttributePath),
		IdentityStoreAttributePath: ptr(t.IdentityStoreAttributePath), JwksRetrievalOption: ptr(t.JwksRetrievalOption),
	}}
}

// CreateTrustedTokenIssuerInput is CreateTrustedTokenIssuer's input.
type CreateTrustedTokenIssuerInput struct {
	InstanceArn                     *string
	Name                            *string
	TrustedTokenIssuerType          *string
	TrustedTokenIssuerConfiguration *TrustedTokenIssuerConfiguration
	ClientToken                     *string
	Tags                            []Tag
}

// TrustedTokenIssuerArn is the ARN of the instance's issuer id (a UUID).
func (s *Service) TrustedTokenIssuerArn(uuid string) string {
	return "arn:aws:sso::" + s.Instance.OwnerAccountID + ":trustedTokenIssuer/" + s.Instance.ID() + "/tti-" + uuid
}

func (s *Service) ttiKey(arn string) string {
	return s.ttiPrefix() + strings.TrimPrefix(arn[strings.LastIndexByte(arn, '/')+1:], "tti-")
}

func (s *Service) ownTTI(arn string) bool {
	return strings.HasPrefix(arn, "arn:aws:sso::"+s.Instance.OwnerAccountID+":trustedTokenIssuer/"+s.Instance.ID()+"/tti-")
}

func notFoundTTI(arn string) error {
	return errorf(ErrNotFound, "Trusted token issuer %s does not exist.", printable(arn))
}

func (s *Service) getTTI(r store.Reader, arn string) (TrustedTokenIssuer, error) {
	return readOwn(r, arn, s.ownTTI(arn), s.ttiKey, func(t *TrustedTokenIssuer) string { return t.TrustedTokenIssuerArn }, notFoundTTI)
}

// TrustedTokenIssuer reads an issuer (ErrNotFound when there is none).
func (s *Service) TrustedTokenIssuer(ctx context.Context, arn string) (TrustedTokenIssuer, error) {
	return store.Read(ctx, s.Store, func(r store.Reader) (TrustedTokenIssuer, error) { return s.getTTI(r, arn) })
}

// CreateTrustedTokenIssuer adds an issuer; names and issuer URLs are
// unique in the instance.
func (s *Service) CreateTrustedTokenIssuer(ctx context.Context, in CreateTrustedTokenIssuerInput) (TrustedTokenIssuer, error) {
	var v validation.Collector
	CheckInstanceArn(&v, "instanceArn", in.InstanceArn)
	checkTTIName(&v, in.Name, true)
	if v.Required("trustedTokenIssuerType", in.TrustedTokenIssuerType != nil) {
		v.OneOf("trustedTokenIssuerType", *in.TrustedTokenIssuerType, TrustedTokenIssuerTypeOIDCJWT)
	}
	if in.ClientToken != nil && v.Length("clientToken", *in.ClientToken, 1, 64) {
		v.Pattern("clientToken", *in.ClientToken, clientTokenRe, clientTokenPattern)
	}
	checkTags(&v, in.Tags)
	var c *OidcJwtConfiguration
	if v.Required("trustedTokenIssuerConfiguration", in.TrustedTokenIssuerConfiguration != nil) {
		c = in.TrustedTokenIssuerConfiguration.OidcJwtConfiguration
		if v.Required("trustedTokenIssuerConfiguration.oidcJwtConfiguration", c != nil) {
			const p = "trustedTokenIssuerConfiguration.oidcJwtConfiguration."
			if v.Required(p+"issuerUrl", c.IssuerUrl != nil) && v.Length(p+"issuerUrl", *c.IssuerUrl, 1, 512) {
				v.Pattern(p+"issuerUrl", *c.IssuerUrl, issuerURLRe, issuerURLPattern)
			}
			checkClaimPath(&v, p+"claimAttributePath", c.ClaimAttributePath, true)
			checkStorePath(&v, p+"identityStoreAttributePath", c.IdentityStoreAttributePath, true)
			checkJwks(&v, p+"jwksRetrievalOption", c.JwksRetrievalOption, true)
		}
	}
	if err := v.Err(); err != nil {
		return TrustedTokenIssuer{}, err
	}
	if err := s.CheckInstance(*in.InstanceArn); err != nil {
		return TrustedTokenIssuer{}, err
	}
	id, err := ids.UUID(s.rand())
	if err != nil {
		return TrustedTokenIssuer{}, err
	}
	t := TrustedTokenIssuer{
		TrustedTokenIssuerArn: s.TrustedTokenIssuerArn(id), Name: *in.Name, TrustedTokenIssuerType: TrustedTokenIssuerTypeOIDCJWT,
		IssuerUrl: *c.IssuerUrl, ClaimAttributePath: *c.ClaimAttributePath, IdentityStoreAttributePath: *c.IdentityStoreAttributePath,
		JwksRetrievalOption: *c.JwksRetrievalOption, CreatedDate: s.now(), Tags: in.Tags, Version: 1,
	}
	t.Builtin = s.BuiltinIssuerURL != "" && t.IssuerUrl == s.BuiltinIssuerURL
	err = s.Store.Update(ctx, func(tx store.Tx) error {
		again := func(arn string) (err error) {
			t, err = s.getTTI(tx, arn)
			return err
		}
		admit := func() error {
			n := 0
			err := tx.Scan(s.ttiPrefix(), "", decoded(func(_ string, o TrustedTokenIssuer) (bool, error) {
				n++
				switch {
				case o.Name == t.Name:
					return false, errorf(ErrConflict, "A trusted token issuer named %s already exists.", t.Name)
				case o.IssuerUrl == t.IssuerUrl:
					return false, errorf(ErrConflict, "A trusted token issuer with the issuer URL %s already exists.", printable(t.IssuerUrl))
				}
				return true, nil
			}))
			if err != nil {
				return err
			}
			return quota(n, MaxTrustedTokenIssuers, "trusted token issuers")
		}
		return s.createOnce(tx, "CreateTrustedTokenIssuer", in.ClientToken, in, t.TrustedTokenIssuerArn, s.ttiKey(t.TrustedTokenIssuerArn), t, again, admit)
	})
	return t, err
}

// DescribeTrustedTokenIssuer reads one issuer.
func (s *Service) DescribeTrustedTokenIssuer(ctx context.Context, arn *string) (TrustedTokenIssuer, error) {
	var v validation.Collector
	CheckTTIArn(&v, arn)
	if err := v.Err(); err != nil {
		return TrustedTokenIssuer{}, err
	}
	return s.TrustedTokenIssuer(ctx, *arn)
}

// ListTrustedTokenIssuers lists the instance's issuers, paged.
func (s *Service) ListTrustedTokenIssuers(ctx context.Context, instanceArn *string, p Page) ([]TrustedTokenIssuer, *string, error) {
	if err := s.checkInstancePage(instanceArn, p); err != nil {
		return nil, nil, err
	}
	return s.listTTIs(ctx, p)
}

func (s *Service) listTTIs(ctx context.Context, p Page) ([]TrustedTokenIssuer, *string, error) {
	return pageOf[TrustedTokenIssuer](ctx, s, "ListTrustedTokenIssuers", s.ttiPrefix(), p, nil, nil)
}

// UpdateTrustedTokenIssuerInput is UpdateTrustedTokenIssuer's input.
type UpdateTrustedTokenIssuerInput struct {
	TrustedTokenIssuerArn           *string
	Name                            *string
	TrustedTokenIssuerConfiguration *struct {
		OidcJwtConfiguration *OidcJwtConfiguration
	}
}

// UpdateTrustedTokenIssuer changes the name or the claim mapping.
func (s *Service) UpdateTrustedTokenIssuer(ctx context.Context, in UpdateTrustedTokenIssuerInput) error {
	var v validation.Collector
	CheckTTIArn(&v, in.TrustedTokenIssuerArn)
	checkTTIName(&v, in.Name, false)
	var c *OidcJwtConfiguration
	if in.TrustedTokenIssuerConfiguration != nil {
		c = in.TrustedTokenIssuerConfiguration.OidcJwtConfiguration
		if v.Required("trustedTokenIssuerConfiguration.oidcJwtConfiguration", c != nil) {
			const p = "trustedTokenIssuerConfiguration.oidcJwtConfiguration."
			if c.IssuerUrl != nil {
				v.Add(p+"issuerUrl", *c.IssuerUrl, "The issuer URL of a trusted token issuer cannot be changed")
			}
			checkClaimPath(&v, p+"claimAttributePath", c.ClaimAttributePath, false)
			checkStorePath(&v, p+"identityStoreAttributePath", c.IdentityStoreAttributePath, false)
			checkJwks(&v, p+"jwksRetrievalOption", c.JwksRetrievalOption, false)
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	arn := *in.TrustedTokenIssuerArn
	return s.Store.Update(ctx, func(tx store.Tx) error {
		t, err := s.getTTI(tx, arn)
		if err != nil {
			return err
		}
		if in.Name != nil && *in.Name != t.Name {
			err := tx.Scan(s.ttiPrefix(), "", decoded(func(_ string, o TrustedTokenIssuer) (bool, error) {
				if o.Name == *in.Name {
					return false, errorf(ErrConflict, "A trusted token issuer named %s already exists.", *in.Name)
				}
				return true, nil
			}))
			if err != nil {
				return err
			}
			t.Name = *in.Name
		}
		if c != nil {
			given(&t.ClaimAttributePath, c.ClaimAttributePath)
			given(&t.IdentityStoreAttributePath, c.IdentityStoreAttributePath)
			given(&t.JwksRetrievalOption, c.JwksRetrievalOption)
		}
		t.Version++
		return store.PutJSON(tx, s.ttiKey(arn), t)
	})
}

// DeleteTrustedTokenIssuer removes an issuer no application's grant names
// (ConflictException otherwise: delete or change the grant first).
func (s *Service) DeleteTrustedTokenIssuer(ctx context.Context, arn *string) error {
	var v validation.Collector
	CheckTTIArn(&v, arn)
	if err := v.Err(); err != nil {
		return err
	}
	return s.Store.Update(ctx, func(tx store.Tx) error {
		if _, err := s.getTTI(tx, *arn); err != nil {
			return err
		}
		err := tx.Scan(s.appPrefix(), "", decoded(func(_ string, a Application) (bool, error) {
			for _, t := range a.Grants[GrantJWTBearer].AuthorizedTokenIssuers {
				if str(t.TrustedTokenIssuerArn) == *arn {
					return false, errorf(ErrConflict, "Trusted token issuer %s is used by the jwt-bearer grant of application %s.", *arn, a.ApplicationArn)
				}
			}
			return true, nil
		}))
		if err != nil {
			return err
		}
		return tx.Delete(s.ttiKey(*arn))
	})
}
