package config

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// A syntax error in the config names the line that broke it, not the line
// where the enclosing mapping began (yaml.v3's own report).
func TestSyntaxErrorNamesItsLine(t *testing.T) {
	t.Parallel()
	example, err := os.ReadFile("../../examples/idcgate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(example), "\n")
	find := func(prefix string) int {
		for i, l := range lines {
			if strings.HasPrefix(l, prefix) {
				return i
			}
		}
		t.Fatalf("no line starts with %q in the example", prefix)
		return 0
	}
	edit := func(i int, f func(string) string) string {
		c := append([]string(nil), lines...)
		c[i] = f(c[i])
		return strings.Join(c, "")
	}
	ttl := find("  ttl:")
	alias := find("    alias:")
	// Line numbers are 1-based; an over-indented key breaks the mapping at
	// the next key, which is where the parser can tell.
	for _, tc := range []struct {
		name string
		doc  string
		want string
	}{
		{"over-indented key", edit(ttl, func(l string) string { return "   " + l }), "line " + strconv.Itoa(ttl+2) + ": did not find expected key"},
		{"over-indented nested key", edit(alias, func(l string) string { return "  " + l }), "line " + strconv.Itoa(alias+1) + ": did not find expected key"},
		{"tab", edit(ttl, func(l string) string { return "\t" + l }), "line " + strconv.Itoa(ttl+1) + ": found character that cannot start any token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse: %v, want %q", err, tc.want)
			}
		})
	}
	// A flow mapping over two lines before the error does not mislead it.
	doc := "throttle:\n  perPrincipal: {rate: 5,\n    burst: 10}\ntokens:\n  ttl: 1h\n     keyRotation: 1h\n"
	if _, err := Parse([]byte(doc)); err == nil || !strings.Contains(err.Error(), "line 6:") {
		t.Fatalf("Parse: %v, want line 6", err)
	}
}
