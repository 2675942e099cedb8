package serverless

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idcgate/idcgate/internal/validation"
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

func TestPasswordNeverStored(t *testing.T) {
	s, _, st := newService(0)
	const pw = "Sup3rSecretPassw0rd"
	if _, err := s.CreateNamespace(context.Background(), scope, CreateNamespaceInput{NamespaceName: p("pw-ns"), AdminUsername: p("admin"), AdminUserPassword: p(pw)}); err != nil {
		t.Fatal(err)
	}
	for k, v := range st.m {
		if strings.Contains(string(v), pw) {
			t.Fatalf("password stored in %s", k)
		}
	}
}

func TestPagination(t *testing.T) {
	s, _, _ := newService(0)
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		s.CreateNamespace(ctx, scope, CreateNamespaceInput{NamespaceName: p(fmt.Sprintf("ns-%d", i))})
	}
	for _, size := range []int32{1, 2, 5, 100} {
		var names []string
		var tok *string
		pages := 0
		for {
			list, next, err := s.ListNamespaces(ctx, scope, ListInput{MaxResults: p(size), NextToken: tok})
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, n := range list {
				names = append(names, n.NamespaceName)
			}
			if next == nil {
				break
			}
			tok = next
		}
		if strings.Join(names, ",") != "ns-0,ns-1,ns-2,ns-3,ns-4" {
			t.Fatalf("size %d: %v", size, names)
		}
		if want := (5 + int(size) - 1) / int(size); pages != want {
			t.Fatalf("size %d: %d pages, want %d", size, pages, want)
		}
	}
	_, next, _ := s.ListNamespaces(ctx, scope, ListInput{MaxResults: p(int32(1))})
	other := Scope{Account: "210987654321", Region: "us-east-1"}
	_, _, err := s.ListNamespaces(ctx, other, ListInput{NextToken: next})
	wantErr(t, err, validation.ErrInvalid, "Invalid nextToken provided.")
	_, _, err = s.ListWorkgroups(ctx, scope, ListWorkgroupsInput{NextToken: next})
	wantErr(t, err, validation.ErrInvalid, "Invalid nextToken provided.")
}

func TestConcurrentCreateOneWins(t *testing.T) {
	s, _, _ := newService(0)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, conflicts := 0, 0
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.CreateNamespace(context.Background(), scope, CreateNamespaceInput{NamespaceName: p("race")})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, ErrConflict):
				conflicts++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ok != 1 || conflicts != 15 {
		t.Fatalf("ok=%d conflicts=%d", ok, conflicts)
	}
}
