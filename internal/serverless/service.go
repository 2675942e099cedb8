package serverless

import (
	"context"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/idcgate/idcgate/internal/clock"
	"github.com/idcgate/idcgate/internal/ids"
	"github.com/idcgate/idcgate/internal/pagetoken"
	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/validation"
)

// DefaultCapacityRPU is the per-account, per-region RPU quota.
const DefaultCapacityRPU = 5120

// IdcApplicationResolver tells whether a Redshift IdC application exists.
type IdcApplicationResolver interface {
	LookupIdcApplication(ctx context.Context, scope Scope, arn string) error
}

// Service implements the namespace and workgroup operations.
type Service struct {
	Store store.Store
	// Versions, when set, is Store's version source (the embedded store
	// underneath its wrappers): WorkgroupsWithNamespaces then keeps
	// resolved sets while nothing under "rs/" changed. Nil for a store that
	// cannot vouch for its reads (a shared one): every call reads.
	Versions store.Versioned
	// Clock is the service's time (transitions, creation dates); the zero
	// value is the wall clock.
	Clock           clock.Clock
	Rand            io.Reader
	TransitionDelay time.Duration
	CapacityRPU     int
	Pages           *pagetoken.Codec
	IdcApplications IdcApplicationResolver
	// Networks are the accounts' emulated VPCs, by account id; an account
	// without one has its subnets taken as given.
	Networks map[string]Network
	// OnDeleteWorkgroup runs inside DeleteWorkgroup's transaction (the
	// keyring destroys the workgroup's keys there).
	OnDeleteWorkgroup func(tx store.Tx, sc Scope, wg Workgroup) error
	// OnCreateWorkgroup runs inside the transaction that creates a
	// workgroup (CreateWorkgroup, EnsureWorkgroup): the keyring creates the
	// workgroup's keys there, so they exist exactly while it does.
	OnCreateWorkgroup func(tx store.Tx, sc Scope, wg Workgroup) error
	// AfterDeleteWorkgroup runs once DeleteWorkgroup's transaction has
	// committed (the keyring drops its cached keys then, not before, so a
	// concurrent reader cannot cache them again).
	AfterDeleteWorkgroup func(sc Scope, wg Workgroup)
	// AfterCreateNamespace runs once the transaction that created a
	// namespace has committed (not for one EnsureNamespace found): the
	// managed upstream creates its database then.
	AfterCreateNamespace func(sc Scope, ns Namespace)

	workgroups store.Decoded[Workgroup]
	namespaces store.Decoded[Namespace]
	sets       store.Kept[string, resolvedSet]
}

func (s *Service) now() time.Time { return s.Clock.Now().UTC() }

func (s *Service) capacity() int {
	if s.CapacityRPU > 0 {
		return s.CapacityRPU
	}
	return DefaultCapacityRPU
}

// resourceSegment is the first key segment of every record this service
// keeps (see store.Versioned).
const resourceSegment = "rs"

func nsPrefix(sc Scope) string { return resourceSegment + "/" + sc.Account + "/" + sc.Region + "/ns/" }
func wgPrefix(sc Scope) string { return resourceSegment + "/" + sc.Account + "/" + sc.Region + "/wg/" }

// NamespaceARN is a namespace's ARN.
func NamespaceARN(sc Scope, id string) string {
	return "arn:aws:redshift-serverless:" + sc.Region + ":" + sc.Account + ":namespace/" + id
}

// WorkgroupARN is a workgroup's ARN.
func WorkgroupARN(sc Scope, id string) string {
	return "arn:aws:redshift-serverless:" + sc.Region + ":" + sc.Account + ":workgroup/" + id
}

// EndpointSuffix ends every workgroup endpoint's address,
// <workgroup>.<account>.<region>.redshift-serverless.amazonaws.com (the
// gateway reads the scope back from a TLS server name of that form).
const EndpointSuffix = ".redshift-serverless.amazonaws.com"

// EndpointAddress is the address of a workgroup's endpoint.
func EndpointAddress(sc Scope, workgroup string) string {
	return workgroup + "." + sc.Account + "." + sc.Region + EndpointSuffix
}

// settle applies a due transition; it reports false when the resource is gone.
func settle(status *Status, pending **transition, now time.Time) bool {
	p := *pending
	if p == nil || now.Before(p.At) {
		return true
	}
	*pending = nil
	if p.To == "" {
		return false
	}
	*status = p.To
	return true
}

// begin puts a resource into a transient state until the delay has passed;
// with no delay the transition completes at once. It reports false when the
// resource is gone now (a delete with no delay).
func (s *Service) begin(status *Status, pending **transition, transient, to Status) bool {
	*status = transient
	*pending = &transition{To: to, At: s.now().Add(s.TransitionDelay)}
	if s.TransitionDelay > 0 {
		return true
	}
	if to == "" {
		*pending = nil
		return false
	}
	return settle(status, pending, s.now())
}

func (s *Service) loadNamespace(r store.Reader, tx store.Tx, sc Scope, name string) (Namespace, error) {
	return namespaceResource.load(s, r, tx, sc, name)
}

func (s *Service) loadWorkgroup(r store.Reader, tx store.Tx, sc Scope, name string) (Workgroup, error) {
	return workgroupResource.load(s, r, tx, sc, name)
}

// scanWorkgroups calls fn for every live workgroup of the scope.
func (s *Service) scanWorkgroups(r store.Reader, sc Scope, after string, fn func(Workgroup) (bool, error)) error {
	return workgroupResource.scan(s, r, sc, after, fn)
}

func (s *Service) newID() (string, error) { return ids.UUID(s.Rand) }

func (s *Service) checkIdcApplication(ctx context.Context, sc Scope, arn *string) error {
	if arn == nil {
		return nil
	}
	if s.IdcApplications == nil {
		return validation.Newf("Redshift IdC application %s does not exist.", *arn)
	}
	err := s.IdcApplications.LookupIdcApplication(ctx, sc, *arn)
	if errors.Is(err, ErrIdcApplicationNotFound) {
		return validation.Newf("Redshift IdC application %s does not exist.", *arn)
	}
	return err
}

func tooManyTags(name string, tags []Tag) error {
	if len(tags) > MaxTags {
		return errorf(ErrTooManyTags, name, "Exceeded the number of tags allowed for resource %s: %d tags given, the maximum is %d.", name, len(tags), MaxTags)
	}
	return nil
}

func orDefault(p *string, def string) string {
	if p == nil {
		return def
	}
	return *p
}

func unavailable(kind, name string, st Status) error {
	return errorf(ErrConflict, "", "%s %s is currently %s; it must be AVAILABLE for this operation.", kind, name, st)
}

// pageStart decodes a nextToken into the key to scan after.
func (s *Service) pageStart(tok *string, op string, sc Scope, prefix string) (string, error) {
	if tok == nil {
		return "", nil
	}
	p, err := s.Pages.DecodeFor(*tok, op, sc.Account, sc.Region)
	switch {
	case errors.Is(err, pagetoken.ErrInvalidToken) || err == nil && !strings.HasPrefix(p.After, prefix):
		return "", validation.Newf("Invalid nextToken provided.")
	case err != nil:
		return "", err // the codec itself is broken: an internal error
	}
	return p.After, nil
}
