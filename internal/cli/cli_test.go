package cli

import (
	"bytes"
	"strings"
	"testing"
)

func TestExitCodes(t *testing.T) {
	cases := []struct {
		args []string
		code int
		err  string
	}{
		{nil, ExitUsage, ""},
		{[]string{"help"}, ExitOK, ""},
		{[]string{"version"}, ExitOK, ""},
		{[]string{"frobnicate"}, ExitUsage, `unknown command "frobnicate"`},
		{[]string{"serve", "--no-such-flag"}, ExitUsage, "flag provided but not defined"},
		{[]string{"serve", "extra-arg"}, ExitUsage, `unexpected argument "extra-arg"`},
		{[]string{"serve", "--config", "/does/not/exist.yaml"}, ExitError, "no such file"},
		{[]string{"serve", "--region", "mars", "--data-dir", "DATA"}, ExitError, `region "mars" is not an AWS region name`},
		{[]string{"keys", "rotate"}, ExitUsage, "--workgroup is required"},
		{[]string{"faults", "set"}, ExitUsage, "--operation is required"},
		{[]string{"token", "get"}, ExitUsage, "--workgroup is required"},
		{[]string{"idp", "token", "--audience", "a"}, ExitUsage, "--user is required"},
		{[]string{"users", "set-password"}, ExitUsage, "--user is required"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			args := append([]string(nil), tc.args...)
			for i, a := range args {
				if a == "DATA" {
					args[i] = t.TempDir()
				}
			}
			code := Run(args, Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %s", code, tc.code, errb.String())
			}
			if !strings.Contains(errb.String(), tc.err) {
				t.Fatalf("stderr %q lacks %q", errb.String(), tc.err)
			}
			if tc.code == ExitError && strings.Count(strings.TrimSpace(errb.String()), "\n") != 0 {
				t.Fatalf("runtime error not on one line: %q", errb.String())
			}
		})
	}
}
