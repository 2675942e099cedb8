package serverless

import (
	"context"
	"testing"
	"time"
)

// TestAfterCreateNamespace: the hook runs once per namespace actually
// created (CreateNamespace, or EnsureNamespace of a new one), with the
// stored record, and not for a conflict or one EnsureNamespace found.
func TestAfterCreateNamespace(t *testing.T) {
	t.Parallel()
	s, _, _ := newService(time.Second)
	ctx := context.Background()
	var got []Namespace
	s.AfterCreateNamespace = func(_ Scope, ns Namespace) { got = append(got, ns) }
	for _, tc := range []struct {
		name   string
		create func() error
		calls  int
	}{
		{"create", func() error {
			_, err := s.CreateNamespace(ctx, scope, CreateNamespaceInput{NamespaceName: p("one"), DbName: p("sales")})
			return err
		}, 1},
		{"create again: conflict", func() error {
			if _, err := s.CreateNamespace(ctx, scope, CreateNamespaceInput{NamespaceName: p("one")}); err == nil {
				t.Error("second create succeeded")
			}
			return nil
		}, 1},
		{"ensure existing", func() error {
			_, err := s.EnsureNamespace(ctx, scope, CreateNamespaceInput{NamespaceName: p("one")})
			return err
		}, 1},
		{"ensure new", func() error {
			_, err := s.EnsureNamespace(ctx, scope, CreateNamespaceInput{NamespaceName: p("two")})
			return err
		}, 2},
	} {
		if err := tc.create(); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if len(got) != tc.calls {
			t.Fatalf("%s: hook ran %d times, want %d", tc.name, len(got), tc.calls)
		}
	}
	if got[0].NamespaceName != "one" || got[0].DbName != "sales" || got[1].NamespaceName != "two" || got[1].DbName != "dev" {
		t.Fatalf("hook saw %+v", got)
	}
}
