// Package authtoken is the format of GetIdentityCenterAuthToken's token:
// envelope encryption with AES-256-GCM. A fresh data key encrypts the
// claims; the data key is wrapped once per named workgroup under that
// workgroup's current key; the header (format version, account, region,
// token id, times, the wrapped keys with their key versions, and the length
// of the sealed claims) is the associated data of the claims, so no byte of
// the token can change unnoticed. Any one named workgroup's key opens it.
//
// Format version 2 (issued):
//
//	IDC2.<base64url(header ‖ nonce ‖ sealed claims)>
//
// with a length-prefixed binary header and claims (see codec.go): opening
// one costs a few allocations instead of two JSON decodes, and the declared
// body length tells a truncated token from a tampered one. Format version 1
// (IDC1.<base64url(header JSON)>.<base64url(nonce ‖ sealed claims JSON)>)
// is still opened, never issued: such tokens stay valid for up to the token
// TTL after an upgrade, and replicas upgraded one by one see both.
//
// Both are printable ASCII and safe as a PostgreSQL password.
package authtoken

import (
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/idcgate/idcgate/internal/seal"
)

// Prefix starts every token of the current format (version 2).
const Prefix = "IDC2."

// PrefixV1 starts tokens of format version 1, which are opened but no
// longer issued.
const PrefixV1 = "IDC1."

// FormatVersion is the format Seal writes.
const FormatVersion = 2

// MaxWorkgroups is how many workgroups one token can name.
const MaxWorkgroups = 255

// Distinct reasons a token is refused.
var (
	ErrMalformed        = errors.New("authtoken: malformed")
	ErrForeignWorkgroup = errors.New("authtoken: not issued for this workgroup")
	ErrKeyUnavailable   = errors.New("authtoken: workgroup key version unavailable")
	ErrTampered         = errors.New("authtoken: authentication failed")
	ErrWrongAccount     = errors.New("authtoken: issued by another account or region")
	// ErrWrongRegion: issued by this account in another region; it is
	// also ErrWrongAccount.
	ErrWrongRegion error = &subError{"authtoken: issued in another region", ErrWrongAccount}
	ErrExpired           = errors.New("authtoken: expired")
	// ErrTruncated: the token is a proper prefix of a well-formed one (it
	// was cut, typically by a copy and paste or a length limit). It is
	// also ErrMalformed, so callers that only know that refuse it alike.
	ErrTruncated error = &subError{"authtoken: truncated", ErrMalformed}
)

type subError struct {
	msg    string
	parent error
}

func (e *subError) Error() string { return e.msg }
func (e *subError) Unwrap() error { return e.parent }

// Header is the authenticated, unencrypted part.
type Header struct {
	Version  int          `json:"v"`
	Account  string       `json:"a"`
	Region   string       `json:"r"`
	TokenID  string       `json:"id"`
	IssuedAt int64        `json:"iat"`
	Expires  int64        `json:"exp"`
	Keys     []WrappedKey `json:"k"`
}

// WrappedKey is the data key wrapped for one workgroup.
type WrappedKey struct {
	WorkgroupID string `json:"w"`
	KeyVersion  int    `json:"kv"`
	Wrapped     []byte `json:"dk"`
}

// Workgroup is one workgroup the token is for.
type Workgroup struct {
	Arn               string `json:"arn"`
	Name              string `json:"name"`
	IdentityNamespace string `json:"identityNamespace"`
}

// Claims are the encrypted part.
type Claims struct {
	Account          string      `json:"account"`
	Region           string      `json:"region"`
	Workgroups       []Workgroup `json:"workgroups"`
	InstanceArn      string      `json:"instanceArn"`
	IdentityStoreArn string      `json:"identityStoreArn"`
	UserID           string      `json:"userId"`
	UserName         string      `json:"userName"`
	Groups           []string    `json:"groups"`
	ApplicationArn   string      `json:"applicationArn,omitempty"`
	RoleSessionArn   string      `json:"roleSessionArn"`
	IssuedAt         time.Time   `json:"issuedAt"`
	Expires          time.Time   `json:"expires"`
	TokenID          string      `json:"tokenId"`
}

// WorkgroupKey is a workgroup's current key, for sealing. AEAD, when set,
// is that key's AES-256-GCM, built once by the keyring (the standard
// library's GCM is safe for concurrent use), so sealing for many
// workgroups does not redo every key schedule; otherwise Key is used.
type WorkgroupKey struct {
	WorkgroupID string
	Version     int
	Key         []byte
	AEAD        cipher.AEAD
}

