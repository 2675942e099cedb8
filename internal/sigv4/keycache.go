package sigv4

import (
	"crypto/sha256"
	"sync"

	lru "github.com/hashicorp/golang-lru/v2"
)

// signingKeys remembers derived signing keys. A key depends only on the
// secret, the scope date, region and service, so one derivation (four
// HMACs) serves a credential's requests for the whole day. Entries are
// indexed by a hash of all four, so the cache holds no secret as a key. It
// is a golang-lru LRU of maxSigningKeys keys.
//
// Keys are immutable: a cached key never leaves this package and is only
// read, as an HMAC key.
type signingKeys struct {
	once sync.Once
	c    *lru.Cache[[sha256.Size]byte, []byte]
}

// maxSigningKeys bounds the cache.
const maxSigningKeys = 4096

func (c *signingKeys) cache() *lru.Cache[[sha256.Size]byte, []byte] {
	c.once.Do(func() {
		var err error
		if c.c, err = lru.New[[sha256.Size]byte, []byte](maxSigningKeys); err != nil {
			panic(err) // only for a size <= 0
		}
	})
	return c.c
}

func (c *signingKeys) get(secret, date, region, service string) []byte {
	h := sha256.New()
	for _, s := range [...]string{secret, date, region, service} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	var id [sha256.Size]byte
	h.Sum(id[:0])
	cache := c.cache()
	if k, ok := cache.Get(id); ok {
		return k
	}
	k := SigningKey(secret, date, region, service)
	cache.Add(id, k)
	return k
}
