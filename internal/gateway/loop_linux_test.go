//go:build linux

package gateway

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"
)

// loopSession starts one session on l: client and upstream are the outer
// ends; ended is closed when relay returns.
func loopSession(t testing.TB, l *relayLoop, cut <-chan struct{}) (client, upstream *net.TCPConn, ended chan struct{}) {
	t.Helper()
	client, gwClient := tcpPair(t)
	upstream, gwUpstream := tcpPair(t)
	ended = make(chan struct{})
	handled := make(chan bool, 1)
	go func() {
		defer close(ended)
		handled <- l.relay(loopEnd{tcp: gwClient}, loopEnd{tcp: gwUpstream}, nil, cut)
	}()
	select {
	case ok := <-handled:
		if !ok {
			t.Fatal("the loop did not take the session")
		}
		<-ended // relay only returns at the end; reaching here is a bug
		t.Fatal("relay returned at once")
	case <-time.After(50 * time.Millisecond):
	}
	return client, upstream, ended
}

func newTestLoop(t testing.TB, idle time.Duration) *relayLoop {
	t.Helper()
	l, err := newRelayLoop(idle)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.stop)
	return l
}

// TestLoopRelaysBothWays: many sessions at once, each moving large random
// streams both ways with a reader that is slower than the writer, so the
// loop must hold bytes back (partial writes) and stop reading the sender;
// every byte arrives, in order, in the right session.
func TestLoopRelaysBothWays(t *testing.T) {
	t.Parallel()
	l := newTestLoop(t, 0)
	const sessions = 16
	var wg sync.WaitGroup
	errs := make(chan error, 4*sessions)
	for i := range sessions {
		client, upstream, ended := loopSession(t, l, nil)
		size := 1<<20 + i*4099
		if i%4 == 0 {
			size = 8 << 20
		}
		stream := func(src, dst *net.TCPConn, seed uint64) {
			defer wg.Done()
			data := make([]byte, size)
			r := rand.New(rand.NewPCG(seed, uint64(i)))
			for j := range data {
				data[j] = byte(r.Uint32())
			}
			want := sha256.Sum256(data)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for off := 0; off < len(data); {
					n := min(len(data)-off, 1+r.IntN(70000))
					if _, err := src.Write(data[off : off+n]); err != nil {
						errs <- err
						return
					}
					off += n
				}
			}()
			h := sha256.New()
			buf := make([]byte, 4096)
			dst.SetReadDeadline(time.Now().Add(60 * time.Second))
			for got := 0; got < size; {
				if i%2 == 0 && got%(256<<10) < 4096 {
					time.Sleep(2 * time.Millisecond) // a slow reader
				}
				n, err := dst.Read(buf[:min(len(buf), size-got)])
				if err != nil {
					errs <- err
					return
				}
				h.Write(buf[:n])
				got += n
			}
			if !bytes.Equal(h.Sum(nil), want[:]) {
				errs <- errors.New("stream corrupted")
			}
		}
		wg.Add(2)
		go stream(client, upstream, 1)
		go stream(upstream, client, 2)
		t.Cleanup(func() { client.Close(); <-ended })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestLoopEndsWithEitherSide: a close on either end closes the other and
// ends relay; bytes sent just before the close still arrive.
func TestLoopEndsWithEitherSide(t *testing.T) {
	t.Parallel()
	l := newTestLoop(t, 0)
	for _, clientCloses := range []bool{true, false} {
		client, upstream, ended := loopSession(t, l, nil)
		closer, other := upstream, client
		if clientCloses {
			closer, other = client, upstream
		}
		closer.Write([]byte("X\x00\x00\x00\x04"))
		closer.Close()
		other.SetReadDeadline(time.Now().Add(5 * time.Second))
		got, err := io.ReadAll(other)
		if err != nil || string(got) != "X\x00\x00\x00\x04" {
			t.Fatalf("client closes %v: got %q, %v; want the last bytes, then end of stream", clientCloses, got, err)
		}
		waitEnded(t, ended, "relay did not return after a close")
	}
}

// TestLoopCutAndStop: the cut channel ends one session; stop ends the
// rest, and afterwards relay declines, leaving the connections as they were.
func TestLoopCutAndStop(t *testing.T) {
	t.Parallel()
	l, err := newRelayLoop(0)
	if err != nil {
		t.Fatal(err)
	}
	cut := make(chan struct{})
	c1, _, ended1 := loopSession(t, l, cut)
	c2, _, ended2 := loopSession(t, l, nil)
	close(cut)
	waitEnded(t, ended1, "cut did not end the session")
	c1.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c1.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("cut session: client read %v, want EOF", err)
	}
	select {
	case <-ended2:
		t.Fatal("cutting one session ended another")
	default:
	}
	l.stop()
	waitEnded(t, ended2, "stop did not end the session")
	c2.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c2.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("after stop: client read %v, want EOF", err)
	}
	a, b := tcpPair(t)
	_, d := tcpPair(t)
	if l.relay(loopEnd{tcp: b}, loopEnd{tcp: d}, nil, nil) {
		t.Fatal("a stopped loop took a session")
	}
	if _, err := b.Write([]byte("x")); err != nil {
		t.Fatalf("declined connection was touched: %v", err)
	}
	a.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := a.Read(make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
}

// TestLoopReleasesDescriptors: after many sessions, the process holds as
// many descriptors as before.
func TestLoopReleasesDescriptors(t *testing.T) {
	l := newTestLoop(t, 0)
	count := func() int {
		ents, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Fatal(err)
		}
		return len(ents)
	}
	runtimeSettle := func() { time.Sleep(100 * time.Millisecond) }
	runtimeSettle()
	before := count()
	for range 3 {
		var ends []chan struct{}
		var clients []*net.TCPConn
		for range 20 {
			c, u, ended := loopSession(t, l, nil)
			ends = append(ends, ended)
			clients = append(clients, c, u)
		}
		for _, c := range clients {
			c.Close()
		}
		for _, e := range ends {
			<-e
		}
	}
	runtimeSettle()
	if after := count(); after > before {
		t.Fatalf("descriptors: %d before, %d after 60 sessions", before, after)
	}
}

// TestLoopSpinNeedsTwoPs: with a single P the loop never waits holding it
// (every other goroutine would wait with it); with more it polls briefly
// first, and still relays either way.
func TestLoopSpinNeedsTwoPs(t *testing.T) {
	for _, procs := range []int{1, 2} {
		prev := runtime.GOMAXPROCS(procs)
		l := newTestLoop(t, 0)
		runtime.GOMAXPROCS(prev)
		want := 0
		if procs > 1 {
			want = int(loopWaitSpin / time.Millisecond)
		}
		if l.spinMS != want {
			t.Fatalf("GOMAXPROCS %d: spin %d ms, want %d", procs, l.spinMS, want)
		}
		client, upstream, _ := loopSession(t, l, nil)
		client.Write([]byte("ping"))
		got := make([]byte, 4)
		upstream.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(upstream, got); err != nil || string(got) != "ping" {
			t.Fatalf("GOMAXPROCS %d: relayed %q, %v", procs, got, err)
		}
	}
}
