package iamstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/idcgate/idcgate/internal/apierror"
	"github.com/idcgate/idcgate/internal/iam"
	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/validation"
)

// owner is the user or role an inline policy belongs to.
type owner struct {
	kind    string // "role" or "user"
	account string
	name    string
	id      string
}

func (o owner) prefix() string {
	if o.kind == "role" {
		return rolePoliciesPrefix(o.account, o.name)
	}
	return userPoliciesPrefix(o.account, o.name)
}

func (o owner) max() int {
	if o.kind == "role" {
		return MaxRolePolicies
	}
	return MaxUserPolicies
}

// check reads the owner in the transaction and makes sure it is the one
// authorized.
func (o owner) check(r store.Reader) error {
	if o.kind == "role" {
		return roleEntity.check(r, o.account, o.name, o.id)
	}
	return userEntity.check(r, o.account, o.name, o.id)
}

func (o owner) noSuchPolicy(policy string) error {
	return &Error{Kind: ErrNoSuchEntity, Message: fmt.Sprintf("The %s policy with name %s cannot be found.", o.kind, apierror.Printable(policy))}
}

func (s *Service) putPolicy(ctx context.Context, o owner, name, doc string) error {
	var v validation.Collector
	checkName(&v, o.kind+"Name", o.name, 64)
	checkName(&v, "policyName", name, 128)
	checkDocument(&v, "policyDocument", doc)
	if err := v.Err(); err != nil {
		return err
	}
	if _, err := parsePolicy(doc, iam.KindIdentity); err != nil {
		return err
	}
	return s.Store.Update(ctx, func(tx store.Tx) error {
		if err := o.check(tx); err != nil {
			return err
		}
		size := PolicySize(doc)
		err := tx.Scan(o.prefix(), "", func(k string, b []byte) (bool, error) {
			var p Policy
			if err := json.Unmarshal(b, &p); err != nil {
				return false, err
			}
			if p.Name != name {
				size += PolicySize(p.Document)
			}
			return true, nil
		})
		if err != nil {
			return err
		}
		if size > o.max() {
			return apierror.New(ErrLimitExceeded, "Maximum policy size of %d bytes exceeded for %s %s", o.max(), o.kind, o.name)
		}
		return store.PutJSON(tx, o.prefix()+name, Policy{Name: name, Document: doc})
	})
}

func (s *Service) getPolicy(ctx context.Context, o owner, name string) (Policy, error) {
	var v validation.Collector
	checkName(&v, o.kind+"Name", o.name, 64)
	checkName(&v, "policyName", name, 128)
	if err := v.Err(); err != nil {
		return Policy{}, err
	}
	var p Policy
	err := s.Store.View(ctx, func(r store.Reader) error {
		if err := o.check(r); err != nil {
			return err
		}
		err := store.GetJSON(r, o.prefix()+name, &p)
		if errors.Is(err, store.ErrNotFound) {
			return o.noSuchPolicy(name)
		}
		return err
	})
	return p, err
}

func (s *Service) listPolicies(ctx context.Context, o owner, op string, page ListInput) ([]string, string, error) {
	return listOwned(ctx, s, o, op, o.prefix(), page, func(_ store.Reader, name string) (string, error) { return name, nil })
}

// listOwned lists a page of what the user or role o has under prefix (its
// inline policies or access keys), for op's markers: item gives what an
// entry's name (its key past prefix) lists as.
func listOwned[T any](ctx context.Context, s *Service, o owner, op, prefix string, page ListInput, item func(r store.Reader, name string) (T, error)) ([]T, string, error) {
	var v validation.Collector
	checkName(&v, o.kind+"Name", o.name, 64)
	max := page.check(&v)
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	scope := o.account + "/" + strings.ToLower(o.name)
	after, err := s.after(op, scope, page.Marker)
	if err != nil {
		return nil, "", err
	}
	var out []T
	var next string
	err = s.Store.View(ctx, func(r store.Reader) error {
		out = nil
		if err := o.check(r); err != nil {
			return err
		}
		next, err = s.scanPage(r, op, scope, prefix, after, max, func(k string, _ []byte, peek bool) (bool, error) {
			if peek {
				return true, nil
			}
			t, err := item(r, strings.TrimPrefix(k, prefix))
			if err != nil {
				return false, err
			}
			out = append(out, t)
			return true, nil
		})
		return err
	})
	return out, next, err
}

func (s *Service) deletePolicy(ctx context.Context, o owner, name string) error {
	var v validation.Collector
	checkName(&v, o.kind+"Name", o.name, 64)
	checkName(&v, "policyName", name, 128)
	if err := v.Err(); err != nil {
		return err
	}
	return s.Store.Update(ctx, func(tx store.Tx) error {
		if err := o.check(tx); err != nil {
			return err
		}
		if _, err := tx.Get(o.prefix() + name); errors.Is(err, store.ErrNotFound) {
			return o.noSuchPolicy(name)
		} else if err != nil {
			return err
		}
		return tx.Delete(o.prefix() + name)
	})
}

// PutRolePolicy adds or replaces an inline policy of the role whose id is
// roleID.
func (s *Service) PutRolePolicy(ctx context.Context, account, role, roleID, name, doc string) error {
	return s.putPolicy(ctx, owner{"role", account, role, roleID}, name, doc)
}

// GetRolePolicy reads an inline policy of a role.
func (s *Service) GetRolePolicy(ctx context.Context, account, role, name string) (Policy, error) {
	return s.getPolicy(ctx, owner{"role", account, role, ""}, name)
}

// ListRolePolicies lists the names of a role's inline policies.
func (s *Service) ListRolePolicies(ctx context.Context, account, role string, page ListInput) ([]string, string, error) {
	return s.listPolicies(ctx, owner{"role", account, role, ""}, "ListRolePolicies", page)
}

// DeleteRolePolicy deletes an inline policy of the role whose id is roleID.
func (s *Service) DeleteRolePolicy(ctx context.Context, account, role, roleID, name string) error {
	return s.deletePolicy(ctx, owner{"role", account, role, roleID}, name)
}

// PutUserPolicy adds or replaces an inline policy of the user whose id is
// userID.
func (s *Service) PutUserPolicy(ctx context.Context, account, user, userID, name, doc string) error {
	return s.putPolicy(ctx, owner{"user", account, user, userID}, name, doc)
}

// GetUserPolicy reads an inline policy of a user.
func (s *Service) GetUserPolicy(ctx context.Context, account, user, name string) (Policy, error) {
	return s.getPolicy(ctx, owner{"user", account, user, ""}, name)
}

// ListUserPolicies lists the names of a user's inline policies.
func (s *Service) ListUserPolicies(ctx context.Context, account, user string, page ListInput) ([]string, string, error) {
	return s.listPolicies(ctx, owner{"user", account, user, ""}, "ListUserPolicies", page)
}

// DeleteUserPolicy deletes an inline policy of the user whose id is userID.
func (s *Service) DeleteUserPolicy(ctx context.Context, account, user, userID, name string) error {
	return s.deletePolicy(ctx, owner{"user", account, user, userID}, name)
}
