// Package identitystore is the Identity Store of the one IAM Identity Center
// instance: its users, groups and group memberships, kept in the store
// (BEHAVIOUR 16). The config's users and groups are re-applied at every
// start (ApplyConfig); users, groups and memberships made by API persist.
//
// Keys, all under "ids/<identity store id>/":
//
//	u/<userId>                 the user record (JSON)
//	un/<userName key>          userId: userName is unique ignoring ASCII case
//	ue/<email key>/<userId>    "": the users by address (emails.value)
//	ux/<issuer>/<id>           userId: external ids are unique
//	g/<groupId>                the group record
//	gn/<displayName key>       groupId: DisplayName is unique ignoring ASCII case
//	gx/<issuer>/<id>           groupId
//	m/<membershipId>           the membership record
//	gm/<groupId>/<userId>      membershipId (a group's members)
//	um/<userId>/<groupId>      membershipId (a user's groups)
//
// The "key" forms are config.DirectoryKey: ASCII letters lowered, nothing
// else folded. Addresses, issuers and external ids are path-escaped
// (url.PathEscape) in keys, so they hold no '/' of their own.
package identitystore

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/idcgate/idcgate/internal/apierror"
	"github.com/idcgate/idcgate/internal/clock"
	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/ids"
	"github.com/idcgate/idcgate/internal/pagetoken"
	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/validation"
)

// Sentinels; the wire table (internal/awserror) maps them.
var (
	// ErrNotFound: no such user, group, membership or identity store. The
	// Error's Members carry AWS's ResourceType and ResourceId.
	ErrNotFound = errors.New("identitystore: resource not found")
	// ErrConflict: a uniqueness rule, or a stale Revision. Members carry
	// AWS's Reason.
	ErrConflict = errors.New("identitystore: conflict")
)

// Error is the package's error type.
type Error = apierror.Error

// Resource types of ResourceNotFoundException, as AWS names them.
const (
	TypeUser            = "USER"
	TypeGroup           = "GROUP"
	TypeGroupMembership = "GROUP_MEMBERSHIP"
	TypeIdentityStore   = "IDENTITY_STORE"
)

// Reasons of ConflictException.
const (
	ReasonUniqueness = "UNIQUENESS_CONSTRAINT_VIOLATION"
	ReasonConcurrent = "CONCURRENT_MODIFICATION"
)

// notFound is ResourceNotFoundException for a resource of typ; id is the
// one asked for, "" for a look-up by attribute (then no ResourceId).
func notFound(typ, id string) error {
	m := map[string]string{"ResourceType": typ}
	if id != "" {
		m["ResourceId"] = apierror.Printable(id)
	}
	return &Error{Kind: ErrNotFound, Message: typ + " not found.", Members: m}
}

func conflict(reason, format string, args ...any) error {
	return &Error{Kind: ErrConflict, Message: fmt.Sprintf(format, args...), Members: map[string]string{"Reason": reason}}
}

// Service keeps the identity store StoreID of account Account.
//
// The users and groups it returns are shared with its decoded-record caches
// (store.Decoded): immutable, slices and maps included. The package's
// callers (identitycenter, the server's wire mapping) read them and copy
// what they keep; none modifies one.
type Service struct {
	Store   store.Store
	StoreID string // d-<10 hex>
	Account string
	Pages   *pagetoken.Codec
	Rand    io.Reader
	Clock   clock.Clock
	// AfterGroupNamed, when set, is told the display name of a group the
	// API created or renamed, after the change commits (the managed
	// upstream makes the group's roles). It must not block.
	AfterGroupNamed func(displayName string)

	// Versions, when set, is Store's version source (the embedded store
	// itself; nil for a shared store): while nothing under "ids/" changed,
	// UserWithGroups answers from what it read last (withGroups).
	Versions store.Versioned

	users      store.Decoded[User]
	groups     store.Decoded[Group]
	withGroups store.Kept[string, userWithGroups]
}

// userWithGroups is UserWithGroups' answer for a user, kept under the
// store version it was read at; shared, so never modified.
type userWithGroups struct {
	u      User
	groups []string
}

