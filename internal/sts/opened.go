package sts

import (
	"crypto/sha256"
	"sync"

	lru "github.com/hashicorp/golang-lru/v2"
)

// openedSessions remembers session tokens already opened. A token is sealed
// (authenticated encryption), so the same bytes always open to the same
// session: caching skips the AEAD and JSON work on every signed request of
// a session without trusting anything new. Expiry and the role are still
// checked on every lookup. It is a golang-lru LRU of maxOpened sessions,
// keyed by the token's SHA-256 (the cache holds no token).
//
// Sessions are copied at the boundary: put keeps, and get hands out, a
// session of its own, its identity context included (the one pointer a
// session holds, which becomes the principal's IdentityContext), so no
// principal built from a session can change the cached one.
type openedSessions struct {
	once sync.Once
	c    *lru.Cache[[sha256.Size]byte, session]
}

// maxOpened bounds the cache.
const maxOpened = 4096

func (c *openedSessions) cache() *lru.Cache[[sha256.Size]byte, session] {
	c.once.Do(func() {
		var err error
		if c.c, err = lru.New[[sha256.Size]byte, session](maxOpened); err != nil {
			panic(err) // only for a size <= 0
		}
	})
	return c.c
}

func (c *openedSessions) get(token string) (session, bool) {
	ss, ok := c.cache().Get(sha256.Sum256([]byte(token)))
	return ss.copy(), ok
}

func (c *openedSessions) put(token string, ss session) {
	c.cache().Add(sha256.Sum256([]byte(token)), ss.copy())
}

// copy is a session that shares nothing with ss (an identity context is
// all strings and times: a shallow copy of it is a deep one).
func (ss session) copy() session {
	if ss.Context != nil {
		ic := *ss.Context
		ss.Context = &ic
	}
	return ss
}
