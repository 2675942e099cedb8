package identitystore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/masterkey"
	"github.com/idcgate/idcgate/internal/store"
)

// derivedUUID formats 16 bytes derived from the master key as a UUID
// (version 4 layout).
func derivedUUID(mk *masterkey.Key, purpose string, parts ...string) string {
	b := mk.Derive(16, purpose, parts...)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// ConfigUserID is the id of a user the config declares: derived from the
// master key, the identity store id and the user name, as before the
// directory was stored, so the sessions and tokens of config users survive
// restarts and every replica agrees.
func ConfigUserID(mk *masterkey.Key, storeID, userName string) string {
	return derivedUUID(mk, "identitystore-user-id", storeID, userName)
}

func configGroupID(mk *masterkey.Key, storeID, name string) string {
	return strings.TrimPrefix(storeID, "d-") + "-" + derivedUUID(mk, "identitystore-group-id", storeID, name)
}

func configMembershipID(mk *masterkey.Key, storeID, group, user string) string {
	return strings.TrimPrefix(storeID, "d-") + "-" + derivedUUID(mk, "identitystore-membership-id", storeID, group, user)
}

// ApplyConfig makes the store hold the config's users, groups and
// memberships, in one transaction (BEHAVIOUR 16.5): what the config names
// is written as it says (its userName, displayName and emails; a group's
// name; its members), keeping what the API added to those objects (other
// attributes, other memberships); a user or group the API made under a
// name the config declares gives way to the config's; config objects no
// longer in the config are removed. Objects made by API otherwise stay.
func (s *Service) ApplyConfig(ctx context.Context, mk *masterkey.Key, users []config.DirectoryUser, groups []config.DirectoryGroup) error {
	now := s.now()
	return s.Store.Update(ctx, func(stx store.Tx) error {
		tx := newSortedTx(stx)
		if err := s.applyConfig(tx, mk, now, users, groups); err != nil {
			return err
		}
		return tx.flush()
	})
}

func (s *Service) applyConfig(tx store.Tx, mk *masterkey.Key, now time.Time, declaredUsers []config.DirectoryUser, declaredGroups []config.DirectoryGroup) error {
	wantUsers := map[string]bool{}
	byName := map[string]string{}
	for _, cu := range declaredUsers {
		id := ConfigUserID(mk, s.StoreID, cu.UserName)
		wantUsers[id] = true
		byName[cu.UserName] = id
		emails := make([]Email, 0, len(cu.Emails))
		for i, e := range cu.Emails {
			emails = append(emails, Email{Value: e, Primary: i == 0})
		}
		cur, ok, err := s.readUser(tx, id)
		if err != nil {
			return err
		}
		u := cur
		if !ok {
			u = User{UserID: id, Record: Record{Revision: 0, Stamps: Stamps{CreatedAt: now}}}
		}
		u.FromConfig = true
		u.UserName, u.DisplayName, u.Emails = cu.UserName, cu.DisplayName, emails
		if ok && sameUser(cur, u) {
			continue
		}
		if err := users.declare(s, tx, cur, ok, u, now); err != nil {
			return err
		}
	}
	wantGroups := map[string]bool{}
	wantMembers := map[string]bool{}
	for _, cg := range declaredGroups {
		id := configGroupID(mk, s.StoreID, cg.Name)
		wantGroups[id] = true
		cur, ok, err := s.readGroup(tx, id)
		if err != nil {
			return err
		}
		if !ok || cur.DisplayName != cg.Name || !cur.FromConfig {
			g := cur
			if !ok {
				g = Group{GroupID: id, Record: Record{Stamps: Stamps{CreatedAt: now}}}
			}
			g.DisplayName, g.FromConfig = cg.Name, true
			if err := groups.declare(s, tx, cur, ok, g, now); err != nil {
				return err
			}
		}
		for _, m := range cg.Members {
			uid, ok := byName[m]
			if !ok {
				continue // config validation refuses an unknown member
			}
			mid := configMembershipID(mk, s.StoreID, cg.Name, m)
			wantMembers[mid] = true
			if cur, found, err := getID(tx, s.prefix()+"gm/"+id+"/"+uid); err != nil {
				return err
			} else if found {
				if cur == mid {
					continue
				}
				// The API made this membership: the config's takes its place.
				if err := s.deleteMembership(tx, cur); err != nil {
					return err
				}
			}
			if err := s.putMembership(tx, Membership{MembershipID: mid, GroupID: id, UserID: uid, Stamps: Stamps{CreatedAt: now, UpdatedAt: now, FromConfig: true}}); err != nil {
				return err
			}
		}
	}
	return s.dropStaleConfig(tx, wantUsers, wantGroups, wantMembers)
}

// declare writes t, a record the config declares, over cur, what was
// stored under its id (when had): another record (made by API) under its
// name gives way, and its revision and UpdatedAt move on.
func (k kind[T, A]) declare(s *Service, tx store.Tx, cur T, had bool, t T, now time.Time) error {
	f := k.fields(&t)
	if other, found, err := getID(tx, s.prefix()+k.names+key(*f.name)); err != nil {
		return err
	} else if found && other != *f.id {
		if o, ok, err := k.read(s, tx, other); err != nil {
			return err
		} else if ok {
			if err := k.remove(s, tx, o); err != nil {
				return err
			}
		}
	}
	if had {
		if err := k.unindex(s, tx, cur); err != nil {
			return err
		}
	}
	f.record.Revision++
	f.record.UpdatedAt = now
	if err := k.index(s, tx, t); err != nil {
		return err
	}
	return store.PutJSON(tx, k.key(s, *f.id), t)
}

// dropStaleConfig removes config-made objects the config no longer names.
func (s *Service) dropStaleConfig(tx store.Tx, users, groups, members map[string]bool) error {
	decodeMembership := func(_ string, v []byte) (Membership, error) {
		var m Membership
		return m, decodeJSON(v, &m)
	}
	if err := dropScanned(tx, s.prefix()+"m/", decodeMembership,
		func(m Membership) bool { return m.FromConfig && !members[m.MembershipID] },
		func(tx store.Tx, m Membership) error { return s.deleteMembership(tx, m.MembershipID) }); err != nil {
		return err
	}
	if err := dropScanned(tx, s.prefix()+"u/", s.users.Decode,
		func(u User) bool { return u.FromConfig && !users[u.UserID] }, s.deleteUser); err != nil {
		return err
	}
	return dropScanned(tx, s.prefix()+"g/", s.groups.Decode,
		func(g Group) bool { return g.FromConfig && !groups[g.GroupID] }, s.deleteGroup)
}

// dropScanned decodes each record under prefix and, once the scan is
// done, drops those stale picks (every one when stale is nil).
func dropScanned[T any](tx store.Tx, prefix string, decode func(k string, v []byte) (T, error), stale func(T) bool, drop func(store.Tx, T) error) error {
	var gone []T
	err := tx.Scan(prefix, "", func(k string, v []byte) (bool, error) {
		t, err := decode(k, v)
		if err == nil && (stale == nil || stale(t)) {
			gone = append(gone, t)
		}
		return err == nil, err
	})
	if err != nil {
		return err
	}
	for _, t := range gone {
		if err := drop(tx, t); err != nil {
			return err
		}
	}
	return nil
}

func sameUser(a, b User) bool {
	if a.UserName != b.UserName || a.DisplayName != b.DisplayName || a.FromConfig != b.FromConfig || len(a.Emails) != len(b.Emails) {
		return false
	}
	for i := range a.Emails {
		if a.Emails[i] != b.Emails[i] {
			return false
		}
	}
	return true
}
