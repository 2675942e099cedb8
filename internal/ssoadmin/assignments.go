package ssoadmin

import (
	"context"
	"errors"
	"regexp"
	"strings"

	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/validation"
)

// Principal types.
const (
	PrincipalUser  = "USER"
	PrincipalGroup = "GROUP"
)

// Assignment gives a user or group (directly) access to an application.
type Assignment struct {
	ApplicationArn string
	PrincipalId    string
	PrincipalType  string
	FromConfig     bool `json:",omitempty"`
}

const principalIDPattern = `([0-9a-f]{10}-|)[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}`

var principalIDRe = regexp.MustCompile(`^` + principalIDPattern + `$`)

func checkPrincipal(v *validation.Collector, id, typ *string) {
	if v.Required("principalId", id != nil) && v.Length("principalId", *id, 1, 47) {
		v.Pattern("principalId", *id, principalIDRe, principalIDPattern)
	}
	if v.Required("principalType", typ != nil) {
		v.OneOf("principalType", *typ, PrincipalUser, PrincipalGroup)
	}
}

func (s *Service) asgAppPrefix(appArn string) string {
	return s.asgPrefix() + appArn[strings.LastIndexByte(appArn, '/')+1:] + "/"
}

func (s *Service) asgKey(appArn, typ, id string) string {
	return s.asgAppPrefix(appArn) + typ + "/" + id
}

func (s *Service) asgpKey(typ, id, appArn string) string {
	return s.asgpPrefix() + typ + "/" + id + "/" + appArn[strings.LastIndexByte(appArn, '/')+1:]
}

// AssignmentInput names one assignment.
type AssignmentInput struct {
	ApplicationArn *string
	PrincipalId    *string
	PrincipalType  *string
}

func (in AssignmentInput) check() error {
	var v validation.Collector
	CheckApplicationArn(&v, "applicationArn", in.ApplicationArn)
	checkPrincipal(&v, in.PrincipalId, in.PrincipalType)
	return v.Err()
}

// CreateApplicationAssignment assigns a user or group of the identity
// store to an application.
func (s *Service) CreateApplicationAssignment(ctx context.Context, in AssignmentInput) error {
	if err := in.check(); err != nil {
		return err
	}
	if s.Directory != nil {
		ok, err := s.Directory.PrincipalExists(ctx, *in.PrincipalType, *in.PrincipalId)
		if err != nil {
			return err
		}
		if !ok {
			return errorf(ErrNotFound, "%s %s does not exist in identity store %s.", principalWord(*in.PrincipalType), *in.PrincipalId, s.Instance.IdentityStoreID)
		}
	}
	return s.Store.Update(ctx, func(tx store.Tx) error {
		_, err := s.putAssignment(tx, Assignment{ApplicationArn: *in.ApplicationArn, PrincipalId: *in.PrincipalId, PrincipalType: *in.PrincipalType})
		return err
	})
}

func principalWord(t string) string {
	if t == PrincipalGroup {
		return "Group"
	}
	return "User"
}

// putAssignment writes an assignment and its principal index; an existing
// one is a ConflictException unless a is the config's (which takes it over).
func (s *Service) putAssignment(tx store.Tx, a Assignment) (bool, error) {
	if _, err := s.getApp(tx, a.ApplicationArn); err != nil {
		return false, err
	}
	key := s.asgKey(a.ApplicationArn, a.PrincipalType, a.PrincipalId)
	var old Assignment
	switch err := store.GetJSON(tx, key, &old); {
	case err == nil && !a.FromConfig:
		return false, errorf(ErrConflict, "%s %s is already assigned to application %s.", principalWord(a.PrincipalType), a.PrincipalId, a.ApplicationArn)
	case err == nil && old == a:
		return false, nil
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return false, err
	}
	if err := store.PutJSON(tx, key, a); err != nil {
		return false, err
	}
	return true, tx.Put(s.asgpKey(a.PrincipalType, a.PrincipalId, a.ApplicationArn), []byte(a.ApplicationArn))
}

func (s *Service) getAssignment(r store.Reader, in AssignmentInput) (Assignment, error) {
	var a Assignment
	if _, err := s.getApp(r, *in.ApplicationArn); err != nil {
		return a, err
	}
	err := store.GetJSON(r, s.asgKey(*in.ApplicationArn, *in.PrincipalType, *in.PrincipalId), &a)
	if errors.Is(err, store.ErrNotFound) {
		return a, errorf(ErrNotFound, "%s %s is not assigned to application %s.", principalWord(*in.PrincipalType), *in.PrincipalId, *in.ApplicationArn)
	}
	return a, err
}

