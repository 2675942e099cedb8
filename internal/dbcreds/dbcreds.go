// Package dbcreds is the format of GetCredentials' dbPassword: a temporary
// database password for one IAM database user ("IAMR:analyst") on one
// workgroup, that the gateway checks at login (BEHAVIOUR 3.7, 10.14).
//
// A password is never stored: it is sealed, AES-256-GCM, under a key
// derived (HKDF-SHA256) from the workgroup's current keyring key, so only
// this deployment's replicas can open it, only for that workgroup, and only
// until the workgroup is deleted (its keys go with it) or the key version
// is retired. The header (format, key version, the workgroup's account,
// region and id, each after its length byte) is in clear, so the gateway
// can tell which workgroup a password is for, and authenticated as
// associated data:
//
//	IAMC1.<base64url(format ‖ key version ‖ account ‖ region ‖ workgroup id ‖ nonce ‖ sealed claims)>
//
// It is printable ASCII, safe as a PostgreSQL password.
package dbcreds

import (
	"context"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/idcgate/idcgate/internal/clock"
	"github.com/idcgate/idcgate/internal/keyring"
	"github.com/idcgate/idcgate/internal/seal"
)

// Prefix starts every password.
const Prefix = "IAMC1."

const formatVersion byte = 1

// keyInfo separates the derived key from every other use of a workgroup key.
const keyInfo = "idcgate GetCredentials dbPassword v1"

// Reasons a password does not open.
var (
	ErrMalformed        = errors.New("dbcreds: malformed password")
	ErrForeignWorkgroup = errors.New("dbcreds: password of another workgroup")
	ErrTampered         = errors.New("dbcreds: password does not authenticate")
	ErrExpired          = errors.New("dbcreds: password expired")
)

// Claims are what a password carries.
type Claims struct {
	// DbUser is the database user it logs in as ("IAMR:<role>", "IAM:<user>").
	DbUser string `json:"u"`
	// UserID is the IAM identity's unique id (AROA…, AIDA…), which marks
	// the upstream role (package dbuser).
	UserID string `json:"i"`
	// Principal is the ARN of the caller of GetCredentials.
	Principal string `json:"p"`
	// DbName, when set, is the only database it logs in to.
	DbName    string `json:"d,omitempty"`
	IssuedAt  int64  `json:"iat"`
	ExpiresAt int64  `json:"exp"`
	// ID tells one password from another in the audit log.
	ID string `json:"id"`
}

// Expires is the expiry as a time.
func (c Claims) Expires() time.Time { return time.Unix(c.ExpiresAt, 0).UTC() }

// Keys are the workgroups' keyrings (keyring.Keyring).
type Keys interface {
	Current(ctx context.Context, id keyring.ID) (int, []byte, error)
	Key(ctx context.Context, id keyring.ID, v int) ([]byte, error)
}

// Sealer seals and opens passwords.
type Sealer struct {
	Keys  Keys
	Clock clock.Clock
	// Rand is the nonce source; nil is crypto/rand.
	Rand io.Reader
}

// Seal makes the password of c for workgroup wg.
func (s *Sealer) Seal(ctx context.Context, wg keyring.ID, c Claims) (string, error) {
	if len(wg.Account) > 255 || len(wg.Region) > 255 || len(wg.WorkgroupID) > 255 {
		return "", fmt.Errorf("dbcreds: workgroup id %q too long", wg.WorkgroupID)
	}
	v, key, err := s.Keys.Current(ctx, wg)
	if err != nil {
		return "", err
	}
	aead, err := derive(key)
	if err != nil {
		return "", err
	}
	plain, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	hdr := header(v, wg)
	out := make([]byte, len(hdr), len(hdr)+aead.NonceSize()+len(plain)+aead.Overhead())
	copy(out, hdr)
	r := s.Rand
	if r == nil {
		r = rand.Reader
	}
	if out, err = seal.AppendSealed(out, aead, r, plain, aad(hdr)); err != nil {
		return "", err
	}
	return Prefix + base64.RawURLEncoding.EncodeToString(out), nil
}

// Peek reads the workgroup a password is for, without opening it (the
// header is in clear; nothing is vouched for until Open).
func Peek(password string) (keyring.ID, error) {
	id, _, _, _, err := parse(password)
	return id, err
}

// parse splits a password into its workgroup, key version, header and the
// rest (nonce and sealed claims).
func parse(password string) (id keyring.ID, version int, hdr, rest []byte, err error) {
	body, ok := strings.CutPrefix(password, Prefix)
	if !ok {
		return id, 0, nil, nil, ErrMalformed
	}
	raw, err := seal.DecodeCanonical(body)
	if err != nil || len(raw) < 5 || raw[0] != formatVersion {
		return id, 0, nil, nil, ErrMalformed
	}
	version = int(binary.BigEndian.Uint32(raw[1:5]))
	i := 5
	field := func() (string, bool) {
		if i >= len(raw) || i+1+int(raw[i]) > len(raw) {
			return "", false
		}
		n := int(raw[i])
		f := string(raw[i+1 : i+1+n])
		i += 1 + n
		return f, true
	}
	var ok1, ok2, ok3 bool
	id.Account, ok1 = field()
	id.Region, ok2 = field()
	id.WorkgroupID, ok3 = field()
	if !ok1 || !ok2 || !ok3 || len(raw)-i < 12+16 {
		return keyring.ID{}, 0, nil, nil, ErrMalformed
	}
	return id, version, raw[:i], raw[i:], nil
}

// Open opens password for workgroup wg and checks its expiry. A password
// of another workgroup (or account, or region) is ErrForeignWorkgroup.
func (s *Sealer) Open(ctx context.Context, wg keyring.ID, password string) (Claims, error) {
	id, v, hdr, rest, err := parse(password)
	if err != nil {
		return Claims{}, err
	}
	if id != wg {
		return Claims{}, ErrForeignWorkgroup
	}
	key, err := s.Keys.Key(ctx, wg, v)
	if err != nil {
		if errors.Is(err, keyring.ErrNoKeyring) {
			return Claims{}, err
		}
		// A retired or unknown version: the password cannot be checked.
		return Claims{}, fmt.Errorf("%w: %w", ErrTampered, err)
	}
	aead, err := derive(key)
	if err != nil {
		return Claims{}, err
	}
	plain, err := seal.OpenSealed(aead, rest, aad(hdr))
	if err != nil {
		return Claims{}, ErrTampered
	}
	var c Claims
	if err := json.Unmarshal(plain, &c); err != nil {
		return Claims{}, ErrTampered
	}
	if !s.Clock.Now().Before(c.Expires()) {
		return c, ErrExpired
	}
	return c, nil
}

func header(v int, wg keyring.ID) []byte {
	h := make([]byte, 5, 8+len(wg.Account)+len(wg.Region)+len(wg.WorkgroupID))
	h[0] = formatVersion
	binary.BigEndian.PutUint32(h[1:5], uint32(v))
	for _, f := range []string{wg.Account, wg.Region, wg.WorkgroupID} {
		h = append(h, byte(len(f)))
		h = append(h, f...)
	}
	return h
}

func aad(hdr []byte) []byte { return append([]byte(Prefix), hdr...) }

func derive(key []byte) (cipher.AEAD, error) {
	k, err := hkdf.Key(sha256.New, key, nil, keyInfo, 32)
	if err != nil {
		return nil, err
	}
	return seal.NewGCM(k)
}
