package serverless

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/idcgate/idcgate/internal/clock"
	"github.com/idcgate/idcgate/internal/pagetoken"
	"github.com/idcgate/idcgate/internal/validation"
)

var scope = Scope{Account: "123456789012", Region: "us-east-1"}

type idcApps map[string]bool

func (a idcApps) LookupIdcApplication(_ context.Context, _ Scope, arn string) error {
	if a[arn] {
		return nil
	}
	return ErrIdcApplicationNotFound
}

const idcArn = "arn:aws:redshift:us-east-1:123456789012:redshiftidcapplication:11111111-2222-4333-8444-555555555555"

func newService(delay time.Duration) (*Service, *clock.Fake, *memStore) {
	c := clock.NewFake(time.Date(2026, 11, 24, 1, 0, 0, 0, time.UTC))
	st := newMemStore()
	return &Service{
		Store: st, Clock: c.Now, TransitionDelay: delay, CapacityRPU: 256,
		Pages:           &pagetoken.Codec{Key: make([]byte, 32), Clock: c.Now, TTL: time.Hour},
		IdcApplications: idcApps{idcArn: true},
	}, c, st
}

func p[T any](v T) *T { return &v }

// createPair creates the namespace in of scope and, in it, the workgroup
// named wg with base capacity 8.
func createPair(t *testing.T, s *Service, in CreateNamespaceInput, wg string) (Namespace, Workgroup) {
	t.Helper()
	ctx := context.Background()
	ns, err := s.CreateNamespace(ctx, scope, in)
	if err != nil {
		t.Fatal(err)
	}
	w, err := s.CreateWorkgroup(ctx, scope, CreateWorkgroupInput{WorkgroupName: &wg, NamespaceName: in.NamespaceName, BaseCapacity: p(int32(8))})
	if err != nil {
		t.Fatal(err)
	}
	return ns, w
}

func wantErr(t *testing.T, err, kind error, msg string) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("err = %v, want %v", err, kind)
	}
	if msg != "" && err.Error() != msg {
		t.Fatalf("message %q\nwant    %q", err.Error(), msg)
	}
}

func TestLifecycleWithTransitions(t *testing.T) {
	s, c, _ := newService(time.Second)
	ctx := context.Background()
	ns, err := s.CreateNamespace(ctx, scope, CreateNamespaceInput{NamespaceName: p("sales"), RedshiftIdcApplicationArn: p(idcArn)})
	if err != nil {
		t.Fatal(err)
	}
	if ns.Status != StatusAvailable || ns.DbName != "dev" || ns.KmsKeyId != "AWS_OWNED_KMS_KEY" || ns.IdcApplicationArn != idcArn || ns.NamespaceArn != NamespaceARN(scope, ns.NamespaceId) {
		t.Fatalf("namespace %+v", ns)
	}
	wg, err := s.CreateWorkgroup(ctx, scope, CreateWorkgroupInput{WorkgroupName: p("sales"), NamespaceName: p("sales"), BaseCapacity: p(int32(32))})
	if err != nil {
		t.Fatal(err)
	}
	if wg.Status != StatusCreating {
		t.Fatalf("status %s", wg.Status)
	}
	_, err = s.UpdateWorkgroup(ctx, scope, wg.WorkgroupId, UpdateWorkgroupInput{WorkgroupName: p("sales"), BaseCapacity: p(int32(64))})
	wantErr(t, err, ErrConflict, "Workgroup sales is currently CREATING; it must be AVAILABLE for this operation.")
	c.Advance(time.Second)
	got, _ := s.GetWorkgroup(ctx, scope, "sales")
	if got.Status != StatusAvailable {
		t.Fatalf("after delay: %s", got.Status)
	}
	up, err := s.UpdateWorkgroup(ctx, scope, wg.WorkgroupId, UpdateWorkgroupInput{WorkgroupName: p("sales"), BaseCapacity: p(int32(64))})
	if err != nil || up.Status != StatusModifying || up.BaseCapacity != 64 {
		t.Fatalf("update: %+v %v", up, err)
	}
	_, err = s.DeleteNamespace(ctx, scope, ns.NamespaceId, DeleteNamespaceInput{NamespaceName: p("sales")})
	wantErr(t, err, ErrConflict, "Namespace sales has a workgroup (sales); delete the workgroup first.")
	c.Advance(time.Second)
	del, err := s.DeleteWorkgroup(ctx, scope, wg.WorkgroupId, DeleteWorkgroupInput{WorkgroupName: p("sales")})
	if err != nil || del.Status != StatusDeleting {
		t.Fatalf("delete: %s %v", del.Status, err)
	}
	_, err = s.DeleteNamespace(ctx, scope, ns.NamespaceId, DeleteNamespaceInput{NamespaceName: p("sales")})
	wantErr(t, err, ErrConflict, "")
	c.Advance(time.Second)
	_, err = s.GetWorkgroup(ctx, scope, "sales")
	wantErr(t, err, ErrNotFound, "Workgroup sales not found.")
	var e *Error
	if !errors.As(err, &e) || e.Resource() != "sales" {
		t.Fatalf("resource name: %v", err)
	}
	if _, err := s.DeleteNamespace(ctx, scope, ns.NamespaceId, DeleteNamespaceInput{NamespaceName: p("sales")}); err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Second)
	_, err = s.GetNamespace(ctx, scope, "sales")
	wantErr(t, err, ErrNotFound, "Namespace sales not found.")
	// The name is free again.
	if _, err := s.CreateNamespace(ctx, scope, CreateNamespaceInput{NamespaceName: p("sales")}); err != nil {
		t.Fatal(err)
	}
}

