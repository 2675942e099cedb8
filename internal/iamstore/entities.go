package iamstore

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/idcgate/idcgate/internal/apierror"
	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/validation"
)

// entity is what IAM users and roles differ in: where their records and
// inline policies are kept, how a record tells its id, path and creation
// date, and IAM's words for them. The steps they share (read, create,
// list, delete, look up, re-apply from the config) are kept once, over
// their records T.
type entity[T any] struct {
	kind     string // "user" or "role": the parameter is kind+"Name"
	noun     string // "User" or "Role", as a message begins
	list     string // the List operation, which markers are bound to
	prefix   func(account string) string
	key      func(account, name string) string
	policies func(account, name string) string // its inline policies' prefix
	notFound func(name string) error
	fields   func(*T) fields
	arn      func(*T) string
}

// fields point into one record at what the shared steps read and set.
type fields struct {
	account, name, id, path *string
	created                 *time.Time
	fromConfig              *bool
}

var userEntity = entity[User]{
	kind: "user", noun: "User", list: "ListUsers", arn: (*User).ARN,
	prefix: usersPrefix, key: userKey, policies: userPoliciesPrefix, notFound: noSuchUser,
	fields: func(u *User) fields {
		return fields{account: &u.Account, name: &u.Name, id: &u.UserID, path: &u.Path, created: &u.CreateDate, fromConfig: &u.FromConfig}
	},
}

var roleEntity = entity[Role]{
	kind: "role", noun: "Role", list: "ListRoles", arn: (*Role).ARN,
	prefix: rolesPrefix, key: roleKey, policies: rolePoliciesPrefix, notFound: noSuchRole,
	fields: func(r *Role) fields {
		return fields{account: &r.Account, name: &r.Name, id: &r.RoleID, path: &r.Path, created: &r.CreateDate, fromConfig: &r.FromConfig}
	},
}

// get reads the record named name (ignoring case).
func (e entity[T]) get(r store.Reader, account, name string) (T, error) {
	var t T
	err := store.GetJSON(r, e.key(account, name), &t)
	if errors.Is(err, store.ErrNotFound) {
		var zero T
		return zero, e.notFound(name)
	}
	return t, err
}

// authorized reads the record, which must be the one whose id is id (the
// one authorized: a record deleted and made again under its name is
// another).
func (e entity[T]) authorized(r store.Reader, account, name, id string) (T, error) {
	t, err := e.get(r, account, name)
	if err == nil && *e.fields(&t).id != id {
		var zero T
		return zero, e.notFound(name)
	}
	return t, err
}

// check reads the record, which must be the one whose id is id unless id
// is empty (any record of the name).
func (e entity[T]) check(r store.Reader, account, name, id string) error {
	if id == "" {
		_, err := e.get(r, account, name)
		return err
	}
	_, err := e.authorized(r, account, name, id)
	return err
}

// arnOf is the ARN of the account's record named name; empty when there
// is none.
func (e entity[T]) arnOf(r store.Reader, account, name string) (string, error) {
	t, err := e.get(r, account, name)
	switch {
	case errors.Is(err, ErrNoSuchEntity):
		return "", nil
	case err != nil:
		return "", err
	}
	return e.arn(&t), nil
}

// describe finds a record by name (ignoring case, as IAM).
func (e entity[T]) describe(ctx context.Context, s *Service, account, name string) (T, error) {
	var t T
	if err := checkEntityName(e.kind+"Name", name); err != nil {
		return t, err
	}
	return store.Read(ctx, s.Store, func(r store.Reader) (T, error) { return e.get(r, account, name) })
}

