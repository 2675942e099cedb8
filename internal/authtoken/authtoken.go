// Package authtoken is the format of GetIdentityCenterAuthToken's token:
// envelope encryption with AES-256-GCM. A fresh data key encrypts the
// claims; the data key is wrapped once per named workgroup under that
// workgroup's current key; the header (format version, account, region,
// token id, times, and the wrapped keys with their key versions) is the
// associated data of the claims, so no byte of the token can change
// unnoticed. Any one named workgroup's key opens it.
//
//	IDC1.<base64url(header JSON)>.<base64url(nonce ‖ ciphertext)>
//
// It is printable ASCII and safe as a PostgreSQL password.
package authtoken

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Prefix starts every token of format version 1.
const Prefix = "IDC1."

// Distinct reasons a token is refused.
var (
	ErrMalformed        = errors.New("authtoken: malformed")
	ErrForeignWorkgroup = errors.New("authtoken: not issued for this workgroup")
	ErrKeyUnavailable   = errors.New("authtoken: workgroup key version unavailable")
	ErrTampered         = errors.New("authtoken: authentication failed")
	ErrWrongAccount     = errors.New("authtoken: issued by another account or region")
	ErrExpired          = errors.New("authtoken: expired")
)

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

// WorkgroupKey is a workgroup's current key, for sealing.
type WorkgroupKey struct {
	WorkgroupID string
	Version     int
	Key         []byte
}

func gcm(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func wrapAAD(tokenID, workgroupID string, version int) []byte {
	return []byte(fmt.Sprintf("idcgate data key\x00%s\x00%s\x00%d", tokenID, workgroupID, version))
}

// Seal makes a token for c, openable by each of keys.
func Seal(c Claims, keys []WorkgroupKey, random io.Reader) (string, error) {
	if len(keys) == 0 {
		return "", errors.New("authtoken: no workgroup keys")
	}
	dek := make([]byte, 32)
	if _, err := io.ReadFull(random, dek); err != nil {
		return "", err
	}
	h := Header{Version: 1, Account: c.Account, Region: c.Region, TokenID: c.TokenID, IssuedAt: c.IssuedAt.Unix(), Expires: c.Expires.Unix()}
	for _, k := range keys {
		aead, err := gcm(k.Key)
		if err != nil {
			return "", err
		}
		nonce := make([]byte, aead.NonceSize())
		if _, err := io.ReadFull(random, nonce); err != nil {
			return "", err
		}
		h.Keys = append(h.Keys, WrappedKey{WorkgroupID: k.WorkgroupID, KeyVersion: k.Version,
			Wrapped: aead.Seal(nonce, nonce, dek, wrapAAD(c.TokenID, k.WorkgroupID, k.Version))})
	}
	hb, err := json.Marshal(h)
	if err != nil {
		return "", err
	}
	cb, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	aead, err := gcm(dek)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := io.ReadFull(random, nonce); err != nil {
		return "", err
	}
	headerText := base64.RawURLEncoding.EncodeToString(hb)
	body := aead.Seal(nonce, nonce, cb, []byte(Prefix+headerText))
	return Prefix + headerText + "." + base64.RawURLEncoding.EncodeToString(body), nil
}

// ParseHeader reads the header without authenticating it.
func ParseHeader(token string) (Header, string, []byte, error) {
	if !strings.HasPrefix(token, Prefix) {
		return Header{}, "", nil, ErrMalformed
	}
	headerText, bodyText, ok := strings.Cut(token[len(Prefix):], ".")
	if !ok {
		return Header{}, "", nil, ErrMalformed
	}
	hb, err := base64.RawURLEncoding.Strict().DecodeString(headerText)
	if err != nil {
		return Header{}, "", nil, ErrMalformed
	}
	body, err := base64.RawURLEncoding.Strict().DecodeString(bodyText)
	if err != nil {
		return Header{}, "", nil, ErrMalformed
	}
	var h Header
	if err := json.Unmarshal(hb, &h); err != nil || h.Version != 1 || len(h.Keys) == 0 {
		return Header{}, "", nil, ErrMalformed
	}
	return h, headerText, body, nil
}

// KeyFunc returns a workgroup's key of a version.
type KeyFunc func(workgroupID string, version int) ([]byte, error)

// Open opens token for workgroupID of account/region at now.
func Open(token, workgroupID, account, region string, now time.Time, key KeyFunc) (Header, Claims, error) {
	h, headerText, body, err := ParseHeader(token)
	if err != nil {
		return Header{}, Claims{}, err
	}
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
	k, err := key(workgroupID, wk.KeyVersion)
	if err != nil {
		return h, Claims{}, fmt.Errorf("%w: %v", ErrKeyUnavailable, err)
	}
	c, err := openWith(h, headerText, body, wk, k)
	if err != nil {
		return h, Claims{}, err
	}
	if h.Account != account || h.Region != region || c.Account != account || c.Region != region {
		return h, c, ErrWrongAccount
	}
	if !now.Before(time.Unix(h.Expires, 0)) {
		return h, c, ErrExpired
	}
	return h, c, nil
}

func openWith(h Header, headerText string, body []byte, wk *WrappedKey, k []byte) (Claims, error) {
	aead, err := gcm(k)
	if err != nil {
		return Claims{}, ErrTampered
	}
	n := aead.NonceSize()
	if len(wk.Wrapped) < n {
		return Claims{}, ErrTampered
	}
	dek, err := aead.Open(nil, wk.Wrapped[:n], wk.Wrapped[n:], wrapAAD(h.TokenID, wk.WorkgroupID, wk.KeyVersion))
	if err != nil {
		return Claims{}, ErrTampered
	}
	daead, err := gcm(dek)
	if err != nil || len(body) < daead.NonceSize() {
		return Claims{}, ErrTampered
	}
	plain, err := daead.Open(nil, body[:daead.NonceSize()], body[daead.NonceSize():], []byte(Prefix+headerText))
	if err != nil {
		return Claims{}, ErrTampered
	}
	var c Claims
	if err := json.Unmarshal(plain, &c); err != nil {
		return Claims{}, ErrTampered
	}
	if c.TokenID != h.TokenID || c.Expires.Unix() != h.Expires || c.IssuedAt.Unix() != h.IssuedAt {
		return Claims{}, ErrTampered
	}
	return c, nil
}