func TestConflictsAndNotFound(t *testing.T) {
	s, _, _ := newService(0)
	ctx := context.Background()
	s.CreateNamespace(ctx, scope, CreateNamespaceInput{NamespaceName: p("one")})
	_, err := s.CreateNamespace(ctx, scope, CreateNamespaceInput{NamespaceName: p("one")})
	wantErr(t, err, ErrConflict, "Namespace with name one already exists.")
	one, _ := s.CreateWorkgroup(ctx, scope, CreateWorkgroupInput{WorkgroupName: p("wg-one"), NamespaceName: p("one"), BaseCapacity: p(int32(8))})
	_, err = s.CreateWorkgroup(ctx, scope, CreateWorkgroupInput{WorkgroupName: p("wg-one"), NamespaceName: p("one")})
	wantErr(t, err, ErrConflict, "Workgroup with name wg-one already exists.")
	_, err = s.CreateWorkgroup(ctx, scope, CreateWorkgroupInput{WorkgroupName: p("wg-two"), NamespaceName: p("one"), BaseCapacity: p(int32(8))})
	wantErr(t, err, ErrConflict, "Namespace one already has workgroup wg-one; a namespace can have only one workgroup.")
	_, err = s.CreateWorkgroup(ctx, scope, CreateWorkgroupInput{WorkgroupName: p("wg-three"), NamespaceName: p("missing")})
	wantErr(t, err, ErrNotFound, "Namespace missing not found.")
	var e *Error
	if errors.As(err, &e); e.ResourceName != "missing" {
		t.Fatalf("resourceName %q", e.ResourceName)
	}
	_, err = s.UpdateNamespace(ctx, scope, "", UpdateNamespaceInput{NamespaceName: p("nope")})
	wantErr(t, err, ErrNotFound, "")
	_, err = s.DeleteWorkgroup(ctx, scope, "", DeleteWorkgroupInput{WorkgroupName: p("nope")})
	wantErr(t, err, ErrNotFound, "")
	s.CreateNamespace(ctx, scope, CreateNamespaceInput{NamespaceName: p("two")})
	_, err = s.CreateWorkgroup(ctx, scope, CreateWorkgroupInput{WorkgroupName: p("big"), NamespaceName: p("two"), BaseCapacity: p(int32(256))})
	wantErr(t, err, ErrInsufficientCapacity, "There is not enough capacity for 256 RPUs: 8 of the 256 RPUs available to this account in this region are in use.")
	_, err = s.UpdateWorkgroup(ctx, scope, one.WorkgroupId, UpdateWorkgroupInput{WorkgroupName: p("wg-one"), BaseCapacity: p(int32(264))})
	wantErr(t, err, ErrInsufficientCapacity, "There is not enough capacity for 264 RPUs: 0 of the 256 RPUs available to this account in this region are in use.")
	tags := make([]Tag, 51)
	for i := range tags {
		tags[i] = Tag{Key: fmt.Sprint("k", i), Value: "v"}
	}
	_, err = s.CreateNamespace(ctx, scope, CreateNamespaceInput{NamespaceName: p("tagged"), Tags: tags})
	wantErr(t, err, ErrTooManyTags, "")
	if errors.As(err, &e); e.ResourceName != "tagged" {
		t.Fatalf("resourceName %q", e.ResourceName)
	}
}

