package ssoadmin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/validation"
)

// Application statuses and portal visibility values.
const (
	StatusEnabled  = "ENABLED"
	StatusDisabled = "DISABLED"
)

// Application is one application of the instance, with everything
// CreateTokenWithIAM checks of it.
type Application struct {
	ApplicationArn         string
	ApplicationProviderArn string
	ApplicationAccount     string
	InstanceArn            string
	IdentityStoreArn       string
	Name                   string
	Description            string         `json:",omitempty"`
	Status                 string         //
	PortalOptions          *PortalOptions `json:",omitempty"`
	CreatedDate            time.Time
	AssignmentRequired     bool
	// Grants by grant type.
	Grants map[string]Grant `json:",omitempty"`
	// Scopes: access scope → authorized targets.
	Scopes map[string][]string `json:",omitempty"`
	// AuthenticationMethods by type (IAM).
	AuthenticationMethods map[string]AuthenticationMethod `json:",omitempty"`
	Tags                  []Tag                           `json:",omitempty"`
	// FromConfig marks an application the config declares: re-applied at
	// every start, removed when the config no longer names it.
	FromConfig bool `json:",omitempty"`
	// ManagedBy names the service whose application this is (a Redshift
	// IdC application's): made and deleted with that service's record,
	// never by DeleteApplication.
	ManagedBy string `json:",omitempty"`
}

// PortalOptions are how the access portal shows the application.
type PortalOptions struct {
	SignInOptions *SignInOptions `json:",omitempty"`
	Visibility    string         `json:",omitempty"`
}

// SignInOptions: where a portal user signs in to the application.
type SignInOptions struct {
	Origin         string `json:",omitempty"`
	ApplicationUrl string `json:",omitempty"`
}

// Tag is a resource tag.
type Tag struct {
	Key   *string
	Value *string
}

// Grant is one grant of an application: the jwt-bearer grant's
// authorized token issuers, the authorization_code grant's redirect URIs;
// refresh_token and token-exchange grants hold nothing.
type Grant struct {
	AuthorizedTokenIssuers []AuthorizedTokenIssuer `json:",omitempty"`
	RedirectUris           []string                `json:",omitempty"`
}

// AuthorizedTokenIssuer: the jwt-bearer grant accepts JWTs of this trusted
// token issuer whose aud is one of the audiences.
type AuthorizedTokenIssuer struct {
	TrustedTokenIssuerArn *string
	AuthorizedAudiences   []string
}

// AuthenticationMethod is an IAM authentication method: the actor policy
// (a resource-based policy) names who may call CreateTokenWithIAM.
type AuthenticationMethod struct {
	ActorPolicy json.RawMessage
}

// Application providers.
const (
	ProviderRedshift   = "arn:aws:sso::aws:applicationProvider/redshift"
	ProviderCustom     = "arn:aws:sso::aws:applicationProvider/custom"
	ProviderCustomSAML = "arn:aws:sso::aws:applicationProvider/custom-saml"
)

// Provider is an application provider.
type Provider struct {
	ApplicationProviderArn string
	FederationProtocol     string
	DisplayName            string
	Description            string
	Scopes                 map[string]string // scope → detailed title
}

// Providers are the application providers served, in ARN order.
var Providers = []Provider{
	{ApplicationProviderArn: ProviderCustom, FederationProtocol: "OAUTH", DisplayName: "Customer managed application",
		Description: "An OAuth 2.0 application you manage, which exchanges trusted tokens with CreateTokenWithIAM."},
	{ApplicationProviderArn: ProviderCustomSAML, FederationProtocol: "SAML", DisplayName: "Custom SAML 2.0 application",
		Description: "A SAML 2.0 application you manage."},
	{ApplicationProviderArn: ProviderRedshift, FederationProtocol: "OAUTH", DisplayName: "Amazon Redshift",
		Description: "Amazon Redshift with trusted identity propagation.",
		Scopes:      map[string]string{"redshift:connect": "Connect to Amazon Redshift"}},
}

func providerKnown(arn string) bool {
	return slices.ContainsFunc(Providers, func(p Provider) bool { return p.ApplicationProviderArn == arn })
}

// The model's patterns.
const (
	instanceArnPattern    = `arn:aws(-[a-z]{1,5}){0,3}:sso:::instance/(sso)?ins-[a-zA-Z0-9-.]{16}`
	applicationArnPattern = `arn:aws(-[a-z]{1,5}){0,3}:sso::\d{12}:application/(sso)?ins-[a-zA-Z0-9-.]{16}/apl-[a-zA-Z0-9]{16}`
	providerArnPattern    = `arn:aws(-[a-z]{1,5}){0,3}:sso::aws:applicationProvider/[a-zA-Z0-9-/]+`
	applicationURLPattern = `http(s)?:\/\/[-a-zA-Z0-9+&@#\/%?=~_|!:,.;]*[-a-zA-Z0-9+&bb@#\/%?=~_|]`
	clientTokenPattern    = `[!-~]+`
	tagPattern            = `([\p{L}\p{Z}\p{N}_.:/=+\-@]*)`
)

