package serverless

import (
	"context"
	"errors"
	"regexp"

	"github.com/idcgate/idcgate/internal/apierror"
	"github.com/idcgate/idcgate/internal/validation"
)

// The read operations a tool calls after creating a namespace and a
// workgroup (BEHAVIOUR 3.8). idcgate has no VPC endpoints, usage limits,
// snapshots, recovery points or scheduled actions, so their lists are
// empty; their inputs are still validated as AWS validates them, and the
// resources their filters name must exist where AWS says so.

// ErrInvalidPagination is InvalidPaginationException: a nextToken this
// endpoint never gave, for the operations whose model has that error.
var ErrInvalidPagination = errors.New("invalid pagination token")

// Track is a release track: the workgroup version it gives, and the tracks
// a workgroup on it can move to (with their versions).
type Track struct {
	Name             string
	WorkgroupVersion string
	PatchVersion     string
	UpdateTargets    []UpdateTarget
}

// UpdateTarget is a track a workgroup can move to.
type UpdateTarget struct {
	TrackName        string
	WorkgroupVersion string
}

// Tracks are the two tracks AWS offers: current, the most recently
// certified release, and trailing, the one before it. A workgroup's
// workgroupVersion and patchVersion are its track's.
var Tracks = []Track{
	{Name: "current", WorkgroupVersion: "1.0.84506", PatchVersion: "patch 194",
		UpdateTargets: []UpdateTarget{{TrackName: "trailing", WorkgroupVersion: "1.0.83821"}}},
	{Name: "trailing", WorkgroupVersion: "1.0.83821", PatchVersion: "patch 193",
		UpdateTargets: []UpdateTarget{{TrackName: "current", WorkgroupVersion: "1.0.84506"}}},
}

// TrackNamed is the track called name, if there is one.
func TrackNamed(name string) (Track, bool) {
	for _, t := range Tracks {
		if t.Name == name {
			return t, true
		}
	}
	return Track{}, false
}

var trackNameRe = regexp.MustCompile(`^[a-zA-Z0-9_]+$`)

// GetTrack is the track called name; one that does not exist is
// ResourceNotFoundException.
func (s *Service) GetTrack(name *string) (Track, error) {
	var v validation.Collector
	if v.Required("trackName", name != nil) {
		v.LengthAndPattern("trackName", *name, 1, 256, trackNameRe, trackNameRe.String())
	}
	if err := v.Err(); err != nil {
		return Track{}, err
	}
	t, ok := TrackNamed(*name)
	if !ok {
		return Track{}, errorf(ErrNotFound, *name, "Track %s not found.", *name)
	}
	return t, nil
}

// trackPrefix is what the page tokens of ListTracks resume after.
const trackPrefix = "tracks/"

// ListTracks lists the tracks in order, paged.
func (s *Service) ListTracks(sc Scope, maxResults *int32, nextToken *string) ([]Track, *string, error) {
	var v validation.Collector
	max := checkMaxResults(&v, maxResults)
	checkPaginationToken(&v, nextToken)
	if err := v.Err(); err != nil {
		return nil, nil, err
	}
	after, err := s.paginationStart(nextToken, "ListTracks", sc, trackPrefix)
	if err != nil {
		return nil, nil, err
	}
	var out []Track
	for _, t := range Tracks {
		if after != "" && trackPrefix+t.Name <= after {
			continue
		}
		if len(out) == max {
			tok, err := s.Pages.New("ListTracks", sc.Account, sc.Region, trackPrefix+out[len(out)-1].Name)
			if err != nil {
				return nil, nil, err
			}
			return out, &tok, nil
		}
		out = append(out, t)
	}
	return out, nil, nil
}

// checkPaginationToken applies the model's PaginationToken length (8 to
// 1024) to a nextToken.
func checkPaginationToken(v *validation.Collector, tok *string) {
	if tok != nil {
		v.Length("nextToken", *tok, 8, 1024)
	}
}

// paginationStart is pageStart for the operations whose model answers a
// bad nextToken with InvalidPaginationException.
func (s *Service) paginationStart(tok *string, op string, sc Scope, prefix string) (string, error) {
	after, err := s.pageStart(tok, op, sc, prefix)
	if errors.Is(err, validation.ErrInvalid) {
		return "", apierror.New(ErrInvalidPagination, "Invalid nextToken provided.")
	}
	return after, err
}

// emptyList collects the input checks of a list that is always empty.
type emptyList struct {
	validation.Collector
	next *string
	// paginated: the operation's model bounds nextToken as a
	// PaginationToken and answers a bad one with
	// InvalidPaginationException (otherwise: ValidationException).
	paginated bool
}

// newEmptyList starts the checks with maxResults and, for a paginated
// operation, nextToken's length.
func newEmptyList(maxResults *int32, next *string, paginated bool) *emptyList {
	l := &emptyList{next: next, paginated: paginated}
	checkMaxResults(&l.Collector, maxResults)
	if paginated {
		checkPaginationToken(&l.Collector, next)
	}
	return l
}

