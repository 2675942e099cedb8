package gateway

import (
	"context"
	"net"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"
)

// endWait bounds how long Shutdown waits, after its deadline, for the
// sessions it ended to close before it cuts them.
const endWait = 5 * time.Second

// terminateWait bounds how long each backend's exit is waited for.
const terminateWait = 2 * time.Second

// shutdownError is what a client whose session the relay ends at a message
// boundary gets: PostgreSQL's own code and words for a terminated backend,
// and why.
var shutdownError = func() []byte {
	b, _ := (&pgproto3.ErrorResponse{Severity: "FATAL", SeverityUnlocalized: "FATAL", Code: "57P01",
		Message: "terminating connection due to administrator command: idcgate is shutting down"}).Encode(nil)
	return b
}()

// terminateMessage is the frontend's Terminate: the upstream backend of a
// session the relay ends exits at once instead of waiting for EOF.
var terminateMessage = []byte{'X', 0, 0, 0, 4}

// liveSession is what Shutdown needs to end a relayed session's upstream
// backend: which server, and which backend there (its pid, checked against
// the role and our end's port so that a pid reused by another backend is
// never signalled), or its cancel key when it may not be terminated.
type liveSession struct {
	upstream string // the service DSN
	role     string
	pid      int32
	port     int32 // our local port of the upstream connection; -1 off TCP
	cancel   cancelTarget
}

// trackLive registers a session about to be relayed.
func (g *Gateway) trackLive(login *Login, sess *session) *liveSession {
	ls := &liveSession{upstream: login.Upstream, role: sess.role, port: -1}
	if a, ok := sess.upstream.LocalAddr().(*net.TCPAddr); ok {
		ls.port = int32(a.Port)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	ls.cancel = g.cancels[sess.key]
	ls.pid = int32(ls.cancel.pid)
	g.live[ls] = struct{}{}
	return ls
}

func (g *Gateway) untrackLive(ls *liveSession) {
	g.mu.Lock()
	delete(g.live, ls)
	g.mu.Unlock()
}

// endSessions runs at Shutdown's deadline. The relay copies bytes without
// framing, so it cannot put an error in the middle of the stream; instead
//   - every relay is told to drain: a session at a message boundary (the
//     upstream's last bytes a ReadyForQuery, nothing sent since) gets our
//     57P01 and its backend a Terminate, now or when it next gets there;
//   - every live session's backend is terminated upstream
//     (pg_terminate_backend over the service connection), so PostgreSQL
//     itself sends its FATAL 57P01 at a message boundary through the relay,
//     and closes;
//   - where that is not allowed (the service role lacks pg_signal_backend)
//     or fails, the running query is cancelled instead: its ReadyForQuery
//     is a boundary, where the drain ends the session.
//
// So no query is left running upstream once its client is gone.
func (g *Gateway) endSessions() {
	g.mu.Lock()
	if !g.drained {
		g.drained = true
		close(g.drain)
	}
	byUpstream := map[string][]*liveSession{}
	for ls := range g.live {
		byUpstream[ls.upstream] = append(byUpstream[ls.upstream], ls)
	}
	g.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), endWait)
	defer cancel()
	var wg sync.WaitGroup
	for dsn, sessions := range byUpstream {
		wg.Go(func() {
			done, err := g.terminate(ctx, dsn, sessions)
			if err != nil {
				g.cfg.Log.Warn("gateway shutdown: upstream backends not terminated; cancelling their queries instead (grant the service role pg_signal_backend)", "err", err)
			}
			for _, ls := range sessions {
				if !done[ls.pid] && ls.cancel.addr != "" {
					ls.cancel.send()
				}
			}
		})
	}
	wg.Wait()
}

// terminate ends the sessions' backends on one upstream and returns the
// pids it terminated.
func (g *Gateway) terminate(ctx context.Context, dsn string, sessions []*liveSession) (map[int32]bool, error) {
	if g.cfg.Roles == nil {
		return nil, nil
	}
	p, err := g.cfg.Roles.pool(ctx, dsn)
	if err != nil {
		return nil, err
	}
	pids, ports, roles := make([]int32, len(sessions)), make([]int32, len(sessions)), make([]string, len(sessions))
	for i, ls := range sessions {
		pids[i], ports[i], roles[i] = ls.pid, ls.port, ls.role
	}
	// MATERIALIZED: the planner must not push pg_terminate_backend below
	// the join, onto every backend of the server. With a timeout (PostgreSQL
	// 14+) it returns once the backend has exited, not merely been
	// signalled: the client may hang up at the FATAL, ending the relay
	// before the backend is gone, and Shutdown is to return with none left.
	rows, err := p.Query(ctx, `WITH ours AS MATERIALIZED (
			SELECT a.pid FROM pg_stat_activity a
			JOIN unnest($1::int4[], $2::int4[], $3::text[]) AS s(pid, port, role)
			ON a.pid = s.pid AND coalesce(a.client_port, -1) = s.port AND a.usename = s.role)
		SELECT pid FROM ours WHERE pg_terminate_backend(pid, $4)`, pids, ports, roles, terminateWait.Milliseconds())
	if err != nil {
		return nil, err
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return nil, err
	}
	done := make(map[int32]bool, len(got))
	for _, pid := range got {
		done[pid] = true
	}
	return done, nil
}

// cutSessions closes every connection still open, logins included.
func (g *Gateway) cutSessions() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.wasCut {
		g.wasCut = true
		close(g.cut)
	}
	for c := range g.sessions {
		c.Close()
	}
}