var (
	instanceArnRe    = regexp.MustCompile(`^` + instanceArnPattern + `$`)
	applicationArnRe = regexp.MustCompile(`^` + applicationArnPattern + `$`)
	providerArnRe    = regexp.MustCompile(`^` + providerArnPattern + `$`)
	applicationURLRe = regexp.MustCompile(`^` + applicationURLPattern + `$`)
	clientTokenRe    = regexp.MustCompile(`^` + clientTokenPattern + `$`)
	tagRe            = regexp.MustCompile(`^` + tagPattern + `$`)
)

// CheckApplicationArn validates an ApplicationArn member.
func CheckApplicationArn(v *validation.Collector, path string, arn *string) bool {
	if !v.Required(path, arn != nil) {
		return false
	}
	return v.Length(path, *arn, 10, 1224) && v.Pattern(path, *arn, applicationArnRe, applicationArnPattern)
}

// CheckInstanceArn validates an InstanceArn member.
func CheckInstanceArn(v *validation.Collector, path string, arn *string) bool {
	if !v.Required(path, arn != nil) {
		return false
	}
	return v.Length(path, *arn, 10, 1224) && v.Pattern(path, *arn, instanceArnRe, instanceArnPattern)
}

func checkPortal(v *validation.Collector, path string, p *PortalOptions) {
	if p == nil {
		return
	}
	if p.Visibility != "" {
		v.OneOf(path+".visibility", p.Visibility, "ENABLED", "DISABLED")
	}
	if o := p.SignInOptions; o != nil {
		if v.Required(path+".signInOptions.origin", o.Origin != "") {
			v.OneOf(path+".signInOptions.origin", o.Origin, "IDENTITY_CENTER", "APPLICATION")
		}
		if o.ApplicationUrl != "" && v.Length(path+".signInOptions.applicationUrl", o.ApplicationUrl, 1, 512) {
			v.Pattern(path+".signInOptions.applicationUrl", o.ApplicationUrl, applicationURLRe, applicationURLPattern)
		}
	}
}

func checkTags(v *validation.Collector, tags []Tag) {
	if len(tags) > 75 {
		v.Add("tags", fmt.Sprintf("[%d tags]", len(tags)), "Member must have length less than or equal to 75")
		return
	}
	for i, t := range tags {
		p := fmt.Sprintf("tags.%d.member", i+1)
		if v.Required(p+".key", t.Key != nil) && v.Length(p+".key", *t.Key, 1, 128) {
			v.Pattern(p+".key", *t.Key, tagRe, tagPattern)
		}
		if v.Required(p+".value", t.Value != nil) && v.Length(p+".value", *t.Value, 0, 256) {
			v.Pattern(p+".value", *t.Value, tagRe, tagPattern)
		}
	}
}

// CreateApplicationInput is CreateApplication's input (the wire's members).
type CreateApplicationInput struct {
	InstanceArn            *string
	ApplicationProviderArn *string
	Name                   *string
	Description            *string
	PortalOptions          *PortalOptions
	Status                 *string
	Tags                   []Tag
	ClientToken            *string
}

// CreateApplication adds an application; AssignmentRequired starts true,
// as for an application made in the console.
func (s *Service) CreateApplication(ctx context.Context, in CreateApplicationInput) (Application, error) {
	var v validation.Collector
	CheckInstanceArn(&v, "instanceArn", in.InstanceArn)
	if v.Required("applicationProviderArn", in.ApplicationProviderArn != nil) && v.Length("applicationProviderArn", *in.ApplicationProviderArn, 10, 1224) {
		v.Pattern("applicationProviderArn", *in.ApplicationProviderArn, providerArnRe, providerArnPattern)
	}
	checkAppMembers(&v, true, in.Name, in.Description, in.Status)
	if in.ClientToken != nil && v.Length("clientToken", *in.ClientToken, 1, 64) {
		v.Pattern("clientToken", *in.ClientToken, clientTokenRe, clientTokenPattern)
	}
	checkPortal(&v, "portalOptions", in.PortalOptions)
	checkTags(&v, in.Tags)
	if err := v.Err(); err != nil {
		return Application{}, err
	}
	if err := s.CheckInstance(*in.InstanceArn); err != nil {
		return Application{}, err
	}
	if !providerKnown(*in.ApplicationProviderArn) {
		return Application{}, validation.Newf("The application provider %s does not exist.", printable(*in.ApplicationProviderArn))
	}
	id, err := s.randomHex(8)
	if err != nil {
		return Application{}, err
	}
	app := Application{
		ApplicationArn:         s.ApplicationArn("apl-" + id),
		ApplicationProviderArn: *in.ApplicationProviderArn,
		ApplicationAccount:     s.Instance.OwnerAccountID,
		InstanceArn:            s.Instance.InstanceArn,
		IdentityStoreArn:       s.Instance.IdentityStoreArn(),
		Name:                   *in.Name,
		Description:            str(in.Description),
		Status:                 StatusEnabled,
		PortalOptions:          in.PortalOptions,
		CreatedDate:            s.now(),
		AssignmentRequired:     true,
		Tags:                   in.Tags,
	}
	given(&app.Status, in.Status)
	err = s.Store.Update(ctx, func(tx store.Tx) error {
		again := func(arn string) error { return store.GetJSON(tx, s.appKey(arn), &app) }
		admit := func() error { return s.checkAppQuota(tx) }
		return s.createOnce(tx, "CreateApplication", in.ClientToken, in, app.ApplicationArn, s.appKey(app.ApplicationArn), app, again, admit)
	})
	return app, err
}

