package serverless

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/store/storetest"
	"github.com/idcgate/idcgate/internal/testkit"
)

// Two services on one store stand for two replicas: what one changes, the
// other's cached read sees at once, because a hit needs the same bytes.
func TestDecodedCacheFollowsTheStore(t *testing.T) {
	a, c, st := newService(0)
	b := &Service{Store: st, Clock: c.Now, CapacityRPU: 256, Pages: a.Pages, IdcApplications: a.IdcApplications}
	ctx := context.Background()
	_, wg := createPair(t, a, CreateNamespaceInput{NamespaceName: p("sales"), RedshiftIdcApplicationArn: p(idcArn)}, "sales")
	read := func() (Workgroup, Namespace, error) {
		wgs, nss, err := b.WorkgroupsWithNamespaces(ctx, scope, []string{"sales"})
		if err != nil {
			return Workgroup{}, Namespace{}, err
		}
		return wgs[0], nss[0], nil
	}
	for i := 0; i < 2; i++ { // a miss, then a hit
		got, ns, err := read()
		if err != nil || got.WorkgroupArn != wg.WorkgroupArn || got.BaseCapacity != 8 || ns.IdcApplicationArn != idcArn {
			t.Fatalf("read %d: %+v %+v %v", i, got, ns, err)
		}
	}
	if b.workgroups.Len() != 1 || b.namespaces.Len() != 1 {
		t.Fatalf("cache holds %d workgroups and %d namespaces, want one of each", b.workgroups.Len(), b.namespaces.Len())
	}

	if _, err := a.UpdateWorkgroup(ctx, scope, wg.WorkgroupId, UpdateWorkgroupInput{WorkgroupName: p("sales"), BaseCapacity: p(int32(16))}); err != nil {
		t.Fatal(err)
	}
	if got, _, err := read(); err != nil || got.BaseCapacity != 16 {
		t.Fatalf("after the other replica's update: %+v %v", got, err)
	}

	if _, err := a.DeleteWorkgroup(ctx, scope, wg.WorkgroupId, DeleteWorkgroupInput{WorkgroupName: p("sales")}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := read(); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after the other replica's delete: %v", err)
	}
}

