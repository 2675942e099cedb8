package iamstore

import (
	"context"
	"errors"
	"math"
	"strings"

	"github.com/idcgate/idcgate/internal/store"
)

// DeclaredUser is a user the config declares, with its inline policies and
// access keys (secrets in the clear; they are sealed when stored).
type DeclaredUser struct {
	User     User
	Policies []Policy
	Keys     []AccessKey
}

// DeclaredRole is a role the config declares, with its inline policies.
type DeclaredRole struct {
	Role     Role
	Policies []Policy
}

// Apply re-applies what the config declares for account, in one
// transaction (BEHAVIOUR 8.1, 8.2, ours): every declared user, role, policy,
// key and OpenID Connect provider is written as declared (the config wins for what it names; a declared
// entity keeps its creation date); what an earlier config declared and this
// one does not is removed, a user or role with everything under it; what
// the API made is left alone.
func (s *Service) Apply(ctx context.Context, account string, users []DeclaredUser, roles []DeclaredRole, providers []OIDCProvider) error {
	return s.Store.Update(ctx, func(tx store.Tx) error {
		if err := s.applyOIDCProviders(tx, account, providers); err != nil {
			return err
		}
		declaredUsers := map[string]bool{}
		for _, d := range users {
			declaredUsers[strings.ToLower(d.User.Name)] = true
			if err := s.applyUser(tx, account, d); err != nil {
				return err
			}
		}
		declaredRoles := map[string]bool{}
		for _, d := range roles {
			declaredRoles[strings.ToLower(d.Role.Name)] = true
			if err := roleEntity.declare(s, tx, account, d.Role, d.Policies); err != nil {
				return err
			}
		}
		gone, err := userEntity.undeclared(tx, account, declaredUsers)
		if err != nil {
			return err
		}
		for _, name := range gone {
			if err := removeUser(tx, account, name); err != nil {
				return err
			}
		}
		if gone, err = roleEntity.undeclared(tx, account, declaredRoles); err != nil {
			return err
		}
		for _, name := range gone {
			if err := deleteAll(tx, rolePoliciesPrefix(account, name)); err != nil {
				return err
			}
			if err := tx.Delete(roleKey(account, name)); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Service) applyUser(tx store.Tx, account string, d DeclaredUser) error {
	if err := userEntity.declare(s, tx, account, d.User, d.Policies); err != nil {
		return err
	}
	// Keys: the config's replace the config's; API-made keys stay.
	declared := map[string]bool{}
	for _, k := range d.Keys {
		declared[k.AccessKeyID] = true
	}
	prefix := userKeysPrefix(account, d.User.Name)
	var stale []string
	err := tx.Scan(prefix, "", func(k string, _ []byte) (bool, error) {
		id := strings.TrimPrefix(k, prefix)
		if declared[id] {
			return true, nil
		}
		var rec keyRecord
		if err := store.GetJSON(tx, accessKeyKey(id), &rec); err != nil && !errors.Is(err, store.ErrNotFound) {
			return false, err
		}
		if rec.FromConfig || rec.AccessKeyID == "" {
			stale = append(stale, id)
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	for _, id := range stale {
		if err := tx.Delete(prefix + id); err != nil {
			return err
		}
		if err := tx.Delete(accessKeyKey(id)); err != nil {
			return err
		}
	}
	for _, k := range d.Keys {
		var old keyRecord
		if err := store.GetJSON(tx, accessKeyKey(k.AccessKeyID), &old); err == nil {
			// Declared here: it leaves whoever held it before.
			if err := tx.Delete(userKeysPrefix(old.Account, old.UserName) + k.AccessKeyID); err != nil {
				return err
			}
			k.CreateDate = old.CreateDate
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		} else {
			k.CreateDate = s.now()
		}
		k.Account, k.UserName, k.Status, k.FromConfig = account, d.User.Name, "Active", true
		if err := s.putKey(tx, k); err != nil {
			return err
		}
	}
	return nil
}

// applyPolicies writes the declared policies under prefix and removes
// config-made ones no longer declared; API-made ones stay.
func applyPolicies(tx store.Tx, prefix string, declared []Policy) error {
	names := map[string]bool{}
	for _, p := range declared {
		names[p.Name] = true
	}
	if err := store.DropSelected(tx, prefix, func(p Policy) bool { return p.FromConfig && !names[p.Name] }, nil); err != nil {
		return err
	}
	for _, p := range declared {
		p.FromConfig = true
		if err := store.PutJSON(tx, prefix+p.Name, p); err != nil {
			return err
		}
	}
	return nil
}

// removeUser deletes a user the config no longer declares, with its
// policies and keys.
func removeUser(tx store.Tx, account, name string) error {
	if err := deleteAll(tx, userPoliciesPrefix(account, name)); err != nil {
		return err
	}
	// One scan of the user's key list serves both deletes: each key's
	// record and its entry in the list.
	prefix := userKeysPrefix(account, name)
	keys, err := store.Keys(tx, prefix, math.MaxInt, nil)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := tx.Delete(accessKeyKey(strings.TrimPrefix(k, prefix))); err != nil {
			return err
		}
		if err := tx.Delete(k); err != nil {
			return err
		}
	}
	return tx.Delete(userKey(account, name))
}

// deleteAll deletes every key under prefix.
func deleteAll(tx store.Tx, prefix string) error {
	keys, err := store.Keys(tx, prefix, math.MaxInt, nil)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := tx.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
