package testserver

import (
	"sync"
	"time"
)

// Clock is an injectable server clock (Options.Now = c.Now): wall time plus
// an offset the test moves. Requests signed at its time stay within SigV4's
// skew window whatever the offset.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration
}

// Now is the server's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// Set puts the clock d after wall time.
func (c *Clock) Set(d time.Duration) {
	c.mu.Lock()
	c.offset = d
	c.mu.Unlock()
}

// Offset is how far the clock is from wall time.
func (c *Clock) Offset() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.offset
}
