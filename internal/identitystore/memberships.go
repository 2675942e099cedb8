package identitystore

import (
	"context"
	"errors"

	"github.com/idcgate/idcgate/internal/store"
)

// Membership is a user's membership of a group.
type Membership struct {
	MembershipID string `json:"MembershipId"`
	GroupID      string `json:"GroupId"`
	UserID       string `json:"UserId"`
	Stamps
}

func (s *Service) membershipKey(id string) string { return s.prefix() + "m/" + id }

// CreateMembership makes userID a member of groupID; both must exist, and
// the membership must be new (ConflictException otherwise, as AWS).
func (s *Service) CreateMembership(ctx context.Context, by, groupID, userID string) (Membership, error) {
	id, err := s.newID()
	if err != nil {
		return Membership{}, err
	}
	now := s.now()
	m := Membership{MembershipID: id, GroupID: groupID, UserID: userID, Stamps: made(now, by)}
	err = s.Store.Update(ctx, func(tx store.Tx) error {
		if _, err := s.mustGroup(tx, groupID); err != nil {
			return err
		}
		if _, err := s.mustUser(tx, userID); err != nil {
			return err
		}
		if _, ok, err := getID(tx, s.prefix()+"gm/"+groupID+"/"+userID); err != nil {
			return err
		} else if ok {
			return conflict(ReasonUniqueness, "Member is already in the group")
		}
		return s.putMembership(tx, m)
	})
	return m, err
}

func (s *Service) putMembership(tx store.Tx, m Membership) error {
	p := s.prefix()
	if err := tx.Put(p+"gm/"+m.GroupID+"/"+m.UserID, []byte(m.MembershipID)); err != nil {
		return err
	}
	if err := tx.Put(p+"um/"+m.UserID+"/"+m.GroupID, []byte(m.MembershipID)); err != nil {
		return err
	}
	return store.PutJSON(tx, s.membershipKey(m.MembershipID), m)
}

func (s *Service) readMembership(r store.Reader, id string) (Membership, bool, error) {
	var m Membership
	err := store.GetJSON(r, s.membershipKey(id), &m)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return m, false, nil
	case err != nil:
		return m, false, err
	}
	return m, true, nil
}

func (s *Service) mustMembership(r store.Reader, id string) (Membership, error) {
	m, ok, err := s.readMembership(r, id)
	if err == nil && !ok {
		err = notFound(TypeGroupMembership, id)
	}
	return m, err
}

// deleteMembership removes a membership and its two index entries; a
// missing one is no error (a cascade may meet it twice).
func (s *Service) deleteMembership(tx store.Tx, id string) error {
	m, ok, err := s.readMembership(tx, id)
	if err != nil || !ok {
		return err
	}
	p := s.prefix()
	if err := tx.Delete(p + "gm/" + m.GroupID + "/" + m.UserID); err != nil {
		return err
	}
	if err := tx.Delete(p + "um/" + m.UserID + "/" + m.GroupID); err != nil {
		return err
	}
	return tx.Delete(s.membershipKey(id))
}

// DescribeMembership returns a membership.
func (s *Service) DescribeMembership(ctx context.Context, id string) (Membership, error) {
	var m Membership
	err := s.view(ctx, func(r store.Reader) error {
		var err error
		m, err = s.mustMembership(r, id)
		return err
	})
	return m, err
}

// DeleteMembership removes a membership.
func (s *Service) DeleteMembership(ctx context.Context, id string) error {
	return s.Store.Update(ctx, func(tx store.Tx) error {
		if _, err := s.mustMembership(tx, id); err != nil {
			return err
		}
		return s.deleteMembership(tx, id)
	})
}

// MembershipID is GetGroupMembershipId.
func (s *Service) MembershipID(ctx context.Context, groupID, userID string) (string, error) {
	var id string
	err := s.view(ctx, func(r store.Reader) error {
		v, ok, err := getID(r, s.prefix()+"gm/"+groupID+"/"+userID)
		if err == nil && !ok {
			return notFound(TypeGroupMembership, "")
		}
		id = v
		return err
	})
	return id, err
}

// ListMemberships lists a group's memberships (in member id order).
func (s *Service) ListMemberships(ctx context.Context, groupID string, p Page) ([]Membership, string, error) {
	return s.listMemberships(ctx, "ListGroupMemberships", "gm/", groupID, TypeGroup, p)
}

// ListMembershipsForMember lists a user's memberships (in group id order).
func (s *Service) ListMembershipsForMember(ctx context.Context, userID string, p Page) ([]Membership, string, error) {
	return s.listMemberships(ctx, "ListGroupMembershipsForMember", "um/", userID, TypeUser, p)
}

func (s *Service) listMemberships(ctx context.Context, op, index, id, typ string, p Page) ([]Membership, string, error) {
	var out []Membership
	var next string
	err := s.view(ctx, func(r store.Reader) error {
		out, next = nil, ""
		var err error
		if typ == TypeGroup {
			_, err = s.mustGroup(r, id)
		} else {
			_, err = s.mustUser(r, id)
		}
		if err != nil {
			return err
		}
		next, err = s.scanPage(r, op, s.prefix()+index+id+"/", p, func(_ string, v []byte) error {
			m, ok, err := s.readMembership(r, string(v))
			if ok {
				out = append(out, m)
			}
			return err
		})
		return err
	})
	return out, next, err
}

// IsMemberInGroups answers, for each group id, whether userID is a member.
func (s *Service) IsMemberInGroups(ctx context.Context, userID string, groupIDs []string) ([]bool, error) {
	out := make([]bool, len(groupIDs))
	err := s.view(ctx, func(r store.Reader) error {
		p := s.prefix() + "um/" + userID + "/"
		for i, g := range groupIDs {
			_, ok, err := getID(r, p+g)
			if err != nil {
				return err
			}
			out[i] = ok
		}
		return nil
	})
	return out, err
}

// GroupIDs are the ids of a user's groups, sorted: her memberships now
// (sso-admin's assignments to groups are checked against them).
func (s *Service) GroupIDs(ctx context.Context, userID string) ([]string, error) {
	p := s.prefix() + "um/" + userID + "/"
	var out []string
	err := s.view(ctx, func(r store.Reader) error {
		return r.Scan(p, "", func(k string, _ []byte) (bool, error) {
			out = append(out, k[len(p):])
			return true, nil
		})
	})
	return out, err
}
