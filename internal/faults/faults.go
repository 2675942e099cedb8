// Package faults injects failures on purpose (off by default): chosen
// operations fail with a chosen error, or are delayed, at a rate. Rules live
// in the store, so every replica applies the same ones; each replica
// re-reads them at most once a second.
package faults

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/idcgate/idcgate/internal/clock"
	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/throttle"
	"github.com/idcgate/idcgate/internal/validation"
)

// ErrInjectedInternal is an injected InternalServerException.
var ErrInjectedInternal = errors.New("injected internal error")

// Errors a rule may inject.
const (
	Internal   = "InternalServerException"
	Throttling = "ThrottlingException"
)

// Rule is one fault.
type Rule struct {
	// Operation is the API operation name ("GetIdentityCenterAuthToken"), or "*".
	Operation string `json:"operation"`
	// Error is Internal, Throttling, or "" for latency only.
	Error string `json:"error,omitempty"`
	// Latency is added before the operation runs.
	Latency time.Duration `json:"latency,omitempty"`
	// Rate is the probability (0–1] that the rule fires on a call.
	Rate float64 `json:"rate"`
}

// Validate checks a rule.
func (r Rule) Validate() error {
	switch {
	case r.Operation == "":
		return errors.New("operation is required")
	case r.Error != "" && r.Error != Internal && r.Error != Throttling:
		return fmt.Errorf("error must be %s or %s", Internal, Throttling)
	case r.Rate <= 0 || r.Rate > 1:
		return errors.New("rate must be in (0, 1]")
	case r.Latency < 0 || r.Latency > time.Minute:
		return errors.New("latency must be between 0 and 1m")
	case r.Error == "" && r.Latency == 0:
		return errors.New("a rule needs an error or a latency")
	}
	return nil
}

const key = "faults/rules"

// Injector applies the rules.
type Injector struct {
	Store store.Store
	// Clock ages the cached rules (re-read from the store after a second).
	Clock clock.Clock

	mu      sync.Mutex
	rules   []Rule
	fetched time.Time
}

func validate(rules []Rule) error {
	for _, r := range rules {
		if err := r.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// Set replaces the rules; an invalid rule is a validation.ErrInvalid.
func (in *Injector) Set(ctx context.Context, rules []Rule) error {
	if err := validate(rules); err != nil {
		return validation.Newf("Invalid fault rule: %s.", err)
	}
	err := in.Store.Update(ctx, func(tx store.Tx) error { return store.PutJSON(tx, key, rules) })
	if err == nil {
		in.mu.Lock()
		in.rules, in.fetched = rules, in.Clock.Now()
		in.mu.Unlock()
	}
	return err
}

// Seed stores rules (the config's) only when the store holds no rule set
// yet, and reports whether it did. Like config-declared resources, config
// rules are created when missing: rules set through the API, a cleared set
// included, survive restarts, and a replica starting later does not
// overwrite them.
func (in *Injector) Seed(ctx context.Context, rules []Rule) (bool, error) {
	if err := validate(rules); err != nil {
		return false, err
	}
	seeded := false
	err := in.Store.Update(ctx, func(tx store.Tx) error {
		seeded = false
		_, err := tx.Get(key)
		if err == nil {
			return nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		seeded = true
		return store.PutJSON(tx, key, rules)
	})
	return seeded, err
}

// Rules returns the current rules.
func (in *Injector) Rules(ctx context.Context) ([]Rule, error) {
	in.mu.Lock()
	if in.Clock.Now().Sub(in.fetched) < time.Second {
		r := in.rules
		in.mu.Unlock()
		return r, nil
	}
	in.mu.Unlock()
	var rules []Rule
	err := in.Store.View(ctx, func(r store.Reader) error {
		b, err := r.Get(key)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return json.Unmarshal(b, &rules)
	})
	if err != nil {
		return nil, err
	}
	in.mu.Lock()
	in.rules, in.fetched = rules, in.Clock.Now()
	in.mu.Unlock()
	return rules, nil
}

// Apply runs the rules for op: it may sleep, and may return an error.
func (in *Injector) Apply(ctx context.Context, op string) error {
	if in == nil {
		return nil
	}
	rules, err := in.Rules(ctx)
	if err != nil || len(rules) == 0 {
		return nil
	}
	for _, r := range rules {
		if (r.Operation != op && r.Operation != "*") || rand.Float64() >= r.Rate {
			continue
		}
		if r.Latency > 0 {
			select {
			case <-time.After(r.Latency):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		switch r.Error {
		case Internal:
			return ErrInjectedInternal
		case Throttling:
			return throttle.Throttled()
		}
	}
	return nil
}
