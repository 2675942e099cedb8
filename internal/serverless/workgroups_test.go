package serverless

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/idcgate/idcgate/internal/store"
)

// TestWorkgroupHooks: OnCreateWorkgroup runs in the creating transaction
// (its failure creates nothing), AfterDeleteWorkgroup only after a delete
// committed, and UpdateEachWorkgroup skips workgroups being deleted.
func TestWorkgroupHooks(t *testing.T) {
	s, c, _ := newService(time.Second)
	ctx := context.Background()
	for _, n := range []string{"one", "two"} {
		if _, err := s.EnsureNamespace(ctx, scope, CreateNamespaceInput{NamespaceName: p(n)}); err != nil {
			t.Fatal(err)
		}
	}
	refuse := errors.New("no keys today")
	s.OnCreateWorkgroup = func(tx store.Tx, sc Scope, wg Workgroup) error { return refuse }
	if _, err := s.CreateWorkgroup(ctx, scope, CreateWorkgroupInput{WorkgroupName: p("one"), NamespaceName: p("one"), BaseCapacity: p(int32(8))}); !errors.Is(err, refuse) {
		t.Fatalf("create with a failing hook: %v", err)
	}
	if _, err := s.GetWorkgroup(ctx, scope, "one"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the hook's failure still created the workgroup: %v", err)
	}
	created := map[string]bool{}
	s.OnCreateWorkgroup = func(tx store.Tx, sc Scope, wg Workgroup) error { created[wg.WorkgroupName] = true; return nil }
	for _, n := range []string{"one", "two"} {
		if _, err := s.EnsureWorkgroup(ctx, scope, CreateWorkgroupInput{WorkgroupName: p(n), NamespaceName: p(n), BaseCapacity: p(int32(8))}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.EnsureWorkgroup(ctx, scope, CreateWorkgroupInput{WorkgroupName: p("one"), NamespaceName: p("one"), BaseCapacity: p(int32(8))}); err != nil {
		t.Fatal(err)
	}
	if len(created) != 2 {
		t.Fatalf("hook calls %v", created)
	}

	after := 0
	s.AfterDeleteWorkgroup = func(Scope, Workgroup) { after++ }
	one, _ := s.GetWorkgroup(ctx, scope, "one")
	if _, err := s.DeleteWorkgroup(ctx, scope, "not-its-id", DeleteWorkgroupInput{WorkgroupName: p("one")}); err == nil || after != 0 {
		t.Fatalf("failed delete: %v, after-hook ran %d times", err, after)
	}
	if _, err := s.DeleteWorkgroup(ctx, scope, one.WorkgroupId, DeleteWorkgroupInput{WorkgroupName: p("one")}); err != nil || after != 1 {
		t.Fatalf("delete: %v, after-hook ran %d times", err, after)
	}

	var seen []string
	each := func() {
		seen = nil
		if err := s.UpdateEachWorkgroup(ctx, scope, func(store.Reader, Workgroup) (bool, error) { return true, nil }, func(tx store.Tx, wg Workgroup) error { seen = append(seen, wg.WorkgroupName); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	each()
	if len(seen) != 1 || seen[0] != "two" {
		t.Fatalf("UpdateEachWorkgroup while one is DELETING: %v", seen)
	}
	c.Advance(2 * time.Second)
	each()
	if len(seen) != 1 || seen[0] != "two" {
		t.Fatalf("UpdateEachWorkgroup after one is gone: %v", seen)
	}
	// A workgroup need refuses gets no transaction at all.
	seen = nil
	err := s.UpdateEachWorkgroup(ctx, scope, func(store.Reader, Workgroup) (bool, error) { return false, nil },
		func(tx store.Tx, wg Workgroup) error { seen = append(seen, wg.WorkgroupName); return nil })
	if err != nil || len(seen) != 0 {
		t.Fatalf("UpdateEachWorkgroup with nothing needed: %v %v", seen, err)
	}
}

func TestZeroDelayIsInstant(t *testing.T) {
	s, _, st := newService(0)
	ctx := context.Background()
	s.CreateNamespace(ctx, scope, CreateNamespaceInput{NamespaceName: p("nsz")})
	wg, err := s.CreateWorkgroup(ctx, scope, CreateWorkgroupInput{WorkgroupName: p("wgz"), NamespaceName: p("nsz")})
	if err != nil || wg.Status != StatusAvailable {
		t.Fatalf("%s %v", wg.Status, err)
	}
	if _, err := s.DeleteWorkgroup(ctx, scope, wg.WorkgroupId, DeleteWorkgroupInput{WorkgroupName: p("wgz")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetWorkgroup(ctx, scope, "wgz"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted workgroup still there: %v", err)
	}
	for k := range st.m {
		if strings.Contains(k, "/wg/") {
			t.Fatalf("deleted workgroup still stored at %s", k)
		}
	}
}
