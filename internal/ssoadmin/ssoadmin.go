// Package ssoadmin keeps the IAM Identity Center objects of sso-admin's
// trusted-identity-propagation subset in the store: the instance, the
// applications with their grants, access scopes, authentication methods,
// assignment configuration and assignments, and the trusted token issuers
// (BEHAVIOUR 15). CreateTokenWithIAM (internal/oidc) reads them on every
// call, so a change takes effect on the next one, on every replica.
//
// Records live under "sso/": one per application (grants, scopes and
// authentication methods inside it, so deleting the application deletes
// them in the same write), one per trusted token issuer, and two per
// assignment (by application, and by principal for
// ListApplicationAssignmentsForPrincipal).
package ssoadmin

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/idcgate/idcgate/internal/apierror"
	"github.com/idcgate/idcgate/internal/clock"
	"github.com/idcgate/idcgate/internal/pagetoken"
	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/validation"
)

// Sentinels; awserror maps each to sso-admin's exception.
var (
	// ErrNotFound: the application, issuer, grant, scope, method or
	// assignment does not exist (ResourceNotFoundException, 404).
	ErrNotFound = errors.New("ssoadmin: resource not found")
	// ErrConflict: a name or issuer URL is taken, an assignment exists, an
	// issuer is still in use (ConflictException, 409).
	ErrConflict = errors.New("ssoadmin: conflict")
	// ErrQuota: a per-instance quota is reached (ServiceQuotaExceededException, 402).
	ErrQuota = errors.New("ssoadmin: service quota exceeded")
	// ErrAccessDenied: a policy refused an sso:* action; the API layer
	// turns auth's refusal into it for sso-admin's status (403).
	ErrAccessDenied = errors.New("ssoadmin: access denied")
)

// Error is the domain error type.
type Error = apierror.Error

var fail = apierror.New

// Quotas (IAM Identity Center's default quotas, which we do not make adjustable).
const (
	MaxApplications        = 3000
	MaxTrustedTokenIssuers = 10
	// MaxAssignmentsPerApplication bounds the assignments listed and
	// checked per application.
	MaxAssignmentsPerApplication = 10000
)

// Instance is the one Identity Center instance.
type Instance struct {
	InstanceArn     string    `json:"instanceArn"`
	IdentityStoreID string    `json:"identityStoreId"`
	OwnerAccountID  string    `json:"ownerAccountId"`
	Name            string    `json:"name,omitempty"`
	CreatedDate     time.Time `json:"createdDate"`
}

// ID is the instance id (ssoins-…) from its ARN.
func (i Instance) ID() string { return i.InstanceArn[strings.LastIndexByte(i.InstanceArn, '/')+1:] }

// IdentityStoreArn is the identity store's ARN.
func (i Instance) IdentityStoreArn() string {
	return "arn:aws:identitystore::" + i.OwnerAccountID + ":identitystore/" + i.IdentityStoreID
}

// Directory answers whether a principal exists in the instance's identity
// store (CreateApplicationAssignment refuses unknown ones).
type Directory interface {
	PrincipalExists(ctx context.Context, principalType, id string) (bool, error)
}

// Service keeps the records of one instance.
type Service struct {
	Store    store.Store
	Pages    *pagetoken.Codec
	Clock    clock.Clock
	Rand     io.Reader
	Region   string
	Instance Instance
	// Directory, when set, checks assignment principals exist.
	Directory Directory
	// BuiltinIssuerURL is the built-in IdP's issuer URL (its trusted token
	// issuer's IssuerUrl).
	BuiltinIssuerURL string
}

// segment is the first key segment of every record.
const segment = "sso"

func (s *Service) appPrefix() string  { return segment + "/app/" + s.Instance.ID() + "/" }
func (s *Service) ttiPrefix() string  { return segment + "/tti/" + s.Instance.ID() + "/" }
func (s *Service) asgPrefix() string  { return segment + "/asg/" + s.Instance.ID() + "/" }
func (s *Service) asgpPrefix() string { return segment + "/asgp/" + s.Instance.ID() + "/" }
func (s *Service) instanceKey() string {
	return segment + "/instance/" + s.Instance.ID()
}
func (s *Service) tokenKey(op, token string) string {
	return segment + "/clienttoken/" + s.Instance.ID() + "/" + op + "/" + token
}

func (s *Service) rand() io.Reader {
	if s.Rand != nil {
		return s.Rand
	}
	return rand.Reader
}

func (s *Service) now() time.Time { return s.Clock.Now().UTC().Truncate(time.Second) }

// EnsureInstance stores the instance record at first start (its
// CreatedDate) and returns the stored one.
func (s *Service) EnsureInstance(ctx context.Context) (Instance, error) {
	var out Instance
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		err := store.GetJSON(tx, s.instanceKey(), &out)
		if err == nil && out.InstanceArn == s.Instance.InstanceArn && out.IdentityStoreID == s.Instance.IdentityStoreID && out.OwnerAccountID == s.Instance.OwnerAccountID {
			return nil
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		out = s.Instance
		if out.CreatedDate.IsZero() {
			out.CreatedDate = s.now()
		}
		return store.PutJSON(tx, s.instanceKey(), out)
	})
	if err == nil {
		s.Instance = out
	}
	return out, err
}

