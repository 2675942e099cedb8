package throttle

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

func TestBuckets(t *testing.T) {
	now := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	l := New(Limit{Rate: 100, Burst: 5}, Limit{Rate: 1, Burst: 2})
	if l.Allow("a", now) != nil || l.Allow("a", now) != nil {
		t.Fatal("burst refused")
	}
	if err := l.Allow("a", now); !errors.Is(err, ErrThrottled) {
		t.Fatalf("third call: %v", err)
	}
	if l.Allow("b", now) != nil {
		t.Fatal("another principal shares the bucket")
	}
	if l.Allow("a", now.Add(1100*time.Millisecond)) != nil {
		t.Fatal("bucket did not refill")
	}
	g := New(Limit{Rate: 1, Burst: 1}, Limit{})
	g.Allow("x", now)
	if err := g.Allow("y", now); !errors.Is(err, ErrThrottled) {
		t.Fatalf("global limit: %v", err)
	}
	var off *Limiter
	if off.Allow("x", now) != nil {
		t.Fatal("nil limiter throttles")
	}
}

// drain makes n calls for principal, each retried every 10 ms while
// throttled, and returns how long they took.
func drain(l *Limiter, principal string, n int) time.Duration {
	start := time.Now()
	for range n {
		for l.Allow(principal, time.Now()) != nil {
			time.Sleep(10 * time.Millisecond)
		}
	}
	return time.Since(start)
}

// TestRatesOverTime: callers that back off get through at the buckets'
// rates, in fake time (testing/synctest: no waiting).
func TestRatesOverTime(t *testing.T) {
	within := func(t *testing.T, what string, got, want time.Duration) {
		t.Helper()
		if got < want || got > want+10*time.Millisecond {
			t.Fatalf("%s took %v, want %v (+ one 10 ms backoff)", what, got, want)
		}
	}
	synctest.Test(t, func(t *testing.T) {
		// The global bucket, 1/s after a burst of 3, is shared: 10 calls
		// of two principals take 7 s.
		g := New(Limit{Rate: 1, Burst: 3}, Limit{})
		start := time.Now()
		drain(g, "a", 5)
		drain(g, "b", 5)
		within(t, "10 calls through a 1/s global bucket", time.Since(start), 7*time.Second)
	})
	synctest.Test(t, func(t *testing.T) {
		// Each principal has its own bucket, 5/s after a burst of 3: two
		// principals at once each take 2 s for 13 calls.
		l := New(Limit{}, Limit{Rate: 5, Burst: 3})
		var other time.Duration
		done := make(chan struct{})
		go func() { other = drain(l, "b", 13); close(done) }()
		within(t, "13 calls at 5/s", drain(l, "a", 13), 2*time.Second)
		<-done
		within(t, "another principal's 13 calls at once", other, 2*time.Second)
	})
}
