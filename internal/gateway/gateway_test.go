package gateway

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
)

type refuseAll struct{}

func (refuseAll) Authenticate(context.Context, AuthRequest) (*Login, error) {
	return nil, ErrBadToken
}

func testGateway() *Gateway {
	return newGateway(Config{LoginTimeout: time.Second, Insecure: true, Auth: refuseAll{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, nil)
}

// scriptConn is a net.Conn whose peer sends exactly script and then closes
// its side: the gateway sees EOF right after the input instead of waiting
// out the login timeout, which keeps the fuzzer at thousands of runs a second.
type scriptConn struct {
	in  *bytes.Reader
	out bytes.Buffer
}

func (c *scriptConn) Read(p []byte) (int, error)  { return c.in.Read(p) }
func (c *scriptConn) Write(p []byte) (int, error) { return c.out.Write(p) }
func (c *scriptConn) Close() error                { return nil }
func (c *scriptConn) LocalAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5439}
}
func (c *scriptConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
}
func (c *scriptConn) SetDeadline(time.Time) error      { return nil }
func (c *scriptConn) SetReadDeadline(time.Time) error  { return nil }
func (c *scriptConn) SetWriteDeadline(time.Time) error { return nil }

// run feeds input to one gateway connection and returns what it answered.
func run(input []byte) []byte {
	c := &scriptConn{in: bytes.NewReader(input)}
	done := make(chan struct{})
	go func() { testGateway().handle(c); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		panic("gateway connection did not finish after its input ended")
	}
	return c.out.Bytes()
}

func TestWorkgroupOption(t *testing.T) {
	t.Parallel()
	cases := map[string]string{"-c workgroup=demo": "demo", "--workgroup=two -c x=y": "two", "-cworkgroup=w": "w", "-c search_path=x": ""}
	for opt, want := range cases {
		if got := workgroupOption(map[string]string{"options": opt}); got != want {
			t.Errorf("%q: %q, want %q", opt, got, want)
		}
	}
	if got := stripWorkgroupOption("-c workgroup=demo -c search_path=x"); got != "-c search_path=x" {
		t.Errorf("strip: %q", got)
	}
	if plainVersion("15.18 (Debian 15.18-0+deb12u1)") != "15.18" || plainVersion("16.4") != "16.4" {
		t.Error("plainVersion")
	}
}

func TestRefusesBadTokenBothWays(t *testing.T) {
	t.Parallel()
	start := func(params map[string]string) []byte {
		b, _ := (&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30, Parameters: params}).Encode(nil)
		return b
	}
	pw := append(start(map[string]string{"user": "u", "database": "d"}), 'p', 0, 0, 0, 8, 'x', 'y', 'z', 0)
	out := run(pw)
	if len(out) < 9 || out[0] != 'R' || out[8] != 3 || out[9] != 'E' {
		t.Fatalf("cleartext path answered %q", out)
	}
	idp := append(start(map[string]string{"user": "", "idp_type": "AwsIdc"}), 'i', 0, 0, 0, 7, 'x', 'y', 'z')
	out = run(idp)
	if len(out) < 10 || string(out[:9]) != "R\x00\x00\x00\x08\x00\x00\x00\x0e" || out[9] != 'E' {
		t.Fatalf("idp path answered %q", out)
	}
}

func FuzzStartup(f *testing.F) {
	b, _ := (&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30, Parameters: map[string]string{"user": "u", "idp_type": "AwsIdc"}}).Encode(nil)
	f.Add(append(b, 'i', 0, 0, 0, 5, 'x'))
	ssl, _ := (&pgproto3.SSLRequest{}).Encode(nil)
	f.Add(ssl)
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	f.Add([]byte{0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f})
	// A newer minor version with a protocol option: negotiated down to 3.0.
	b32, _ := (&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion32, Parameters: map[string]string{"user": "u", "_pq_.x": "1"}}).Encode(nil)
	f.Add(append(b32, 'p', 0, 0, 0, 5, 0))
	f.Fuzz(func(t *testing.T, in []byte) {
		run(in) // must neither panic nor hang
	})
}
