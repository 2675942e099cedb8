package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// runUsers: idcgate users set-password --user NAME. The password is read
// from standard input, or asked for twice on the terminal without echo:
// never a flag, which would land in the shell's history and in ps.
func runUsers(ctx context.Context, env Env, args []string) error {
	const usage = "usage: idcgate users set-password --user NAME  (the password from standard input, or asked for on the terminal)"
	if len(args) == 0 || args[0] != "set-password" {
		return usageError{usage}
	}
	fs, cf := newClientFlagSet("users set-password", env)
	user := fs.String("user", "", "the directory user's userName (required)")
	if err := parseFlags(fs, args[1:], "user"); err != nil {
		return err
	}
	password, err := readNewPassword(env)
	if err != nil {
		return err
	}
	c, err := cf.client(ctx)
	if err != nil {
		return err
	}
	var out json.RawMessage
	if err := c.Admin(ctx, "SetUserPassword", map[string]string{"userName": *user, "password": password}, &out); err != nil {
		return err
	}
	return printJSON(env, out)
}

// readNewPassword reads the password: from a terminal, asked twice without
// echo; otherwise the first line of standard input (its line end dropped).
func readNewPassword(env Env) (string, error) {
	in := env.Stdin
	if in == nil {
		in = os.Stdin
	}
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(env.Stderr, "New password: ")
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(env.Stderr)
		if err != nil {
			return "", err
		}
		fmt.Fprint(env.Stderr, "Repeat it: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(env.Stderr)
		if err != nil {
			return "", err
		}
		if string(a) != string(b) {
			return "", errors.New("the two passwords differ; nothing was changed")
		}
		return string(a), nil
	}
	line, err := bufio.NewReader(io.LimitReader(in, 64<<10)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", usageError{"no password on standard input (pipe it in, or run on a terminal to be asked)"}
	}
	return line, nil
}
