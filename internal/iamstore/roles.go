package iamstore

import (
	"context"

	"github.com/idcgate/idcgate/internal/apierror"
	"github.com/idcgate/idcgate/internal/iam"
	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/validation"
)

// CreateRoleInput is CreateRole's input.
type CreateRoleInput struct {
	RoleName                 string
	Path                     string
	AssumeRolePolicyDocument string
	Description              string
	// MaxSessionDuration in seconds; 0: 3600.
	MaxSessionDuration int64
	MaxSessionSet      bool
	Tags               []Tag
}

// ValidateRole holds CreateRole's input to the API model.
func ValidateRole(in CreateRoleInput) error {
	var v validation.Collector
	checkName(&v, "roleName", in.RoleName, 64)
	checkPath(&v, in.Path)
	checkDocument(&v, "assumeRolePolicyDocument", in.AssumeRolePolicyDocument)
	if v.Length("description", in.Description, 0, 1000) {
		v.Pattern("description", in.Description, descriptionRe, descriptionPattern)
	}
	if in.MaxSessionSet {
		v.Range("maxSessionDuration", in.MaxSessionDuration, 3600, 43200)
	}
	checkTags(&v, in.Tags)
	return v.Err()
}

func checkTrust(doc string) (*iam.Policy, error) {
	p, err := parsePolicy(doc, iam.KindTrust)
	if err != nil {
		return nil, err
	}
	if n := PolicySize(doc); n > MaxTrustPolicy {
		return nil, apierror.New(ErrLimitExceeded, "Cannot exceed quota for ACLSizePerRole: %d", MaxTrustPolicy)
	}
	return p, nil
}

// CreateRole adds a role; its name must be new (ignoring case).
func (s *Service) CreateRole(ctx context.Context, account string, in CreateRoleInput) (Role, error) {
	if err := ValidateRole(in); err != nil {
		return Role{}, err
	}
	trust, err := checkTrust(in.AssumeRolePolicyDocument)
	if err != nil {
		return Role{}, err
	}
	id, err := NewID(s.rand(), "AROA", 17)
	if err != nil {
		return Role{}, err
	}
	role := Role{Account: account, Name: in.RoleName, Path: NormalizePath(in.Path), RoleID: id, CreateDate: s.now(),
		AssumeRolePolicyDocument: in.AssumeRolePolicyDocument, MaxSessionDuration: 3600, Description: in.Description, Tags: in.Tags}
	if in.MaxSessionSet {
		role.MaxSessionDuration = in.MaxSessionDuration
	}
	err = s.Store.Update(ctx, func(tx store.Tx) error {
		return roleEntity.insert(tx, account, in.RoleName, role, func() error { return checkPrincipals(tx, account, trust) })
	})
	return role, err
}

// GetRole finds a role by name (ignoring case, as IAM).
func (s *Service) GetRole(ctx context.Context, account, name string) (Role, error) {
	return roleEntity.describe(ctx, s, account, name)
}

func checkEntityName(path, name string) error {
	var v validation.Collector
	checkName(&v, path, name, 64)
	return v.Err()
}

// ListRoles lists the account's roles whose path starts with pathPrefix,
// in name order.
func (s *Service) ListRoles(ctx context.Context, account, pathPrefix string, page ListInput) ([]Role, string, error) {
	return roleEntity.page(ctx, s, account, pathPrefix, page)
}

// UpdateAssumeRolePolicy replaces the trust policy of the role whose id
// is roleID (the one authorized).
func (s *Service) UpdateAssumeRolePolicy(ctx context.Context, account, name, roleID, doc string) error {
	var v validation.Collector
	checkName(&v, "roleName", name, 64)
	checkDocument(&v, "policyDocument", doc)
	if err := v.Err(); err != nil {
		return err
	}
	trust, err := checkTrust(doc)
	if err != nil {
		return err
	}
	return s.Store.Update(ctx, func(tx store.Tx) error {
		role, err := roleEntity.authorized(tx, account, name, roleID)
		if err != nil {
			return err
		}
		if err := checkPrincipals(tx, account, trust); err != nil {
			return err
		}
		role.AssumeRolePolicyDocument = doc
		return store.PutJSON(tx, roleKey(account, name), role)
	})
}

// DeleteRole deletes a role that has no inline policies left.
func (s *Service) DeleteRole(ctx context.Context, account, name, roleID string) error {
	return roleEntity.remove(ctx, s, account, name, roleID, nil)
}

func hasAny(r store.Reader, prefix string) (bool, error) {
	found := false
	err := r.Scan(prefix, "", func(string, []byte) (bool, error) {
		found = true
		return false, nil
	})
	return found, err
}

// count is how many entries are under prefix (a quota's use).
func count(r store.Reader, prefix string) (int, error) {
	n := 0
	err := r.Scan(prefix, "", func(string, []byte) (bool, error) {
		n++
		return true, nil
	})
	return n, err
}
