// Package iamstore keeps IAM's entities in the store: users, their
// long-term access keys, roles, and the inline policies of both. It is the
// domain of the IAM API (BEHAVIOUR 8.1) and the source the credential registry
// (internal/auth) reads. Policies are parsed by the evaluator that enforces
// them (internal/iam) before they are stored, so nothing is stored that
// would not be evaluated; secrets of access keys are stored sealed under a
// master-key-derived key (internal/seal), never in the clear.
package iamstore

import (
	"crypto/rand"
	"encoding/base32"
	"errors"
	"io"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/idcgate/idcgate/internal/apierror"
	"github.com/idcgate/idcgate/internal/clock"
	"github.com/idcgate/idcgate/internal/masterkey"
	"github.com/idcgate/idcgate/internal/pagetoken"
	"github.com/idcgate/idcgate/internal/seal"
	"github.com/idcgate/idcgate/internal/store"
)

// Sentinels, mapped to IAM's error codes by the wire table.
var (
	// ErrNoSuchEntity: the user, role, policy or key does not exist.
	ErrNoSuchEntity = errors.New("iam: no such entity")
	// ErrEntityExists: the name is taken (names are unique ignoring case).
	ErrEntityExists = errors.New("iam: entity already exists")
	// ErrDeleteConflict: the user or role still has policies or keys.
	ErrDeleteConflict = errors.New("iam: delete conflict")
	// ErrLimitExceeded: a quota (access keys per user, policy size).
	ErrLimitExceeded = errors.New("iam: limit exceeded")
	// ErrMalformedPolicy: a document the evaluator refuses.
	ErrMalformedPolicy = errors.New("iam: malformed policy document")
)

// Error is the package's error type.
type Error = apierror.Error

// Segment is the first key segment of every IAM record; Versions of it
// vouch for cached reads.
const Segment = "iam"

// Tag is a key/value tag of a user or role.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// User is an IAM user.
type User struct {
	Account    string    `json:"account"`
	Name       string    `json:"name"`
	Path       string    `json:"path"`
	UserID     string    `json:"userId"`
	CreateDate time.Time `json:"createDate"`
	Tags       []Tag     `json:"tags,omitempty"`
	// FromConfig marks a user the config declares: re-applied at every
	// start, removed when the config no longer names it.
	FromConfig bool `json:"fromConfig,omitempty"`
}

// ARN is the user's ARN, with its path.
func (u *User) ARN() string { return "arn:aws:iam::" + u.Account + ":user" + u.Path + u.Name }

// Role is an IAM role.
type Role struct {
	Account                  string    `json:"account"`
	Name                     string    `json:"name"`
	Path                     string    `json:"path"`
	RoleID                   string    `json:"roleId"`
	CreateDate               time.Time `json:"createDate"`
	AssumeRolePolicyDocument string    `json:"assumeRolePolicyDocument"`
	// MaxSessionDuration in seconds (3600–43200).
	MaxSessionDuration int64  `json:"maxSessionDuration"`
	Description        string `json:"description,omitempty"`
	Tags               []Tag  `json:"tags,omitempty"`
	FromConfig         bool   `json:"fromConfig,omitempty"`
}

// ARN is the role's ARN, with its path.
func (r *Role) ARN() string { return "arn:aws:iam::" + r.Account + ":role" + r.Path + r.Name }

// Policy is an inline policy of a user or role.
type Policy struct {
	Name       string `json:"name"`
	Document   string `json:"document"`
	FromConfig bool   `json:"fromConfig,omitempty"`
}

// AccessKey is a long-term access key of a user. Secret is the secret in
// the clear when handed out by CreateAccessKey or Credential; the record
// holds it sealed.
type AccessKey struct {
	AccessKeyID string    `json:"accessKeyId"`
	Account     string    `json:"account"`
	UserName    string    `json:"userName"`
	Status      string    `json:"status"`
	CreateDate  time.Time `json:"createDate"`
	FromConfig  bool      `json:"fromConfig,omitempty"`
	Secret      string    `json:"-"`
}

// keyRecord is an access key as stored.
type keyRecord struct {
	AccessKey
	Sealed string `json:"sealedSecret"`
}

// sealedSecret is what the sealed text holds: the key id with the secret,
// so a sealed secret copied onto another key's record does not open as it.
type sealedSecret struct {
	AccessKeyID string `json:"k"`
	Secret      string `json:"s"`
}

// Service is IAM's store.
type Service struct {
	Store store.Store
	// Secrets seals access-key secrets (a master-key-derived key).
	Secrets *seal.Box
	// Pages seals list markers.
	Pages *pagetoken.Codec
	Clock clock.Clock
	Rand  io.Reader
}