// CheckInstance refuses an instance ARN other than ours.
func (s *Service) CheckInstance(arn string) error {
	if arn != s.Instance.InstanceArn {
		return fail(ErrNotFound, "Instance %s does not exist.", printable(arn))
	}
	return nil
}

var printable = apierror.Printable

// Page is one page of a listing: MaxResults (1-100, default 100) and the
// NextToken of the previous page.
type Page struct {
	MaxResults *int32
	NextToken  *string
}

// DefaultMaxResults is the page size when MaxResults is absent.
const DefaultMaxResults = 100

func checkPage(v *validation.Collector, p Page) {
	if p.MaxResults != nil {
		v.Range("maxResults", int64(*p.MaxResults), 1, 100)
	}
	if p.NextToken != nil {
		v.Length("nextToken", *p.NextToken, 0, 2048)
	}
}

// scanPage scans prefix from the page's token, calling fn for each record,
// and returns the next token when more remain.
func (s *Service) scanPage(r store.Reader, op, prefix string, p Page, fn func(key string, v []byte) (bool, error)) (*string, error) {
	after := ""
	if p.NextToken != nil && *p.NextToken != "" {
		pg, err := s.Pages.DecodeFor(*p.NextToken, op, s.Instance.OwnerAccountID, s.Region)
		switch {
		case errors.Is(err, pagetoken.ErrInvalidToken) || err == nil && !strings.HasPrefix(pg.After, prefix):
			return nil, validation.Newf("Invalid nextToken provided.")
		case err != nil:
			return nil, err
		}
		after = pg.After
	}
	limit := DefaultMaxResults
	if p.MaxResults != nil {
		limit = int(*p.MaxResults)
	}
	n, last, more := 0, "", false
	err := r.Scan(prefix, after, func(k string, v []byte) (bool, error) {
		if n == limit {
			more = true
			return false, nil
		}
		keep, err := fn(k, v)
		if err != nil {
			return false, err
		}
		if keep {
			n++
		}
		last = k
		return true, nil
	})
	if err != nil || !more {
		return nil, err
	}
	tok, err := s.Pages.New(op, s.Instance.OwnerAccountID, s.Region, last)
	if err != nil {
		return nil, err
	}
	return &tok, nil
}

// readOwn reads the record of arn (an application's or an issuer's):
// missing's error when arn is none of this instance's (own false), when
// there is no record, or when the record under its key has another ARN.
func readOwn[T any](r store.Reader, arn string, own bool, key func(string) string, arnOf func(*T) string, missing func(string) error) (T, error) {
	var t T
	if !own {
		return t, missing(arn)
	}
	err := store.GetJSON(r, key(arn), &t)
	if errors.Is(err, store.ErrNotFound) || err == nil && arnOf(&t) != arn {
		var zero T
		return zero, missing(arn)
	}
	return t, err
}

// checkAppPage holds a paged list of an application's to the model.
func checkAppPage(arn *string, p Page) error {
	var v validation.Collector
	CheckApplicationArn(&v, "applicationArn", arn)
	checkPage(&v, p)
	return v.Err()
}

// checkInstancePage holds a paged list of the instance's to the model, and
// its instance ARN to this instance's.
func (s *Service) checkInstancePage(arn *string, p Page) error {
	var v validation.Collector
	CheckInstanceArn(&v, "instanceArn", arn)
	checkPage(&v, p)
	if err := v.Err(); err != nil {
		return err
	}
	return s.CheckInstance(*arn)
}

// decoded adapts fn, over records T, to a scan's callback: each value is
// decoded from its JSON first (a value that does not decode ends the scan
// with the decoder's error).
func decoded[T any](fn func(key string, t T) (bool, error)) func(string, []byte) (bool, error) {
	return func(k string, b []byte) (bool, error) {
		var t T
		if err := json.Unmarshal(b, &t); err != nil {
			return false, err
		}
		return fn(k, t)
	}
}

// pageOf lists a page of the records T under prefix, in key order, for
// op's page tokens: those keep admits (every one when keep is nil), after
// check (when not nil) passes in the same view. The list is empty, not
// nil, when none is kept.
func pageOf[T any](ctx context.Context, s *Service, op, prefix string, p Page, check func(store.Reader) error, keep func(T) bool) ([]T, *string, error) {
	out := []T{}
	var next *string
	err := s.Store.View(ctx, func(r store.Reader) error {
		if check != nil {
			if err := check(r); err != nil {
				return err
			}
		}
		var err error
		next, err = s.scanPage(r, op, prefix, p, decoded(func(_ string, t T) (bool, error) {
			if keep != nil && !keep(t) {
				return false, nil
			}
			out = append(out, t)
			return true, nil
		}))
		return err
	})
	return out, next, err
}

func errorf(kind error, format string, args ...any) error { return fail(kind, format, args...) }

func notFoundApp(arn string) error {
	return errorf(ErrNotFound, "Application %s does not exist.", printable(arn))
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func ptr[T any](v T) *T { return &v }

// quota refuses another of what the instance has n of, past max.
func quota(n, max int, what string) error {
	if n >= max {
		return errorf(ErrQuota, "The instance already has %d %s, the most it may have.", max, what)
	}
	return nil
}

// given sets *dst to an update's member v when the update gives it.
func given[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}
