package iamstore

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/idcgate/idcgate/internal/apierror"
	"github.com/idcgate/idcgate/internal/iam"
	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/validation"
)

// ListInput is the paging of every list: Marker from the previous page's
// answer, MaxItems 1–1000 (0: IAM's default, 100).
type ListInput struct {
	Marker   string
	MaxItems int
	// MaxItemsSet tells an explicit 0 (refused) from none.
	MaxItemsSet bool
}

// DefaultMaxItems is IAM's page size when MaxItems is not given.
const DefaultMaxItems = 100

func (in ListInput) check(v *validation.Collector) int {
	if in.MaxItemsSet {
		v.Range("maxItems", int64(in.MaxItems), 1, 1000)
		return in.MaxItems
	}
	return DefaultMaxItems
}

// after opens a marker for op's list of account: the store key (or name)
// the page starts after.
func (s *Service) after(op, account, marker string) (string, error) {
	if marker == "" {
		return "", nil
	}
	p, err := s.Pages.DecodeFor(marker, op, account, "global")
	if err != nil {
		return "", validation.Newf("Invalid Marker.")
	}
	return p.After, nil
}

func (s *Service) marker(op, account, after string) (string, error) {
	return s.Pages.New(op, account, "global", after)
}

// scanPage gives fn the records under prefix after the position until fn
// has kept max of them (fn reports whether it kept one), returning the
// next marker when more remain. Past max, fn is asked with peek set only
// whether it would keep a record (and must not keep it), so a page is
// marked truncated only when another record follows that a filter keeps.
func (s *Service) scanPage(r store.Reader, op, account, prefix, after string, max int, fn func(key string, v []byte, peek bool) (bool, error)) (string, error) {
	start := ""
	if after != "" {
		start = prefix + after
	}
	n, last, more := 0, "", false
	err := r.Scan(prefix, start, func(k string, v []byte) (bool, error) {
		kept, err := fn(k, v, n == max)
		switch {
		case err != nil:
			return false, err
		case n == max:
			more = kept
			return !kept, nil
		case kept:
			n++
		}
		last = strings.TrimPrefix(k, prefix)
		return true, nil
	})
	if err != nil || !more {
		return "", err
	}
	return s.marker(op, account, last)
}

func noSuchRole(name string) error {
	return &Error{Kind: ErrNoSuchEntity, Message: fmt.Sprintf("The role with name %s cannot be found.", apierror.Printable(name))}
}

func noSuchUser(name string) error {
	return &Error{Kind: ErrNoSuchEntity, Message: fmt.Sprintf("The user with name %s cannot be found.", apierror.Printable(name))}
}

// parsePolicy parses doc as the evaluator will, answering IAM's
// MalformedPolicyDocument with the evaluator's message.
func parsePolicy(doc string, kind iam.Kind) (*iam.Policy, error) {
	p, err := iam.ParsePolicy([]byte(doc), kind)
	var pe *iam.PolicyError
	if errors.As(err, &pe) {
		return nil, &Error{Kind: ErrMalformedPolicy, Message: pe.Message}
	}
	return p, err
}

// checkPrincipals refuses, as IAM does, a trust policy that names a user
// or role of the account that does not exist ("Invalid principal in
// policy"). Principals of other accounts, account ids, roots and
// assumed-role ARNs are taken as they are.
func checkPrincipals(r store.Reader, account string, trust *iam.Policy) error {
	for _, v := range trust.AWSPrincipals() {
		rest, ok := strings.CutPrefix(v, "arn:aws:iam::"+account+":")
		if !ok {
			continue
		}
		kind, path, _ := strings.Cut(rest, "/")
		name := path[strings.LastIndexByte(path, '/')+1:]
		var arn string
		switch kind {
		case "user":
			if u, err := getUser(r, account, name); err == nil {
				arn = u.ARN()
			} else if !errors.Is(err, ErrNoSuchEntity) {
				return err
			}
		case "role":
			if role, err := getRole(r, account, name); err == nil {
				arn = role.ARN()
			} else if !errors.Is(err, ErrNoSuchEntity) {
				return err
			}
		default:
			continue
		}
		if arn != v {
			return &Error{Kind: ErrMalformedPolicy, Message: fmt.Sprintf("Invalid principal in policy: \"AWS\":\"%s\"", apierror.Printable(v))}
		}
	}
	return nil
}

