package identitystore

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/validation"
)

// Name is a user's name, as the Identity Store models it.
type Name struct {
	Formatted       string `json:"Formatted,omitempty"`
	FamilyName      string `json:"FamilyName,omitempty"`
	GivenName       string `json:"GivenName,omitempty"`
	MiddleName      string `json:"MiddleName,omitempty"`
	HonorificPrefix string `json:"HonorificPrefix,omitempty"`
	HonorificSuffix string `json:"HonorificSuffix,omitempty"`
}

// Email is one address of a user.
type Email struct {
	Value   string `json:"Value,omitempty"`
	Type    string `json:"Type,omitempty"`
	Primary bool   `json:"Primary,omitempty"`
}

// Address is a postal address of a user.
type Address struct {
	StreetAddress string `json:"StreetAddress,omitempty"`
	Locality      string `json:"Locality,omitempty"`
	Region        string `json:"Region,omitempty"`
	PostalCode    string `json:"PostalCode,omitempty"`
	Country       string `json:"Country,omitempty"`
	Formatted     string `json:"Formatted,omitempty"`
	Type          string `json:"Type,omitempty"`
	Primary       bool   `json:"Primary,omitempty"`
}

// PhoneNumber is a telephone number of a user.
type PhoneNumber struct {
	Value   string `json:"Value,omitempty"`
	Type    string `json:"Type,omitempty"`
	Primary bool   `json:"Primary,omitempty"`
}

// Photo is a picture of a user (a URL).
type Photo struct {
	Value   string `json:"Value,omitempty"`
	Type    string `json:"Type,omitempty"`
	Display string `json:"Display,omitempty"`
	Primary bool   `json:"Primary,omitempty"`
}

// Role is a role of a user (SCIM's roles, not IAM's).
type Role struct {
	Value   string `json:"Value,omitempty"`
	Type    string `json:"Type,omitempty"`
	Primary bool   `json:"Primary,omitempty"`
}

// Attributes are a user's attributes the API sets, under AWS's member
// names (the wire form is the stored form).
type Attributes struct {
	UserName          string                     `json:"UserName,omitempty"`
	DisplayName       string                     `json:"DisplayName,omitempty"`
	Name              *Name                      `json:"Name,omitempty"`
	NickName          string                     `json:"NickName,omitempty"`
	ProfileUrl        string                     `json:"ProfileUrl,omitempty"`
	Emails            []Email                    `json:"Emails,omitempty"`
	Addresses         []Address                  `json:"Addresses,omitempty"`
	PhoneNumbers      []PhoneNumber              `json:"PhoneNumbers,omitempty"`
	Photos            []Photo                    `json:"Photos,omitempty"`
	Roles             []Role                     `json:"Roles,omitempty"`
	UserType          string                     `json:"UserType,omitempty"`
	Title             string                     `json:"Title,omitempty"`
	PreferredLanguage string                     `json:"PreferredLanguage,omitempty"`
	Locale            string                     `json:"Locale,omitempty"`
	Timezone          string                     `json:"Timezone,omitempty"`
	Website           string                     `json:"Website,omitempty"`
	Birthdate         string                     `json:"Birthdate,omitempty"`
	Extensions        map[string]json.RawMessage `json:"Extensions,omitempty"`
}

// User is a stored user.
type User struct {
	UserID string `json:"UserId"`
	Attributes
	Record
}

// Record is what a stored user or group has besides its id and
// attributes (its members are stored beside theirs, in one JSON object).
type Record struct {
	ExternalIds []ExternalID `json:"ExternalIds,omitempty"`
	Revision    int64        `json:"Rev"`
	Stamps
}

// Stamps are when and by whom a user, group or membership was made and
// last changed, and whether the config declares it; they come last in
// each one's stored JSON object.
type Stamps struct {
	CreatedAt time.Time `json:"CreatedAt"`
	CreatedBy string    `json:"CreatedBy,omitempty"`
	UpdatedAt time.Time `json:"UpdatedAt"`
	UpdatedBy string    `json:"UpdatedBy,omitempty"`
	// FromConfig marks a record the config declares (ApplyConfig's).
	FromConfig bool `json:"FromConfig,omitempty"`
}

// made stamps a record made now by by (a caller's ARN; empty for the
// config's).
func made(now time.Time, by string) Stamps {
	return Stamps{CreatedAt: now, CreatedBy: by, UpdatedAt: now, UpdatedBy: by}
}

