// Package leases counts gateway sessions in the shared store, so that the
// per-user and per-workgroup session limits hold across every replica, not
// per process.
//
// Each admitted session is a lease key
//
//	gwlease/<account>/<workgroupID>/<userID>/<replica>/<n>
//
// written in the transaction that counted the workgroup's leases (the
// PostgreSQL store runs it SERIALIZABLE, so two replicas admitting at once
// cannot both take the last slot), and deleted when the session ends. A
// lease counts only while its replica is alive: each replica keeps
// gwreplica/<replica> holding an expiry it pushes forward every TTL/3, so the
// leases of a replica that died (and never deleted them) stop counting
// within TTL, and the next admission on the workgroup deletes them. One
// heartbeat per replica, not one write per lease.
package leases

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/idcgate/idcgate/internal/clock"
	"github.com/idcgate/idcgate/internal/gateway"
	"github.com/idcgate/idcgate/internal/ids"
	"github.com/idcgate/idcgate/internal/store"
)

const (
	leasePrefix   = "gwlease/"
	replicaPrefix = "gwreplica/"
	// DefaultTTL is how long a replica's leases count after its last
	// heartbeat.
	DefaultTTL = 30 * time.Second
)

// Leases is one replica's view of the shared session count. It
// implements gateway.SessionLimiter.
type Leases struct {
	Store store.Store
	// PerUser and PerWorkgroup are the limits (0: none).
	PerUser, PerWorkgroup int
	Clock                 clock.Clock
	TTL                   time.Duration // default DefaultTTL
	Log                   *slog.Logger

	once    sync.Once
	replica string
	mu      sync.Mutex
	n       uint64
	live    map[string]struct{} // this replica's leases
	orphans map[string]struct{} // released, but the delete failed: retried at each heartbeat
	beat    time.Time           // expiry written by the last heartbeat that committed
	stop    chan struct{}
	stopped chan struct{}
	closed  bool
}

var _ gateway.SessionLimiter = (*Leases)(nil)

type heartbeat struct {
	Expires time.Time `json:"expires"`
}

func (l *Leases) init() {
	l.once.Do(func() {
		l.replica = ids.MustUUID()
		if l.TTL <= 0 {
			l.TTL = DefaultTTL
		}
		if l.Log == nil {
			l.Log = slog.New(slog.DiscardHandler)
		}
		l.live, l.orphans = map[string]struct{}{}, map[string]struct{}{}
	})
}

// Admit counts the workgroup's live leases and, under the limits, adds one.
func (l *Leases) Admit(ctx context.Context, login *gateway.Login) (func(), error) {
	l.init()
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, errors.New("leases: closed")
	}
	l.n++
	key := leasePrefix + login.Account + "/" + login.WorkgroupID + "/" + login.Claims.UserID + "/" + l.replica + "/" + strconv.FormatUint(l.n, 10)
	l.startBeating()
	l.mu.Unlock()
	wgPrefix := leasePrefix + login.Account + "/" + login.WorkgroupID + "/"
	userPrefix := wgPrefix + login.Claims.UserID + "/"
	err := l.Store.Update(ctx, func(tx store.Tx) error {
		now := l.Clock.Now()
		// Our own heartbeat first, so that the lease never counts for
		// nothing (and a first admission needs no separate write).
		if err := l.putBeat(tx, now); err != nil {
			return err
		}
		alive := map[string]bool{l.replica: true}
		var dead []string
		total, mine := 0, 0
		err := tx.Scan(wgPrefix, "", func(k string, _ []byte) (bool, error) {
			rep := replicaOf(k)
			up, ok := alive[rep]
			if !ok {
				var err error
				if up, err = replicaAlive(tx, rep, now); err != nil {
					return false, err
				}
				alive[rep] = up
			}
			if !up {
				dead = append(dead, k)
				return true, nil
			}
			total++
			if strings.HasPrefix(k, userPrefix) {
				mine++
			}
			return true, nil
		})
		if err != nil {
			return err
		}
		if l.PerUser > 0 && mine >= l.PerUser {
			return &gateway.LimitError{User: login.Claims.UserName, Workgroup: login.Workgroup, Limit: l.PerUser}
		}
		if l.PerWorkgroup > 0 && total >= l.PerWorkgroup {
			return &gateway.LimitError{Workgroup: login.Workgroup, Limit: l.PerWorkgroup}
		}
		for _, k := range dead {
			if err := tx.Delete(k); err != nil {
				return err
			}
		}
		return tx.Put(key, []byte("{}"))
	})
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.live[key] = struct{}{}
	l.beat = l.Clock.Now().Add(l.TTL)
	l.mu.Unlock()
	return sync.OnceFunc(func() { l.release(key) }), nil
}

