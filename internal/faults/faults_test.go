package faults

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/idcgate/idcgate/internal/clock"
	"github.com/idcgate/idcgate/internal/testkit"
	"github.com/idcgate/idcgate/internal/throttle"
)

// Config rules are seeded only into a store that has no rule set: a set
// (or cleared) through the API survives the next start.
func TestSeedOnlyWhenMissing(t *testing.T) {
	st := testkit.Store(t)
	ctx := context.Background()
	cfgRules := []Rule{{Operation: "GetWorkgroup", Error: Internal, Rate: 1}}
	in := &Injector{Store: st}
	if seeded, err := in.Seed(ctx, cfgRules); err != nil || !seeded {
		t.Fatalf("first start: seeded %v, %v", seeded, err)
	}
	if err := in.Apply(ctx, "GetWorkgroup"); !errors.Is(err, ErrInjectedInternal) {
		t.Fatalf("seeded rule not applied: %v", err)
	}
	if err := in.Apply(ctx, "ListWorkgroups"); err != nil {
		t.Fatalf("other operation: %v", err)
	}
	if err := in.Set(ctx, []Rule{}); err != nil { // faults clear
		t.Fatal(err)
	}
	// Restart, or another replica starting with the same config.
	again := &Injector{Store: st}
	if seeded, err := again.Seed(ctx, cfgRules); err != nil || seeded {
		t.Fatalf("second start: seeded %v, %v", seeded, err)
	}
	if rules, _ := again.Rules(ctx); len(rules) != 0 {
		t.Fatalf("cleared rules came back: %v", rules)
	}
	if _, err := again.Seed(ctx, []Rule{{Operation: "X", Rate: 2, Error: Internal}}); err == nil {
		t.Fatal("invalid config rule seeded")
	}
}

func TestApply(t *testing.T) {
	st := testkit.Store(t)
	ctx := context.Background()
	in := &Injector{Store: st}
	if err := in.Set(ctx, []Rule{{Operation: "*", Error: Throttling, Rate: 1}}); err != nil {
		t.Fatal(err)
	}
	if err := in.Apply(ctx, "Anything"); !errors.Is(err, throttle.ErrThrottled) {
		t.Fatalf("wildcard throttling rule: %v", err)
	}
	// The latency is a timer in the process: fake time, no waiting.
	synctest.Test(t, func(t *testing.T) {
		if err := in.Set(ctx, []Rule{{Operation: "Slow", Latency: 50 * time.Millisecond, Rate: 1}}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := in.Apply(ctx, "Slow"); err != nil || time.Since(start) < 50*time.Millisecond {
			t.Fatalf("latency rule: %v after %v", err, time.Since(start))
		}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := in.Apply(cctx, "Slow"); !errors.Is(err, context.Canceled) {
			t.Fatalf("latency with a canceled request: %v", err)
		}
	})
	for _, bad := range []Rule{{Operation: "", Error: Internal, Rate: 1}, {Operation: "X", Error: "Nope", Rate: 1}, {Operation: "X", Rate: 1}, {Operation: "X", Error: Internal, Rate: 0}} {
		if err := in.Set(ctx, []Rule{bad}); err == nil {
			t.Errorf("rule %+v accepted", bad)
		}
	}
	var none *Injector
	if none.Apply(ctx, "X") != nil {
		t.Fatal("nil injector injects")
	}
}

// TestRulesCachedByClock: rules set on another replica show up once the
// cached set is a second old on the injector's clock, with no waiting.
func TestRulesCachedByClock(t *testing.T) {
	st := testkit.Store(t)
	ctx := context.Background()
	c := clock.NewFake(time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC))
	in, other := &Injector{Store: st, Clock: c.Now}, &Injector{Store: st}
	if rules, err := in.Rules(ctx); err != nil || len(rules) != 0 {
		t.Fatalf("no rules yet: %v %v", rules, err)
	}
	if err := other.Set(ctx, []Rule{{Operation: "*", Error: Internal, Rate: 1}}); err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Second - time.Millisecond)
	if rules, _ := in.Rules(ctx); len(rules) != 0 {
		t.Fatalf("cached rules re-read early: %v", rules)
	}
	c.Advance(time.Millisecond)
	if rules, _ := in.Rules(ctx); len(rules) != 1 {
		t.Fatalf("another replica's rules not seen after a second: %v", rules)
	}
}
