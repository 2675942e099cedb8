package iam

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// refGlob is the textbook dynamic program over (pattern, text) positions:
// slow, but plainly right, for checking glob against.
func refGlob(pat, s string) bool {
	type tok struct {
		c        byte
		star, qm bool
	}
	var toks []tok
	for i := 0; i < len(pat); i++ {
		switch c := pat[i]; {
		case c == 0 && i+1 < len(pat):
			i++
			toks = append(toks, tok{c: pat[i]})
		case c == '*':
			toks = append(toks, tok{star: true})
		case c == '?':
			toks = append(toks, tok{qm: true})
		default:
			toks = append(toks, tok{c: c})
		}
	}
	// ok[j]: toks[:i] matches s[:j].
	ok := make([]bool, len(s)+1)
	ok[0] = true
	for _, t := range toks {
		next := make([]bool, len(s)+1)
		for j := 0; j <= len(s); j++ {
			switch {
			case t.star:
				next[j] = ok[j] || (j > 0 && next[j-1])
			case j > 0 && (t.qm || s[j-1] == t.c):
				next[j] = ok[j-1]
			}
		}
		ok = next
	}
	return ok[len(s)]
}

func TestGlob(t *testing.T) {
	t.Parallel()
	cases := []struct {
		pat, s string
		want   bool
	}{
		{"", "", true},
		{"", "a", false},
		{"*", "", true},
		{"*", "anything", true},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
		{"a*b*c", "abc", true},
		{"a*a", "a", false}, // first and last may not overlap
		{"a*a", "aa", true},
		// Multi-byte characters compare every byte (FuzzGlob found the
		// first segment compared rune by rune, first bytes only).
		{"\ue355*", "\xee00", false},
		{"workgroup/é*", "workgroup/\xc3X-prod", false},
		{"*é", "x\xc3X", false},
		{"workgroup/é*", "workgroup/é-prod", true},
		{"?", "", false},
		{"?", "x", true},
		{"??", "x", false},
		{"*?b", "ab", true},
		{"*?b", "b", false},
		{"a?c*", "abcd", true},
		{"*a?c*", "xxabcxx", true},
		{"*a?c*", "xxacxx", false},
		{"*ab?d*", "abab?dx", true},
		{"*aab", "aaab", true},
		{"*abab*x", "abaabab-x", true},
		{"**", "", true},
		{"a**b", "ab", true},
		{"\x00*", "*", true},
		{"\x00*", "x", false},
		{"\x00?", "?", true},
		{"\x00?", "x", false},
		{"a\x00*b*", "a*bc", true},
		{"arn:aws:s3:::b/*", "arn:aws:s3:::b/x/y", true},
		{"arn:aws:redshift-serverless:*:123456789012:workgroup/*", "arn:aws:redshift-serverless:us-east-1:123456789012:workgroup/abc", true},
		{"arn:aws:redshift-serverless:*:123456789012:workgroup/*", "arn:aws:redshift-serverless:us-east-1:210987654321:workgroup/abc", false},
		{strings.Repeat("?", 70) + "x", strings.Repeat("y", 70) + "x", true},
		{"*" + strings.Repeat("?", 70) + "x*", strings.Repeat("y", 69) + "x", false},
		{"*" + strings.Repeat("a?", 40) + "*", strings.Repeat("a-", 40), true},
		{"*" + strings.Repeat("a", 100) + "*", strings.Repeat("a", 99) + "b" + strings.Repeat("a", 100), true},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%q~%q", tc.pat, tc.s), func(t *testing.T) {
			t.Parallel()
			if got := glob(tc.pat, tc.s); got != tc.want {
				t.Fatalf("glob = %v, want %v", got, tc.want)
			}
			if ref := refGlob(tc.pat, tc.s); ref != tc.want {
				t.Fatalf("reference = %v, want %v (bad case)", ref, tc.want)
			}
		})
	}
}

// TestGlobAgreesWithReference compares glob with the dynamic program on
// many small patterns and texts over a two-letter alphabet, where the
// placements of segments interfere the most.
func TestGlobAgreesWithReference(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	pick := func(alphabet string, n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		return string(b)
	}
	for range 20000 {
		pat := pick("ab*?", r.IntN(8))
		s := pick("ab", r.IntN(12))
		if got, want := glob(pat, s), refGlob(pat, s); got != want {
			t.Fatalf("glob(%q, %q) = %v, reference %v", pat, s, got, want)
		}
	}
}

// adversarial are patterns that make backtracking matchers quadratic
// against a long run of 'a': each star's segment almost matches everywhere.
func adversarial() map[string]string {
	return map[string]string{
		"star then long literal":   "*" + strings.Repeat("a", 1940) + "b",
		"many stars, 63-byte runs": strings.Repeat("*"+strings.Repeat("a", 62)+"b", 28),
		"63-byte runs, open end":   strings.Repeat("*"+strings.Repeat("a", 62)+"b", 28) + "*",
		"long literal between":     "*" + strings.Repeat("a", 1000) + "b*",
		"question marks between":   "*" + strings.Repeat("a?", 500) + "b*",
		"short runs":               strings.Repeat("*ab", 600) + "*",
	}
}

// TestGlobWorkIsLinear holds the matcher to its bound on a 1 MB text: for a
// pattern without ? at most 2 steps per text byte plus 5 per pattern byte;
// with ?, ⌈q/64⌉ per text byte, q the longest segment. Backtracking takes
// about len(text)·len(segment) steps here, hundreds of times more.
func TestGlobWorkIsLinear(t *testing.T) {
	t.Parallel()
	s := strings.Repeat("a", 1<<20)
	for name, pat := range adversarial() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			perByte := 2
			if strings.Contains(pat, "?") {
				longest := 0
				for _, seg := range strings.Split(pat, "*") {
					longest = max(longest, len(seg))
				}
				perByte = (longest + 63) / 64
			}
			ok, steps := globCount(pat, s)
			if ok {
				t.Fatal("matched a text without b")
			}
			if bound := perByte*len(s) + 5*len(pat); steps > bound {
				t.Fatalf("%d steps for a %d-byte text and %d-byte pattern, bound %d", steps, len(s), len(pat), bound)
			}
		})
	}
}

// BenchmarkGlobAdversarial shows the time growing with the text, linearly:
// compare ns/op across the sizes (each 4× the last).
func BenchmarkGlobAdversarial(b *testing.B) {
	for name, pat := range adversarial() {
		for _, n := range []int{16 << 10, 64 << 10, 256 << 10, 1 << 20} {
			s := strings.Repeat("a", n)
			b.Run(fmt.Sprintf("%s/%dKiB", name, n>>10), func(b *testing.B) {
				b.SetBytes(int64(n))
				for b.Loop() {
					glob(pat, s)
				}
			})
		}
	}
}

func FuzzGlob(f *testing.F) {
	f.Add("a*b?c", "axxbyc")
	f.Add("*\x00*?", "x*y")
	f.Fuzz(func(t *testing.T, pat, s string) {
		if len(pat) > 64 || len(s) > 256 {
			return
		}
		if got, want := glob(pat, s), refGlob(pat, s); got != want {
			t.Fatalf("glob(%q, %q) = %v, reference %v", pat, s, got, want)
		}
	})
}