// DescribeApplicationAssignment reads one assignment.
func (s *Service) DescribeApplicationAssignment(ctx context.Context, in AssignmentInput) (Assignment, error) {
	if err := in.check(); err != nil {
		return Assignment{}, err
	}
	return store.Read(ctx, s.Store, func(r store.Reader) (Assignment, error) { return s.getAssignment(r, in) })
}

// DeleteApplicationAssignment removes an assignment; the next
// CreateTokenWithIAM of an application requiring assignment sees it.
func (s *Service) DeleteApplicationAssignment(ctx context.Context, in AssignmentInput) error {
	if err := in.check(); err != nil {
		return err
	}
	return s.Store.Update(ctx, func(tx store.Tx) error {
		if _, err := s.getAssignment(tx, in); err != nil {
			return err
		}
		return s.deleteAssignment(tx, *in.ApplicationArn, *in.PrincipalType, *in.PrincipalId)
	})
}

func (s *Service) deleteAssignment(tx store.Tx, appArn, typ, id string) error {
	if err := tx.Delete(s.asgKey(appArn, typ, id)); err != nil {
		return err
	}
	return tx.Delete(s.asgpKey(typ, id, appArn))
}

// ListApplicationAssignments lists an application's assignments, paged.
func (s *Service) ListApplicationAssignments(ctx context.Context, arn *string, p Page) ([]Assignment, *string, error) {
	if err := checkAppPage(arn, p); err != nil {
		return nil, nil, err
	}
	appExists := func(r store.Reader) error {
		_, err := s.getApp(r, *arn)
		return err
	}
	return pageOf[Assignment](ctx, s, "ListApplicationAssignments", s.asgAppPrefix(*arn), p, appExists, nil)
}

// ListForPrincipalInput is ListApplicationAssignmentsForPrincipal's input.
type ListForPrincipalInput struct {
	InstanceArn   *string
	PrincipalId   *string
	PrincipalType *string
	Filter        *struct {
		ApplicationArn *string
	}
	MaxResults *int32
	NextToken  *string
}

// ListApplicationAssignmentsForPrincipal lists the applications a user or
// group is directly assigned to, paged.
func (s *Service) ListApplicationAssignmentsForPrincipal(ctx context.Context, in ListForPrincipalInput) ([]Assignment, *string, error) {
	var v validation.Collector
	CheckInstanceArn(&v, "instanceArn", in.InstanceArn)
	checkPrincipal(&v, in.PrincipalId, in.PrincipalType)
	if in.Filter != nil && in.Filter.ApplicationArn != nil {
		CheckApplicationArn(&v, "filter.applicationArn", in.Filter.ApplicationArn)
	}
	p := Page{in.MaxResults, in.NextToken}
	checkPage(&v, p)
	if err := v.Err(); err != nil {
		return nil, nil, err
	}
	if err := s.CheckInstance(*in.InstanceArn); err != nil {
		return nil, nil, err
	}
	out := []Assignment{}
	var next *string
	prefix := s.asgpPrefix() + *in.PrincipalType + "/" + *in.PrincipalId + "/"
	err := s.Store.View(ctx, func(r store.Reader) error {
		var err error
		next, err = s.scanPage(r, "ListApplicationAssignmentsForPrincipal", prefix, p, func(_ string, b []byte) (bool, error) {
			app := string(b)
			if in.Filter != nil && in.Filter.ApplicationArn != nil && *in.Filter.ApplicationArn != app {
				return false, nil
			}
			out = append(out, Assignment{ApplicationArn: app, PrincipalId: *in.PrincipalId, PrincipalType: *in.PrincipalType})
			return true, nil
		})
		return err
	})
	return out, next, err
}

// IsAssigned reports whether the user, or one of her groups, is assigned
// to the application directly.
func (s *Service) IsAssigned(ctx context.Context, appArn, userID string, groupIDs []string) (bool, error) {
	found := false
	err := s.Store.View(ctx, func(r store.Reader) error {
		found = false
		check := func(typ, id string) (bool, error) {
			_, err := r.Get(s.asgKey(appArn, typ, id))
			if errors.Is(err, store.ErrNotFound) {
				return false, nil
			}
			return err == nil, err
		}
		ok, err := check(PrincipalUser, userID)
		if err != nil || ok {
			found = ok
			return err
		}
		for _, g := range groupIDs {
			if ok, err := check(PrincipalGroup, g); err != nil || ok {
				found = ok
				return err
			}
		}
		return nil
	})
	return found, err
}
