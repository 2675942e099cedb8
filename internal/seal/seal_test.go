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

// TestEveryCharacterChangeRefused: replacing any character with any other
// base64url character, including the last one whose low bits are unused,
// does not open.
func TestEveryCharacterChangeRefused(t *testing.T) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	a, _ := New(bytes.Repeat([]byte{7}, 32), "session-token", "IQo")
	// Three payload lengths cover every length mod 3, so some tokens end in
	// a character with unused bits.
	for _, user := range []string{"al", "ali", "alic"} {
		tok, err := a.Seal(struct{ User string }{user})
		if err != nil {
			t.Fatal(err)
		}
		var got struct{ User string }
		for i := len("IQo"); i < len(tok); i++ {
			for _, c := range []byte(alphabet) {
				if c == tok[i] {
					continue
				}
				m := []byte(tok)
				m[i] = c
				if a.Open(string(m), &got) == nil {
					t.Fatalf("%s: character %d changed to %q still opens", user, i, c)
				}
			}
		}
	}
}

// A sealed token with CR or LF inserted anywhere is refused: encoding/base64
// alone would skip them and open the genuine bytes.
func TestLineBreaksRefused(t *testing.T) {
	b, _ := New(bytes.Repeat([]byte{7}, 32), "session-token", "IQo")
	tok, err := b.Seal(map[string]string{"u": "alice"})
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]string
	for i := len("IQo"); i <= len(tok); i++ {
		for _, c := range []string{"\r", "\n"} {
			if err := b.Open(tok[:i]+c+tok[i:], &v); err == nil {
				t.Fatalf("%q inserted at %d opened", c, i)
			}
		}
	}
	if err := b.Open(tok, &v); err != nil || v["u"] != "alice" {
		t.Fatalf("genuine token: %v %v", v, err)
	}
}