// checkAppQuota refuses another application past MaxApplications.
func (s *Service) checkAppQuota(r store.Reader) error {
	n := 0
	if err := r.Scan(s.appPrefix(), "", func(string, []byte) (bool, error) { n++; return n < MaxApplications, nil }); err != nil {
		return err
	}
	return quota(n, MaxApplications, "applications")
}

// createOnce is a Create's transaction under its ClientToken, when given:
// a token met before with the same input answers with what it made (again
// reads that into the answer); otherwise admit checks the instance's quota
// and names, the token is remembered with arn, and rec is put under key.
func (s *Service) createOnce(tx store.Tx, op string, token *string, in any, arn, key string, rec any, again func(arn string) error, admit func() error) error {
	if token != nil {
		prev, err := s.idempotent(tx, op, *token, in)
		if err != nil || prev != "" {
			if err == nil {
				err = again(prev)
			}
			return err
		}
	}
	if err := admit(); err != nil {
		return err
	}
	if token != nil {
		if err := s.remember(tx, op, *token, in, arn); err != nil {
			return err
		}
	}
	return store.PutJSON(tx, key, rec)
}

// clientTokenRecord remembers what a ClientToken created, for 8 hours.
type clientTokenRecord struct {
	Hash    string
	Arn     string
	Expires time.Time
}

// idempotent returns the ARN a ClientToken already created with the same
// input, "" when the token is new (or expired), or a ConflictException
// when it was used with other parameters.
func (s *Service) idempotent(tx store.Tx, op, token string, in any) (string, error) {
	var rec clientTokenRecord
	err := store.GetJSON(tx, s.tokenKey(op, token), &rec)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "", nil
	case err != nil:
		return "", err
	case !s.Clock.Now().Before(rec.Expires):
		return "", nil
	case rec.Hash != inputHash(in):
		return "", errorf(ErrConflict, "The ClientToken %s was already used with other parameters.", printable(token))
	}
	// The resource may have been deleted since: then the token makes a new one.
	if _, err := tx.Get(s.keyOf(rec.Arn)); errors.Is(err, store.ErrNotFound) {
		return "", nil
	} else if err != nil {
		return "", err
	}
	return rec.Arn, nil
}

func (s *Service) remember(tx store.Tx, op, token string, in any, arn string) error {
	return store.PutJSON(tx, s.tokenKey(op, token), clientTokenRecord{Hash: inputHash(in), Arn: arn, Expires: s.Clock.Now().Add(8 * time.Hour)})
}

