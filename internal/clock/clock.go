// Package clock is idcgate's one source of the current time.
//
// Domain types hold a Clock (not a func field each checked for nil): the zero
// Clock reads the wall clock, so production code leaves it unset, and a test
// sets it to a Fake's or an Offset's Now. Timers inside one process are tested
// with testing/synctest instead, which fakes time.Now and time.Sleep together.
package clock

import (
	"sync"
	"time"
)

// Clock returns the current time; the zero Clock is the wall clock.
type Clock func() time.Time

// Now is the current time by c.
func (c Clock) Now() time.Time {
	if c == nil {
		return time.Now()
	}
	return c()
}

// Fake is a clock that moves only when told to.
type Fake struct {
	mu sync.Mutex
	t  time.Time
}

// NewFake returns a Fake reading t.
func NewFake(t time.Time) *Fake { return &Fake{t: t} }

// Now is the Fake's time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

// Set puts the Fake at t.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	f.t = t
	f.mu.Unlock()
}

// Advance moves the Fake forward by d.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	f.t = f.t.Add(d)
	f.mu.Unlock()
}

// Offset is the wall clock plus an offset a test moves: a whole server can
// jump hours ahead while its real timers and network deadlines still run,
// and requests signed at its time stay within SigV4's skew window.
type Offset struct {
	mu     sync.Mutex
	offset time.Duration
}

// Now is the wall clock plus the offset.
func (o *Offset) Now() time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	return time.Now().Add(o.offset)
}

// Advance moves the clock forward by d.
func (o *Offset) Advance(d time.Duration) {
	o.mu.Lock()
	o.offset += d
	o.mu.Unlock()
}

// Set puts the clock d after the wall clock.
func (o *Offset) Set(d time.Duration) {
	o.mu.Lock()
	o.offset = d
	o.mu.Unlock()
}

// Since is how far the clock is from the wall clock.
func (o *Offset) Since() time.Duration {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.offset
}
