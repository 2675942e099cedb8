package gateway

import (
	"io"
	"net"
	"runtime"
	"testing"
	"time"
)

// tcpPair returns both ends of a loopback TCP connection: outer for the
// test to speak on, inner for the relay.
func tcpPair(t testing.TB) (outer, inner *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	acc := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		acc <- c
	}()
	o, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	i := <-acc
	if i == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { o.Close(); i.Close() })
	return o.(*net.TCPConn), i.(*net.TCPConn)
}

// TestRelayKindsIdleTail runs the idle rule (a ReadyForQuery ends the
// upstream's turn, even split across reads; other output does not) on both
// relays over TCP.
func TestRelayKindsIdleTail(t *testing.T) {
	t.Parallel()
	for _, goroutines := range []bool{false, true} {
		name := map[bool]string{false: "event loop", true: "goroutines"}[goroutines]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			newG := func(idle time.Duration) *Gateway {
				g := newGateway(Config{IdleTimeout: idle, GoroutineRelay: goroutines}, nil)
				t.Cleanup(func() {
					if g.loop != nil {
						g.loop.stop()
					}
				})
				return g
			}
			g := newG(200 * time.Millisecond)
			// The client answers after the upstream's ReadyForQuery reached
			// it; on loaded cores (-race) that can take longer than 200 ms,
			// and then closing is right. The case of the client's answer
			// gives the client a timeout it cannot miss.
			slow := newG(time.Second)
			// run starts a relay, has the upstream send its parts in
			// separate writes, and returns once the client has received
			// them all: a real client answers only what reached it, so
			// the relay has seen the upstream's turn before the client's.
			run := func(t *testing.T, g *Gateway, upstreamSends ...string) (client, upstream *net.TCPConn, ended chan struct{}) {
				client, gwClient := tcpPair(t)
				upstream, gwUpstream := tcpPair(t)
				ended = make(chan struct{})
				go func() { g.relay(gwClient, gwUpstream); close(ended) }()
				total := 0
				for _, b := range upstreamSends {
					total += len(b)
				}
				received := make(chan error, 1)
				go func() {
					_, err := io.ReadFull(client, make([]byte, total))
					received <- err
					io.Copy(io.Discard, client)
				}()
				for _, b := range upstreamSends {
					if _, err := upstream.Write([]byte(b)); err != nil {
						t.Fatal(err)
					}
					time.Sleep(20 * time.Millisecond) // separate reads
				}
				select {
				case err := <-received:
					if err != nil {
						t.Fatalf("client did not receive the upstream's output: %v", err)
					}
				case <-time.After(5 * time.Second):
					t.Fatal("client did not receive the upstream's output")
				}
				return client, upstream, ended
			}
			t.Run("split ReadyForQuery then silence: idle", func(t *testing.T) {
				start := time.Now()
				_, _, ended := run(t, g, "C\x00\x00\x00\x0bSELECT 1\x00Z\x00\x00", "\x00\x05T")
				waitEnded(t, ended, "idle session not closed")
				if took := time.Since(start); took < 200*time.Millisecond {
					t.Fatalf("closed after %v, before the idle timeout", took)
				}
			})
			t.Run("output without ReadyForQuery then silence: busy", func(t *testing.T) {
				client, upstream, ended := run(t, g, "N\x00\x00\x00\x06x\x00")
				select {
				case <-ended:
					t.Fatal("busy session closed by the idle timeout")
				case <-time.After(800 * time.Millisecond): // four idle timeouts
				}
				client.Write([]byte("still here"))
				got := make([]byte, 10)
				upstream.SetReadDeadline(time.Now().Add(3 * time.Second))
				if _, err := io.ReadFull(upstream, got); err != nil || string(got) != "still here" {
					t.Fatalf("relay after the busy wait: %q %v", got, err)
				}
			})
			t.Run("client bytes after ReadyForQuery: busy again", func(t *testing.T) {
				client, upstream, ended := run(t, slow, "Z\x00\x00\x00\x05I")
				client.Write([]byte("Q\x00\x00\x00\x0dSELECT 1\x00"))
				upstream.SetReadDeadline(time.Now().Add(3 * time.Second))
				if _, err := io.ReadFull(upstream, make([]byte, 14)); err != nil {
					t.Fatal(err)
				}
				select {
				case <-ended:
					t.Fatal("session closed while the upstream owed an answer")
				case <-time.After(2500 * time.Millisecond): // two and a half idle timeouts
				}
			})
			if !goroutines && runtime.GOOS == "linux" && (g.relayLoop().taken() == 0 || slow.relayLoop().taken() == 0) {
				t.Fatal("the event loop relayed nothing")
			}
		})
	}
}

func waitEnded(t *testing.T, ended <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal(what)
	}
}
