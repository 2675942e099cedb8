//go:build linux

package gateway

import (
	"crypto/tls"
	"encoding/binary"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// relayLoop relays sessions over TCP (each leg plain, or TLS over a
// relayConn) on one OS thread with epoll, the way PgBouncer does, instead
// of two goroutines per session. For the small messages of OLTP traffic the cost of relaying is
// not the copying but the wake-ups: a goroutine relay pays the netpoller,
// the scheduler and often a futex hand-off per message, which on two cores
// cost about a third of the throughput (docs/PERFORMANCE.md, gateway).
//
// The loop owns duplicates of both descriptors (the net.Conns are closed,
// which takes them out of Go's netpoller) and is the only code that reads,
// writes or closes them, so a descriptor number is never reused under it.
// Other goroutines talk to it through a command queue and an eventfd.
//
// A TLS leg's tls.Conn is used on the loop thread only, once the loop has
// the session: the loop reads the socket into the leg's relayConn, has
// tls.Conn decrypt every whole record it holds, and tls.Conn's writes go
// to the socket through the relayConn (loopSide.rawTo), queued when the
// socket will not take them yet.
//
// Its read and write calls are raw system calls on non-blocking sockets:
// they never block, so the runtime need not know of them. The wait itself
// first polls without the scheduler for a short while (a busy loop finds
// work at once) and only then blocks as an ordinary system call, so an
// idle loop holds no P.
type relayLoop struct {
	epfd, evfd int
	idle       time.Duration // the gateway's idle timeout (0: none)
	spinMS     int           // loopWaitSpin, or 0 with a single P (which the spin would take from every goroutine)

	mu      sync.Mutex
	queue   []loopCmd
	stopped bool
	ended   chan struct{} // closed when the loop thread has returned
	started atomic.Int64  // sessions taken over

	// Loop thread only.
	sides map[int32]*loopSide
	pairs map[*loopPair]struct{}
	buf   []byte
}

type loopCmd struct {
	p     *loopPair
	cut   bool // close p (else: start relaying p)
	drain bool // end p at its next message boundary
	stop  bool // close everything and end the loop
}

// loopSide is one end of a relayed session. Bytes read from it go to peer.
type loopSide struct {
	fd       int
	peer     *loopSide
	pair     *loopPair
	upstream bool
	pending  *[]byte    // bytes owed to this side that it would not take yet
	off      int        // how much of *pending was written
	mask     uint32     // events registered with epoll
	tc       *tls.Conn  // the leg's TLS session; nil for plain TCP
	rc       *relayConn // tc's transport
}

// loopPair is a relayed session.
type loopPair struct {
	client, upstream loopSide
	last             int64   // unix nanos of the last byte either way
	ready            bool    // the upstream's last bytes were a ReadyForQuery, nothing sent since
	tail             [6]byte // the upstream stream's last six bytes, across reads
	draining         bool    // end at the next message boundary (Shutdown)
	closed           bool
	done             chan struct{} // closed when both descriptors are closed
}

// loopWaitSpin is how long the loop waits for events before it gives its P
// back and blocks in the kernel. Under load the next event comes within
// microseconds; a longer spin only delays other goroutines of that P.
const loopWaitSpin = time.Millisecond

func newRelayLoop(idle time.Duration) (*relayLoop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	evfd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, err
	}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, evfd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(evfd)}); err != nil {
		unix.Close(epfd)
		unix.Close(evfd)
		return nil, err
	}
	spin := int(loopWaitSpin / time.Millisecond)
	if runtime.GOMAXPROCS(0) == 1 {
		spin = 0
	}
	l := &relayLoop{epfd: epfd, evfd: evfd, idle: idle, spinMS: spin, ended: make(chan struct{}),
		sides: map[int32]*loopSide{}, pairs: map[*loopPair]struct{}{}, buf: make([]byte, 32<<10)}
	go l.run()
	return l, nil
}

