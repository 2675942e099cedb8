package serverless

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/store/bolt"
	"github.com/idcgate/idcgate/internal/store/storetest"
)

// Two services on one store stand for two replicas: what one changes, the
// other's cached read sees at once, because a hit needs the same bytes.
func TestDecodedCacheFollowsTheStore(t *testing.T) {
	a, c, st := newService(0)
	b := &Service{Store: st, Now: c.now, CapacityRPU: 256, Pages: a.Pages, IdcApplications: a.IdcApplications}
	ctx := context.Background()
	if _, err := a.CreateNamespace(ctx, scope, CreateNamespaceInput{NamespaceName: p("sales"), RedshiftIdcApplicationArn: p(idcArn)}); err != nil {
		t.Fatal(err)
	}
	wg, err := a.CreateWorkgroup(ctx, scope, CreateWorkgroupInput{WorkgroupName: p("sales"), NamespaceName: p("sales"), BaseCapacity: p(int32(8))})
	if err != nil {
		t.Fatal(err)
	}
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
	c.advance(2 * time.Second)
	if got := status(); got != StatusAvailable {
		t.Fatalf("status %s, want AVAILABLE once the delay has passed", got)
	}
	c.t = c.t.Add(-2 * time.Second) // the cached copy itself was not settled
	if got := status(); got != StatusCreating {
		t.Fatalf("status %s: the cache kept a settled copy", got)
	}
}

// On a store that sees all its writes (the embedded one), a resolved set
// is answered without a transaction until anything under "rs/" changes;
// a set in a transition is read afresh, since the clock alone changes it.
func TestSetCacheFollowsVersions(t *testing.T) {
	db, err := bolt.Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st := &storetest.Counting{Store: db}
	a, c, _ := newService(time.Second)
	a.Store = st
	b := &Service{Store: db, Now: c.now, TransitionDelay: time.Second, CapacityRPU: 256, Pages: a.Pages, IdcApplications: a.IdcApplications}
	ctx := context.Background()
	if _, err := a.CreateNamespace(ctx, scope, CreateNamespaceInput{NamespaceName: p("sales")}); err != nil {
		t.Fatal(err)
	}
	wg, err := a.CreateWorkgroup(ctx, scope, CreateWorkgroupInput{WorkgroupName: p("sales"), NamespaceName: p("sales"), BaseCapacity: p(int32(8))})
	if err != nil {
		t.Fatal(err)
	}
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
	c.advance(2 * time.Second)
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
	c.advance(2 * time.Second)
	if got, _, err := read(); err != nil || got.BaseCapacity != 16 {
		t.Fatalf("after an update: %+v %v", got, err)
	}
	if _, err := b.DeleteWorkgroup(ctx, scope, wg.WorkgroupId, DeleteWorkgroupInput{WorkgroupName: p("sales")}); err != nil {
		t.Fatal(err)
	}
	c.advance(2 * time.Second)
	if _, _, err := read(); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after a delete: %v", err)
	}
}