func checkName(v *validation.Collector, path, name string, max int) {
	if v.Required(path, name != "") && v.Length(path, name, 1, max) {
		v.Pattern(path, name, nameRe, namePattern)
	}
}

func checkPath(v *validation.Collector, path string) {
	if path != "" && v.Length("path", path, 1, 512) {
		v.Pattern("path", path, pathRe, pathPattern)
	}
}

func checkPathPrefix(v *validation.Collector, prefix string) {
	if prefix != "" && v.Length("pathPrefix", prefix, 1, 512) {
		v.Pattern("pathPrefix", prefix, pathPrefixRe, pathPrefixPattern)
	}
}

func checkDocument(v *validation.Collector, path, doc string) {
	if v.Required(path, doc != "") && v.Length(path, doc, 1, 131072) {
		v.Pattern(path, doc, policyDocRe, policyDocPattern)
	}
}

func checkTags(v *validation.Collector, tags []Tag) {
	if len(tags) > 50 {
		v.Add("tags", nil, "Member must have length less than or equal to 50")
		return
	}
	seen := map[string]bool{}
	for i, t := range tags {
		p := fmt.Sprintf("tags.%d.member", i+1)
		if v.Length(p+".key", t.Key, 1, 128) {
			v.Pattern(p+".key", t.Key, tagKeyRe, tagKeyPattern)
		}
		if v.Length(p+".value", t.Value, 0, 256) {
			v.Pattern(p+".value", t.Value, tagValueRe, tagValuePattern)
		}
		if seen[strings.ToLower(t.Key)] {
			v.Add(p+".key", t.Key, "Duplicate tag keys found. Please note that Tag keys are case insensitive.")
		}
		seen[strings.ToLower(t.Key)] = true
	}
}

// ---- roles ----

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
		if _, err := tx.Get(roleKey(account, in.RoleName)); err == nil {
			return apierror.New(ErrEntityExists, "Role with name %s already exists.", in.RoleName)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := checkPrincipals(tx, account, trust); err != nil {
			return err
		}
		return store.PutJSON(tx, roleKey(account, in.RoleName), role)
	})
	return role, err
}

func getRole(r store.Reader, account, name string) (Role, error) {
	var role Role
	err := store.GetJSON(r, roleKey(account, name), &role)
	if errors.Is(err, store.ErrNotFound) {
		return Role{}, noSuchRole(name)
	}
	return role, err
}

// GetRole finds a role by name (ignoring case, as IAM).
func (s *Service) GetRole(ctx context.Context, account, name string) (Role, error) {
	if err := checkEntityName("roleName", name); err != nil {
		return Role{}, err
	}
	var role Role
	err := s.Store.View(ctx, func(r store.Reader) error {
		var err error
		role, err = getRole(r, account, name)
		return err
	})
	return role, err
}

func checkEntityName(path, name string) error {
	var v validation.Collector
	checkName(&v, path, name, 64)
	return v.Err()
}