// Keys. Names are unique ignoring case (as IAM's), so records are kept
// under the lower-cased name and hold the name as given.
func usersPrefix(account string) string { return Segment + "/" + account + "/users/" }
func userKey(account, name string) string {
	return usersPrefix(account) + strings.ToLower(name)
}
func userPoliciesPrefix(account, user string) string {
	return Segment + "/" + account + "/user-policies/" + strings.ToLower(user) + "/"
}
func userKeysPrefix(account, user string) string {
	return Segment + "/" + account + "/user-keys/" + strings.ToLower(user) + "/"
}
func rolesPrefix(account string) string { return Segment + "/" + account + "/roles/" }
func roleKey(account, name string) string {
	return rolesPrefix(account) + strings.ToLower(name)
}
func rolePoliciesPrefix(account, role string) string {
	return Segment + "/" + account + "/role-policies/" + strings.ToLower(role) + "/"
}

// accessKeysPrefix holds every account's keys by id (SigV4 finds a key by
// its id alone); account ids are 12 digits, so it meets no account's keys.
const accessKeysPrefix = Segment + "/access-keys/"

func accessKeyKey(id string) string { return accessKeysPrefix + id }

var idAlphabet = base32.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567").WithPadding(base32.NoPadding)

// NewID returns an AWS-style unique id: prefix (AIDA, AROA, AKIA) and
// 16 or 17 random characters of IAM's alphabet.
func NewID(random io.Reader, prefix string, n int) (string, error) {
	var b [15]byte
	if _, err := io.ReadFull(random, b[:]); err != nil {
		return "", err
	}
	return prefix + idAlphabet.EncodeToString(b[:])[:n], nil
}

func (s *Service) rand() io.Reader {
	if s.Rand != nil {
		return s.Rand
	}
	return rand.Reader
}

func (s *Service) now() time.Time { return s.Clock.Now().UTC().Truncate(time.Second) }

// IAM's size quotas, in characters without white space (as IAM counts):
// inline policies of one user together, of one role together, and a trust
// policy at its highest adjustable value (config.Validate holds the config
// to the same).
const (
	MaxUserPolicies = 2048
	MaxRolePolicies = 10240
	MaxTrustPolicy  = 4096
	// MaxAccessKeys per user.
	MaxAccessKeys = 2
)

// PolicySize is a document's size as IAM counts it.
func PolicySize(doc string) int {
	n := 0
	for _, r := range doc {
		if !unicode.IsSpace(r) {
			n++
		}
	}
	return n
}

// The IAM API model's patterns.
const (
	namePattern        = `[\w+=,.@-]+`
	pathPattern        = `(\u002F)|(\u002F[\u0021-\u007E]+\u002F)`
	pathPrefixPattern  = `\u002F[\u0021-\u007F]*`
	policyDocPattern   = `[\u0009\u000A\u000D\u0020-\u00FF]+`
	descriptionPattern = `[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*`
	accessKeyIDPattern = `[\w]+`
	tagKeyPattern      = `[\p{L}\p{Z}\p{N}_.:/=+\-@]+`
	tagValuePattern    = `[\p{L}\p{Z}\p{N}_.:/=+\-@]*`
)

var (
	nameRe        = regexp.MustCompile(`^[\w+=,.@-]+$`)
	pathRe        = regexp.MustCompile(`^(/|/[\x21-\x7E]+/)$`)
	pathPrefixRe  = regexp.MustCompile(`^/[\x21-\x7F]*$`)
	policyDocRe   = regexp.MustCompile(`^[\x{0009}\x{000A}\x{000D}\x{0020}-\x{00FF}]+$`)
	descriptionRe = regexp.MustCompile(`^[\x{0009}\x{000A}\x{000D}\x{0020}-\x{007E}\x{00A1}-\x{00FF}]*$`)
	accessKeyIDRe = regexp.MustCompile(`^\w+$`)
	tagKeyRe      = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$`)
	tagValueRe    = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
)

// NormalizePath is the path as stored: "/" when empty.
func NormalizePath(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

// New returns the service over st, its secrets and markers sealed under
// keys derived from mk.
func New(st store.Store, mk *masterkey.Key, c clock.Clock, random io.Reader) (*Service, error) {
	secrets, err := seal.New(mk.Derive(32, "seal", "iam-access-key-secret"), "iam-access-key-secret", "")
	if err != nil {
		return nil, err
	}
	return &Service{Store: st, Secrets: secrets, Clock: c, Rand: random,
		Pages: &pagetoken.Codec{Key: mk.Derive(32, "page-token"), Clock: c, TTL: 24 * time.Hour}}, nil
}
