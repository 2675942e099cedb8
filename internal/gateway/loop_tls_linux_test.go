//go:build linux

package gateway

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"
)

// tlsLegs returns a session's two legs over loopback TCP with TLS on both,
// handshakes done, as the gateway makes them: its ends (gwClient, the
// server side of the client's leg; gwUpstream, the client side of the
// upstream's) over relayConns, the test's ends (client, upstream) plain
// tls.Conns.
// small shrinks the client leg's socket buffers, so the loop's writes to
// the client find it full at once.
func tlsLegs(t *testing.T, small bool) (client, gwClient, gwUpstream, upstream *tls.Conn) {
	t.Helper()
	return tlsLegsWith(t, small, nil)
}

// tlsLegsWith is tlsLegs with the test's end of the client leg made by
// clientLeg (its transport and TLS settings) when that is not nil.
func tlsLegsWith(t *testing.T, small bool, clientLeg func(net.Conn, *tls.Config) (net.Conn, *tls.Config)) (client, gwClient, gwUpstream, upstream *tls.Conn) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	server := &tls.Config{Certificates: []tls.Certificate{cert}}
	clientCfg := &tls.Config{InsecureSkipVerify: true}
	handshake := func(a, b *tls.Conn) {
		errs := make(chan error, 2)
		go func() { errs <- a.Handshake() }()
		go func() { errs <- b.Handshake() }()
		for range 2 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
	}
	o, i := tcpPair(t)
	if small {
		o.SetReadBuffer(4096)
		i.SetWriteBuffer(4096)
	}
	var co net.Conn = o
	cc := clientCfg
	if clientLeg != nil {
		co, cc = clientLeg(o, clientCfg.Clone())
	}
	client, gwClient = tls.Client(co, cc), tls.Server(&relayConn{Conn: i}, server)
	handshake(client, gwClient)
	o, i = tcpPair(t)
	upstream, gwUpstream = tls.Server(o, server), tls.Client(&relayConn{Conn: i}, clientCfg)
	handshake(upstream, gwUpstream)
	return client, gwClient, gwUpstream, upstream
}

// pattern is n bytes of a stream that tells its positions apart.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) ^ seed ^ byte(i>>9)
	}
	return b
}

// The event loop relays sessions whose legs are TLS: bytes a TLS session
// held before the loop took it, large transfers both ways at once with a
// slow reader (the loop queues what a socket will not take and resumes the
// records it held back), a drain at a message boundary (57P01 and
// Terminate, encrypted), and a close.
func TestLoopRelaysTLS(t *testing.T) {
	t.Parallel()
	start := func(t *testing.T, small bool) (g *Gateway, client, upstream *tls.Conn, ended chan struct{}) {
		g = newGateway(Config{}, nil)
		t.Cleanup(func() {
			if g.loop != nil {
				g.loop.stop()
			}
		})
		client, gwClient, gwUpstream, upstream := tlsLegs(t, small)
		// A query pipelined behind what the gateway read itself: the
		// client's TLS session holds its rest when the loop takes over.
		if _, err := client.Write([]byte("Qpipelined")); err != nil {
			t.Fatal(err)
		}
		first := make([]byte, 1)
		if _, err := io.ReadFull(gwClient, first); err != nil || first[0] != 'Q' {
			t.Fatalf("gateway's own read: %q %v", first, err)
		}
		ended = make(chan struct{})
		go func() { g.relay(gwClient, gwUpstream); close(ended) }()
		deadline := time.Now().Add(20 * time.Second)
		client.SetDeadline(deadline)
		upstream.SetDeadline(deadline)
		got := make([]byte, len("pipelined"))
		if _, err := io.ReadFull(upstream, got); err != nil || string(got) != "pipelined" {
			t.Fatalf("upstream got %q %v, want the bytes held before the loop took over", got, err)
		}
		if loop := g.relayLoop(); loop == nil || loop.taken() == 0 {
			t.Fatal("the event loop did not take the TLS session")
		}
		return g, client, upstream, ended
	}

	t.Run("large transfers both ways, slow reader", func(t *testing.T) {
		t.Parallel()
		_, client, upstream, ended := start(t, false)
		down, up := pattern(6<<20, 1), pattern(2<<20, 2)
		var wg sync.WaitGroup
		var gotDown, gotUp []byte
		var errDown, errUp error
		wg.Add(4)
		go func() { defer wg.Done(); _, errDown = upstream.Write(down) }()
		go func() { defer wg.Done(); _, errUp = client.Write(up) }()
		go func() {
			defer wg.Done()
			time.Sleep(200 * time.Millisecond) // let the client's socket fill: the loop must queue
			gotDown = make([]byte, len(down))
			_, err := io.ReadFull(client, gotDown)
			if err != nil {
				errDown = err
			}
		}()
		go func() {
			defer wg.Done()
			gotUp = make([]byte, len(up))
			if _, err := io.ReadFull(upstream, gotUp); err != nil {
				errUp = err
			}
		}()
		wg.Wait()
		if errDown != nil || errUp != nil {
			t.Fatalf("transfers: down %v, up %v", errDown, errUp)
		}
		if sha256.Sum256(gotDown) != sha256.Sum256(down) || sha256.Sum256(gotUp) != sha256.Sum256(up) {
			t.Fatal("bytes changed on the way")
		}
		client.Close()
		waitEnded(t, ended, "relay did not end when the client left")
		upstream.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, err := upstream.Read(make([]byte, 1)); n != 0 || err == nil {
			t.Fatalf("upstream after the client left: %d, %v; want the connection closed", n, err)
		}
	})

	// Many small records in one read of the socket, to a client whose
	// socket is full after a few: the loop holds the rest in the TLS
	// session, with no more bytes coming from the upstream's socket to
	// wake it, and must forward them once the client takes what it owes.
	t.Run("records held back while the client is owed bytes", func(t *testing.T) {
		t.Parallel()
		_, client, upstream, ended := start(t, true)
		var want []byte
		for i := range 64 {
			rec := pattern(1000, byte(i))
			want = append(want, rec...)
			if _, err := upstream.Write(rec); err != nil { // one record each
				t.Fatal(err)
			}
		}
		time.Sleep(200 * time.Millisecond) // every record read by the loop, the client's socket full
		got := make([]byte, len(want))
		if _, err := io.ReadFull(client, got); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("client got %d bytes (%v), equal %v", len(got), err, bytes.Equal(got, want))
		}
		client.Close()
		waitEnded(t, ended, "relay did not end when the client left")
	})

	t.Run("drain at a message boundary", func(t *testing.T) {
		t.Parallel()
		g, client, upstream, ended := start(t, false)
		query := "Q\x00\x00\x00\x0dSELECT 1\x00"
		client.Write([]byte(query))
		got := make([]byte, len(query))
		if _, err := io.ReadFull(upstream, got); err != nil || string(got) != query {
			t.Fatalf("upstream got %q %v", got, err)
		}
		startDrain(g)
		answer := "C\x00\x00\x00\x0dSELECT 1\x00Z\x00\x00\x00\x05I"
		upstream.Write([]byte(answer))
		toClient, err := io.ReadAll(client)
		if err != nil {
			t.Fatalf("client read: %v", err)
		}
		if want := answer + string(shutdownError); string(toClient) != want {
			t.Fatalf("client got %q\nwant %q", toClient, want)
		}
		toUpstream, err := io.ReadAll(upstream)
		if err != nil || !bytes.Equal(toUpstream, terminateMessage) {
			t.Fatalf("upstream got %q %v after the answer, want Terminate", toUpstream, err)
		}
		waitEnded(t, ended, "relay did not return")
	})
}

