package throttle

import (
	"errors"
	"testing"
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
