package leases

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idcgate/idcgate/internal/authtoken"
	"github.com/idcgate/idcgate/internal/clock"
	"github.com/idcgate/idcgate/internal/gateway"
	"github.com/idcgate/idcgate/internal/pgtest"
	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/testkit"
)

// onEachBackend runs test as a subtest on each store backend, with a
// fresh store and a fake clock.
func onEachBackend(t *testing.T, test func(t *testing.T, st store.Store, c *clock.Fake)) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			test(t, open(t), clock.NewFake(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)))
		})
	}
}

// backends opens a fresh store of each kind for a test.
func backends(t *testing.T) map[string]func(t *testing.T) store.Store {
	var pg *pgtest.Server
	var pgOnce sync.Once
	var seq atomic.Int64
	return map[string]func(t *testing.T) store.Store{
		"embedded": func(t *testing.T) store.Store {
			return testkit.Store(t)
		},
		"postgres": func(t *testing.T) store.Store {
			pgOnce.Do(func() { pg = pgtest.Start(t) })
			name := fmt.Sprintf("leases_%d", seq.Add(1))
			return testkit.PostgresStore(t, pg, name)
		},
	}
}

// ttl is long enough that no real heartbeat ticks during a test: only the
// test's clock moves time.
const ttl = time.Hour

func replica(st store.Store, c *clock.Fake, perUser, perWG int) *Leases {
	return &Leases{Store: st, PerUser: perUser, PerWorkgroup: perWG, Clock: c.Now, TTL: ttl}
}

func login(user, workgroup string) *gateway.Login {
	return &gateway.Login{Account: "123456789012", Workgroup: workgroup, WorkgroupID: "id-" + workgroup,
		Claims: authtoken.Claims{UserName: user, UserID: "uid-" + user}}
}

func admit(t *testing.T, l *Leases, user, workgroup string) func() {
	t.Helper()
	release, err := l.Admit(context.Background(), login(user, workgroup))
	if err != nil {
		t.Fatalf("%s on %s: %v", user, workgroup, err)
	}
	return release
}

func refused(t *testing.T, l *Leases, user, workgroup, want string) {
	t.Helper()
	_, err := l.Admit(context.Background(), login(user, workgroup))
	var le *gateway.LimitError
	if !errors.As(err, &le) || le.Error() != want {
		t.Fatalf("%s on %s: %v, want %q", user, workgroup, err, want)
	}
}

func leaseCount(t *testing.T, st store.Store) int {
	t.Helper()
	n := 0
	err := st.View(context.Background(), func(r store.Reader) error {
		return r.Scan(leasePrefix, "", func(string, []byte) (bool, error) { n++; return true, nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestLimitsAcrossReplicas: two replicas on one store share the per-user
// and per-workgroup counts; a release frees a slot for either.
func TestLimitsAcrossReplicas(t *testing.T) {
	t.Parallel()
	onEachBackend(t, func(t *testing.T, st store.Store, c *clock.Fake) {
		a, b := replica(st, c, 2, 3), replica(st, c, 2, 3)
		defer a.Close()
		defer b.Close()
		admit(t, a, "alice", "demo")
		releaseB := admit(t, b, "alice", "demo")
		refused(t, a, "alice", "demo", "too many sessions for user alice on workgroup demo (limit 2)")
		refused(t, b, "alice", "demo", "too many sessions for user alice on workgroup demo (limit 2)")
		admit(t, b, "bob", "demo")
		refused(t, a, "carol", "demo", "too many sessions on workgroup demo (limit 3)")
		admit(t, a, "alice", "other") // another workgroup counts apart
		releaseB()
		releaseB() // once only
		admit(t, a, "alice", "demo")
		if n := leaseCount(t, st); n != 4 {
			t.Fatalf("%d leases in the store, want 4", n)
		}
	})
}

// TestDeadReplicaStopsCounting: the leases of a replica that stopped
// heartbeating (it died without deleting them) stop counting after the TTL
// and are deleted by the next admission; a replica that closes cleanly
// deletes its own at once.
func TestDeadReplicaStopsCounting(t *testing.T) {
	t.Parallel()
	onEachBackend(t, func(t *testing.T, st store.Store, c *clock.Fake) {
		dead, b := replica(st, c, 2, 0), replica(st, c, 2, 0)
		defer b.Close()
		admit(t, dead, "alice", "demo")
		admit(t, dead, "alice", "demo")
		refused(t, b, "alice", "demo", "too many sessions for user alice on workgroup demo (limit 2)")
		c.Advance(ttl - time.Second)
		refused(t, b, "alice", "demo", "too many sessions for user alice on workgroup demo (limit 2)")
		c.Advance(2 * time.Second)
		admit(t, b, "alice", "demo")
		if n := leaseCount(t, st); n != 1 {
			t.Fatalf("%d leases in the store, want only the live replica's 1", n)
		}

		closing := replica(st, c, 2, 0)
		admit(t, closing, "bob", "demo")
		admit(t, closing, "bob", "demo")
		refused(t, b, "bob", "demo", "too many sessions for user bob on workgroup demo (limit 2)")
		closing.Close()
		admit(t, b, "bob", "demo")
	})
}

// TestConcurrentAdmissions: replicas admitting one user at once never
// exceed the limit (the count and the new lease commit together).
func TestConcurrentAdmissions(t *testing.T) {
	t.Parallel()
	onEachBackend(t, func(t *testing.T, st store.Store, c *clock.Fake) {
		const limit, each = 5, 8
		reps := []*Leases{replica(st, c, limit, 0), replica(st, c, limit, 0)}
		var ok, over atomic.Int64
		var wg sync.WaitGroup
		for _, r := range reps {
			defer r.Close()
			for range each {
				wg.Go(func() {
					_, err := r.Admit(context.Background(), login("alice", "demo"))
					var le *gateway.LimitError
					switch {
					case err == nil:
						ok.Add(1)
					case errors.As(err, &le):
						over.Add(1)
					default:
						t.Errorf("admit: %v", err)
					}
				})
			}
		}
		wg.Wait()
		if ok.Load() != limit || over.Load() != 2*each-limit {
			t.Fatalf("%d admitted, %d refused; want %d and %d", ok.Load(), over.Load(), limit, 2*each-limit)
		}
		if n := leaseCount(t, st); n != limit {
			t.Fatalf("%d leases in the store, want %d", n, limit)
		}
	})
}
