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
	for _, s := range cases {
		want, _ := json.Marshal(s)
		if got := AppendString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Fatalf("%q: got %s, want %s", s, got[1:], want)
		}
	}
}