// relay hands client and upstream to the loop and waits until the session
// ends; once drain is closed the loop ends it at its next message boundary
// (loopPair.draining), and once cut is closed at once. handled is false,
// with both connections untouched, when the loop cannot take them: the
// caller relays them itself.
func (l *relayLoop) relay(client, upstream loopEnd, drain, cut <-chan struct{}) (handled bool) {
	cfd, err := dupFD(client.tcp)
	if err != nil {
		return false
	}
	ufd, err := dupFD(upstream.tcp)
	if err != nil {
		unix.Close(cfd)
		return false
	}
	p := &loopPair{ready: true, last: time.Now().UnixNano(), done: make(chan struct{})}
	p.client = loopSide{fd: cfd, pair: p, tc: client.tls, rc: client.rc}
	p.upstream = loopSide{fd: ufd, pair: p, upstream: true, tc: upstream.tls, rc: upstream.rc}
	p.client.peer, p.upstream.peer = &p.upstream, &p.client
	// From here on only the loop thread uses the TLS sessions.
	for _, s := range []*loopSide{&p.client, &p.upstream} {
		if s.rc != nil {
			s.rc.looped, s.rc.write = true, func(b []byte) (int, error) { return l.rawTo(s, b) }
		}
	}
	if !l.send(loopCmd{p: p}) {
		for _, s := range []*loopSide{&p.client, &p.upstream} {
			if s.rc != nil {
				s.rc.looped, s.rc.write = false, nil
			}
		}
		unix.Close(cfd)
		unix.Close(ufd)
		return false
	}
	l.started.Add(1)
	// The duplicates keep the sockets open; closing these takes them out of
	// Go's netpoller, which must not wake for bytes the loop reads. (The
	// sockets, not the TLS sessions: closing those would send close_notify.)
	client.tcp.Close()
	upstream.tcp.Close()
	select {
	case <-p.done:
		return true
	case <-drain:
		l.send(loopCmd{p: p, drain: true})
	case <-cut:
	}
	select {
	case <-p.done:
	case <-cut:
		l.send(loopCmd{p: p, cut: true})
		<-p.done
	}
	return true
}

// taken is how many sessions the loop took over.
func (l *relayLoop) taken() int64 { return l.started.Load() }

// stop ends every session and the loop thread, and waits for it.
func (l *relayLoop) stop() {
	l.send(loopCmd{stop: true})
	<-l.ended
}

// send queues c for the loop thread; false if the loop has stopped (then
// c was not queued).
func (l *relayLoop) send(c loopCmd) bool {
	l.mu.Lock()
	if l.stopped {
		l.mu.Unlock()
		return false
	}
	if c.stop {
		l.stopped = true
	}
	l.queue = append(l.queue, c)
	l.mu.Unlock()
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1) // the eventfd counter is a host-order uint64
	unix.Write(l.evfd, one[:])
	return true
}

// dupFD returns a close-on-exec duplicate of c's descriptor.
func dupFD(c *net.TCPConn) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	var derr error
	if err := rc.Control(func(s uintptr) { fd, derr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return -1, err
	}
	if derr != nil {
		return -1, derr
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

func (l *relayLoop) run() {
	runtime.LockOSThread() // never unlocked: the thread ends with the loop
	defer close(l.ended)
	events := make([]unix.EpollEvent, 128)
	var lastCheck int64
	for {
		timeout := -1
		if l.idle > 0 && len(l.pairs) > 0 {
			timeout = int(l.idleCheckEvery() / time.Millisecond)
		}
		n, err := l.wait(events, timeout)
		if err != nil && err != unix.EINTR {
			// Not expected for a valid epoll descriptor; end what is open
			// rather than spin.
			l.shutdown()
			return
		}
		now := time.Now().UnixNano()
		for i := 0; i < n; i++ {
			fd := events[i].Fd
			if int(fd) == l.evfd {
				if l.commands() {
					l.shutdown()
					return
				}
				continue
			}
			if s := l.sides[fd]; s != nil {
				l.event(s, events[i].Events, now)
			}
		}
		if l.idle > 0 && now-lastCheck >= int64(l.idleCheckEvery()) {
			lastCheck = now
			for p := range l.pairs {
				if p.ready && now-p.last >= int64(l.idle) {
					l.cut(p)
				}
			}
		}
	}
}

// idleCheckEvery is how often idle sessions are looked for: a quarter of
// the timeout, between 10 ms and a second.
func (l *relayLoop) idleCheckEvery() time.Duration {
	return min(max(l.idle/4, 10*time.Millisecond), time.Second)
}

// wait polls epoll: first for up to loopWaitSpin without telling the
// scheduler (the thread keeps its P), then, if nothing came, as a blocking
// system call that releases the P.
func (l *relayLoop) wait(events []unix.EpollEvent, timeoutMS int) (int, error) {
	spin := l.spinMS
	if timeoutMS >= 0 && timeoutMS < spin {
		spin = timeoutMS
	}
	r, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(l.epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), uintptr(spin), 0, 0)
	if e != 0 {
		return 0, e
	}
	if r > 0 || spin == timeoutMS {
		return int(r), nil
	}
	if timeoutMS > 0 {
		timeoutMS -= spin
	}
	return unix.EpollWait(l.epfd, events, timeoutMS)
}

// commands applies the queued commands; true when the loop must stop.
func (l *relayLoop) commands() bool {
	var b [8]byte
	unix.Read(l.evfd, b[:])
	l.mu.Lock()
	q := l.queue
	l.queue = nil
	l.mu.Unlock()
	stop := false
	for _, c := range q {
		switch {
		case c.stop:
			stop = true
		case c.cut:
			l.cut(c.p)
		case c.drain:
			p := c.p
			p.draining = true
			if p.ready && p.client.pending == nil {
				l.end(p)
			}
		default:
			l.start(c.p)
		}
	}
	return stop
}

func (l *relayLoop) start(p *loopPair) {
	l.pairs[p] = struct{}{}
	for _, s := range []*loopSide{&p.client, &p.upstream} {
		l.sides[int32(s.fd)] = s
		s.mask = unix.EPOLLIN | unix.EPOLLRDHUP
		if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, s.fd, &unix.EpollEvent{Events: s.mask, Fd: int32(s.fd)}); err != nil {
			l.cut(p)
			return
		}
	}
	// A TLS session may hold bytes it read before the loop took it (a
	// query pipelined behind the startup): no event will tell of those.
	now := time.Now().UnixNano()
	for _, s := range []*loopSide{&p.client, &p.upstream} {
		if s.tc != nil {
			l.pump(s, now)
		}
	}
}