// NewAEAD returns the AES-256-GCM of a workgroup or data key.
func NewAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, errors.New("authtoken: key must be 32 bytes")
	}
	return seal.NewGCM(key)
}

// KeyFunc returns the AEAD of a workgroup's key of a version.
type KeyFunc func(workgroupID string, version int) (cipher.AEAD, error)

// KeyBytes adapts a function returning raw keys to a KeyFunc.
func KeyBytes(f func(workgroupID string, version int) ([]byte, error)) KeyFunc {
	return func(id string, v int) (cipher.AEAD, error) {
		k, err := f(id, v)
		if err != nil {
			return nil, err
		}
		return NewAEAD(k)
	}
}

const (
	dataKeySize = 32
	nonceSize   = 12
	tagSize     = 16
)

var b64 = base64.RawURLEncoding.Strict()

// Seal makes a token for c, openable by each of keys. random supplies the
// data key and every nonce, in one read.
func Seal(c Claims, keys []WorkgroupKey, random io.Reader) (string, error) {
	if len(keys) == 0 {
		return "", errors.New("authtoken: no workgroup keys")
	}
	if len(keys) > MaxWorkgroups || len(c.Workgroups) > MaxWorkgroups {
		return "", fmt.Errorf("authtoken: at most %d workgroups", MaxWorkgroups)
	}
	if len(c.Groups) > maxCount16 {
		return "", errors.New("authtoken: too many groups")
	}
	rnd := make([]byte, dataKeySize+nonceSize*(len(keys)+1))
	if _, err := io.ReadFull(random, rnd); err != nil {
		return "", err
	}
	dek, nonces := rnd[:dataKeySize], rnd[dataKeySize:]
	daead, err := NewAEAD(dek)
	if err != nil {
		return "", err
	}
	aeads := make([]cipher.AEAD, len(keys))
	for i, k := range keys {
		aeads[i] = k.AEAD
		if aeads[i] == nil {
			if aeads[i], err = NewAEAD(k.Key); err != nil {
				return "", err
			}
		}
		if aeads[i].NonceSize() != nonceSize || aeads[i].Overhead() != tagSize {
			return "", errors.New("authtoken: workgroup keys must be AES-GCM")
		}
	}
	csize, err := claimsSize(c)
	if err != nil {
		return "", err
	}
	hsize, err := headerSize(c, keys)
	if err != nil {
		return "", err
	}
	bodyLen := nonceSize + csize + tagSize
	buf := make([]byte, 0, hsize+bodyLen)

	// Header.
	buf = append(buf, FormatVersion)
	buf = appendStr(buf, c.Account)
	buf = appendStr(buf, c.Region)
	buf = appendStr(buf, c.TokenID)
	buf = appendI64(buf, c.IssuedAt.Unix())
	buf = appendI64(buf, c.Expires.Unix())
	buf = append(buf, byte(len(keys)))
	var aad [wrapAADMax]byte
	for i, k := range keys {
		buf = appendStr(buf, k.WorkgroupID)
		buf = appendU32(buf, uint32(k.Version))
		buf = appendU16(buf, nonceSize+dataKeySize+tagSize)
		nonce := nonces[i*nonceSize : (i+1)*nonceSize]
		buf = append(buf, nonce...)
		buf = aeads[i].Seal(buf, nonce, dek, wrapAAD(aad[:0], c.TokenID, k.WorkgroupID, k.Version))
	}
	buf = appendU32(buf, uint32(bodyLen))
	if len(buf) != hsize {
		return "", errors.New("authtoken: header size mismatch")
	}

	// Body: the claims are encoded in place, then sealed in place with the
	// whole header as associated data.
	nonce := nonces[len(keys)*nonceSize:]
	buf = append(buf, nonce...)
	start := len(buf)
	buf = appendClaims(buf, c)
	buf = daead.Seal(buf[:start], nonce, buf[start:], buf[:hsize])

	out := make([]byte, len(Prefix)+b64.EncodedLen(len(buf)))
	copy(out, Prefix)
	b64.Encode(out[len(Prefix):], buf)
	return string(out), nil
}

// parsed is a token split into its parts, not yet authenticated.
type parsed struct {
	h    Header
	aad  []byte // the associated data of the claims
	body []byte // nonce ‖ sealed claims
	v1   bool
}

// ParseHeader reads the header without authenticating it. It also returns
// the associated data the claims are sealed with (the header's bytes) and
// the sealed body.
func ParseHeader(token string) (Header, string, []byte, error) {
	p, err := parse(token)
	if err != nil {
		return Header{}, "", nil, err
	}
	return p.h, string(p.aad), p.body, nil
}

