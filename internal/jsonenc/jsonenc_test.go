package jsonenc

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
)

// TestAppendStringEqualsMarshal: every escape, HTML-safe characters,
// invalid UTF-8, U+2028/2029 and random bytes encode as encoding/json does.
func TestAppendStringEqualsMarshal(t *testing.T) {
	cases := []string{"", "plain", "a\"b\\c", "\b\f\n\r\t\x00\x1f", "<a href='x'>&amp;</a>", "\xff\xfe bad", "é ü 日本", "\u2028\u2029", "\x7f", "ends with \xe2\x82", "IDC2.abc+/=_-", "\x00\x1f\x7f", "é", "\xff"}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		b := make([]byte, r.IntN(24))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		cases = append(cases, string(b))
	}
	// Longer, mostly plain strings (the word-at-a-time path), with an
	// occasional byte that needs a look at any offset.
	specials := []string{"\"", "\\", "<", ">", "&", "\n", "\x00", "\x1f", " ", "\x7f", "é", "\u2028", "\xff"}
	for range 20000 {
		var b []byte
		for n := r.IntN(80); len(b) < n; {
			if r.IntN(12) == 0 {
				b = append(b, specials[r.IntN(len(specials))]...)
			} else {
				b = append(b, byte(0x21+r.IntN(0x7f-0x21)))
			}
		}
		cases = append(cases, string(b))
	}
	for _, s := range cases {
		want, _ := json.Marshal(s)
		if got := AppendString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Fatalf("%q: got %s, want %s", s, got[1:], want)
		}
	}
}

// TestPlainWords: a word is plain exactly when each of its bytes is, for
// every byte value at every position among plain neighbours.
func TestPlainWords(t *testing.T) {
	plain := func(c byte) bool {
		return c >= 0x20 && c < 0x80 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	for _, fill := range []byte{'a', ' ', '~', '='} {
		for pos := 0; pos < 8; pos++ {
			for c := 0; c < 256; c++ {
				w := []byte{fill, fill, fill, fill, fill, fill, fill, fill}
				w[pos] = byte(c)
				want := 8
				if !plain(byte(c)) {
					want = 0
				}
				if got := plainWords(string(w) + "x"); got != want {
					t.Fatalf("byte %#x at %d among %q: plainWords %d, want %d", c, pos, fill, got, want)
				}
			}
		}
	}
}

// BenchmarkAppendStringToken: a 20-workgroup token (6.4 KB of base64url).
func BenchmarkAppendStringToken(b *testing.B) {
	tok := make([]byte, 6448)
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range tok {
		tok[i] = alphabet[i*7%len(alphabet)]
	}
	s := "IDC2." + string(tok)
	buf := make([]byte, 0, 8192)
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		buf = AppendString(buf[:0], s)
	}
}
