package iamstore

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/idcgate/idcgate/internal/apierror"
	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/validation"
)

// CreateUserInput is CreateUser's input.
type CreateUserInput struct {
	UserName string
	Path     string
	Tags     []Tag
}

// CreateUser adds a user; its name must be new (ignoring case).
func (s *Service) CreateUser(ctx context.Context, account string, in CreateUserInput) (User, error) {
	var v validation.Collector
	checkName(&v, "userName", in.UserName, 64)
	checkPath(&v, in.Path)
	checkTags(&v, in.Tags)
	if err := v.Err(); err != nil {
		return User{}, err
	}
	id, err := NewID(s.rand(), "AIDA", 17)
	if err != nil {
		return User{}, err
	}
	u := User{Account: account, Name: in.UserName, Path: NormalizePath(in.Path), UserID: id, CreateDate: s.now(), Tags: in.Tags}
	err = s.Store.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.Get(userKey(account, in.UserName)); err == nil {
			return apierror.New(ErrEntityExists, "User with name %s already exists.", in.UserName)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return store.PutJSON(tx, userKey(account, in.UserName), u)
	})
	return u, err
}

func getUser(r store.Reader, account, name string) (User, error) {
	var u User
	err := store.GetJSON(r, userKey(account, name), &u)
	if errors.Is(err, store.ErrNotFound) {
		return User{}, noSuchUser(name)
	}
	return u, err
}

// authorizedUser reads a user, which must be the one whose id is userID
// (the one authorized: a user deleted and made again under its name is
// another).
func authorizedUser(r store.Reader, account, name, userID string) (User, error) {
	u, err := getUser(r, account, name)
	if err == nil && u.UserID != userID {
		return User{}, noSuchUser(name)
	}
	return u, err
}

// GetUser finds a user by name (ignoring case, as IAM).
func (s *Service) GetUser(ctx context.Context, account, name string) (User, error) {
	if err := checkEntityName("userName", name); err != nil {
		return User{}, err
	}
	var u User
	err := s.Store.View(ctx, func(r store.Reader) error {
		var err error
		u, err = getUser(r, account, name)
		return err
	})
	return u, err
}

// ListUsers lists the account's users whose path starts with pathPrefix,
// in name order.
func (s *Service) ListUsers(ctx context.Context, account, pathPrefix string, page ListInput) ([]User, string, error) {
	var v validation.Collector
	checkPathPrefix(&v, pathPrefix)
	max := page.check(&v)
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	after, err := s.after("ListUsers", account, page.Marker)
	if err != nil {
		return nil, "", err
	}
	pathPrefix = NormalizePath(pathPrefix)
	var out []User
	var next string
	err = s.Store.View(ctx, func(r store.Reader) error {
		out = nil
		next, err = s.scanPage(r, "ListUsers", account, usersPrefix(account), after, max, func(k string, b []byte, peek bool) (bool, error) {
			var u User
			if err := json.Unmarshal(b, &u); err != nil {
				return false, err
			}
			if !strings.HasPrefix(u.Path, pathPrefix) || peek {
				return strings.HasPrefix(u.Path, pathPrefix), nil
			}
			out = append(out, u)
			return true, nil
		})
		return err
	})
	return out, next, err
}

// DeleteUser deletes a user that has no inline policies or access keys.
func (s *Service) DeleteUser(ctx context.Context, account, name, userID string) error {
	return s.Store.Update(ctx, func(tx store.Tx) error {
		if _, err := authorizedUser(tx, account, name, userID); err != nil {
			return err
		}
		if has, err := hasAny(tx, userPoliciesPrefix(account, name)); err != nil {
			return err
		} else if has {
			return apierror.New(ErrDeleteConflict, "Cannot delete entity, must delete policies first.")
		}
		if has, err := hasAny(tx, userKeysPrefix(account, name)); err != nil {
			return err
		} else if has {
			return apierror.New(ErrDeleteConflict, "Cannot delete entity, must delete access keys first.")
		}
		return tx.Delete(userKey(account, name))
	})
}
