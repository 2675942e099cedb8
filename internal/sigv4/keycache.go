package sigv4

import (
	"crypto/sha256"
	"sync"
)

// signingKeys remembers derived signing keys. A key depends only on the
// secret, the scope date, region and service, so one derivation (four
// HMACs) serves a credential's requests for the whole day. Entries are
// indexed by a hash of all four, so the map holds no secret as a key.
type signingKeys struct {
	mu sync.RWMutex
	m  map[[sha256.Size]byte][]byte
}

// maxSigningKeys bounds the cache; past it the cache starts over.
const maxSigningKeys = 4096

func (c *signingKeys) get(secret, date, region, service string) []byte {
	h := sha256.New()
	for _, s := range [...]string{secret, date, region, service} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	var id [sha256.Size]byte
	h.Sum(id[:0])
	c.mu.RLock()
	k, ok := c.m[id]
	c.mu.RUnlock()
	if ok {
		return k
	}
	k = SigningKey(secret, date, region, service)
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxSigningKeys {
		c.m = make(map[[sha256.Size]byte][]byte)
	}
	c.m[id] = k
	c.mu.Unlock()
	return k
}
