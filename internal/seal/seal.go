// Package seal makes opaque, tamper-proof tokens: a JSON payload encrypted
// and authenticated with AES-256-GCM under a key derived from the master key
// for one purpose. A token of one purpose never opens as another (the
// purpose is the associated data), and any changed byte fails to open.
//
// idcgate's session tokens, identity-context assertions and OIDC access and
// refresh tokens are seals: stateless, so every replica that shares the
// master key can open them.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
)

// ErrInvalid is returned for a token that does not open.
var ErrInvalid = errors.New("seal: invalid token")

const version byte = 1

// Box seals and opens tokens of one purpose.
type Box struct {
	aead cipher.AEAD
	// aad is the associated data of every token: the purpose, the
	// prefix and the version. Built once: appending the version to a
	// shared slice at each call raced between concurrent callers.
	aad    []byte
	prefix string
	rand   io.Reader
}

// New returns a Box; key must be 32 bytes. prefix is prepended to tokens
// so people can tell them apart (it is authenticated too).
func New(key []byte, purpose, prefix string) (*Box, error) {
	aead, err := NewGCM(key)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead, aad: append([]byte(purpose+"\x00"+prefix), version), prefix: prefix, rand: rand.Reader}, nil
}

// Seal encrypts v's JSON.
func (b *Box) Seal(v any) (string, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	out := make([]byte, 1, 1+b.aead.NonceSize()+len(plain)+b.aead.Overhead())
	out[0] = version
	out, err = AppendSealed(out, b.aead, b.rand, plain, b.aad)
	if err != nil {
		return "", err
	}
	return b.prefix + base64.RawURLEncoding.EncodeToString(out), nil
}

// Open decrypts tok into v.
func (b *Box) Open(tok string, v any) error {
	if len(tok) < len(b.prefix) || tok[:len(b.prefix)] != b.prefix {
		return ErrInvalid
	}
	raw, err := DecodeCanonical(tok[len(b.prefix):])
	if err != nil || len(raw) < 1+b.aead.NonceSize()+b.aead.Overhead() || raw[0] != version {
		return ErrInvalid
	}
	plain, err := OpenSealed(b.aead, raw[1:], b.aad)
	if err != nil {
		return ErrInvalid
	}
	if err := json.Unmarshal(plain, v); err != nil {
		return ErrInvalid
	}
	return nil
}

// NewGCM is AES-GCM under key: AES-256 for the 32-byte keys idcgate derives.
func NewGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// AppendSealed appends to dst a fresh nonce from random and plain sealed
// under it: the nonce-first layout every sealed value here uses.
func AppendSealed(dst []byte, aead cipher.AEAD, random io.Reader, plain, aad []byte) ([]byte, error) {
	n := len(dst)
	dst = append(dst, make([]byte, aead.NonceSize())...)
	nonce := dst[n:]
	if _, err := io.ReadFull(random, nonce); err != nil {
		return nil, err
	}
	return aead.Seal(dst, nonce, plain, aad), nil
}

// OpenSealed opens what AppendSealed appended (nonce, then ciphertext).
// Anything shorter than a nonce, or that does not authenticate, is
// ErrInvalid.
func OpenSealed(aead cipher.AEAD, sealed, aad []byte) ([]byte, error) {
	n := aead.NonceSize()
	if len(sealed) < n {
		return nil, ErrInvalid
	}
	plain, err := aead.Open(nil, sealed[:n], sealed[n:], aad)
	if err != nil {
		return nil, ErrInvalid
	}
	return plain, nil
}

// DecodeCanonical decodes unpadded base64url only when s is exactly the
// canonical encoding of the bytes: encoding/base64 alone skips CR and LF
// anywhere in its input and, unless Strict, ignores stray bits in the last
// character — either would let an edited token decode to the same bytes.
func DecodeCanonical(s string) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		if !IsBase64URL(s[i]) {
			return nil, ErrInvalid
		}
	}
	return base64.RawURLEncoding.Strict().DecodeString(s)
}

// IsBase64URL reports whether c is in the base64url alphabet.
func IsBase64URL(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}
