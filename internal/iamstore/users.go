package iamstore

import (
	"context"

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
		return userEntity.insert(tx, account, in.UserName, u, nil)
	})
	return u, err
}

// GetUser finds a user by name (ignoring case, as IAM).
func (s *Service) GetUser(ctx context.Context, account, name string) (User, error) {
	return userEntity.describe(ctx, s, account, name)
}

// ListUsers lists the account's users whose path starts with pathPrefix,
// in name order.
func (s *Service) ListUsers(ctx context.Context, account, pathPrefix string, page ListInput) ([]User, string, error) {
	return userEntity.page(ctx, s, account, pathPrefix, page)
}

// DeleteUser deletes a user that has no inline policies or access keys.
func (s *Service) DeleteUser(ctx context.Context, account, name, userID string) error {
	return userEntity.remove(ctx, s, account, name, userID, func(tx store.Tx) error {
		return refuseAny(tx, userKeysPrefix(account, name), "access keys")
	})
}
