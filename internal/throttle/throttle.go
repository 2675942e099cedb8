// Package throttle limits request rates with token buckets
// (golang.org/x/time/rate): one per principal and one for the whole server.
package throttle

import (
	"errors"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/idcgate/idcgate/internal/apierror"
)

// ErrThrottled is returned when a bucket is empty.
var ErrThrottled = errors.New("throttle: rate exceeded")

// Throttled is the refusal, with AWS's message.
func Throttled() error { return apierror.New(ErrThrottled, "Rate exceeded") }

// Limit is a token bucket: Rate per second, Burst at once; Rate 0 = none.
type Limit struct {
	Rate  float64
	Burst int
}

// Limiter holds the buckets.
type Limiter struct {
	global       *rate.Limiter
	perPrincipal Limit
	mu           sync.Mutex
	buckets      map[string]*bucket
	lastSweep    time.Time
}

type bucket struct {
	l    *rate.Limiter
	seen time.Time
}

// New returns a limiter; zero limits disable that level.
func New(global, perPrincipal Limit) *Limiter {
	l := &Limiter{perPrincipal: perPrincipal, buckets: map[string]*bucket{}}
	if global.Rate > 0 {
		l.global = rate.NewLimiter(rate.Limit(global.Rate), max(global.Burst, 1))
	}
	return l
}

// Allow takes one token from principal's bucket and the global one.
func (l *Limiter) Allow(principal string, now time.Time) error {
	if l == nil {
		return nil
	}
	if l.perPrincipal.Rate > 0 {
		l.mu.Lock()
		b := l.buckets[principal]
		if b == nil {
			b = &bucket{l: rate.NewLimiter(rate.Limit(l.perPrincipal.Rate), max(l.perPrincipal.Burst, 1))}
			l.buckets[principal] = b
		}
		b.seen = now
		l.sweep(now)
		ok := b.l.AllowN(now, 1)
		l.mu.Unlock()
		if !ok {
			return Throttled()
		}
	}
	if l.global != nil && !l.global.AllowN(now, 1) {
		return Throttled()
	}
	return nil
}

// sweep drops buckets idle long enough to be full again (caller holds mu).
func (l *Limiter) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < time.Minute {
		return
	}
	l.lastSweep = now
	idle := time.Duration(float64(l.perPrincipal.Burst)/l.perPrincipal.Rate*float64(time.Second)) + time.Minute
	for k, b := range l.buckets {
		if now.Sub(b.seen) > idle {
			delete(l.buckets, k)
		}
	}
}
