// Package redshiftidc keeps Redshift IdC applications: the link between
// Redshift and an Identity Center instance, which gives Identity Center users
// their database identity namespace ("AWSIDC:alice").
package redshiftidc

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/idcgate/idcgate/internal/apierror"
	"github.com/idcgate/idcgate/internal/clock"
	"github.com/idcgate/idcgate/internal/ids"
	"github.com/idcgate/idcgate/internal/pagetoken"
	"github.com/idcgate/idcgate/internal/serverless"
	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/validation"
)

// ErrNotFound is returned for an unknown application (bare: the table
// gives AWS's message, which names no ARN).
var ErrNotFound = errors.New("redshift idc application not found")

// ErrExists is returned when the name is taken.
var ErrExists = errors.New("redshift idc application already exists")

// ErrInvalidParameter is a value the model allows that Redshift refuses
// (an unknown trusted token issuer, MaxRecords out of 20-100, a bad
// Marker): InvalidParameterValue.
var ErrInvalidParameter = errors.New("redshift idc application: invalid parameter value")

// Error is the domain error type.
type Error = apierror.Error

func invalid(format string, args ...any) error {
	return apierror.New(ErrInvalidParameter, format, args...)
}

// Application is a Redshift IdC application.
type Application struct {
	Arn               string    `json:"arn"`
	Name              string    `json:"name"`
	IdentityNamespace string    `json:"identityNamespace"`
	IdcInstanceArn    string    `json:"idcInstanceArn"`
	IamRoleArn        string    `json:"iamRoleArn"`
	DisplayName       string    `json:"displayName,omitempty"`
	CreatedAt         time.Time `json:"createdAt"`

	// AuthorizedTokenIssuers are the trusted token issuers (of the
	// Identity Center instance) whose tokens Redshift accepts, with the
	// audiences it accepts of each.
	AuthorizedTokenIssuers []AuthorizedTokenIssuer `json:"authorizedTokenIssuers,omitempty"`
	// ServiceIntegrations are the integrations with other services.
	ServiceIntegrations []ServiceIntegration `json:"serviceIntegrations,omitempty"`
	Tags                []Tag                `json:"tags,omitempty"`
	// SsoTagKeys name the Tags copied to the managed application.
	SsoTagKeys      []string `json:"ssoTagKeys,omitempty"`
	ApplicationType string   `json:"applicationType,omitempty"`
	// ManagedApplicationArn is the sso-admin application made for this
	// one (IdcManagedApplicationArn): its assignments decide who the
	// gateway admits with an Identity Center access token.
	ManagedApplicationArn string `json:"managedApplicationArn,omitempty"`
	// FromConfig marks an application the config declares: the config
	// re-applies it at every start, and removes it once it no longer
	// names it (ApplyConfig). API-made ones are the API's.
	FromConfig bool `json:"fromConfig,omitempty"`
}

// AuthorizedTokenIssuer is one member of AuthorizedTokenIssuerList.
type AuthorizedTokenIssuer struct {
	TrustedTokenIssuerArn string   `json:"trustedTokenIssuerArn"`
	AuthorizedAudiences   []string `json:"authorizedAudiences,omitempty"`
}

// The services of ServiceIntegrations, and the one scope each has.
const (
	ServiceLakeFormation  = "LakeFormation"
	ServiceRedshift       = "Redshift"
	ServiceS3AccessGrants = "S3AccessGrants"
)

// ScopeOf is the scope member name of each service's scope union.
var ScopeOf = map[string]string{
	ServiceLakeFormation:  "LakeFormationQuery",
	ServiceRedshift:       "Connect",
	ServiceS3AccessGrants: "ReadWriteAccess",
}

// Authorization values of a scope.
const (
	AuthorizationEnabled  = "Enabled"
	AuthorizationDisabled = "Disabled"
)

// ServiceIntegration is one member of ServiceIntegrations (a union: one
// service), with the Authorization of each of its scopes in order.
type ServiceIntegration struct {
	Service        string   `json:"service"`
	Authorizations []string `json:"authorizations"`
}

// Tag is a Redshift resource tag.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Application types.
const (
	ApplicationTypeNone      = "None"
	ApplicationTypeLakehouse = "Lakehouse"
)