func parse(token string) (parsed, error) {
	switch {
	case strings.HasPrefix(token, Prefix):
		return parseV2(token[len(Prefix):])
	case strings.HasPrefix(token, PrefixV1):
		return parseV1(token)
	case token != "" && (strings.HasPrefix(Prefix, token) || strings.HasPrefix(PrefixV1, token)):
		return parsed{}, ErrTruncated
	}
	return parsed{}, ErrMalformed
}

func parseV2(text string) (parsed, error) {
	blob, cut, err := decodeBase64(text)
	if err != nil {
		return parsed{}, err
	}
	h, hlen, bodyLen, err := decodeHeader(blob)
	if err != nil {
		return parsed{}, err
	}
	body := blob[hlen:]
	switch {
	case cut || len(body) < bodyLen:
		return parsed{}, ErrTruncated
	case len(body) > bodyLen || bodyLen < nonceSize+tagSize:
		return parsed{}, ErrMalformed
	}
	return parsed{h: h, aad: blob[:hlen], body: body}, nil
}

// decodeBase64 decodes strict unpadded base64url. When text is not valid
// only because its last, incomplete quantum was cut off (a valid encoding
// is never 1 mod 4 long, and a cut can leave stray low bits), it returns
// what the complete quanta decode to and cut = true, so the caller can
// tell a truncated token from garbage.
func decodeBase64(text string) (blob []byte, cut bool, err error) {
	for i := 0; i < len(text); i++ {
		if !seal.IsBase64URL(text[i]) { // encoding/base64 would skip CR and LF
			return nil, false, ErrMalformed
		}
	}
	blob, err = b64.DecodeString(text)
	if err == nil {
		return blob, false, nil
	}
	full := len(text) - len(text)%4
	blob, err = b64.DecodeString(text[:full])
	if err != nil {
		return nil, false, ErrMalformed
	}
	return blob, true, nil
}

// Open opens token for workgroupID of account/region at now.
func Open(token, workgroupID, account, region string, now time.Time, key KeyFunc) (Header, Claims, error) {
	p, err := parse(token)
	if err != nil {
		return Header{}, Claims{}, err
	}
	h := p.h
	var wk *WrappedKey
	for i := range h.Keys {
		if h.Keys[i].WorkgroupID == workgroupID {
			wk = &h.Keys[i]
			break
		}
	}
	if wk == nil {
		return h, Claims{}, ErrForeignWorkgroup
	}
	aead, err := key(workgroupID, wk.KeyVersion)
	if err != nil {
		return h, Claims{}, fmt.Errorf("%w: %w", ErrKeyUnavailable, err)
	}
	var c Claims
	if p.v1 {
		c, err = openV1(p, wk, aead)
	} else {
		c, err = openV2(p, wk, aead)
	}
	if err != nil {
		return h, Claims{}, err
	}
	if h.Account != account || c.Account != account {
		return h, c, ErrWrongAccount
	}
	if h.Region != region || c.Region != region {
		return h, c, ErrWrongRegion
	}
	if !now.Before(time.Unix(h.Expires, 0)) {
		return h, c, ErrExpired
	}
	return h, c, nil
}

func openV2(p parsed, wk *WrappedKey, aead cipher.AEAD) (Claims, error) {
	h := p.h
	if len(wk.Wrapped) < aead.NonceSize() {
		return Claims{}, ErrTampered
	}
	var aad [wrapAADMax]byte
	var dekBuf [dataKeySize]byte
	n := aead.NonceSize()
	dek, err := aead.Open(dekBuf[:0], wk.Wrapped[:n], wk.Wrapped[n:], wrapAAD(aad[:0], h.TokenID, wk.WorkgroupID, wk.KeyVersion))
	if err != nil || len(dek) != dataKeySize {
		return Claims{}, ErrTampered
	}
	daead, err := NewAEAD(dek)
	if err != nil {
		return Claims{}, ErrTampered
	}
	// The body is this call's own decoded copy, so it is decrypted in place.
	body := p.body
	plain, err := daead.Open(body[nonceSize:nonceSize], body[:nonceSize], body[nonceSize:], p.aad)
	if err != nil {
		return Claims{}, ErrTampered
	}
	c, err := decodeClaims(plain)
	if err != nil {
		return Claims{}, ErrTampered
	}
	if c.TokenID != h.TokenID || c.Expires.Unix() != h.Expires || c.IssuedAt.Unix() != h.IssuedAt {
		return Claims{}, ErrTampered
	}
	return c, nil
}