func TestValidationMessages(t *testing.T) {
	s, _, _ := newService(0)
	ctx := context.Background()
	cases := []struct {
		name string
		run  func() error
		msg  string
	}{
		{"missing name", func() error { _, err := s.CreateNamespace(ctx, scope, CreateNamespaceInput{}); return err },
			"1 validation error detected: Value null at 'namespaceName' failed to satisfy constraint: Member must not be null"},
		{"short name", func() error {
			_, err := s.CreateNamespace(ctx, scope, CreateNamespaceInput{NamespaceName: p("ab")})
			return err
		},
			"1 validation error detected: Value 'ab' at 'namespaceName' failed to satisfy constraint: Member must have length greater than or equal to 3"},
		{"upper case", func() error { _, err := s.GetWorkgroup(ctx, scope, "Demo_1"); return err },
			"1 validation error detected: Value 'Demo_1' at 'workgroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-z0-9-]+$"},
		{"capacity and port", func() error {
			_, err := s.CreateWorkgroup(ctx, scope, CreateWorkgroupInput{WorkgroupName: p("abc"), NamespaceName: p("abc"), BaseCapacity: p(int32(12)), Port: p(int32(80))})
			return err
		}, "2 validation errors detected: Value '12' at 'baseCapacity' failed to satisfy constraint: Member must be a multiple of 8; Value '80' at 'port' failed to satisfy constraint: Member must be between 5431 and 5455 or between 8191 and 8215"},
		{"password masked", func() error {
			_, err := s.CreateNamespace(ctx, scope, CreateNamespaceInput{NamespaceName: p("pw-ns"), AdminUsername: p("admin"), AdminUserPassword: p("weakpassword")})
			return err
		}, "1 validation error detected: Value '***' at 'adminUserPassword' failed to satisfy constraint: Member must contain at least one uppercase letter, one lowercase letter and one number"},
		{"unknown idc application", func() error {
			_, err := s.CreateNamespace(ctx, scope, CreateNamespaceInput{NamespaceName: p("idc-ns"), RedshiftIdcApplicationArn: p("arn:aws:redshift:us-east-1:123456789012:redshiftidcapplication:nope")})
			return err
		}, "Redshift IdC application arn:aws:redshift:us-east-1:123456789012:redshiftidcapplication:nope does not exist."},
		{"max results", func() error {
			_, _, err := s.ListNamespaces(ctx, scope, ListInput{MaxResults: p(int32(101))})
			return err
		},
			"1 validation error detected: Value '101' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100"},
		{"bad token", func() error {
			_, _, err := s.ListNamespaces(ctx, scope, ListInput{NextToken: p("garbage")})
			return err
		},
			"Invalid nextToken provided."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { wantErr(t, tc.run(), validation.ErrInvalid, tc.msg) })
	}
}

func TestEnsureIsIdempotent(t *testing.T) {
	s, _, _ := newService(time.Second)
	ctx := context.Background()
	a, _ := s.EnsureNamespace(ctx, scope, CreateNamespaceInput{NamespaceName: p("demo")})
	b, err := s.EnsureNamespace(ctx, scope, CreateNamespaceInput{NamespaceName: p("demo")})
	if err != nil || a.NamespaceArn != b.NamespaceArn {
		t.Fatalf("%v %s %s", err, a.NamespaceArn, b.NamespaceArn)
	}
	w, err := s.EnsureWorkgroup(ctx, scope, CreateWorkgroupInput{WorkgroupName: p("demo"), NamespaceName: p("demo")})
	if err != nil || w.Status != StatusAvailable {
		t.Fatalf("%v %s", err, w.Status)
	}
	wg, ns, err := s.WorkgroupWithNamespace(ctx, scope, "demo")
	if err != nil || wg.WorkgroupArn != w.WorkgroupArn || ns.NamespaceArn != a.NamespaceArn {
		t.Fatalf("WorkgroupWithNamespace: %v", err)
	}
}