func inputHash(in any) string {
	b, _ := json.Marshal(in)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// keyOf is the record key of an application or trusted token issuer ARN.
func (s *Service) keyOf(arn string) string {
	if strings.Contains(arn, ":trustedTokenIssuer/") {
		return s.ttiKey(arn)
	}
	return s.appKey(arn)
}

func (s *Service) randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(s.rand(), b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// ApplicationArn is the ARN of the instance's application id (apl-…).
func (s *Service) ApplicationArn(id string) string {
	return "arn:aws:sso::" + s.Instance.OwnerAccountID + ":application/" + s.Instance.ID() + "/" + id
}

// appKey is an application's record key; the id is the ARN's last part.
func (s *Service) appKey(arn string) string {
	return s.appPrefix() + arn[strings.LastIndexByte(arn, '/')+1:]
}

// ownApplication reports whether arn is an application ARN of this
// instance (account and instance id), so it can name a record.
func (s *Service) ownApplication(arn string) bool {
	return strings.HasPrefix(arn, "arn:aws:sso::"+s.Instance.OwnerAccountID+":application/"+s.Instance.ID()+"/apl-")
}

// Application reads an application (ErrNotFound when there is none).
func (s *Service) Application(ctx context.Context, arn string) (Application, error) {
	return store.Read(ctx, s.Store, func(r store.Reader) (Application, error) { return s.getApp(r, arn) })
}

func (s *Service) getApp(r store.Reader, arn string) (Application, error) {
	return readOwn(r, arn, s.ownApplication(arn), s.appKey, func(a *Application) string { return a.ApplicationArn }, notFoundApp)
}

// updateApp reads, changes and writes one application in a transaction.
func (s *Service) updateApp(ctx context.Context, arn string, fn func(tx store.Tx, app *Application) error) error {
	return s.Store.Update(ctx, func(tx store.Tx) error {
		app, err := s.getApp(tx, arn)
		if err != nil {
			return err
		}
		if err := fn(tx, &app); err != nil {
			return err
		}
		return store.PutJSON(tx, s.appKey(arn), app)
	})
}

// ListApplicationsInput is ListApplications' input.
type ListApplicationsInput struct {
	InstanceArn *string
	Filter      *struct {
		ApplicationAccount  *string
		ApplicationProvider *string
	}
	MaxResults *int32
	NextToken  *string
}

// ListApplications lists the instance's applications in id order.
func (s *Service) ListApplications(ctx context.Context, in ListApplicationsInput) ([]Application, *string, error) {
	if err := s.checkInstancePage(in.InstanceArn, Page{in.MaxResults, in.NextToken}); err != nil {
		return nil, nil, err
	}
	return pageOf(ctx, s, "ListApplications", s.appPrefix(), Page{in.MaxResults, in.NextToken}, nil, func(a Application) bool {
		f := in.Filter
		return f == nil || !(f.ApplicationAccount != nil && *f.ApplicationAccount != a.ApplicationAccount ||
			f.ApplicationProvider != nil && *f.ApplicationProvider != a.ApplicationProviderArn)
	})
}

// UpdateApplicationInput is UpdateApplication's input.
type UpdateApplicationInput struct {
	ApplicationArn *string
	Name           *string
	Description    *string
	Status         *string
	PortalOptions  *struct {
		SignInOptions *SignInOptions
	}
}

// checkAppMembers checks the name (refused when absent and required),
// description and status a CreateApplication or UpdateApplication gives.
func checkAppMembers(v *validation.Collector, nameRequired bool, name, description, status *string) {
	if present(v, "name", name, nameRequired) {
		v.Length("name", *name, 1, 100)
	}
	if description != nil {
		v.Length("description", *description, 1, 128)
	}
	if status != nil {
		v.OneOf("status", *status, StatusEnabled, StatusDisabled)
	}
}

// UpdateApplication changes what is given.
func (s *Service) UpdateApplication(ctx context.Context, in UpdateApplicationInput) error {
	var v validation.Collector
	CheckApplicationArn(&v, "applicationArn", in.ApplicationArn)
	checkAppMembers(&v, false, in.Name, in.Description, in.Status)
	if in.PortalOptions != nil {
		checkPortal(&v, "portalOptions", &PortalOptions{SignInOptions: in.PortalOptions.SignInOptions})
	}
	if err := v.Err(); err != nil {
		return err
	}
	return s.updateApp(ctx, *in.ApplicationArn, func(_ store.Tx, app *Application) error {
		given(&app.Name, in.Name)
		given(&app.Description, in.Description)
		given(&app.Status, in.Status)
		if in.PortalOptions != nil && in.PortalOptions.SignInOptions != nil {
			if app.PortalOptions == nil {
				app.PortalOptions = &PortalOptions{}
			}
			app.PortalOptions.SignInOptions = in.PortalOptions.SignInOptions
		}
		return nil
	})
}

// DeleteApplication removes an application with its grants, scopes,
// methods and assignments; the next CreateTokenWithIAM for it is refused.
func (s *Service) DeleteApplication(ctx context.Context, arn string) error {
	return s.Store.Update(ctx, func(tx store.Tx) error {
		app, err := s.getApp(tx, arn)
		if err != nil {
			return err
		}
		if app.ManagedBy != "" {
			// (ours) Its owner's record would name an application that is
			// gone; the owner deletes both together.
			return validation.Newf("Application %s is managed by %s: delete it there, and this application goes with it.", arn, app.ManagedBy)
		}
		return s.deleteApp(tx, app)
	})
}

// deleteApp deletes app, read in tx, with its assignments.
func (s *Service) deleteApp(tx store.Tx, app Application) error {
	arn := app.ApplicationArn
	var keys []string
	err := tx.Scan(s.asgAppPrefix(arn), "", decoded(func(k string, a Assignment) (bool, error) {
		keys = append(keys, k, s.asgpKey(a.PrincipalType, a.PrincipalId, arn))
		return true, nil
	}))
	if err != nil {
		return err
	}
	for _, k := range append(keys, s.appKey(arn)) {
		if err := tx.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
