package pagetoken

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func newCodec(now *time.Time) *Codec {
	return &Codec{Key: key(1), Clock: func() time.Time { return *now }, TTL: time.Hour}
}

func mustNew(t *testing.T, c *Codec, op, account, region, after string) string {
	t.Helper()
	tok, err := c.New(op, account, region, after)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestRoundTripAndRefusals(t *testing.T) {
	now := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	c := newCodec(&now)
	tok := mustNew(t, c, "ListWorkgroups", "123456789012", "us-east-1", "rs/123456789012/us-east-1/wg/demo")
	p, err := c.DecodeFor(tok, "ListWorkgroups", "123456789012", "us-east-1")
	if err != nil || p.After != "rs/123456789012/us-east-1/wg/demo" {
		t.Fatalf("round trip: %+v %v", p, err)
	}
	for i := 0; i < len(tok); i++ {
		b := []byte(tok)
		b[i] ^= 0x01
		if _, err := c.Decode(string(b)); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("flipped byte %d: %v", i, err)
		}
	}
	for n := 0; n < len(tok); n++ {
		if _, err := c.Decode(tok[:n]); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("truncation to %d: %v", n, err)
		}
	}
	if _, err := (&Codec{Key: key(2), Clock: c.Clock}).Decode(tok); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("other key: %v", err)
	}
	for _, w := range [][3]string{{"ListNamespaces", "123456789012", "us-east-1"}, {"ListWorkgroups", "210987654321", "us-east-1"}, {"ListWorkgroups", "123456789012", "eu-west-1"}} {
		if _, err := c.DecodeFor(tok, w[0], w[1], w[2]); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("foreign token for %v: %v", w, err)
		}
	}
	now = now.Add(time.Hour)
	if _, err := c.Decode(tok); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("expired token: %v", err)
	}
}

// TestOpaque: neither the token text nor its bytes show what it holds.
func TestOpaque(t *testing.T) {
	now := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	c := newCodec(&now)
	const after = "rs/123456789012/us-east-1/ns/secret-name"
	tok := mustNew(t, c, "ListNamespaces", "123456789012", "us-east-1", after)
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		t.Fatalf("token is not base64url: %v", err)
	}
	for _, s := range []string{"123456789012", "us-east-1", "ListNamespaces", "secret-name", "rs/", `"k"`, "2026"} {
		if strings.Contains(tok, s) || bytes.Contains(raw, []byte(s)) {
			t.Errorf("token reveals %q", s)
		}
	}
	// Fresh nonce per token: the same page twice gives unrelated texts.
	if again := mustNew(t, c, "ListNamespaces", "123456789012", "us-east-1", after); again == tok {
		t.Fatal("two tokens for one page are identical")
	}
}

// TestBadKeyIsNotAClientError: a misconfigured codec fails loudly rather
// than calling every token invalid.
func TestBadKeyIsNotAClientError(t *testing.T) {
	c := &Codec{Key: []byte("short")}
	if _, err := c.New("ListNamespaces", "123456789012", "us-east-1", "x"); err == nil {
		t.Fatal("a 5-byte key sealed a token")
	}
	if _, err := c.Decode("anything"); err == nil || errors.Is(err, ErrInvalidToken) {
		t.Fatalf("bad key on decode: %v", err)
	}
}