// ListRoles lists the account's roles whose path starts with pathPrefix,
// in name order.
func (s *Service) ListRoles(ctx context.Context, account, pathPrefix string, page ListInput) ([]Role, string, error) {
	var v validation.Collector
	checkPathPrefix(&v, pathPrefix)
	max := page.check(&v)
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	after, err := s.after("ListRoles", account, page.Marker)
	if err != nil {
		return nil, "", err
	}
	pathPrefix = NormalizePath(pathPrefix)
	var out []Role
	var next string
	err = s.Store.View(ctx, func(r store.Reader) error {
		out = nil
		next, err = s.scanPage(r, "ListRoles", account, rolesPrefix(account), after, max, func(k string, b []byte, peek bool) (bool, error) {
			var role Role
			if err := json.Unmarshal(b, &role); err != nil {
				return false, err
			}
			if !strings.HasPrefix(role.Path, pathPrefix) || peek {
				return strings.HasPrefix(role.Path, pathPrefix), nil
			}
			out = append(out, role)
			return true, nil
		})
		return err
	})
	return out, next, err
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
		role, err := getRole(tx, account, name)
		if err != nil {
			return err
		}
		if role.RoleID != roleID {
			return noSuchRole(name)
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
	return s.Store.Update(ctx, func(tx store.Tx) error {
		role, err := getRole(tx, account, name)
		if err != nil {
			return err
		}
		if role.RoleID != roleID {
			return noSuchRole(name)
		}
		if has, err := hasAny(tx, rolePoliciesPrefix(account, name)); err != nil {
			return err
		} else if has {
			return apierror.New(ErrDeleteConflict, "Cannot delete entity, must delete policies first.")
		}
		return tx.Delete(roleKey(account, name))
	})
}

func hasAny(r store.Reader, prefix string) (bool, error) {
	found := false
	err := r.Scan(prefix, "", func(string, []byte) (bool, error) {
		found = true
		return false, nil
	})
	return found, err
}

// ---- inline policies (of roles and users) ----

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
		role, err := getRole(r, o.account, o.name)
		if err == nil && o.id != "" && role.RoleID != o.id {
			err = noSuchRole(o.name)
		}
		return err
	}
	u, err := getUser(r, o.account, o.name)
	if err == nil && o.id != "" && u.UserID != o.id {
		err = noSuchUser(o.name)
	}
	return err
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
	var v validation.Collector
	checkName(&v, o.kind+"Name", o.name, 64)
	max := page.check(&v)
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	after, err := s.after(op, o.account+"/"+strings.ToLower(o.name), page.Marker)
	if err != nil {
		return nil, "", err
	}
	var names []string
	var next string
	err = s.Store.View(ctx, func(r store.Reader) error {
		names = nil
		if err := o.check(r); err != nil {
			return err
		}
		next, err = s.scanPage(r, op, o.account+"/"+strings.ToLower(o.name), o.prefix(), after, max, func(k string, _ []byte, peek bool) (bool, error) {
			if peek {
				return true, nil
			}
			names = append(names, strings.TrimPrefix(k, o.prefix()))
			return true, nil
		})
		return err
	})
	return names, next, err
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