// event handles what epoll reported for s.
func (l *relayLoop) event(s *loopSide, ev uint32, now int64) {
	p := s.pair
	if ev&unix.EPOLLOUT != 0 && s.pending != nil {
		if !l.flush(s) || p.closed {
			return
		}
	}
	if ev&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) == 0 {
		return
	}
	if s.peer.pending != nil {
		// Not reading s until its peer takes what it owes; a reset or
		// error on s ends the session now (reading would only find it).
		if ev&(unix.EPOLLHUP|unix.EPOLLERR) != 0 {
			l.cut(p)
		}
		return
	}
	n, err := rawRead(s.fd, l.buf)
	if err == unix.EAGAIN || err == unix.EINTR {
		return
	}
	if n <= 0 || err != nil {
		l.cut(p) // end of stream or an error: the session is over
		return
	}
	if s.tc != nil {
		s.rc.feed(l.buf[:n])
		l.pump(s, now)
		return
	}
	l.forward(s, l.buf[:n], now)
}

// pump forwards what s's TLS session can decrypt from the bytes read so
// far, record by record, until it needs more from the socket or s's peer
// is owed bytes (flush resumes it then).
func (l *relayLoop) pump(s *loopSide, now int64) {
	p := s.pair
	for !p.closed && s.peer.pending == nil {
		n, err := s.tc.Read(l.buf)
		if n > 0 {
			l.forward(s, l.buf[:n], now)
		}
		if err != nil {
			if err != errWouldBlock && !p.closed {
				l.cut(p) // close_notify, an alert or a bad record: the session is over
			}
			return
		}
	}
}

// forward sends b, read from s, to s's peer.
func (l *relayLoop) forward(s *loopSide, b []byte, now int64) {
	p := s.pair
	p.last = now
	// Set before forwarding, as the goroutine relay does: the other side's
	// reaction must find the state these bytes put the session in.
	if s.upstream {
		p.noteUpstream(b)
	} else {
		p.ready = false
	}
	var err error
	if d := s.peer; d.tc != nil {
		_, err = d.tc.Write(b)
	} else {
		_, err = l.rawTo(d, b)
	}
	if err != nil {
		l.cut(p)
		return
	}
	if s.upstream && p.draining && p.ready && s.peer.pending == nil && !p.closed {
		l.end(p)
	}
}

// rawTo writes b to d's socket, and queues what it will not take yet
// (after what is queued already) for EPOLLOUT; an error only when the
// socket failed.
func (l *relayLoop) rawTo(d *loopSide, b []byte) (int, error) {
	if d.pair.closed {
		return 0, net.ErrClosed
	}
	if d.pending != nil {
		*d.pending = append(*d.pending, b...)
		return len(b), nil
	}
	w, err := rawWrite(d.fd, b)
	if err == unix.EAGAIN || err == unix.EINTR {
		w, err = 0, nil
	}
	if err != nil {
		return 0, err
	}
	if w < len(b) {
		bp := bufPool.Get().(*[]byte)
		*bp = append((*bp)[:0], b[w:]...)
		d.pending, d.off = bp, 0
		l.update(d)
		l.update(d.peer)
	}
	return len(b), nil
}