// RevisionString is the record's Revision as the API shows it.
func (r Record) RevisionString() string { return revision(r.Revision) }

func (s *Service) userKey(id string) string { return s.prefix() + "u/" + id }

// validateUser holds attributes to the Identity Store model.
func validateUser(a Attributes) error {
	var v validation.Collector
	if v.Required("userName", a.UserName != "") && v.Length("userName", a.UserName, 1, 128) &&
		v.Pattern("userName", a.UserName, userNameRe, userNamePattern) {
		if reserved(a.UserName) {
			v.Add("userName", a.UserName, "Member must not be a reserved name (Administrator, AWSAdministrators)")
		}
	}
	sensitive := func(path, s string) {
		if s != "" && v.Length(path, s, 1, 1024) {
			v.Pattern(path, s, sensitiveRe, sensitivePattern)
		}
	}
	sensitive("displayName", a.DisplayName)
	sensitive("nickName", a.NickName)
	sensitive("profileUrl", a.ProfileUrl)
	sensitive("userType", a.UserType)
	sensitive("title", a.Title)
	sensitive("preferredLanguage", a.PreferredLanguage)
	sensitive("locale", a.Locale)
	sensitive("timezone", a.Timezone)
	sensitive("website", a.Website)
	sensitive("birthdate", a.Birthdate)
	if n := a.Name; n != nil {
		sensitive("name.formatted", n.Formatted)
		sensitive("name.familyName", n.FamilyName)
		sensitive("name.givenName", n.GivenName)
		sensitive("name.middleName", n.MiddleName)
		sensitive("name.honorificPrefix", n.HonorificPrefix)
		sensitive("name.honorificSuffix", n.HonorificSuffix)
	}
	count := func(path string, n, max int) {
		if n > max {
			v.Add(path, nil, "Member must have length less than or equal to "+itoa(max))
		}
	}
	count("emails", len(a.Emails), 1)
	count("addresses", len(a.Addresses), 1)
	count("phoneNumbers", len(a.PhoneNumbers), 1)
	count("roles", len(a.Roles), 1)
	count("photos", len(a.Photos), 3)
	count("extensions", len(a.Extensions), 10)
	for _, e := range a.Emails {
		sensitive("emails.member.value", e.Value)
		sensitive("emails.member.type", e.Type)
	}
	for _, ad := range a.Addresses {
		for _, f := range []string{ad.StreetAddress, ad.Locality, ad.Region, ad.PostalCode, ad.Country, ad.Formatted, ad.Type} {
			sensitive("addresses.member", f)
		}
	}
	for _, p := range a.PhoneNumbers {
		sensitive("phoneNumbers.member.value", p.Value)
		sensitive("phoneNumbers.member.type", p.Type)
	}
	for _, p := range a.Photos {
		sensitive("photos.member.value", p.Value)
		sensitive("photos.member.type", p.Type)
		sensitive("photos.member.display", p.Display)
	}
	for _, r := range a.Roles {
		sensitive("roles.member.value", r.Value)
		sensitive("roles.member.type", r.Type)
	}
	for name := range a.Extensions {
		if !extensionRe.MatchString(name) {
			v.Add("extensions", name, "Member must satisfy regular expression pattern: "+extensionPattern)
		}
	}
	return v.Err()
}

func itoa(n int) string { return revision(int64(n)) }

// reserved names can be neither users nor groups (AWS's rule).
func reserved(name string) bool {
	return strings.EqualFold(name, "Administrator") || strings.EqualFold(name, "AWSAdministrators")
}

// emailKey is the prefix of an address's index entries: the address (its
// key form) path-escaped, so that it holds no '/', then '/': one address's
// scan never meets another's ("a" and "a/b@x").
func emailKey(prefix, email string) string { return prefix + "ue/" + url.PathEscape(key(email)) + "/" }

// users are the user records, their indexes (UserName, addresses,
// external ids) and their memberships.
var users = kind[User, Attributes]{
	typ: TypeUser, segment: "u/", names: "un/", externals: "ux/", memberships: "um/", list: "ListUsers",
	duplicateName: "UserName",
	decoded:       func(s *Service) *store.Decoded[User] { return &s.users },
	validate:      validateUser, paths: userPaths,
	fields: func(u *User) fields[Attributes] {
		return fields[Attributes]{id: &u.UserID, attributes: &u.Attributes, name: &u.UserName, record: &u.Record}
	},
	more:  indexer[User]{index: indexEmails, unindex: unindexEmails, unique: checkEmailsUnique},
	owned: []string{passwordSegment},
}