// ---- users ----

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
		u, err := getUser(tx, account, name)
		if err != nil {
			return err
		}
		if u.UserID != userID {
			return noSuchUser(name)
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

// ---- access keys ----

func (s *Service) putKey(tx store.Tx, k AccessKey) error {
	sealed, err := s.Secrets.Seal(sealedSecret{AccessKeyID: k.AccessKeyID, Secret: k.Secret})
	if err != nil {
		return err
	}
	if err := store.PutJSON(tx, accessKeyKey(k.AccessKeyID), keyRecord{AccessKey: k, Sealed: sealed}); err != nil {
		return err
	}
	return tx.Put(userKeysPrefix(k.Account, k.UserName)+k.AccessKeyID, []byte("{}"))
}

// CreateAccessKey makes a new key pair for the user whose id is userID
// (at most MaxAccessKeys each). The answer holds the secret: the only time
// it is shown.
func (s *Service) CreateAccessKey(ctx context.Context, account, user, userID string) (AccessKey, error) {
	if err := checkEntityName("userName", user); err != nil {
		return AccessKey{}, err
	}
	id, err := NewID(s.rand(), "AKIA", 16)
	if err != nil {
		return AccessKey{}, err
	}
	var secret [30]byte
	if _, err := io.ReadFull(s.rand(), secret[:]); err != nil {
		return AccessKey{}, err
	}
	k := AccessKey{AccessKeyID: id, Account: account, Status: "Active", CreateDate: s.now(), Secret: encodeSecret(secret[:])}
	err = s.Store.Update(ctx, func(tx store.Tx) error {
		u, err := getUser(tx, account, user)
		if err != nil {
			return err
		}
		if u.UserID != userID {
			return noSuchUser(user)
		}
		k.UserName = u.Name
		n := 0
		if err := tx.Scan(userKeysPrefix(account, user), "", func(string, []byte) (bool, error) { n++; return true, nil }); err != nil {
			return err
		}
		if n >= MaxAccessKeys {
			return apierror.New(ErrLimitExceeded, "Cannot exceed quota for AccessKeysPerUser: %d", MaxAccessKeys)
		}
		return s.putKey(tx, k)
	})
	return k, err
}

// ListAccessKeys lists a user's keys (without secrets), by key id.
func (s *Service) ListAccessKeys(ctx context.Context, account, user string, page ListInput) ([]AccessKey, string, error) {
	var v validation.Collector
	checkName(&v, "userName", user, 64)
	max := page.check(&v)
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	scope := account + "/" + strings.ToLower(user)
	after, err := s.after("ListAccessKeys", scope, page.Marker)
	if err != nil {
		return nil, "", err
	}
	var out []AccessKey
	var next string
	err = s.Store.View(ctx, func(r store.Reader) error {
		out = nil
		if _, err := getUser(r, account, user); err != nil {
			return err
		}
		prefix := userKeysPrefix(account, user)
		next, err = s.scanPage(r, "ListAccessKeys", scope, prefix, after, max, func(k string, _ []byte, peek bool) (bool, error) {
			if peek {
				return true, nil
			}
			var rec keyRecord
			if err := store.GetJSON(r, accessKeyKey(strings.TrimPrefix(k, prefix)), &rec); err != nil {
				return false, err
			}
			out = append(out, rec.AccessKey)
			return true, nil
		})
		return err
	})
	return out, next, err
}

// DeleteAccessKey deletes one of the user's keys.
func (s *Service) DeleteAccessKey(ctx context.Context, account, user, keyID string) error {
	var v validation.Collector
	checkName(&v, "userName", user, 64)
	if v.Required("accessKeyId", keyID != "") && v.Length("accessKeyId", keyID, 16, 128) {
		v.Pattern("accessKeyId", keyID, accessKeyIDRe, accessKeyIDPattern)
	}
	if err := v.Err(); err != nil {
		return err
	}
	return s.Store.Update(ctx, func(tx store.Tx) error {
		if _, err := getUser(tx, account, user); err != nil {
			return err
		}
		if _, err := tx.Get(userKeysPrefix(account, user) + keyID); errors.Is(err, store.ErrNotFound) {
			return apierror.New(ErrNoSuchEntity, "The Access Key with id %s cannot be found.", keyID)
		} else if err != nil {
			return err
		}
		if err := tx.Delete(userKeysPrefix(account, user) + keyID); err != nil {
			return err
		}
		return tx.Delete(accessKeyKey(keyID))
	})
}

// ---- what the credential registry reads ----

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
		u, err := getUser(r, rec.Account, rec.UserName)
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
	var out []Policy
	err := r.Scan(prefix, "", func(_ string, b []byte) (bool, error) {
		var p Policy
		if err := json.Unmarshal(b, &p); err != nil {
			return false, err
		}
		out = append(out, p)
		return true, nil
	})
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
	err := s.Store.View(ctx, func(r store.Reader) error {
		var err error
		if out.User, err = getUser(r, account, name); err != nil {
			return err
		}
		out.Policies, err = policies(r, userPoliciesPrefix(account, name))
		return err
	})
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
	err := s.Store.View(ctx, func(r store.Reader) error {
		var err error
		if out.Role, err = getRole(r, account, name); err != nil {
			return err
		}
		out.Policies, err = policies(r, rolePoliciesPrefix(account, name))
		return err
	})
	return out, err
}

// AllRoles reads every role of the accounts with its inline policies.
func (s *Service) AllRoles(ctx context.Context, accounts []string) ([]RoleWithPolicies, error) {
	var out []RoleWithPolicies
	err := s.Store.View(ctx, func(r store.Reader) error {
		out = nil
		for _, a := range accounts {
			var roles []Role
			err := r.Scan(rolesPrefix(a), "", func(_ string, b []byte) (bool, error) {
				var role Role
				if err := json.Unmarshal(b, &role); err != nil {
					return false, err
				}
				roles = append(roles, role)
				return true, nil
			})
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

// encodeSecret gives a secret access key its AWS form: 40 characters.
func encodeSecret(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
