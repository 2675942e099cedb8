package sts

import (
	"crypto/sha256"
	"sync"
)

// openedSessions remembers session tokens already opened. A token is sealed
// (authenticated encryption), so the same bytes always open to the same
// session: caching skips the AEAD and JSON work on every signed request of
// a session without trusting anything new. Expiry and the role are still
// checked on every lookup.
type openedSessions struct {
	mu sync.RWMutex
	m  map[[sha256.Size]byte]session
}

// maxOpened bounds the cache; past it the cache starts over.
const maxOpened = 4096

func (c *openedSessions) get(token string) (session, bool) {
	k := sha256.Sum256([]byte(token))
	c.mu.RLock()
	ss, ok := c.m[k]
	c.mu.RUnlock()
	return ss, ok
}

func (c *openedSessions) put(token string, ss session) {
	k := sha256.Sum256([]byte(token))
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxOpened {
		c.m = make(map[[sha256.Size]byte]session)
	}
	c.m[k] = ss
	c.mu.Unlock()
}
