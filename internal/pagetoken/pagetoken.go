// Package pagetoken makes list operations' nextToken opaque and
// tamper-proof: the position is encoded with the operation, account, region
// and an expiry, and MACed with HMAC-SHA256 under a key derived from the
// master key. A token changed in any bit, cut short, made for another list or
// account, or expired, does not decode.
package pagetoken

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"time"
)

// ErrInvalidToken is returned for any token that does not decode.
var ErrInvalidToken = errors.New("pagetoken: invalid token")

// Page is the position a token carries.
type Page struct {
	Op      string    `json:"o"`
	Account string    `json:"a"`
	Region  string    `json:"r"`
	After   string    `json:"k"`
	Expires time.Time `json:"e"`
}

// Codec encodes and decodes tokens.
type Codec struct {
	Key []byte
	Now func() time.Time
	TTL time.Duration
}

func (c *Codec) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// New returns a token for the page after `after` in op's list for scope.
func (c *Codec) New(op, account, region, after string) string {
	ttl := c.TTL
	if ttl == 0 {
		ttl = 24 * time.Hour
	}
	return c.Encode(Page{Op: op, Account: account, Region: region, After: after, Expires: c.now().Add(ttl).UTC().Truncate(time.Second)})
}

// Encode seals p.
func (c *Codec) Encode(p Page) string {
	payload, _ := json.Marshal(p)
	m := hmac.New(sha256.New, c.Key)
	m.Write(payload)
	return base64.RawURLEncoding.EncodeToString(append(m.Sum(nil), payload...))
}

// Decode opens tok, checking its MAC and expiry.
func (c *Codec) Decode(tok string) (Page, error) {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(raw) <= sha256.Size {
		return Page{}, ErrInvalidToken
	}
	mac, payload := raw[:sha256.Size], raw[sha256.Size:]
	m := hmac.New(sha256.New, c.Key)
	m.Write(payload)
	if !hmac.Equal(mac, m.Sum(nil)) {
		return Page{}, ErrInvalidToken
	}
	var p Page
	if err := json.Unmarshal(payload, &p); err != nil {
		return Page{}, ErrInvalidToken
	}
	if !c.now().Before(p.Expires) {
		return Page{}, ErrInvalidToken
	}
	return p, nil
}

// DecodeFor opens tok and checks that it belongs to op's list in scope.
func (c *Codec) DecodeFor(tok, op, account, region string) (Page, error) {
	p, err := c.Decode(tok)
	if err != nil {
		return Page{}, err
	}
	if p.Op != op || p.Account != account || p.Region != region {
		return Page{}, ErrInvalidToken
	}
	return p, nil
}
