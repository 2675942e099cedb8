// Package pagetoken makes list operations' nextToken opaque and
// tamper-proof: the position, the operation, account, region and an expiry
// are sealed with AES-256-GCM (package seal) under a key derived from the
// master key. The text reveals nothing of what it holds (store keys,
// account, region); a token changed in any bit, cut short, made for another
// list or account, or expired, does not decode.
package pagetoken

import (
	"errors"
	"sync"
	"time"

	"github.com/idcgate/idcgate/internal/clock"
	"github.com/idcgate/idcgate/internal/seal"
)

// ErrInvalidToken is returned for any token that does not decode.
var ErrInvalidToken = errors.New("pagetoken: invalid token")

// purpose binds the seal to page tokens: no other seal of idcgate (session
// tokens, assertions) opens as one, even under the same key.
const purpose = "page-token"

// Page is the position a token carries.
type Page struct {
	Op      string    `json:"o"`
	Account string    `json:"a"`
	Region  string    `json:"r"`
	After   string    `json:"k"`
	Expires time.Time `json:"e"`
}

// Codec encodes and decodes tokens. Key must be 32 bytes (an AES-256 key,
// derived from the master key for this purpose).
type Codec struct {
	Key   []byte
	Clock clock.Clock
	TTL   time.Duration

	once sync.Once
	box  *seal.Box
	err  error
}

func (c *Codec) sealer() (*seal.Box, error) {
	c.once.Do(func() { c.box, c.err = seal.New(c.Key, purpose, "") })
	return c.box, c.err
}

// New returns a token for the page after `after` in op's list for scope.
func (c *Codec) New(op, account, region, after string) (string, error) {
	ttl := c.TTL
	if ttl == 0 {
		ttl = 24 * time.Hour
	}
	return c.Encode(Page{Op: op, Account: account, Region: region, After: after, Expires: c.Clock.Now().Add(ttl).UTC().Truncate(time.Second)})
}

// Encode seals p.
func (c *Codec) Encode(p Page) (string, error) {
	box, err := c.sealer()
	if err != nil {
		return "", err
	}
	return box.Seal(p)
}

// Decode opens tok, checking its authenticity and expiry.
func (c *Codec) Decode(tok string) (Page, error) {
	box, err := c.sealer()
	if err != nil {
		return Page{}, err
	}
	var p Page
	if err := box.Open(tok, &p); err != nil {
		return Page{}, ErrInvalidToken
	}
	if !c.Clock.Now().Before(p.Expires) {
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
