package dataapi

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/idcgate/idcgate/internal/store"
)

// Run keeps the statements' records right until ctx ends: it touches the
// heartbeat of the statements this process runs (and cancels those whose
// cancel another replica recorded), fails statements whose runner is gone,
// and deletes statements and results past their retention.
func (s *Service) Run(ctx context.Context) {
	s.init()
	tick := time.NewTicker(heartbeatEvery)
	defer tick.Stop()
	n := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if err := s.heartbeat(ctx); err != nil && ctx.Err() == nil {
			s.Log.Error("data api: statement heartbeat", "err", err)
		}
		n++
		if n%5 == 0 {
			if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
				s.Log.Error("data api: statement upkeep", "err", err)
			}
		}
	}
}

// heartbeat touches this process's statements in one transaction.
func (s *Service) heartbeat(ctx context.Context) error {
	s.mu.Lock()
	local := make(map[string]*localRun, len(s.running))
	for id, r := range s.running {
		local[id] = r
	}
	s.mu.Unlock()
	if len(local) == 0 {
		return nil
	}
	var cancel []string
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		cancel = cancel[:0]
		now := s.now()
		for id, r := range local {
			var st Statement
			if err := store.GetJSON(tx, statementKey(r.scope, id), &st); errors.Is(err, store.ErrNotFound) {
				continue
			} else if err != nil {
				return err
			}
			if st.Status.Final() {
				continue
			}
			if st.CancelRequested {
				cancel = append(cancel, id)
			}
			st.Heartbeat = now
			if err := store.PutJSON(tx, statementKey(r.scope, id), &st); err != nil {
				return err
			}
		}
		return nil
	})
	for _, id := range cancel {
		if r := local[id]; r != nil {
			r.cancel(errCancelled)
		}
	}
	return err
}

// Sweep fails statements not final whose runner stopped touching them,
// and deletes what is past retention. It returns how many records it
// changed. An embedded store's process calls it at start with every
// statement orphaned (RecoverAll).
func (s *Service) Sweep(ctx context.Context) (int, error) {
	s.init()
	n, err := s.sweepOrphans(ctx, false)
	if err != nil {
		return n, err
	}
	m, err := s.sweepExpired(ctx)
	s.closeIdlePools()
	return n + m, err
}

// poolIdle is how long a role's pool may go unused, with no connection
// left, before it is closed: a pool keeps a health-check goroutine, and
// users come and go.
const poolIdle = 2 * time.Minute

// closeIdlePools closes the pools no statement used for poolIdle.
func (s *Service) closeIdlePools() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, e := range s.pools {
		if time.Since(e.used) > poolIdle && e.pool.Stat().TotalConns() == 0 {
			e.pool.Close()
			delete(s.pools, k)
		}
	}
}

// RecoverAll ends every statement not final as its runner gone: for a
// store only this process uses (the embedded one), at start, when no
// runner of an earlier process can still be alive.
func (s *Service) RecoverAll(ctx context.Context) (int, error) {
	s.init()
	return s.sweepOrphans(ctx, true)
}

func (s *Service) sweepOrphans(ctx context.Context, all bool) (int, error) {
	keys, err := store.Read(ctx, s.Store, func(r store.Reader) ([]string, error) { return store.Keys(r, prefix+"a/", 1000, nil) })
	if err != nil {
		return 0, err
	}
	n := 0
	for _, k := range keys {
		parts := strings.Split(strings.TrimPrefix(k, prefix+"a/"), "/")
		if len(parts) != 3 {
			continue
		}
		sc, id := Scope{parts[0], parts[1]}, parts[2]
		s.mu.Lock()
		_, local := s.running[id]
		s.mu.Unlock()
		if local {
			continue
		}
		ended := false
		var gone Statement
		err := s.Store.Update(ctx, func(tx store.Tx) error {
			ended = false
			var st Statement
			if err := store.GetJSON(tx, statementKey(sc, id), &st); errors.Is(err, store.ErrNotFound) {
				return tx.Delete(k)
			} else if err != nil {
				return err
			}
			if st.Status.Final() {
				return tx.Delete(k)
			}
			if !all && s.now().Sub(st.Heartbeat) < staleAfter {
				return nil
			}
			endOrphan(&st, s.now())
			ended, gone = true, st
			if err := store.PutJSON(tx, statementKey(sc, id), &st); err != nil {
				return err
			}
			return tx.Delete(k)
		})
		if err != nil {
			return n, err
		}
		if ended {
			n++
			s.stopBackend(ctx, &gone)
		}
	}
	return n, nil
}

// sweepExpired deletes statements (record, index entries, result pages)
// whose retention ended, a bounded batch at a time.
func (s *Service) sweepExpired(ctx context.Context) (int, error) {
	now := timeKey(s.now())
	due, err := store.Read(ctx, s.Store, func(r store.Reader) ([]string, error) {
		return store.Keys(r, prefix+"x/", 100, func(k string) bool {
			at, _, _ := strings.Cut(strings.TrimPrefix(k, prefix+"x/"), "/")
			return at <= now
		})
	})
	if err != nil {
		return 0, err
	}
	for _, k := range due {
		parts := strings.Split(strings.TrimPrefix(k, prefix+"x/"), "/")
		if len(parts) != 4 {
			continue
		}
		sc, id := Scope{parts[1], parts[2]}, parts[3]
		var pages []string
		err := s.Store.View(ctx, func(r store.Reader) error {
			return r.Scan(resultPrefix(id), "", func(pk string, _ []byte) (bool, error) {
				pages = append(pages, pk)
				return true, nil
			})
		})
		if err != nil {
			return 0, err
		}
		err = s.Store.Update(ctx, func(tx store.Tx) error {
			var st Statement
			if err := store.GetJSON(tx, statementKey(sc, id), &st); err == nil {
				if err := tx.Delete(ownerKey(&st)); err != nil {
					return err
				}
				if err := tx.Delete(activeKey(&st)); err != nil {
					return err
				}
				if st.ClientTokenKey != "" {
					if err := tx.Delete(st.ClientTokenKey); err != nil {
						return err
					}
				}
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			for _, pk := range pages {
				if err := tx.Delete(pk); err != nil {
					return err
				}
			}
			if err := tx.Delete(statementKey(sc, id)); err != nil {
				return err
			}
			return tx.Delete(k)
		})
		if err != nil {
			return 0, err
		}
	}
	return len(due), nil
}

// Close stops every statement this process runs (their upstream queries
// cancelled, each recorded ABORTED), waits for them up to ctx, and closes
// the connection pools.
func (s *Service) Close(ctx context.Context) {
	s.init()
	s.mu.Lock()
	s.closed = true
	for _, r := range s.running {
		r.cancel(errShutdown)
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	s.stop()
	s.mu.Lock()
	for _, e := range s.pools {
		e.pool.Close()
	}
	s.pools = map[string]*rolePool{}
	s.mu.Unlock()
}