// release deletes a lease; one the store would not delete now is deleted
// by a later heartbeat (until then it still counts, as this replica lives).
func (l *Leases) release(key string) {
	l.mu.Lock()
	delete(l.live, key)
	l.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := l.Store.Update(ctx, func(tx store.Tx) error { return tx.Delete(key) })
	if err != nil {
		l.Log.Warn("gateway session lease not deleted; retrying at the next heartbeat", "err", err)
		l.mu.Lock()
		l.orphans[key] = struct{}{}
		l.mu.Unlock()
	}
}

func (l *Leases) putBeat(tx store.Tx, now time.Time) error {
	b, _ := json.Marshal(heartbeat{Expires: now.Add(l.TTL).UTC()})
	return tx.Put(replicaPrefix+l.replica, b)
}

func replicaAlive(r store.Reader, replica string, now time.Time) (bool, error) {
	b, err := r.Get(replicaPrefix + replica)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var h heartbeat
	if json.Unmarshal(b, &h) != nil {
		return false, nil
	}
	return now.Before(h.Expires), nil
}

// replicaOf reads the replica segment of a lease key.
func replicaOf(key string) string {
	parts := strings.Split(strings.TrimPrefix(key, leasePrefix), "/")
	if len(parts) != 5 {
		return ""
	}
	return parts[3]
}

// startBeating starts the heartbeat at the first admission (l.mu held).
func (l *Leases) startBeating() {
	if l.stop != nil {
		return
	}
	l.stop, l.stopped = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(l.stopped)
		t := time.NewTicker(l.TTL / 3)
		defer t.Stop()
		for {
			select {
			case <-l.stop:
				return
			case <-t.C:
				l.heartbeat()
			}
		}
	}()
}

// heartbeat pushes this replica's expiry forward and deletes leases whose
// release could not. If an earlier heartbeat lapsed (the store was out of
// reach for longer than TTL), other replicas may have deleted this
// replica's leases as dead: they are written again.
func (l *Leases) heartbeat() {
	l.mu.Lock()
	lapsed := !l.Clock.Now().Before(l.beat)
	var rewrite, orphans []string
	if lapsed {
		for k := range l.live {
			rewrite = append(rewrite, k)
		}
	}
	for k := range l.orphans {
		orphans = append(orphans, k)
	}
	l.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), l.TTL/3)
	defer cancel()
	now := l.Clock.Now()
	err := l.Store.Update(ctx, func(tx store.Tx) error {
		if err := l.putBeat(tx, now); err != nil {
			return err
		}
		for _, k := range rewrite {
			if err := tx.Put(k, []byte("{}")); err != nil {
				return err
			}
		}
		for _, k := range orphans {
			if err := tx.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		l.Log.Warn("gateway session heartbeat not written", "err", err)
		return
	}
	l.mu.Lock()
	l.beat = now.Add(l.TTL)
	for _, k := range orphans {
		delete(l.orphans, k)
	}
	l.mu.Unlock()
}

// Close stops the heartbeat and deletes this replica's heartbeat and any
// lease it still holds, so that none counts after a clean stop. Safe to
// call more than once.
func (l *Leases) Close() {
	l.init()
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	stop, stopped := l.stop, l.stopped
	var keys []string
	for k := range l.live {
		keys = append(keys, k)
	}
	for k := range l.orphans {
		keys = append(keys, k)
	}
	l.mu.Unlock()
	if stop == nil {
		return // never admitted anything: nothing written
	}
	close(stop)
	<-stopped
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := l.Store.Update(ctx, func(tx store.Tx) error {
		for _, k := range keys {
			if err := tx.Delete(k); err != nil {
				return err
			}
		}
		return tx.Delete(replicaPrefix + l.replica)
	})
	if err != nil {
		l.Log.Warn("gateway session leases not deleted at stop; they stop counting when the heartbeat expires", "err", err)
	}
}