// flush writes what s is owed; false if some is still owed or the session
// ended.
func (l *relayLoop) flush(s *loopSide) bool {
	b := *s.pending
	for s.off < len(b) {
		w, err := rawWrite(s.fd, b[s.off:])
		if err == unix.EAGAIN {
			return false
		}
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			l.cut(s.pair)
			return false
		}
		s.off += w
	}
	l.putPending(s)
	if s == &s.pair.client && s.pair.draining && s.pair.ready {
		l.end(s.pair) // the boundary has reached the client
		return false
	}
	l.update(s)
	l.update(s.peer)
	if src := s.peer; src.tc != nil && !s.pair.closed {
		l.pump(src, time.Now().UnixNano()) // what src's TLS session held back while s was owed bytes
	}
	return !s.pair.closed
}

func (l *relayLoop) putPending(s *loopSide) {
	if s.pending != nil {
		*s.pending = (*s.pending)[:cap(*s.pending)]
		bufPool.Put(s.pending)
		s.pending, s.off = nil, 0
	}
}

// update registers the events s waits for: readable unless its peer is
// still owed bytes (backpressure), writable while s is owed some.
func (l *relayLoop) update(s *loopSide) {
	var mask uint32
	if s.peer.pending == nil {
		mask |= unix.EPOLLIN | unix.EPOLLRDHUP
	}
	if s.pending != nil {
		mask |= unix.EPOLLOUT
	}
	if s.mask == mask || s.pair.closed {
		return
	}
	s.mask = mask
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_MOD, s.fd, &unix.EpollEvent{Events: mask, Fd: int32(s.fd)}); err != nil {
		l.cut(s.pair)
	}
}

// cut ends p: a TLS leg's peer told with close_notify (as closing the
// tls.Conn does on the goroutine relay; best effort, never waiting on a
// full socket), both descriptors closed, its waiter told.
func (l *relayLoop) cut(p *loopPair) {
	if p.closed {
		return
	}
	for _, s := range []*loopSide{&p.client, &p.upstream} {
		if s.tc != nil && s.pending == nil {
			s.tc.CloseWrite()
		}
	}
	p.closed = true
	for _, s := range []*loopSide{&p.client, &p.upstream} {
		if l.sides[int32(s.fd)] == s {
			unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, s.fd, nil)
			delete(l.sides, int32(s.fd))
		}
		unix.Close(s.fd)
		l.putPending(s)
	}
	delete(l.pairs, p)
	close(p.done)
}

// end ends p at a message boundary (Shutdown): 57P01 to the client,
// Terminate to the upstream backend, so that it exits now. Both sockets
// are non-blocking; a peer that cannot take a few bytes is cut all the same.
func (l *relayLoop) end(p *loopPair) {
	if p.closed {
		return
	}
	for _, m := range []struct {
		s *loopSide
		b []byte
	}{{&p.client, shutdownError}, {&p.upstream, terminateMessage}} {
		if m.s.tc != nil {
			m.s.tc.Write(m.b)
		} else {
			rawWrite(m.s.fd, m.b)
		}
	}
	l.cut(p)
}

// shutdown ends every session and releases the loop's descriptors; queued
// sessions not yet started are ended too.
func (l *relayLoop) shutdown() {
	l.mu.Lock()
	l.stopped = true
	q := l.queue
	l.queue = nil
	l.mu.Unlock()
	for _, c := range q {
		if c.p != nil {
			l.cut(c.p)
		}
	}
	for p := range l.pairs {
		l.cut(p)
	}
	unix.Close(l.epfd)
	unix.Close(l.evfd)
}

// noteUpstream keeps the stream's last six bytes and whether they are a
// ReadyForQuery.
func (p *loopPair) noteUpstream(b []byte) {
	n := len(b)
	if n >= len(p.tail) {
		copy(p.tail[:], b[n-len(p.tail):])
	} else {
		copy(p.tail[:], p.tail[n:])
		copy(p.tail[len(p.tail)-n:], b)
	}
	p.ready = isReadyForQuery(p.tail)
}

// rawRead and rawWrite are read(2) and write(2) without the scheduler's
// bookkeeping: the sockets are non-blocking, so they return at once.
func rawRead(fd int, b []byte) (int, error) {
	r, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

func rawWrite(fd int, b []byte) (int, error) {
	r, _, e := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}
