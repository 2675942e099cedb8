package identitystore

import (
	"context"
	"slices"

	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/validation"
)

// GroupAttributes are a group's attributes the API sets.
type GroupAttributes struct {
	DisplayName string `json:"DisplayName,omitempty"`
	Description string `json:"Description,omitempty"`
}

// Group is a stored group.
type Group struct {
	GroupID string `json:"GroupId"`
	GroupAttributes
	Record
}

func validateGroup(a GroupAttributes) error {
	var v validation.Collector
	if v.Required("displayName", a.DisplayName != "") && v.Length("displayName", a.DisplayName, 1, 1024) &&
		v.Pattern("displayName", a.DisplayName, groupNameRe, groupNamePattern) && reserved(a.DisplayName) {
		v.Add("displayName", a.DisplayName, "Member must not be a reserved name (Administrator, AWSAdministrators)")
	}
	if a.Description != "" && v.Length("description", a.Description, 1, 1024) {
		v.Pattern("description", a.Description, sensitiveRe, sensitivePattern)
	}
	return v.Err()
}

// groups are the group records, their indexes (DisplayName, external
// ids) and their memberships.
var groups = kind[Group, GroupAttributes]{
	typ: TypeGroup, segment: "g/", names: "gn/", externals: "gx/", memberships: "gm/", list: "ListGroups",
	duplicateName: "GroupDisplayName",
	decoded:       func(s *Service) *store.Decoded[Group] { return &s.groups },
	validate:      validateGroup, paths: groupPaths,
	fields: func(g *Group) fields[GroupAttributes] {
		return fields[GroupAttributes]{id: &g.GroupID, attributes: &g.GroupAttributes, name: &g.DisplayName, record: &g.Record}
	},
}

func (s *Service) readGroup(r store.Reader, id string) (Group, bool, error) {
	return groups.read(s, r, id)
}
func (s *Service) mustGroup(r store.Reader, id string) (Group, error) { return groups.must(s, r, id) }
func (s *Service) deleteGroup(tx store.Tx, g Group) error             { return groups.remove(s, tx, g) }

// named tells AfterGroupNamed of a group's display name.
func (s *Service) named(g Group, err error) (Group, error) {
	if err == nil && s.AfterGroupNamed != nil {
		s.AfterGroupNamed(g.DisplayName)
	}
	return g, err
}

// CreateGroup adds a group made by API, under a random id.
func (s *Service) CreateGroup(ctx context.Context, by string, a GroupAttributes) (Group, error) {
	return s.named(groups.create(s, ctx, by, a))
}

// DescribeGroup returns a group.
func (s *Service) DescribeGroup(ctx context.Context, id string) (Group, error) {
	return groups.describe(s, ctx, id)
}

// UpdateGroup applies ops (displayName, description) to a group.
func (s *Service) UpdateGroup(ctx context.Context, by, id string, rev *string, ops []Operation) (Group, error) {
	return s.named(groups.update(s, ctx, by, id, rev, ops))
}

// DeleteGroup removes a group and its memberships.
func (s *Service) DeleteGroup(ctx context.Context, id string, rev *string) error {
	return groups.delete(s, ctx, id, rev)
}

// ListGroups lists groups in id order, or the one whose DisplayName is
// displayName (ignoring ASCII case) when the filter is given.
func (s *Service) ListGroups(ctx context.Context, displayName *string, p Page) ([]Group, string, error) {
	return groups.page(s, ctx, displayName, p)
}

// GroupIDByName and GroupIDByExternalID are GetGroupId's look-ups.
func (s *Service) GroupIDByName(ctx context.Context, name string) (string, error) {
	return groups.idByName(s, ctx, name)
}

func (s *Service) GroupIDByExternalID(ctx context.Context, x ExternalID) (string, error) {
	return groups.idByExternalID(s, ctx, x)
}

// GroupNames lists the display names of every group, sorted.
func (s *Service) GroupNames(ctx context.Context) ([]string, error) {
	var out []string
	err := s.view(ctx, func(r store.Reader) error {
		out = nil
		return r.Scan(s.prefix()+"g/", "", func(k string, v []byte) (bool, error) {
			g, err := s.groups.Decode(k, v)
			out = append(out, g.DisplayName)
			return err == nil, err
		})
	})
	slices.Sort(out)
	return out, err
}
