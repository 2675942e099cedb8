package seal

import (
	"bytes"
	"testing"
)

func TestSealOpen(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	a, _ := New(key, "session-token", "IQo")
	b, _ := New(key, "context-assertion", "IQo")
	type claims struct{ User string }
	tok, err := a.Seal(claims{"alice"})
	if err != nil {
		t.Fatal(err)
	}
	var got claims
	if err := a.Open(tok, &got); err != nil || got.User != "alice" {
		t.Fatalf("%v %+v", err, got)
	}
	if err := b.Open(tok, &got); err != ErrInvalid {
		t.Fatal("opened under another purpose")
	}
	for i := 0; i < len(tok); i++ {
		m := []byte(tok)
		m[i] ^= 1
		if err := a.Open(string(m), &got); err == nil {
			t.Fatalf("byte %d flipped still opens", i)
		}
	}
	for n := 0; n < len(tok); n++ {
		if err := a.Open(tok[:n], &got); err == nil {
			t.Fatalf("truncated to %d opens", n)
		}
	}
}
