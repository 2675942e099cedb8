package clock

import (
	"testing"
	"time"
)

func TestZeroClockIsWallClock(t *testing.T) {
	t.Parallel()
	var c Clock
	before := time.Now()
	got := c.Now()
	if got.Before(before) || got.Sub(before) > time.Minute {
		t.Fatalf("zero Clock = %v, wall clock %v", got, before)
	}
}

func TestFakeMovesOnlyWhenTold(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	f := NewFake(t0)
	c := Clock(f.Now)
	if !c.Now().Equal(t0) {
		t.Fatalf("Now = %v, want %v", c.Now(), t0)
	}
	f.Advance(90 * time.Minute)
	if want := t0.Add(90 * time.Minute); !c.Now().Equal(want) {
		t.Fatalf("after Advance: %v, want %v", c.Now(), want)
	}
	f.Set(t0)
	if !c.Now().Equal(t0) {
		t.Fatalf("after Set: %v, want %v", c.Now(), t0)
	}
}

func TestOffsetFollowsWallClock(t *testing.T) {
	t.Parallel()
	var o Offset
	o.Advance(time.Hour)
	o.Advance(time.Hour)
	if o.Since() != 2*time.Hour {
		t.Fatalf("Since = %v, want 2h", o.Since())
	}
	if d := o.Now().Sub(time.Now()); d < 2*time.Hour-time.Minute || d > 2*time.Hour+time.Minute {
		t.Fatalf("Now is %v from wall clock, want about 2h", d)
	}
	o.Set(0)
	if d := time.Since(o.Now()); d > time.Minute || d < -time.Minute {
		t.Fatalf("after Set(0): %v from wall clock", d)
	}
}
