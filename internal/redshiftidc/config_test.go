package redshiftidc

import (
	"context"
	"errors"
	"testing"
)

// TestApplyConfig: the config wins for what it names (created, or its
// namespace, instance, role and display name set again, ARN and managed
// application kept), what it names no more goes with its managed
// application, and what the API made stays.
func TestApplyConfig(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	apiMade, err := f.s.Create(ctx, f.sc, app("by-api"))
	if err != nil {
		t.Fatal(err)
	}

	first, err := f.s.ApplyConfig(ctx, f.sc, []Application{app("demo-idc"), app("second")})
	if err != nil {
		t.Fatal(err)
	}
	demo, err := f.s.ByArn(ctx, f.sc, first["demo-idc"])
	if err != nil || !demo.FromConfig || demo.ManagedApplicationArn == "" {
		t.Fatalf("created from the config: %+v %v", demo, err)
	}
	if n := f.ssoApps(t); n != 3 {
		t.Fatalf("%d managed applications, want 3 (two from the config, one by API)", n)
	}

	// The role changed in the config, second taken out of it.
	changed := app("demo-idc")
	changed.IamRoleArn = "arn:aws:iam::123456789012:role/other"
	changed.IdentityNamespace = "CORP"
	again, err := f.s.ApplyConfig(ctx, f.sc, []Application{changed})
	if err != nil {
		t.Fatal(err)
	}
	if again["demo-idc"] != first["demo-idc"] {
		t.Fatalf("re-applied under a new ARN: %s, was %s", again["demo-idc"], first["demo-idc"])
	}
	got, err := f.s.ByArn(ctx, f.sc, first["demo-idc"])
	if err != nil || got.IamRoleArn != changed.IamRoleArn || got.IdentityNamespace != "CORP" || got.ManagedApplicationArn != demo.ManagedApplicationArn {
		t.Fatalf("re-applied: %+v %v", got, err)
	}
	if _, err := f.s.ByArn(ctx, f.sc, first["second"]); !errors.Is(err, ErrNotFound) {
		t.Fatalf("taken out of the config, still there: %v", err)
	}
	if _, err := f.s.ByArn(ctx, f.sc, apiMade.Arn); err != nil {
		t.Fatalf("made by API, gone after a config change: %v", err)
	}
	if n := f.ssoApps(t); n != 2 {
		t.Fatalf("%d managed applications, want 2 (second's went with it)", n)
	}
}
