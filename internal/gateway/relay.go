package gateway

import (
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

var bufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// relay copies bytes both ways until either side closes, without parsing
// messages: sessions over TCP on the event loop (loop_linux.go; TLS legs
// through relayConn), others on goroutines.
//
// The idle timeout means what PostgreSQL's idle_session_timeout means: time
// spent waiting for the client's next query, never time spent waiting for
// the server to answer one. Without parsing, the relay knows the session is
// idle when the last bytes went upstream→client and ended with a
// ReadyForQuery ('Z', length 5, status I/T/E); any client bytes make the
// upstream owe an answer again. So a long query, or one that sends a notice
// and then works on in silence, is never cut. (A client that pipelines a
// second query behind a first one's ReadyForQuery looks idle in between;
// the timeout is meant in minutes, which such a gap would have to outlast.)
func (g *Gateway) relay(client, upstream net.Conn) {
	if c, ok := loopable(client); ok && !g.cfg.GoroutineRelay {
		if u, ok := loopable(upstream); ok {
			if loop := g.relayLoop(); loop != nil && loop.relay(c, u, g.drain, g.cut) {
				return
			}
		}
	}
	g.relayGoroutines(client, upstream)
}

// relayLoop is the gateway's event loop, started on first use; nil where
// there is none (not Linux, or it could not start: then it says so once).
func (g *Gateway) relayLoop() *relayLoop {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.loop == nil && g.loopErr == nil && !g.closing {
		g.loop, g.loopErr = newRelayLoop(g.cfg.IdleTimeout)
		if g.loopErr != nil {
			g.cfg.Log.Info("gateway relays with goroutines: the event loop did not start", "err", g.loopErr)
		}
	}
	return g.loop
}

// relayGoroutines copies bytes both ways until either side closes, over
// pooled buffers and without parsing messages: one goroutine per
// direction. It serves what the event loop cannot (TLS on either end, other
// systems).
//
// Once g.drain is closed (Shutdown's deadline) the session ends at the
// next message boundary: our 57P01 to the client after the chunk that
// ended in a ReadyForQuery (written under wmu, so never inside another
// chunk), Terminate upstream, and no client byte forwarded after that.
func (g *Gateway) relayGoroutines(client, upstream net.Conn) {
	idle := g.cfg.IdleTimeout
	var last atomic.Int64 // unix nanos of the last byte either way
	last.Store(time.Now().UnixNano())
	var (
		wmu sync.Mutex // held while writing to the client
		smu sync.Mutex // guards the three below; never held during I/O
		// ready: the upstream's last bytes were a ReadyForQuery and nothing
		// was sent since (the startup ended with one).
		ready           = true
		draining, ended bool
	)
	// finish ends the session at a boundary; the caller holds wmu and set ended.
	finish := func() {
		client.SetWriteDeadline(time.Now().Add(5 * time.Second))
		client.Write(shutdownError)
		upstream.SetWriteDeadline(time.Now().Add(5 * time.Second))
		upstream.Write(terminateMessage)
		client.Close()
		upstream.Close()
	}
	done := make(chan struct{}, 2)
	over := make(chan struct{})
	defer close(over)
	go func() {
		select {
		case <-g.drain:
		case <-over:
			return
		}
		wmu.Lock()
		defer wmu.Unlock()
		smu.Lock()
		draining = true
		fin := ready && !ended
		ended = ended || fin
		smu.Unlock()
		if fin {
			finish()
		}
	}()
	pipe := func(dst, src net.Conn, fromUpstream bool) {
		defer func() { done <- struct{}{} }()
		bp := bufPool.Get().(*[]byte)
		defer bufPool.Put(bp)
		buf := *bp
		var tail [6]byte // the stream's last six bytes, across reads
		for {
			if idle > 0 {
				src.SetReadDeadline(time.Now().Add(idle))
			}
			n, err := src.Read(buf)
			if n > 0 {
				last.Store(time.Now().UnixNano())
				// Set before forwarding: the other side's reaction to these
				// bytes must find the state they put the session in.
				if fromUpstream {
					if n >= len(tail) {
						copy(tail[:], buf[n-len(tail):n])
					} else {
						copy(tail[:], tail[n:])
						copy(tail[len(tail)-n:], buf[:n])
					}
					wmu.Lock()
					smu.Lock()
					stop := ended
					ready = isReadyForQuery(tail)
					smu.Unlock()
					if stop {
						wmu.Unlock()
						return
					}
					_, werr := dst.Write(buf[:n])
					smu.Lock()
					fin := werr == nil && draining && ready && !ended
					ended = ended || fin
					smu.Unlock()
					if fin {
						finish()
					}
					wmu.Unlock()
					if werr != nil || fin {
						return
					}
				} else {
					smu.Lock()
					stop := ended
					ready = false
					smu.Unlock()
					if stop {
						return
					}
					if _, werr := dst.Write(buf[:n]); werr != nil {
						return
					}
				}
			}
			if err != nil {
				smu.Lock()
				busy := !ready
				smu.Unlock()
				if errors.Is(err, os.ErrDeadlineExceeded) && (busy || time.Since(time.Unix(0, last.Load())) < idle) {
					continue
				}
				return
			}
		}
	}
	go pipe(upstream, client, false)
	go pipe(client, upstream, true)
	<-done
	smu.Lock()
	ended = true // the drain has nothing left to end
	smu.Unlock()
	client.Close()
	upstream.Close()
	<-done
}

// isReadyForQuery tells whether b is a whole ReadyForQuery message.
func isReadyForQuery(b [6]byte) bool {
	return b[0] == 'Z' && b[1] == 0 && b[2] == 0 && b[3] == 0 && b[4] == 5 && (b[5] == 'I' || b[5] == 'T' || b[5] == 'E')
}