// passwordSegment keys a user's sign-in password record (package
// passwords), removed with the user.
const passwordSegment = "pw/"

// PasswordKey is where user id's sign-in password record is kept: beside
// the user, so deleting the user deletes it in the same transaction.
func (s *Service) PasswordKey(id string) string { return s.prefix() + passwordSegment + id }

// HasUser reports whether user id exists, within a caller's transaction
// (a password is set only for a user that still exists).
func (s *Service) HasUser(r store.Reader, id string) (bool, error) {
	_, err := r.Get(s.userKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// A user's addresses are indexed between its name and its external ids.
func indexEmails(s *Service, tx store.Tx, u User) error {
	for _, e := range u.Emails {
		if e.Value != "" {
			if err := tx.Put(emailKey(s.prefix(), e.Value)+u.UserID, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

func unindexEmails(s *Service, tx store.Tx, u User) error {
	for _, e := range u.Emails {
		if err := tx.Delete(emailKey(s.prefix(), e.Value) + u.UserID); err != nil {
			return err
		}
	}
	return nil
}

func checkEmailsUnique(s *Service, r store.Reader, u User) error {
	for _, e := range u.Emails {
		dup := false
		err := r.Scan(emailKey(s.prefix(), e.Value), "", func(k string, _ []byte) (bool, error) {
			dup = !strings.HasSuffix(k, "/"+u.UserID)
			return !dup, nil
		})
		if err != nil {
			return err
		}
		if dup {
			return conflict(ReasonUniqueness, "Duplicate Email")
		}
	}
	return nil
}

// readUser reads a user; ok false when there is none.
func (s *Service) readUser(r store.Reader, id string) (User, bool, error) {
	return users.read(s, r, id)
}
func (s *Service) mustUser(r store.Reader, id string) (User, error) { return users.must(s, r, id) }
func (s *Service) deleteUser(tx store.Tx, u User) error             { return users.remove(s, tx, u) }

// CreateUser adds a user made by API, under a random id; by is the
// caller's ARN (CreatedBy).
func (s *Service) CreateUser(ctx context.Context, by string, a Attributes) (User, error) {
	return users.create(s, ctx, by, a)
}

// DescribeUser returns a user. The value shares slices with a cache: the
// caller does not modify it.
func (s *Service) DescribeUser(ctx context.Context, id string) (User, error) {
	return users.describe(s, ctx, id)
}

// UpdateUser applies ops to a user. rev, when given, must be its revision.
func (s *Service) UpdateUser(ctx context.Context, by, id string, rev *string, ops []Operation) (User, error) {
	return users.update(s, ctx, by, id, rev, ops)
}

// DeleteUser removes a user and its memberships.
func (s *Service) DeleteUser(ctx context.Context, id string, rev *string) error {
	return users.delete(s, ctx, id, rev)
}

// ListUsers lists users in id order, or the one whose UserName is
// userName (ignoring ASCII case) when the filter is given.
func (s *Service) ListUsers(ctx context.Context, userName *string, p Page) ([]User, string, error) {
	return users.page(s, ctx, userName, p)
}

// UserIDByName, UserIDByEmail and UserIDByExternalID are GetUserId's
// look-ups; an address that more than one user has names none.
func (s *Service) UserIDByName(ctx context.Context, name string) (string, error) {
	return users.idByName(s, ctx, name)
}

func (s *Service) UserIDByExternalID(ctx context.Context, x ExternalID) (string, error) {
	return users.idByExternalID(s, ctx, x)
}

func (s *Service) UserIDByEmail(ctx context.Context, email string) (string, error) {
	var ids []string
	err := s.view(ctx, func(r store.Reader) error {
		var err error
		ids, err = s.usersByEmail(r, email)
		return err
	})
	switch {
	case err != nil:
		return "", err
	case len(ids) != 1:
		return "", notFound(TypeUser, "")
	}
	return ids[0], nil
}

func (s *Service) usersByEmail(r store.Reader, email string) ([]string, error) {
	if email == "" {
		return nil, nil
	}
	p := emailKey(s.prefix(), email)
	var ids []string
	err := r.Scan(p, "", func(k string, _ []byte) (bool, error) {
		ids = append(ids, k[len(p):])
		return len(ids) < 2, nil
	})
	return ids, err
}

func (s *Service) lookup(ctx context.Context, k, typ string) (string, error) {
	var id string
	err := s.view(ctx, func(r store.Reader) error {
		v, ok, err := getID(r, k)
		if err == nil && !ok {
			return notFound(typ, "")
		}
		id = v
		return err
	})
	return id, err
}

// Sentinels of FindUser (the directory's, for the token flows).
var (
	ErrNoSuchUser = errors.New("identitystore: no user has the attribute value")
	// ErrAmbiguousUser: more than one user has the value; FindUser refuses
	// it rather than pick one.
	ErrAmbiguousUser = errors.New("identitystore: more than one user has the attribute value")
)

// FindUser finds the one user whose attribute equals value, as a trusted
// token issuer's claim mapping does: userName exactly (a name in another
// case is another string), emails.value ignoring ASCII case only.
func (s *Service) FindUser(ctx context.Context, attribute, value string) (User, []string, error) {
	if value == "" {
		return User{}, nil, ErrNoSuchUser
	}
	var u User
	var groups []string
	err := s.view(ctx, func(r store.Reader) error {
		var id string
		switch attribute {
		case "userName":
			v, ok, err := getID(r, s.prefix()+"un/"+key(value))
			if err != nil {
				return err
			}
			if !ok {
				return ErrNoSuchUser
			}
			id = v
		case "emails.value":
			ids, err := s.usersByEmail(r, value)
			switch {
			case err != nil:
				return err
			case len(ids) == 0:
				return ErrNoSuchUser
			case len(ids) > 1:
				return ErrAmbiguousUser
			}
			id = ids[0]
		default:
			return ErrNoSuchUser
		}
		var ok bool
		var err error
		if u, ok, err = s.readUser(r, id); err != nil {
			return err
		}
		if !ok || attribute == "userName" && u.UserName != value {
			return ErrNoSuchUser
		}
		groups, err = s.groupNames(r, id)
		return err
	})
	return u, groups, err
}

// UserWithGroups returns a user by id, and the display names of its
// groups, sorted; ErrNoSuchUser when there is no such user.
//
// Every token, session and gateway login asks this, so on a store that
// sees all its writes (Versions) the answer is kept until anything under
// "ids/" changes: the version is read before the transaction, so a kept
// answer is never older than the version it is kept under. Each caller
// gets its own groups slice; the user is shared, as the decoded-record
// cache shares it.
func (s *Service) UserWithGroups(ctx context.Context, id string) (User, []string, error) {
	var version uint64
	if s.Versions != nil {
		version = s.Versions.Version(segment)
		if e, ok := s.withGroups.Get(id, version); ok {
			return e.u, slices.Clone(e.groups), nil
		}
	}
	var u User
	var groups []string
	err := s.view(ctx, func(r store.Reader) error {
		var ok bool
		var err error
		if u, ok, err = s.readUser(r, id); err != nil {
			return err
		}
		if !ok {
			return ErrNoSuchUser
		}
		groups, err = s.groupNames(r, id)
		return err
	})
	if err == nil && s.Versions != nil {
		s.withGroups.Put(id, version, userWithGroups{u: u, groups: slices.Clone(groups)})
	}
	return u, groups, err
}

// UserByName is UserWithGroups by exact user name.
func (s *Service) UserByName(ctx context.Context, name string) (User, []string, error) {
	return s.FindUser(ctx, "userName", name)
}

// groupNames are the display names of a user's groups, sorted.
func (s *Service) groupNames(r store.Reader, userID string) ([]string, error) {
	p := s.prefix() + "um/" + userID + "/"
	var out []string
	err := r.Scan(p, "", func(k string, _ []byte) (bool, error) {
		g, ok, err := s.readGroup(r, k[len(p):])
		if ok {
			out = append(out, g.DisplayName)
		}
		return err == nil, err
	})
	sort.Strings(out)
	return slices.Compact(out), err
}

// ---- shared by users and groups

// kind is what users and groups differ in: their records, indexes and
// memberships are kept by the one logic below, over records T with the
// attributes A the API sets.
type kind[T, A any] struct {
	typ           string // the resource type of a not-found error
	segment       string // key segment of the records
	names         string // key segment of the unique-name index
	externals     string // key segment of the external-id index
	memberships   string // key segment of the record's memberships
	list          string // the List operation, which page tokens are bound to
	duplicateName string // the name, as the conflict of one another record has names it
	decoded       func(*Service) *store.Decoded[T]
	validate      func(A) error
	paths         map[string][]string // what an update's operations may set
	fields        func(*T) fields[A]
	more          indexer[T] // indexes of the kind's own, between name and external ids
	// owned are key segments of records kept under the record's id that
	// go with it (a user's sign-in password).
	owned []string
}

// fields point into one record at what the shared logic reads and sets.
type fields[A any] struct {
	id         *string
	attributes *A
	name       *string // the unique name, among the attributes
	record     *Record
}

// indexer keeps an index of a kind's own; a nil func keeps none.
type indexer[T any] struct {
	index, unindex func(*Service, store.Tx, T) error
	unique         func(*Service, store.Reader, T) error
}

func (k kind[T, A]) key(s *Service, id string) string { return s.prefix() + k.segment + id }

// entries calls fn with each of t's unique-index keys in order: its
// name's (name true), then, after more (the kind's own index, when not
// nil), its external ids'. dup is what a conflict on the key duplicates.
func (k kind[T, A]) entries(s *Service, t T, more func() error, fn func(ik, dup string, name bool) error) error {
	p, f := s.prefix(), k.fields(&t)
	if err := fn(p+k.names+key(*f.name), k.duplicateName, true); err != nil {
		return err
	}
	if more != nil {
		if err := more(); err != nil {
			return err
		}
	}
	for _, x := range f.record.ExternalIds {
		if err := fn(p+k.externals+externalKey(x), "ExternalId", false); err != nil {
			return err
		}
	}
	return nil
}

// hook binds one of the kind's own index funcs to t; nil when the kind
// keeps no such index.
func hook[T any, R any](fn func(*Service, R, T) error, s *Service, r R, t T) func() error {
	if fn == nil {
		return nil
	}
	return func() error { return fn(s, r, t) }
}

// index writes t's index entries; unindex removes them.
func (k kind[T, A]) index(s *Service, tx store.Tx, t T) error {
	own := *k.fields(&t).id
	return k.entries(s, t, hook(k.more.index, s, tx, t), func(ik, _ string, _ bool) error {
		return tx.Put(ik, []byte(own))
	})
}

func (k kind[T, A]) unindex(s *Service, tx store.Tx, t T) error {
	own := *k.fields(&t).id
	return k.entries(s, t, hook(k.more.unindex, s, tx, t), func(ik, _ string, name bool) error {
		// The name index is removed only when it still points at t
		// (ApplyConfig may have given the name to another record in the
		// same transaction).
		if name {
			if id, ok, err := getID(tx, ik); err != nil || !ok || id != own {
				return err
			}
		}
		return tx.Delete(ik)
	})
}

// checkUnique refuses a name, own index value or external id another
// record of the kind has.
func (k kind[T, A]) checkUnique(s *Service, r store.Reader, t T) error {
	own := *k.fields(&t).id
	return k.entries(s, t, hook(k.more.unique, s, r, t), func(ik, dup string, _ bool) error {
		if id, ok, err := getID(r, ik); err != nil {
			return err
		} else if ok && id != own {
			return conflict(ReasonUniqueness, "Duplicate %s", dup)
		}
		return nil
	})
}

// create adds a record made by API, under a random id; by is the caller's
// ARN (CreatedBy).
func (k kind[T, A]) create(s *Service, ctx context.Context, by string, a A) (T, error) {
	var t T
	if err := k.validate(a); err != nil {
		return t, err
	}
	id, err := s.newID()
	if err != nil {
		return t, err
	}
	now := s.now()
	f := k.fields(&t)
	*f.id, *f.attributes = id, a
	*f.record = Record{Revision: 1, Stamps: made(now, by)}
	err = s.Store.Update(ctx, func(tx store.Tx) error {
		if err := k.checkUnique(s, tx, t); err != nil {
			return err
		}
		if err := k.index(s, tx, t); err != nil {
			return err
		}
		return store.PutJSON(tx, k.key(s, id), t)
	})
	return t, err
}

// read reads a record; ok false when there is none.
func (k kind[T, A]) read(s *Service, r store.Reader, id string) (T, bool, error) {
	var zero T
	rk := k.key(s, id)
	raw, err := store.Peek(r, rk)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return zero, false, nil
	case err != nil:
		return zero, false, err
	}
	t, err := k.decoded(s).Decode(rk, raw)
	return t, err == nil, err
}

// must reads a record; ResourceNotFoundException when there is none.
func (k kind[T, A]) must(s *Service, r store.Reader, id string) (T, error) {
	t, ok, err := k.read(s, r, id)
	if err == nil && !ok {
		err = notFound(k.typ, id)
	}
	return t, err
}

func (k kind[T, A]) describe(s *Service, ctx context.Context, id string) (T, error) {
	var t T
	err := s.view(ctx, func(r store.Reader) error {
		var err error
		t, err = k.must(s, r, id)
		return err
	})
	return t, err
}

// update applies ops to a record. rev, when given, must be its revision.
func (k kind[T, A]) update(s *Service, ctx context.Context, by, id string, rev *string, ops []Operation) (T, error) {
	var out T
	if err := validateOps(ops); err != nil {
		return out, err
	}
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		cur, err := k.must(s, tx, id)
		if err != nil {
			return err
		}
		cf := k.fields(&cur)
		if err := checkRevision(rev, cf.record.Revision); err != nil {
			return err
		}
		var a A
		if err := applyOps(*cf.attributes, &a, ops, k.paths); err != nil {
			return err
		}
		if err := k.validate(a); err != nil {
			return err
		}
		t := cur
		f := k.fields(&t)
		*f.attributes = a
		f.record.Revision++
		f.record.UpdatedAt, f.record.UpdatedBy = s.now(), by
		if err := k.checkUnique(s, tx, t); err != nil {
			return err
		}
		if err := k.unindex(s, tx, cur); err != nil {
			return err
		}
		if err := k.index(s, tx, t); err != nil {
			return err
		}
		out = t
		return store.PutJSON(tx, k.key(s, id), t)
	})
	return out, err
}

// delete removes a record and its memberships. rev, when given, must be
// its revision.
func (k kind[T, A]) delete(s *Service, ctx context.Context, id string, rev *string) error {
	return s.Store.Update(ctx, func(tx store.Tx) error {
		t, err := k.must(s, tx, id)
		if err != nil {
			return err
		}
		if err := checkRevision(rev, k.fields(&t).record.Revision); err != nil {
			return err
		}
		return k.remove(s, tx, t)
	})
}

// remove deletes t, its memberships and its index entries.
func (k kind[T, A]) remove(s *Service, tx store.Tx, t T) error {
	id := *k.fields(&t).id
	membershipID := func(_ string, v []byte) (string, error) { return string(v), nil }
	if err := dropScanned(tx, s.prefix()+k.memberships+id+"/", membershipID, nil, s.deleteMembership); err != nil {
		return err
	}
	if err := k.unindex(s, tx, t); err != nil {
		return err
	}
	for _, seg := range k.owned {
		if err := tx.Delete(s.prefix() + seg + id); err != nil {
			return err
		}
	}
	return tx.Delete(k.key(s, id))
}

// idByName and idByExternalID are a Get…Id's look-ups: the id of the
// record with the name (ignoring ASCII case) or the external id.
func (k kind[T, A]) idByName(s *Service, ctx context.Context, name string) (string, error) {
	return s.lookup(ctx, s.prefix()+k.names+key(name), k.typ)
}

func (k kind[T, A]) idByExternalID(s *Service, ctx context.Context, x ExternalID) (string, error) {
	return s.lookup(ctx, s.prefix()+k.externals+externalKey(x), k.typ)
}

// page lists records in id order, or the one whose name is name (ignoring
// ASCII case) when the filter is given.
func (k kind[T, A]) page(s *Service, ctx context.Context, name *string, p Page) ([]T, string, error) {
	var out []T
	var next string
	err := s.view(ctx, func(r store.Reader) error {
		out, next = nil, ""
		if name != nil {
			id, ok, err := getID(r, s.prefix()+k.names+key(*name))
			if err != nil || !ok {
				return err
			}
			t, ok, err := k.read(s, r, id)
			if ok {
				out = append(out, t)
			}
			return err
		}
		// Sized for the page at once: a full page is 100 records.
		out = make([]T, 0, min(max(p.MaxResults, 1), 100))
		if p.MaxResults <= 0 {
			out = make([]T, 0, 100)
		}
		var err error
		next, err = s.scanPage(r, k.list, s.prefix()+k.segment, p, func(rk string, v []byte) error {
			t, err := k.decoded(s).Decode(rk, v)
			out = append(out, t)
			return err
		})
		return err
	})
	return out, next, err
}