// clone copies the slices, so the copy shares nothing with a.
func (a Application) clone() Application {
	a.AuthorizedTokenIssuers = slices.Clone(a.AuthorizedTokenIssuers)
	for i, t := range a.AuthorizedTokenIssuers {
		a.AuthorizedTokenIssuers[i].AuthorizedAudiences = slices.Clone(t.AuthorizedAudiences)
	}
	a.ServiceIntegrations = slices.Clone(a.ServiceIntegrations)
	for i, si := range a.ServiceIntegrations {
		a.ServiceIntegrations[i].Authorizations = slices.Clone(si.Authorizations)
	}
	a.Tags = slices.Clone(a.Tags)
	a.SsoTagKeys = slices.Clone(a.SsoTagKeys)
	return a
}

func cloneAll(apps []Application) []Application {
	if apps == nil {
		return nil
	}
	out := make([]Application, len(apps))
	for i, a := range apps {
		out[i] = a.clone()
	}
	return out
}

// IdentityCenter is what the service needs of the Identity Center
// instance (internal/ssoadmin), inside the transaction that writes the
// application, so a refused call changes neither.
type IdentityCenter interface {
	// TrustedTokenIssuerExists reports whether arn names a trusted token
	// issuer of the instance.
	TrustedTokenIssuerExists(r store.Reader, arn string) (bool, error)
	// CreateManagedApplication makes the managed application of app and
	// returns its ARN.
	CreateManagedApplication(tx store.Tx, app Application) (string, error)
	// DeleteManagedApplication deletes it; one already gone is no error.
	DeleteManagedApplication(tx store.Tx, arn string) error
	// RenameManagedApplication gives it app's display name.
	RenameManagedApplication(tx store.Tx, arn string, app Application) error
}

// Service stores applications per account and region.
type Service struct {
	Store store.Store
	// Versions, when set, is Store's version source (the embedded store
	// underneath its wrappers): List then keeps lists while nothing under
	// "redshift/" changed. Nil for a store that cannot vouch for its reads
	// (a shared one): every call reads.
	Versions store.Versioned
	Rand     io.Reader
	Clock    clock.Clock
	// Pages seals DescribeRedshiftIdcApplications' Marker.
	Pages *pagetoken.Codec
	// IdentityCenter, when set, checks trusted token issuers and keeps
	// each application's managed sso-admin application.
	IdentityCenter IdentityCenter

	// decoded spares List (on every GetIdentityCenterAuthToken) the JSON
	// decoding of records that have not changed. Decoded records are
	// shared: List hands out clones.
	decoded store.Decoded[Application]
	// lists spares it the read itself while Versions vouches that nothing
	// under "redshift/" changed. Kept lists are immutable: List returns a
	// copy.
	lists store.Kept[serverless.Scope, []Application]
}

// segment is the first key segment of every application record.
const segment = "redshift"

func prefix(s serverless.Scope) string {
	return segment + "/" + s.Account + "/" + s.Region + "/idc-application/"
}

// ApplyConfig makes the scope's config-declared applications what the
// config says, in one transaction (BEHAVIOUR 7.2): one it names is created
// or has its identity namespace, instance, role and display name set
// (its ARN, managed application and API-set members kept); one it declared
// before and names no more is deleted with its managed application; those
// made by API are left alone. It returns the ARNs by name.
func (s *Service) ApplyConfig(ctx context.Context, scope serverless.Scope, apps []Application) (map[string]string, error) {
	arns := make(map[string]string, len(apps))
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		named := make(map[string]bool, len(apps))
		for _, want := range apps {
			named[want.Name] = true
			key := prefix(scope) + want.Name
			var cur Application
			err := store.GetJSON(tx, key, &cur)
			switch {
			case errors.Is(err, store.ErrNotFound):
				cur = want
				if err := s.identify(scope, &cur); err != nil {
					return err
				}
			case err != nil:
				return err
			default:
				cur.IdentityNamespace, cur.IdcInstanceArn, cur.IamRoleArn = want.IdentityNamespace, want.IdcInstanceArn, want.IamRoleArn
				if want.DisplayName != "" {
					cur.DisplayName = want.DisplayName
				}
			}
			cur.FromConfig = true
			if s.IdentityCenter != nil && cur.ManagedApplicationArn == "" {
				if cur.ManagedApplicationArn, err = s.IdentityCenter.CreateManagedApplication(tx, cur); err != nil {
					return err
				}
			}
			if err := store.PutJSON(tx, key, cur); err != nil {
				return err
			}
			arns[want.Name] = cur.Arn
		}
		return store.DropSelected(tx, prefix(scope), func(a Application) bool { return a.FromConfig && !named[a.Name] },
			func(key string, a Application) error { return s.remove(tx, key, a) })
	})
	return arns, err
}