// segment is the first key segment of every record.
const segment = "ids"

func (s *Service) prefix() string { return segment + "/" + s.StoreID + "/" }

// Arn is the identity store's ARN.
func (s *Service) Arn() string {
	return "arn:aws:identitystore::" + s.Account + ":identitystore/" + s.StoreID
}

// UserArn, GroupArn and MembershipArn are as AWS forms them (no region, no
// account: the ids are globally unique).
func UserArn(id string) string       { return "arn:aws:identitystore:::user/" + id }
func GroupArn(id string) string      { return "arn:aws:identitystore:::group/" + id }
func MembershipArn(id string) string { return "arn:aws:identitystore:::membership/" + id }

// CheckStore answers ResourceNotFoundException (IDENTITY_STORE) for any
// identity store but this one.
func (s *Service) CheckStore(id string) error {
	if id != s.StoreID {
		return notFound(TypeIdentityStore, id)
	}
	return nil
}

// newID makes an id as AWS does: the identity store id's ten hex digits, a
// dash, and a random UUID ("9067a1b2c3-1a2b…").
func (s *Service) newID() (string, error) {
	r := s.Rand
	if r == nil {
		r = rand.Reader
	}
	u, err := ids.UUID(r)
	if err != nil {
		return "", err
	}
	return strings.TrimPrefix(s.StoreID, "d-") + "-" + u, nil
}

func (s *Service) now() time.Time { return s.Clock.Now().UTC().Truncate(time.Second) }

// key is config.DirectoryKey: the form uniqueness and look-ups compare.
func key(v string) string { return config.DirectoryKey(v) }

// ExternalID is an identifier an external identity provider issued.
type ExternalID struct {
	Issuer string `json:"Issuer"`
	ID     string `json:"Id"`
}

func externalKey(e ExternalID) string { return url.PathEscape(e.Issuer) + "/" + url.PathEscape(e.ID) }

// Revision is a record's revision as the API shows it.
func revision(n int64) string { return strconv.FormatInt(n, 10) }

// checkRevision answers CONCURRENT_MODIFICATION when want is given and is
// not the record's revision.
func checkRevision(want *string, have int64) error {
	if want != nil && *want != revision(have) {
		return conflict(ReasonConcurrent, "The resource was modified since revision %s: its revision is %s.", apierror.Printable(*want), revision(have))
	}
	return nil
}

// Page is one page of a list.
type Page struct {
	MaxResults int    // 0: 100
	NextToken  string // "" for the first page
}

// scanPage scans prefix from the page's position, calling fn for up to
// MaxResults entries, and returns the next token ("" at the end).
func (s *Service) scanPage(r store.Reader, op, prefix string, p Page, fn func(k string, v []byte) error) (string, error) {
	max := p.MaxResults
	if max <= 0 {
		max = 100
	}
	after := ""
	if p.NextToken != "" {
		pg, err := s.Pages.DecodeFor(p.NextToken, op, s.StoreID, prefix)
		switch {
		case errors.Is(err, pagetoken.ErrInvalidToken) || err == nil && !strings.HasPrefix(pg.After, prefix):
			return "", validation.Newf("The NextToken is invalid.")
		case err != nil:
			return "", err
		}
		after = pg.After
	}
	n, last, more := 0, "", false
	err := r.Scan(prefix, after, func(k string, v []byte) (bool, error) {
		if n == max {
			more = true
			return false, nil
		}
		n++
		last = k
		return true, fn(k, v)
	})
	if err != nil || !more {
		return "", err
	}
	return s.Pages.New(op, s.StoreID, prefix, last)
}

func getID(r store.Reader, k string) (string, bool, error) {
	v, err := r.Get(k)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "", false, nil
	case err != nil:
		return "", false, err
	}
	return string(v), true, nil
}

func decodeJSON(raw []byte, v any) error { return json.Unmarshal(raw, v) }

// View and update wrap the store with the context.
func (s *Service) view(ctx context.Context, fn func(store.Reader) error) error {
	return s.Store.View(ctx, fn)
}
