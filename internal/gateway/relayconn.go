package gateway

import (
	"crypto/tls"
	"net"
)

// relayConn is the transport under each TLS leg's tls.Conn (the client's
// and the upstream's): the socket itself until the session starts, then,
// if the event loop takes the session over, the loop's buffers. The loop
// reads the socket and tls.Conn decrypts from, and encrypts to, this conn
// on the loop thread, so a TLS session is relayed without a goroutine per
// direction (the scheduler's wake-ups cost a goroutine relay a third of
// its CPU; docs/PERFORMANCE.md, gateway).
type relayConn struct {
	net.Conn
	// Loop thread only, from the moment looped is set (before the session
	// is queued to the loop, which orders it after the session
	// goroutine's last use).
	looped bool
	in     []byte                    // bytes read from the socket, not yet taken by tls.Conn
	inBuf  []byte                    // in's backing array, reused
	write  func([]byte) (int, error) // the loop's write to the socket
}

// errWouldBlock is what a looped relayConn's Read returns once the bytes
// the loop read are used up. It is a temporary net.Error, which
// crypto/tls hands back without failing the connection (as for a read
// deadline), keeping a partial record for the next read.
var errWouldBlock net.Error = wouldBlock{}

type wouldBlock struct{}

func (wouldBlock) Error() string   { return "relay: no more bytes read yet" }
func (wouldBlock) Timeout() bool   { return true }
func (wouldBlock) Temporary() bool { return true }

func (c *relayConn) Read(b []byte) (int, error) {
	if !c.looped {
		return c.Conn.Read(b)
	}
	if len(c.in) == 0 {
		return 0, errWouldBlock
	}
	n := copy(b, c.in)
	c.in = c.in[n:]
	return n, nil
}

func (c *relayConn) Write(b []byte) (int, error) {
	if !c.looped {
		return c.Conn.Write(b)
	}
	return c.write(b)
}

// feed adds bytes the loop read from the socket.
func (c *relayConn) feed(b []byte) {
	c.in = append(append(c.inBuf[:0], c.in...), b...)
	c.inBuf = c.in[:0]
}

// loopEnd is one leg of a session as the event loop takes it: its TCP
// socket and, for a TLS leg, the TLS session over it.
type loopEnd struct {
	tcp *net.TCPConn
	tls *tls.Conn
	rc  *relayConn
}

// loopable finds c's TCP socket: plain TCP, TCP under a relayConn, or a
// TLS session over a relayConn over TCP. Anything else (a Unix socket, a
// TLS session over another transport) stays with goroutines.
func loopable(c net.Conn) (loopEnd, bool) {
	switch c := c.(type) {
	case *net.TCPConn:
		return loopEnd{tcp: c}, true
	case *relayConn:
		if t, ok := c.Conn.(*net.TCPConn); ok {
			return loopEnd{tcp: t}, true
		}
	case *tls.Conn:
		if rc, ok := c.NetConn().(*relayConn); ok {
			if t, ok := rc.Conn.(*net.TCPConn); ok {
				return loopEnd{tcp: t, tls: c, rc: rc}, true
			}
		}
	}
	return loopEnd{}, false
}