// A cached record still settles its pending transition by the clock, on the
// copy handed out, not in the cache.
func TestDecodedCacheSettlesTransitions(t *testing.T) {
	s, c, _ := newService(time.Second)
	ctx := context.Background()
	if _, err := s.CreateNamespace(ctx, scope, CreateNamespaceInput{NamespaceName: p("sales")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateWorkgroup(ctx, scope, CreateWorkgroupInput{WorkgroupName: p("sales"), NamespaceName: p("sales")}); err != nil {
		t.Fatal(err)
	}
	status := func() Status {
		wgs, _, err := s.WorkgroupsWithNamespaces(ctx, scope, []string{"sales"})
		if err != nil {
			t.Fatal(err)
		}
		return wgs[0].Status
	}
	if got := status(); got != StatusCreating {
		t.Fatalf("status %s, want CREATING", got)
	}
	c.Advance(2 * time.Second)
	if got := status(); got != StatusAvailable {
		t.Fatalf("status %s, want AVAILABLE once the delay has passed", got)
	}
	c.Advance(-2 * time.Second) // the cached copy itself was not settled
	if got := status(); got != StatusCreating {
		t.Fatalf("status %s: the cache kept a settled copy", got)
	}
}

// On a store that sees all its writes (the embedded one), a resolved set
// is answered without a transaction until anything under "rs/" changes;
// a set in a transition is read afresh, since the clock alone changes it.
func TestSetCacheFollowsVersions(t *testing.T) {
	db := testkit.Store(t)
	st := &storetest.Counting{Store: db}
	a, c, _ := newService(time.Second)
	a.Store, a.Versions = st, db
	b := &Service{Store: db, Clock: c.Now, TransitionDelay: time.Second, CapacityRPU: 256, Pages: a.Pages, IdcApplications: a.IdcApplications}
	ctx := context.Background()
	_, wg := createPair(t, a, CreateNamespaceInput{NamespaceName: p("sales")}, "sales")
	read := func() (Workgroup, int, error) {
		before := st.Views
		wgs, _, err := a.WorkgroupsWithNamespaces(ctx, scope, []string{"sales"})
		if err != nil {
			return Workgroup{}, st.Views - before, err
		}
		return wgs[0], st.Views - before, nil
	}
	for i := 0; i < 2; i++ {
		if got, views, err := read(); err != nil || got.Status != StatusCreating || views != 1 {
			t.Fatalf("in transition, read %d: %s, %d transactions, %v (want CREATING, read each time)", i, got.Status, views, err)
		}
	}
	c.Advance(2 * time.Second)
	if got, views, err := read(); err != nil || got.Status != StatusAvailable || views != 1 {
		t.Fatalf("settled: %s, %d transactions, %v", got.Status, views, err)
	}
	if got, views, err := read(); err != nil || got.Status != StatusAvailable || got.BaseCapacity != 8 || views != 0 {
		t.Fatalf("unchanged store: %+v, %d transactions, %v (want the kept set)", got, views, err)
	}
	// Writes elsewhere in the store keep the set.
	if err := db.Update(ctx, func(tx store.Tx) error { return tx.Put("audit/x", []byte("{}")) }); err != nil {
		t.Fatal(err)
	}
	if _, views, _ := read(); views != 0 {
		t.Fatalf("an audit write dropped the set (%d transactions)", views)
	}
	// Another writer of the same store (b) changes the workgroup: seen at once.
	if _, err := b.UpdateWorkgroup(ctx, scope, wg.WorkgroupId, UpdateWorkgroupInput{WorkgroupName: p("sales"), BaseCapacity: p(int32(16))}); err != nil {
		t.Fatal(err)
	}
	c.Advance(2 * time.Second)
	if got, _, err := read(); err != nil || got.BaseCapacity != 16 {
		t.Fatalf("after an update: %+v %v", got, err)
	}
	if _, err := b.DeleteWorkgroup(ctx, scope, wg.WorkgroupId, DeleteWorkgroupInput{WorkgroupName: p("sales")}); err != nil {
		t.Fatal(err)
	}
	c.Advance(2 * time.Second)
	if _, _, err := read(); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after a delete: %v", err)
	}
}

// The caches hand out copies: whatever a caller of WorkgroupsWithNamespaces
// changes in what it got — fields, slices, the pending transition — the
// next caller gets the records as stored, with a store that vouches for its
// reads (the kept set) and without (the decoded records).
func TestCachedRecordsAreTheCallersCopies(t *testing.T) {
	for _, versioned := range []bool{true, false} {
		db := testkit.Store(t)
		s, _, _ := newService(0)
		s.Store = db
		if versioned {
			s.Versions = db
		}
		ctx := context.Background()
		if _, err := s.CreateNamespace(ctx, scope, CreateNamespaceInput{NamespaceName: p("sales"), IamRoles: []string{"arn:aws:iam::123456789012:role/r"}, Tags: []Tag{{Key: "team", Value: "sales"}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateWorkgroup(ctx, scope, CreateWorkgroupInput{WorkgroupName: p("sales"), NamespaceName: p("sales"),
			SubnetIds: []string{"subnet-1"}, SecurityGroupIds: []string{"sg-1"}, Tags: []Tag{{Key: "team", Value: "sales"}},
			ConfigParameters: []ConfigParameter{{ParameterKey: "max_query_execution_time", ParameterValue: "3600"}}}); err != nil {
			t.Fatal(err)
		}
		read := func() ([]Workgroup, []Namespace) {
			wgs, nss, err := s.WorkgroupsWithNamespaces(ctx, scope, []string{"sales"})
			if err != nil {
				t.Fatal(err)
			}
			return wgs, nss
		}
		show := func(wgs []Workgroup, nss []Namespace) string {
			b, err := json.Marshal([]any{wgs, nss})
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
		wgs, nss := read()
		want := show(wgs, nss)
		for range 2 { // the read that keeps the set, then hits
			wgs, nss = read()
			wg, ns := &wgs[0], &nss[0]
			wg.Status, wg.Tags[0].Value, wg.SubnetIds[0], wg.SecurityGroupIds[0] = "CHANGED", "x", "subnet-x", "sg-x"
			wg.ConfigParameters[0].ParameterValue = "0"
			wg.Pending = &transition{To: StatusDeleting}
			ns.Status, ns.Tags[0].Value, ns.IamRoles[0] = "CHANGED", "x", "arn:x"
			if got := show(read()); got != want {
				t.Fatalf("versioned %v: a caller's change reached the cache:\n got %s\nwant %s", versioned, got, want)
			}
		}
	}
}

// clone copies every slice, map and pointer of a record: a field added
// without a copy in clone would be shared by the cache and its callers.
func TestCloneSharesNothing(t *testing.T) {
	check := func(orig, cp reflect.Value) {
		t.Helper()
		for i := range orig.NumField() {
			f := orig.Type().Field(i)
			switch f.Type.Kind() {
			case reflect.Slice, reflect.Map, reflect.Pointer:
				if orig.Field(i).Pointer() == cp.Field(i).Pointer() {
					t.Errorf("%s.%s is shared by a record and its clone", orig.Type().Name(), f.Name)
				}
			case reflect.Struct, reflect.Interface, reflect.Chan, reflect.Func, reflect.Array:
				if f.Type != reflect.TypeFor[time.Time]() && f.Type != reflect.TypeFor[Endpoint]() {
					t.Errorf("%s.%s (%s): teach clone and this test how to copy it", orig.Type().Name(), f.Name, f.Type)
				}
			}
		}
	}
	fill := func(v reflect.Value) {
		for i := range v.NumField() {
			switch f := v.Field(i); f.Kind() {
			case reflect.Slice:
				f.Set(reflect.MakeSlice(f.Type(), 1, 1))
			case reflect.Map:
				f.Set(reflect.MakeMap(f.Type()))
			case reflect.Pointer:
				f.Set(reflect.New(f.Type().Elem()))
			}
		}
	}
	var wg Workgroup
	fill(reflect.ValueOf(&wg).Elem())
	check(reflect.ValueOf(wg), reflect.ValueOf(wg.clone()))
	var ns Namespace
	fill(reflect.ValueOf(&ns).Elem())
	check(reflect.ValueOf(ns), reflect.ValueOf(ns.clone()))
}