// recordingConn keeps every byte read through it.
type recordingConn struct {
	net.Conn
	mu  sync.Mutex
	got []byte
}

func (c *recordingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.mu.Lock()
	c.got = append(c.got, b[:n]...)
	c.mu.Unlock()
	return n, err
}

// lastRecordType walks b as TLS records and returns the last one's
// content type (21: an alert).
func lastRecordType(b []byte) (byte, bool) {
	var typ byte
	for len(b) >= 5 {
		n := 5 + int(b[3])<<8 | int(b[4])
		if n > len(b) {
			return 0, false
		}
		typ, b = b[0], b[n:]
	}
	return typ, len(b) == 0 && typ != 0
}

// When the upstream leaves, both relays end the client's TLS session
// with close_notify, not a bare TCP close (which libpq and OpenSSL report
// as an unexpected EOF). TLS 1.2 on the client leg, where an alert record
// shows its type.
func TestRelaysSendCloseNotify(t *testing.T) {
	t.Parallel()
	for _, goroutines := range []bool{false, true} {
		t.Run(map[bool]string{false: "event loop", true: "goroutines"}[goroutines], func(t *testing.T) {
			t.Parallel()
			g := newGateway(Config{GoroutineRelay: goroutines}, nil)
			t.Cleanup(func() {
				if g.loop != nil {
					g.loop.stop()
				}
			})
			var rec *recordingConn
			client, gwClient, gwUpstream, upstream := tlsLegsWith(t, false, func(c net.Conn, cfg *tls.Config) (net.Conn, *tls.Config) {
				rec = &recordingConn{Conn: c}
				cfg.MaxVersion = tls.VersionTLS12
				return rec, cfg
			})
			ended := make(chan struct{})
			go func() { g.relay(gwClient, gwUpstream); close(ended) }()
			if _, err := upstream.Write([]byte("Z\x00\x00\x00\x05I")); err != nil {
				t.Fatal(err)
			}
			client.SetReadDeadline(time.Now().Add(10 * time.Second))
			got := make([]byte, 6)
			if _, err := io.ReadFull(client, got); err != nil {
				t.Fatal(err)
			}
			rec.mu.Lock()
			rec.got = nil // the handshake and the first record
			rec.mu.Unlock()
			upstream.Close()
			if rest, err := io.ReadAll(client); err != nil || len(rest) != 0 {
				t.Fatalf("client after the upstream left: %q %v", rest, err)
			}
			waitEnded(t, ended, "relay did not end when the upstream left")
			rec.mu.Lock()
			typ, ok := lastRecordType(rec.got)
			rec.mu.Unlock()
			if !ok || typ != 21 {
				t.Fatalf("the client's leg ended with record type %d (whole records: %v), want an alert (close_notify)", typ, ok)
			}
			if !goroutines && g.relayLoop().taken() == 0 {
				t.Fatal("the event loop relayed nothing")
			}
		})
	}
}
