package identitystore

import (
	"context"
	"errors"
	"slices"
	"time"

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
	ExternalIds []ExternalID `json:"ExternalIds,omitempty"`
	Revision    int64        `json:"Rev"`
	CreatedAt   time.Time    `json:"CreatedAt"`
	CreatedBy   string       `json:"CreatedBy,omitempty"`
	UpdatedAt   time.Time    `json:"UpdatedAt"`
	UpdatedBy   string       `json:"UpdatedBy,omitempty"`
	FromConfig  bool         `json:"FromConfig,omitempty"`
}

// RevisionString is the group's Revision as the API shows it.
func (g Group) RevisionString() string { return revision(g.Revision) }

func (s *Service) groupKey(id string) string { return s.prefix() + "g/" + id }

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

func (s *Service) indexGroup(tx store.Tx, g Group) error {
	p := s.prefix()
	if err := tx.Put(p+"gn/"+key(g.DisplayName), []byte(g.GroupID)); err != nil {
		return err
	}
	for _, x := range g.ExternalIds {
		if err := tx.Put(p+"gx/"+externalKey(x), []byte(g.GroupID)); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) unindexGroup(tx store.Tx, g Group) error {
	p := s.prefix()
	if id, ok, err := getID(tx, p+"gn/"+key(g.DisplayName)); err != nil {
		return err
	} else if ok && id == g.GroupID {
		if err := tx.Delete(p + "gn/" + key(g.DisplayName)); err != nil {
			return err
		}
	}
	for _, x := range g.ExternalIds {
		if err := tx.Delete(p + "gx/" + externalKey(x)); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) checkGroupUnique(r store.Reader, g Group) error {
	p := s.prefix()
	if id, ok, err := getID(r, p+"gn/"+key(g.DisplayName)); err != nil {
		return err
	} else if ok && id != g.GroupID {
		return conflict(ReasonUniqueness, "Duplicate GroupDisplayName")
	}
	for _, x := range g.ExternalIds {
		if id, ok, err := getID(r, p+"gx/"+externalKey(x)); err != nil {
			return err
		} else if ok && id != g.GroupID {
			return conflict(ReasonUniqueness, "Duplicate ExternalId")
		}
	}
	return nil
}

// named tells AfterGroupNamed of a group's display name.
func (s *Service) named(g Group, err error) (Group, error) {
	if err == nil && s.AfterGroupNamed != nil {
		s.AfterGroupNamed(g.DisplayName)
	}
	return g, err
}

// CreateGroup adds a group made by API, under a random id.
func (s *Service) CreateGroup(ctx context.Context, by string, a GroupAttributes) (Group, error) {
	if err := validateGroup(a); err != nil {
		return Group{}, err
	}
	id, err := s.newID()
	if err != nil {
		return Group{}, err
	}
	now := s.now()
	g := Group{GroupID: id, GroupAttributes: a, Revision: 1, CreatedAt: now, CreatedBy: by, UpdatedAt: now, UpdatedBy: by}
	err = s.Store.Update(ctx, func(tx store.Tx) error {
		if err := s.checkGroupUnique(tx, g); err != nil {
			return err
		}
		if err := s.indexGroup(tx, g); err != nil {
			return err
		}
		return store.PutJSON(tx, s.groupKey(id), g)
	})
	return s.named(g, err)
}

func (s *Service) readGroup(r store.Reader, id string) (Group, bool, error) {
	k := s.groupKey(id)
	raw, err := store.Peek(r, k)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Group{}, false, nil
	case err != nil:
		return Group{}, false, err
	}
	g, err := s.groups.Decode(k, raw)
	return g, err == nil, err
}

func (s *Service) mustGroup(r store.Reader, id string) (Group, error) {
	g, ok, err := s.readGroup(r, id)
	if err == nil && !ok {
		err = notFound(TypeGroup, id)
	}
	return g, err
}

// DescribeGroup returns a group.
func (s *Service) DescribeGroup(ctx context.Context, id string) (Group, error) {
	var g Group
	err := s.view(ctx, func(r store.Reader) error {
		var err error
		g, err = s.mustGroup(r, id)
		return err
	})
	return g, err
}

// UpdateGroup applies ops (displayName, description) to a group.
func (s *Service) UpdateGroup(ctx context.Context, by, id string, rev *string, ops []Operation) (Group, error) {
	if err := validateOps(ops); err != nil {
		return Group{}, err
	}
	var out Group
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		cur, err := s.mustGroup(tx, id)
		if err != nil {
			return err
		}
		if err := checkRevision(rev, cur.Revision); err != nil {
			return err
		}
		var a GroupAttributes
		if err := applyOps(cur.GroupAttributes, &a, ops, groupPaths); err != nil {
			return err
		}
		if err := validateGroup(a); err != nil {
			return err
		}
		g := cur
		g.GroupAttributes = a
		g.Revision++
		g.UpdatedAt, g.UpdatedBy = s.now(), by
		if err := s.checkGroupUnique(tx, g); err != nil {
			return err
		}
		if err := s.unindexGroup(tx, cur); err != nil {
			return err
		}
		if err := s.indexGroup(tx, g); err != nil {
			return err
		}
		out = g
		return store.PutJSON(tx, s.groupKey(id), g)
	})
	return s.named(out, err)
}

// DeleteGroup removes a group and its memberships.
func (s *Service) DeleteGroup(ctx context.Context, id string, rev *string) error {
	return s.Store.Update(ctx, func(tx store.Tx) error {
		g, err := s.mustGroup(tx, id)
		if err != nil {
			return err
		}
		if err := checkRevision(rev, g.Revision); err != nil {
			return err
		}
		return s.deleteGroup(tx, g)
	})
}

func (s *Service) deleteGroup(tx store.Tx, g Group) error {
	var ms []string
	err := tx.Scan(s.prefix()+"gm/"+g.GroupID+"/", "", func(_ string, v []byte) (bool, error) {
		ms = append(ms, string(v))
		return true, nil
	})
	if err != nil {
		return err
	}
	for _, m := range ms {
		if err := s.deleteMembership(tx, m); err != nil {
			return err
		}
	}
	if err := s.unindexGroup(tx, g); err != nil {
		return err
	}
	return tx.Delete(s.groupKey(g.GroupID))
}

// ListGroups lists groups in id order, or the one whose DisplayName is
// displayName (ignoring ASCII case) when the filter is given.
func (s *Service) ListGroups(ctx context.Context, displayName *string, p Page) ([]Group, string, error) {
	var out []Group
	var next string
	err := s.view(ctx, func(r store.Reader) error {
		out, next = nil, ""
		if displayName != nil {
			id, ok, err := getID(r, s.prefix()+"gn/"+key(*displayName))
			if err != nil || !ok {
				return err
			}
			g, ok, err := s.readGroup(r, id)
			if ok {
				out = append(out, g)
			}
			return err
		}
		var err error
		next, err = s.scanPage(r, "ListGroups", s.prefix()+"g/", p, func(k string, v []byte) error {
			g, err := s.groups.Decode(k, v)
			out = append(out, g)
			return err
		})
		return err
	})
	return out, next, err
}

// GroupIDByName and GroupIDByExternalID are GetGroupId's look-ups.
func (s *Service) GroupIDByName(ctx context.Context, name string) (string, error) {
	return s.lookup(ctx, s.prefix()+"gn/"+key(name), TypeGroup)
}

func (s *Service) GroupIDByExternalID(ctx context.Context, x ExternalID) (string, error) {
	return s.lookup(ctx, s.prefix()+"gx/"+externalKey(x), TypeGroup)
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