// insert puts t, a new record named name; check (when not nil) runs
// between the name's check and the put.
func (e entity[T]) insert(tx store.Tx, account, name string, t T, check func() error) error {
	if _, err := tx.Get(e.key(account, name)); err == nil {
		return apierror.New(ErrEntityExists, "%s with name %s already exists.", e.noun, name)
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if check != nil {
		if err := check(); err != nil {
			return err
		}
	}
	return store.PutJSON(tx, e.key(account, name), t)
}

// page lists the account's records whose path starts with pathPrefix, in
// name order.
func (e entity[T]) page(ctx context.Context, s *Service, account, pathPrefix string, page ListInput) ([]T, string, error) {
	var v validation.Collector
	checkPathPrefix(&v, pathPrefix)
	max := page.check(&v)
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	after, err := s.after(e.list, account, page.Marker)
	if err != nil {
		return nil, "", err
	}
	pathPrefix = NormalizePath(pathPrefix)
	var out []T
	var next string
	err = s.Store.View(ctx, func(r store.Reader) error {
		out = nil
		next, err = s.scanPage(r, e.list, account, e.prefix(account), after, max, func(k string, b []byte, peek bool) (bool, error) {
			var t T
			if err := json.Unmarshal(b, &t); err != nil {
				return false, err
			}
			if keep := strings.HasPrefix(*e.fields(&t).path, pathPrefix); !keep || peek {
				return keep, nil
			}
			out = append(out, t)
			return true, nil
		})
		return err
	})
	return out, next, err
}

// remove deletes the record whose id is id, which must have no inline
// policies left and pass check (when not nil).
func (e entity[T]) remove(ctx context.Context, s *Service, account, name, id string, check func(store.Tx) error) error {
	return s.Store.Update(ctx, func(tx store.Tx) error {
		if _, err := e.authorized(tx, account, name, id); err != nil {
			return err
		}
		if err := refuseAny(tx, e.policies(account, name), "policies"); err != nil {
			return err
		}
		if check != nil {
			if err := check(tx); err != nil {
				return err
			}
		}
		return tx.Delete(e.key(account, name))
	})
}

// refuseAny refuses a delete while anything is under prefix: what must
// be deleted first.
func refuseAny(r store.Reader, prefix, what string) error {
	if has, err := hasAny(r, prefix); err != nil {
		return err
	} else if has {
		return apierror.New(ErrDeleteConflict, "Cannot delete entity, must delete %s first.", what)
	}
	return nil
}

// lookup reads a record and its inline policies by name, in one view.
func (e entity[T]) lookup(ctx context.Context, s *Service, account, name string) (T, []Policy, error) {
	var t T
	var ps []Policy
	err := s.Store.View(ctx, func(r store.Reader) error {
		var err error
		if t, err = e.get(r, account, name); err != nil {
			return err
		}
		ps, err = policies(r, e.policies(account, name))
		return err
	})
	return t, ps, err
}

// declare writes t, a record the config declares for account, keeping
// the creation date of the record it replaces (now when there is none),
// and its declared inline policies.
func (e entity[T]) declare(s *Service, tx store.Tx, account string, t T, declared []Policy) error {
	f := e.fields(&t)
	*f.account, *f.fromConfig, *f.path = account, true, NormalizePath(*f.path)
	key := e.key(account, *f.name)
	var old T
	if err := store.GetJSON(tx, key, &old); err == nil {
		*f.created = *e.fields(&old).created
	} else if errors.Is(err, store.ErrNotFound) {
		*f.created = s.now()
	} else {
		return err
	}
	if err := store.PutJSON(tx, key, t); err != nil {
		return err
	}
	return applyPolicies(tx, e.policies(account, *f.name), declared)
}

// undeclared are the names of the account's config-made records that
// declared (lower-cased names) no longer holds.
func (e entity[T]) undeclared(tx store.Tx, account string, declared map[string]bool) ([]string, error) {
	_, gone, err := store.Select(tx, e.prefix(account), func(t T) bool {
		f := e.fields(&t)
		return *f.fromConfig && !declared[strings.ToLower(*f.name)]
	})
	names := make([]string, len(gone))
	for i := range gone {
		names[i] = *e.fields(&gone[i]).name
	}
	return names, err
}
