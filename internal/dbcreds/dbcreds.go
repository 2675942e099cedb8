// Package dbcreds is the format of GetCredentials' dbPassword: a temporary
// database password for one IAM database user ("IAMR:analyst") on one
// workgroup, that the gateway checks at login (BEHAVIOUR 3.7, 10.14).
//
// A password is never stored: it is sealed, AES-256-GCM, under a key
// derived (HKDF-SHA256) from the workgroup's current keyring key, so only
// this deployment's replicas can open it, only for that workgroup, and only
// until the workgroup is deleted (its keys go with it) or the key version
// is retired. The header (format, key version, workgroup id) is in clear
// but authenticated, with the account and region, as associated data:
//
//	IAMC1.<base64url(format ‖ key version ‖ len ‖ workgroup id ‖ nonce ‖ sealed claims)>
//
// It is printable ASCII, safe as a PostgreSQL password.
package dbcreds

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/hkdf"
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
	if len(wg.WorkgroupID) > 255 {
		return "", fmt.Errorf("dbcreds: workgroup id of %d bytes", len(wg.WorkgroupID))
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
	hdr := header(v, wg.WorkgroupID)
	out := make([]byte, len(hdr), len(hdr)+aead.NonceSize()+len(plain)+aead.Overhead())
	copy(out, hdr)
	nonce := make([]byte, aead.NonceSize())
	r := s.Rand
	if r == nil {
		r = rand.Reader
	}
	if _, err := io.ReadFull(r, nonce); err != nil {
		return "", err
	}
	out = append(out, nonce...)
	out = aead.Seal(out, nonce, plain, aad(wg, hdr))
	return Prefix + base64.RawURLEncoding.EncodeToString(out), nil
}

// Open opens password for workgroup wg and checks its expiry.
func (s *Sealer) Open(ctx context.Context, wg keyring.ID, password string) (Claims, error) {
	rest, ok := strings.CutPrefix(password, Prefix)
	if !ok {
		return Claims{}, ErrMalformed
	}
	raw, err := seal.DecodeCanonical(rest)
	if err != nil || len(raw) < 6 || raw[0] != formatVersion {
		return Claims{}, ErrMalformed
	}
	v := int(binary.BigEndian.Uint32(raw[1:5]))
	n := int(raw[5])
	if len(raw) < 6+n+12+16 {
		return Claims{}, ErrMalformed
	}
	if string(raw[6:6+n]) != wg.WorkgroupID {
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
	hdr := raw[:6+n]
	nonce := raw[6+n : 6+n+aead.NonceSize()]
	plain, err := aead.Open(nil, nonce, raw[6+n+aead.NonceSize():], aad(wg, hdr))
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

func header(v int, workgroupID string) []byte {
	h := make([]byte, 6, 6+len(workgroupID))
	h[0] = formatVersion
	binary.BigEndian.PutUint32(h[1:5], uint32(v))
	h[5] = byte(len(workgroupID))
	return append(h, workgroupID...)
}

func aad(wg keyring.ID, hdr []byte) []byte {
	return append([]byte(Prefix+wg.Account+"\x00"+wg.Region+"\x00"), hdr...)
}

func derive(key []byte) (cipher.AEAD, error) {
	k, err := hkdf.Key(sha256.New, key, nil, keyInfo, 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
