package iamstore

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/idcgate/idcgate/internal/store"
)

// Credential is an access key with its secret, its user and the user's
// inline policies, read in one transaction.
type Credential struct {
	Key      AccessKey
	User     User
	Policies []Policy
}

// LookupKey reads the access key id's credential; ErrNoSuchEntity when the
// key, or its user, does not exist.
func (s *Service) LookupKey(ctx context.Context, keyID string) (Credential, error) {
	var c Credential
	err := s.Store.View(ctx, func(r store.Reader) error {
		var rec keyRecord
		if err := store.GetJSON(r, accessKeyKey(keyID), &rec); errors.Is(err, store.ErrNotFound) {
			return ErrNoSuchEntity
		} else if err != nil {
			return err
		}
		var sec sealedSecret
		if err := s.Secrets.Open(rec.Sealed, &sec); err != nil || sec.AccessKeyID != keyID {
			return fmt.Errorf("iamstore: access key %s: sealed secret does not open", keyID)
		}
		c.Key = rec.AccessKey
		c.Key.Secret = sec.Secret
		u, err := userEntity.get(r, rec.Account, rec.UserName)
		if err != nil {
			return err
		}
		c.User = u
		c.Policies, err = policies(r, userPoliciesPrefix(u.Account, u.Name))
		return err
	})
	return c, err
}

func policies(r store.Reader, prefix string) ([]Policy, error) {
	_, out, err := store.Select(r, prefix, func(Policy) bool { return true })
	return out, err
}

// UserWithPolicies is a user with its inline policies.
type UserWithPolicies struct {
	User     User
	Policies []Policy
}

// LookupUser reads a user and its inline policies by name.
func (s *Service) LookupUser(ctx context.Context, account, name string) (UserWithPolicies, error) {
	var out UserWithPolicies
	var err error
	out.User, out.Policies, err = userEntity.lookup(ctx, s, account, name)
	return out, err
}

// RoleWithPolicies is a role with its inline policies.
type RoleWithPolicies struct {
	Role     Role
	Policies []Policy
}

// LookupRole reads a role and its inline policies by name.
func (s *Service) LookupRole(ctx context.Context, account, name string) (RoleWithPolicies, error) {
	var out RoleWithPolicies
	var err error
	out.Role, out.Policies, err = roleEntity.lookup(ctx, s, account, name)
	return out, err
}

// AllRoles reads every role of the accounts with its inline policies.
func (s *Service) AllRoles(ctx context.Context, accounts []string) ([]RoleWithPolicies, error) {
	var out []RoleWithPolicies
	err := s.Store.View(ctx, func(r store.Reader) error {
		out = nil
		for _, a := range accounts {
			_, roles, err := store.Select(r, rolesPrefix(a), func(Role) bool { return true })
			if err != nil {
				return err
			}
			for _, role := range roles {
				ps, err := policies(r, rolePoliciesPrefix(a, role.Name))
				if err != nil {
					return err
				}
				out = append(out, RoleWithPolicies{Role: role, Policies: ps})
			}
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Role.ARN() < out[j].Role.ARN() })
	return out, err
}