// TestChangeBoundToAuthorizedID: the server authorizes a resource's ARN and
// then changes it by name. If the name was deleted and recreated in between,
// the change must not reach the new resource, whose ARN nobody authorized.
func TestChangeBoundToAuthorizedID(t *testing.T) {
	s, _, _ := newService(0)
	ctx := context.Background()
	oldNS, oldWG := createPair(t, s, CreateNamespaceInput{NamespaceName: p("race")}, "race-wg")
	// Deleted and recreated under the same names between authorize and act.
	if _, err := s.DeleteWorkgroup(ctx, scope, oldWG.WorkgroupId, DeleteWorkgroupInput{WorkgroupName: p("race-wg")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteNamespace(ctx, scope, oldNS.NamespaceId, DeleteNamespaceInput{NamespaceName: p("race")}); err != nil {
		t.Fatal(err)
	}
	newNS, newWG := createPair(t, s, CreateNamespaceInput{NamespaceName: p("race")}, "race-wg")
	if newNS.NamespaceId == oldNS.NamespaceId || newWG.WorkgroupId == oldWG.WorkgroupId {
		t.Fatal("recreated resources reuse ids")
	}

	cases := []struct {
		name string
		call func() error
		want string
	}{
		{"UpdateWorkgroup", func() error {
			_, err := s.UpdateWorkgroup(ctx, scope, oldWG.WorkgroupId, UpdateWorkgroupInput{WorkgroupName: p("race-wg"), BaseCapacity: p(int32(64))})
			return err
		}, "Workgroup race-wg not found."},
		{"DeleteWorkgroup", func() error {
			_, err := s.DeleteWorkgroup(ctx, scope, oldWG.WorkgroupId, DeleteWorkgroupInput{WorkgroupName: p("race-wg")})
			return err
		}, "Workgroup race-wg not found."},
		{"UpdateNamespace", func() error {
			_, err := s.UpdateNamespace(ctx, scope, oldNS.NamespaceId, UpdateNamespaceInput{NamespaceName: p("race"), KmsKeyId: p("changed")})
			return err
		}, "Namespace race not found."},
		{"DeleteNamespace", func() error {
			_, err := s.DeleteNamespace(ctx, scope, oldNS.NamespaceId, DeleteNamespaceInput{NamespaceName: p("race")})
			return err
		}, "Namespace race not found."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			wantErr(t, err, ErrNotFound, tc.want)
			var e *Error
			if !errors.As(err, &e) || (e.ResourceName != "race" && e.ResourceName != "race-wg") {
				t.Fatalf("resourceName of %v", err)
			}
		})
	}
	// The recreated resources are untouched…
	wg, err := s.GetWorkgroup(ctx, scope, "race-wg")
	if err != nil || wg.WorkgroupId != newWG.WorkgroupId || wg.BaseCapacity != 8 || wg.Status != StatusAvailable {
		t.Fatalf("new workgroup changed: %+v %v", wg, err)
	}
	ns, err := s.GetNamespace(ctx, scope, "race")
	if err != nil || ns.NamespaceId != newNS.NamespaceId || ns.KmsKeyId != "AWS_OWNED_KMS_KEY" || ns.Status != StatusAvailable {
		t.Fatalf("new namespace changed: %+v %v", ns, err)
	}
	// …and remain changeable under their own ids.
	if _, err := s.UpdateWorkgroup(ctx, scope, newWG.WorkgroupId, UpdateWorkgroupInput{WorkgroupName: p("race-wg"), BaseCapacity: p(int32(16))}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateNamespace(ctx, scope, newNS.NamespaceId, UpdateNamespaceInput{NamespaceName: p("race"), KmsKeyId: p("k")}); err != nil {
		t.Fatal(err)
	}
}