// ensureManaged gives a stored application its managed application when
// it has none.
func (s *Service) ensureManaged(tx store.Tx, key string, app *Application) error {
	if s.IdentityCenter == nil || app.ManagedApplicationArn != "" {
		return nil
	}
	arn, err := s.IdentityCenter.CreateManagedApplication(tx, *app)
	if err != nil {
		return err
	}
	app.ManagedApplicationArn = arn
	return store.PutJSON(tx, key, *app)
}

// EnsureManagedApplications gives every stored application of every
// account and region that has no managed application one (at start, for
// applications an earlier version stored).
func (s *Service) EnsureManagedApplications(ctx context.Context) error {
	if s.IdentityCenter == nil {
		return nil
	}
	return s.Store.Update(ctx, func(tx store.Tx) error {
		var keys []string
		var apps []Application
		err := tx.Scan(segment+"/", "", func(k string, v []byte) (bool, error) {
			if !strings.Contains(k, "/idc-application/") {
				return true, nil
			}
			var a Application
			if err := json.Unmarshal(v, &a); err != nil {
				return false, err
			}
			if a.ManagedApplicationArn == "" {
				keys, apps = append(keys, k), append(apps, a)
			}
			return true, nil
		})
		if err != nil {
			return err
		}
		for i := range apps {
			if err := s.ensureManaged(tx, keys[i], &apps[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// List returns the scope's applications in name order, in a slice of the
// caller's own.
func (s *Service) List(ctx context.Context, scope serverless.Scope) ([]Application, error) {
	// The version is read before the transaction, so a kept list is never
	// older than the version it is kept under.
	versioned := s.Versions != nil
	var version uint64
	if versioned {
		version = s.Versions.Version(segment)
		if apps, ok := s.lists.Get(scope, version); ok {
			return cloneAll(apps), nil
		}
	}
	var out []Application
	err := s.Store.View(ctx, func(r store.Reader) error {
		return r.Scan(prefix(scope), "", func(k string, v []byte) (bool, error) {
			a, err := s.decoded.Decode(k, v)
			if err != nil {
				return false, err
			}
			out = append(out, a)
			return true, nil
		})
	})
	if err == nil && versioned {
		s.lists.Put(scope, version, out)
	}
	return cloneAll(out), err
}

// ByArn finds an application of the scope by ARN.
func (s *Service) ByArn(ctx context.Context, scope serverless.Scope, arn string) (Application, error) {
	apps, err := s.List(ctx, scope)
	if err != nil {
		return Application{}, err
	}
	for _, a := range apps {
		if a.Arn == arn {
			return a, nil
		}
	}
	return Application{}, ErrNotFound
}

// byArnTx finds an application of the scope by ARN in a transaction and
// returns it with its key.
func byArnTx(r store.Reader, scope serverless.Scope, arn string) (string, Application, error) {
	var key string
	var out Application
	err := r.Scan(prefix(scope), "", func(k string, v []byte) (bool, error) {
		var a Application
		if err := json.Unmarshal(v, &a); err != nil {
			return false, err
		}
		if a.Arn == arn {
			key, out = k, a
			return false, nil
		}
		return true, nil
	})
	if err == nil && key == "" {
		err = ErrNotFound
	}
	return key, out, err
}

// Page sizes of DescribeRedshiftIdcApplications (MaxRecords).
const (
	MinMaxRecords     = 20
	MaxMaxRecords     = 100
	DefaultMaxRecords = 100
)

// describeOp names the list a Marker belongs to.
const describeOp = "DescribeRedshiftIdcApplications"

// Describe answers DescribeRedshiftIdcApplications: the one application
// named by arn (when not empty), else a page of the scope's applications
// in name order of at most maxRecords (0: the default) after marker, with
// the marker of the next page when more remain.
func (s *Service) Describe(ctx context.Context, scope serverless.Scope, arn string, maxRecords int, marker string) ([]Application, string, error) {
	if maxRecords == 0 {
		maxRecords = DefaultMaxRecords
	}
	if maxRecords < MinMaxRecords || maxRecords > MaxMaxRecords {
		return nil, "", invalid("MaxRecords must be between %d and %d.", MinMaxRecords, MaxMaxRecords)
	}
	after := ""
	if marker != "" {
		if s.Pages == nil {
			return nil, "", invalid("Invalid marker: %s", apierror.Printable(marker))
		}
		pg, err := s.Pages.DecodeFor(marker, describeOp, scope.Account, scope.Region)
		switch {
		case errors.Is(err, pagetoken.ErrInvalidToken) || err == nil && !strings.HasPrefix(pg.After, prefix(scope)):
			return nil, "", invalid("Invalid marker: %s", apierror.Printable(marker))
		case err != nil:
			return nil, "", err
		}
		after = pg.After
	}
	apps, err := s.List(ctx, scope)
	if err != nil {
		return nil, "", err
	}
	if arn != "" {
		for _, a := range apps {
			if a.Arn == arn {
				return []Application{a}, "", nil
			}
		}
		return nil, "", ErrNotFound
	}
	out := []Application{}
	for i, a := range apps {
		key := prefix(scope) + a.Name
		if key <= after {
			continue
		}
		if len(out) == maxRecords {
			if s.Pages == nil {
				return nil, "", errors.New("redshiftidc: no page token codec")
			}
			next, err := s.Pages.New(describeOp, scope.Account, scope.Region, prefix(scope)+apps[i-1].Name)
			return out, next, err
		}
		out = append(out, a)
	}
	return out, "", nil
}

// LookupIdcApplication implements serverless.IdcApplicationResolver.
func (s *Service) LookupIdcApplication(ctx context.Context, scope serverless.Scope, arn string) error {
	_, err := s.ByArn(ctx, scope, arn)
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("%w: %s", serverless.ErrIdcApplicationNotFound, arn)
	}
	return err
}

// identify gives a new application its ARN (a random id, as AWS's) and its
// creation time.
func (s *Service) identify(scope serverless.Scope, app *Application) error {
	id, err := ids.UUID(s.rand())
	if err != nil {
		return err
	}
	app.Arn = fmt.Sprintf("arn:aws:redshift:%s:%s:redshiftidcapplication:%s", scope.Region, scope.Account, id)
	app.CreatedAt = s.Clock.Now().UTC().Truncate(time.Second)
	return nil
}

func (s *Service) rand() io.Reader {
	if s.Rand != nil {
		return s.Rand
	}
	return rand.Reader
}

// The Redshift API model's constraints on CreateRedshiftIdcApplication.
const (
	namePattern              = `^[a-z][a-z0-9]*(-[a-z0-9]+)*$`
	displayNamePattern       = `[\w+=,.@-]+`
	identityNamespacePattern = `^[a-zA-Z0-9_+.#@$-]+$`
)

var (
	nameRe              = regexp.MustCompile(namePattern)
	displayNameRe       = regexp.MustCompile(`^` + displayNamePattern + `$`)
	identityNamespaceRe = regexp.MustCompile(identityNamespacePattern)
)

// Validate holds an application's fields to the Redshift API model (name
// 1-63, display name 1-127 of [\w+=,.@-], identity namespace 1-127), so
// nothing stored and shown by Describe, or used to name database roles
// ("AWSIDC:alice"), carries control characters or invalid UTF-8.
func Validate(app Application) error {
	var v validation.Collector
	if v.Required("redshiftIdcApplicationName", app.Name != "") {
		v.LengthAndPattern("redshiftIdcApplicationName", app.Name, 1, 63, nameRe, namePattern)
	}
	v.Required("idcInstanceArn", app.IdcInstanceArn != "")
	if v.Required("idcDisplayName", app.DisplayName != "") {
		v.LengthAndPattern("idcDisplayName", app.DisplayName, 1, 127, displayNameRe, displayNamePattern)
	}
	v.Required("iamRoleArn", app.IamRoleArn != "")
	v.LengthAndPattern("identityNamespace", app.IdentityNamespace, 1, 127, identityNamespaceRe, identityNamespacePattern)
	validateIssuers(&v, app.AuthorizedTokenIssuers)
	validateIntegrations(&v, app.ServiceIntegrations)
	if len(app.Tags) > MaxTags {
		v.Add("tags", fmt.Sprintf("[%d tags]", len(app.Tags)), fmt.Sprintf("Member must have length less than or equal to %d", MaxTags))
	}
	for i, t := range app.Tags {
		p := fmt.Sprintf("tags.%d.member", i+1)
		if v.Required(p+".key", t.Key != "") {
			v.LengthAndPattern(p+".key", t.Key, 1, 128, tagRe, tagPattern)
		}
		v.LengthAndPattern(p+".value", t.Value, 0, 256, tagRe, tagPattern)
	}
	for i, k := range app.SsoTagKeys {
		v.LengthAndPattern(fmt.Sprintf("ssoTagKeys.%d.member", i+1), k, 1, 128, tagRe, tagPattern)
	}
	if app.ApplicationType != "" {
		v.OneOf("applicationType", app.ApplicationType, ApplicationTypeNone, ApplicationTypeLakehouse)
	}
	return v.Err()
}

// MaxTags is the most tags a Redshift resource has.
const MaxTags = 50

// Tag keys and values: Unicode letters, digits, white space and _ . : / = + - @.
const tagPattern = `[\p{L}\p{Z}\p{N}_.:/=+\-@]*`

var tagRe = regexp.MustCompile(`^` + tagPattern + `$`)

func validateIssuers(v *validation.Collector, list []AuthorizedTokenIssuer) {
	for i, t := range list {
		p := fmt.Sprintf("authorizedTokenIssuerList.%d.member", i+1)
		v.Required(p+".trustedTokenIssuerArn", t.TrustedTokenIssuerArn != "")
		for j, a := range t.AuthorizedAudiences {
			v.Length(fmt.Sprintf("%s.authorizedAudiencesList.%d.member", p, j+1), a, 1, 2147483647)
		}
	}
}

func validateIntegrations(v *validation.Collector, list []ServiceIntegration) {
	for i, si := range list {
		p := fmt.Sprintf("serviceIntegrations.%d.member", i+1)
		scope, ok := ScopeOf[si.Service]
		if !ok {
			v.Add(p, si.Service, "Member must have exactly one of LakeFormation, Redshift, S3AccessGrants")
			continue
		}
		for j, a := range si.Authorizations {
			v.OneOf(fmt.Sprintf("%s.%s.%d.member.%s.authorization", p, lowerFirst(si.Service), j+1, lowerFirst(scope)), a, AuthorizationEnabled, AuthorizationDisabled)
		}
	}
}

func lowerFirst(s string) string { return strings.ToLower(s[:1]) + s[1:] }

// checkIssuers refuses a trusted token issuer the instance does not
// have.
func (s *Service) checkIssuers(r store.Reader, list []AuthorizedTokenIssuer) error {
	for _, t := range list {
		ok := false
		if s.IdentityCenter != nil {
			var err error
			if ok, err = s.IdentityCenter.TrustedTokenIssuerExists(r, t.TrustedTokenIssuerArn); err != nil {
				return err
			}
		}
		if !ok {
			return invalid("The trusted token issuer %s does not exist in the IAM Identity Center instance.", apierror.Printable(t.TrustedTokenIssuerArn))
		}
	}
	return nil
}

// checkTagKeys refuses an SsoTagKeys key that names no tag.
func checkTagKeys(app Application) error {
	for _, k := range app.SsoTagKeys {
		if !slices.ContainsFunc(app.Tags, func(t Tag) bool { return t.Key == k }) {
			return invalid("The SSO tag key %s is not one of the application's tags.", apierror.Printable(k))
		}
	}
	return nil
}

// Create adds an application with its managed application; the name must
// be new in the scope and every trusted token issuer must exist.
func (s *Service) Create(ctx context.Context, scope serverless.Scope, app Application) (Application, error) {
	if err := Validate(app); err != nil {
		return Application{}, err
	}
	if err := checkTagKeys(app); err != nil {
		return Application{}, err
	}
	if err := s.identify(scope, &app); err != nil {
		return Application{}, err
	}
	app.ManagedApplicationArn = ""
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		key := prefix(scope) + app.Name
		if _, err := tx.Get(key); err == nil {
			return fmt.Errorf("%w: %s", ErrExists, app.Name)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := s.checkIssuers(tx, app.AuthorizedTokenIssuers); err != nil {
			return err
		}
		if s.IdentityCenter != nil {
			arn, err := s.IdentityCenter.CreateManagedApplication(tx, app)
			if err != nil {
				return err
			}
			app.ManagedApplicationArn = arn
		}
		return store.PutJSON(tx, key, app)
	})
	if err != nil {
		return Application{}, err
	}
	return app, nil
}

// ModifyInput is ModifyRedshiftIdcApplication's input: nil members are
// left as they are; a list given replaces the stored one (empty clears it).
type ModifyInput struct {
	Arn                    string
	IdentityNamespace      *string
	IamRoleArn             *string
	DisplayName            *string
	AuthorizedTokenIssuers *[]AuthorizedTokenIssuer
	ServiceIntegrations    *[]ServiceIntegration
}

// Modify changes what in gives and returns the application.
func (s *Service) Modify(ctx context.Context, scope serverless.Scope, in ModifyInput) (Application, error) {
	var v validation.Collector
	v.Required("redshiftIdcApplicationArn", in.Arn != "")
	if in.IdentityNamespace != nil {
		v.LengthAndPattern("identityNamespace", *in.IdentityNamespace, 1, 127, identityNamespaceRe, identityNamespacePattern)
	}
	if in.IamRoleArn != nil {
		v.Length("iamRoleArn", *in.IamRoleArn, 1, 2147483647)
	}
	if in.DisplayName != nil {
		v.LengthAndPattern("idcDisplayName", *in.DisplayName, 1, 127, displayNameRe, displayNamePattern)
	}
	if in.AuthorizedTokenIssuers != nil {
		validateIssuers(&v, *in.AuthorizedTokenIssuers)
	}
	if in.ServiceIntegrations != nil {
		validateIntegrations(&v, *in.ServiceIntegrations)
	}
	if err := v.Err(); err != nil {
		return Application{}, err
	}
	var out Application
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		key, app, err := byArnTx(tx, scope, in.Arn)
		if err != nil {
			return err
		}
		if in.IdentityNamespace != nil {
			app.IdentityNamespace = *in.IdentityNamespace
		}
		if in.IamRoleArn != nil {
			app.IamRoleArn = *in.IamRoleArn
		}
		if in.DisplayName != nil && *in.DisplayName != app.DisplayName {
			app.DisplayName = *in.DisplayName
			// The managed application is named after the display name.
			if s.IdentityCenter != nil && app.ManagedApplicationArn != "" {
				if err := s.IdentityCenter.RenameManagedApplication(tx, app.ManagedApplicationArn, app); err != nil {
					return err
				}
			}
		}
		if in.AuthorizedTokenIssuers != nil {
			if err := s.checkIssuers(tx, *in.AuthorizedTokenIssuers); err != nil {
				return err
			}
			app.AuthorizedTokenIssuers = nil // an empty list clears it
			if len(*in.AuthorizedTokenIssuers) > 0 {
				app.AuthorizedTokenIssuers = slices.Clone(*in.AuthorizedTokenIssuers)
			}
		}
		if in.ServiceIntegrations != nil {
			app.ServiceIntegrations = nil
			if len(*in.ServiceIntegrations) > 0 {
				app.ServiceIntegrations = slices.Clone(*in.ServiceIntegrations)
			}
		}
		out = app.clone()
		return store.PutJSON(tx, key, app)
	})
	if err != nil {
		return Application{}, err
	}
	return out, nil
}

// Delete removes the application with this ARN and its managed
// application.
func (s *Service) Delete(ctx context.Context, scope serverless.Scope, arn string) error {
	return s.Store.Update(ctx, func(tx store.Tx) error {
		key, app, err := byArnTx(tx, scope, arn)
		if err != nil {
			return err
		}
		return s.remove(tx, key, app)
	})
}

// remove deletes app, stored under key, with its managed application.
func (s *Service) remove(tx store.Tx, key string, app Application) error {
	if s.IdentityCenter != nil && app.ManagedApplicationArn != "" {
		if err := s.IdentityCenter.DeleteManagedApplication(tx, app.ManagedApplicationArn); err != nil {
			return err
		}
	}
	return tx.Delete(key)
}
