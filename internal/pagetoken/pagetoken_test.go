package pagetoken

import (
	"testing"
	"time"
)

func TestRoundTripAndRefusals(t *testing.T) {
	now := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	c := &Codec{Key: []byte("k1"), Now: func() time.Time { return now }, TTL: time.Hour}
	tok := c.New("ListWorkgroups", "123456789012", "us-east-1", "demo")
	p, err := c.DecodeFor(tok, "ListWorkgroups", "123456789012", "us-east-1")
	if err != nil || p.After != "demo" {
		t.Fatalf("round trip: %+v %v", p, err)
	}
	for i := 0; i < len(tok); i++ {
		b := []byte(tok)
		b[i] ^= 0x01
		if _, err := c.Decode(string(b)); err == nil {
			t.Fatalf("flipped byte %d accepted", i)
		}
	}
	for n := 0; n < len(tok); n++ {
		if _, err := c.Decode(tok[:n]); err == nil {
			t.Fatalf("truncation to %d accepted", n)
		}
	}
	if _, err := (&Codec{Key: []byte("k2"), Now: c.Now}).Decode(tok); err == nil {
		t.Fatal("other key accepted")
	}
	for _, w := range [][3]string{{"ListNamespaces", "123456789012", "us-east-1"}, {"ListWorkgroups", "210987654321", "us-east-1"}, {"ListWorkgroups", "123456789012", "eu-west-1"}} {
		if _, err := c.DecodeFor(tok, w[0], w[1], w[2]); err == nil {
			t.Fatalf("foreign token accepted for %v", w)
		}
	}
	now = now.Add(2 * time.Hour)
	if _, err := c.Decode(tok); err == nil {
		t.Fatal("expired token accepted")
	}
}