// done ends the checks: the input errors collected first, then any
// nextToken (this endpoint never gave one).
func (l *emptyList) done() error {
	if err := l.Err(); err != nil {
		return err
	}
	if l.next == nil {
		return nil
	}
	if l.paginated {
		return apierror.New(ErrInvalidPagination, "Invalid nextToken provided.")
	}
	return validation.Newf("Invalid nextToken provided.")
}

// ListEndpointAccessInput is ListEndpointAccess's input.
type ListEndpointAccessInput struct {
	MaxResults    *int32
	NextToken     *string
	OwnerAccount  *string
	VpcId         *string
	WorkgroupName *string
}

// ListEndpointAccess lists VPC endpoints: none. A workgroupName filter must
// name a workgroup.
func (s *Service) ListEndpointAccess(ctx context.Context, sc Scope, in ListEndpointAccessInput) error {
	l := newEmptyList(in.MaxResults, in.NextToken, false)
	if in.OwnerAccount != nil {
		l.LengthAndPattern("ownerAccount", *in.OwnerAccount, 1, 12, accountRe, `(\d{12})`)
	}
	if err := l.done(); err != nil {
		return err
	}
	if in.WorkgroupName != nil {
		if _, err := s.GetWorkgroup(ctx, sc, *in.WorkgroupName); err != nil {
			return err
		}
	}
	return nil
}

// GetEndpointAccess finds a VPC endpoint by name: there are none.
func (s *Service) GetEndpointAccess(name *string) error {
	var v validation.Collector
	if v.Required("endpointName", name != nil) {
		v.Length("endpointName", *name, 1, 255)
	}
	if err := v.Err(); err != nil {
		return err
	}
	return errorf(ErrNotFound, *name, "Endpoint %s not found.", apierror.Printable(*name))
}

// ListUsageLimitsInput is ListUsageLimits' input.
type ListUsageLimitsInput struct {
	MaxResults  *int32
	NextToken   *string
	ResourceArn *string
	UsageType   *string
}

// ListUsageLimits lists usage limits: none. A resourceArn filter must name
// a namespace or workgroup of the caller's.
func (s *Service) ListUsageLimits(ctx context.Context, sc Scope, in ListUsageLimitsInput) error {
	l := newEmptyList(in.MaxResults, in.NextToken, true)
	if in.UsageType != nil {
		l.OneOf("usageType", *in.UsageType, "serverless-compute", "cross-region-datasharing")
	}
	if err := l.done(); err != nil {
		return err
	}
	if in.ResourceArn != nil {
		if _, err := s.ResourceByARN(ctx, sc, *in.ResourceArn); err != nil {
			return err
		}
	}
	return nil
}

// SnapshotListInput is the input of ListSnapshots and ListRecoveryPoints
// (ListRecoveryPoints has no ownerAccount). Times are accepted and, with
// nothing to filter, not used.
type SnapshotListInput struct {
	MaxResults    *int32
	NextToken     *string
	NamespaceArn  *string
	NamespaceName *string
	OwnerAccount  *string
}

// ListSnapshots lists snapshots: none. Its namespace filters must name a
// namespace of the caller's.
func (s *Service) ListSnapshots(ctx context.Context, sc Scope, in SnapshotListInput) error {
	if err := newEmptyList(in.MaxResults, in.NextToken, false).done(); err != nil {
		return err
	}
	return s.namespaceFilters(ctx, sc, in.NamespaceName, in.NamespaceArn)
}

// ListRecoveryPoints lists recovery points: none. The model gives it no
// ResourceNotFoundException, so a namespace filter that names nothing just
// has no recovery points.
func (s *Service) ListRecoveryPoints(in SnapshotListInput) error {
	l := newEmptyList(in.MaxResults, in.NextToken, false)
	checkOptName(&l.Collector, "namespaceName", in.NamespaceName)
	return l.done()
}

// ListScheduledActions lists scheduled actions: none. A namespaceName filter
// must name a namespace.
func (s *Service) ListScheduledActions(ctx context.Context, sc Scope, maxResults *int32, nextToken, namespaceName *string) error {
	l := newEmptyList(maxResults, nextToken, true)
	checkOptName(&l.Collector, "namespaceName", namespaceName)
	if err := l.done(); err != nil {
		return err
	}
	return s.namespaceFilters(ctx, sc, namespaceName, nil)
}

// namespaceFilters checks that a namespace named by name or ARN exists.
func (s *Service) namespaceFilters(ctx context.Context, sc Scope, name, arn *string) error {
	if name != nil {
		if _, err := s.GetNamespace(ctx, sc, *name); err != nil {
			return err
		}
	}
	if arn != nil {
		res, err := s.ResourceByARN(ctx, sc, *arn)
		if err != nil {
			return err
		}
		if res.Kind != KindNamespace {
			return resourceARNNotFound(*arn)
		}
	}
	return nil
}
