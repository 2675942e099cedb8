package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/redshiftserverless"
)

// runToken: idcgate token get|inspect.
func runToken(ctx context.Context, env Env, args []string) error {
	if len(args) > 0 && args[0] == "get" {
		return runTokenGet(ctx, env, args[1:])
	}
	if len(args) == 0 || args[0] != "inspect" {
		return usageError{"usage: idcgate token get --workgroup NAME[,NAME…] | idcgate token inspect TOKEN (or - for standard input)"}
	}
	fs := newFlagSet("token inspect", env)
	var cf clientFlags
	cf.register(fs, env)
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"usage: idcgate token inspect [flags] TOKEN"}
	}
	tok := pos[0]
	if tok == "-" {
		b, err := io.ReadAll(os.Stdin)
		if err != nil {
			return err
		}
		tok = strings.TrimSpace(string(b))
	}
	c, err := cf.client(ctx)
	if err != nil {
		return err
	}
	var out json.RawMessage
	if err := c.Admin(ctx, "InspectToken", map[string]string{"token": tok}, &out); err != nil {
		return err
	}
	return printJSON(env, out)
}

// runKeys: idcgate keys rotate|retire|describe --workgroup NAME [--min-version N]
func runKeys(ctx context.Context, env Env, args []string) error {
	ops := map[string]string{"rotate": "RotateWorkgroupKey", "retire": "RetireWorkgroupKeys", "describe": "DescribeWorkgroupKeys"}
	if len(args) == 0 || ops[args[0]] == "" {
		return usageError{"usage: idcgate keys rotate|retire|describe --workgroup NAME [--min-version N]"}
	}
	fs := newFlagSet("keys "+args[0], env)
	var cf clientFlags
	cf.register(fs, env)
	wg := fs.String("workgroup", "", "workgroup name (required)")
	min := fs.Int("min-version", 0, "retire: the lowest key version that may still open tokens")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *wg == "" {
		return usageError{"--workgroup is required"}
	}
	in := map[string]any{"workgroupName": *wg}
	if args[0] == "retire" {
		if *min < 1 {
			return usageError{"retire needs --min-version N"}
		}
		in["minVersion"] = *min
	}
	c, err := cf.client(ctx)
	if err != nil {
		return err
	}
	var out json.RawMessage
	if err := c.Admin(ctx, ops[args[0]], in, &out); err != nil {
		return err
	}
	return printJSON(env, out)
}

func printJSON(env Env, raw json.RawMessage) error {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return err
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(env.Stdout, string(b))
	return err
}

// parseInterspersed parses flags that may come before or after positional
// arguments, and returns the positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// runTokenGet calls GetIdentityCenterAuthToken with the caller's
// (identity-enhanced) credentials and prints the token.
func runTokenGet(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet("token get", env)
	var cf clientFlags
	cf.register(fs, env)
	wgs := fs.String("workgroup", "", "workgroup name(s), comma-separated (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *wgs == "" {
		return usageError{"--workgroup is required"}
	}
	c, err := cf.client(ctx)
	if err != nil {
		return err
	}
	out, err := redshiftserverless.NewFromConfig(c.AWS).GetIdentityCenterAuthToken(ctx, &redshiftserverless.GetIdentityCenterAuthTokenInput{
		WorkgroupNames: strings.Split(*wgs, ","),
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, *out.Token)
	return nil
}

// runAudit: idcgate audit tail [--follow] [--user NAME] [--event NAME]
func runAudit(ctx context.Context, env Env, args []string) error {
	if len(args) == 0 || args[0] != "tail" {
		return usageError{"usage: idcgate audit tail [--follow] [--user NAME] [--event NAME]"}
	}
	fs := newFlagSet("audit tail", env)
	var cf clientFlags
	cf.register(fs, env)
	follow := fs.Bool("follow", false, "keep printing new events")
	user := fs.String("user", "", "only events of this user name")
	event := fs.String("event", "", "only events with this eventName")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	c, err := cf.client(ctx)
	if err != nil {
		return err
	}
	cursor := ""
	for {
		var out struct {
			Events []json.RawMessage `json:"events"`
			Cursor string            `json:"cursor"`
		}
		if err := c.Admin(ctx, "LookupEvents", map[string]any{"after": cursor, "userName": *user, "eventName": *event}, &out); err != nil {
			return err
		}
		for _, e := range out.Events {
			fmt.Fprintln(env.Stdout, string(e))
		}
		cursor = out.Cursor
		if !*follow {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

// runFaults: idcgate faults set|clear|list
func runFaults(ctx context.Context, env Env, args []string) error {
	if len(args) == 0 || (args[0] != "set" && args[0] != "clear" && args[0] != "list") {
		return usageError{"usage: idcgate faults set --operation OP [--error InternalServerException|ThrottlingException] [--latency D] [--rate R] | faults clear | faults list"}
	}
	fs := newFlagSet("faults "+args[0], env)
	var cf clientFlags
	cf.register(fs, env)
	op := fs.String("operation", "", "operation name, or * for all")
	errName := fs.String("error", "", "error to inject")
	latency := fs.Duration("latency", 0, "latency to add")
	rate := fs.Float64("rate", 1, "probability in (0, 1]")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	c, err := cf.client(ctx)
	if err != nil {
		return err
	}
	var out json.RawMessage
	switch args[0] {
	case "list":
		err = c.Admin(ctx, "GetFaults", map[string]any{}, &out)
	case "clear":
		err = c.Admin(ctx, "SetFaults", map[string]any{"rules": []any{}}, &out)
	case "set":
		if *op == "" {
			return usageError{"--operation is required"}
		}
		var cur struct {
			Rules []map[string]any `json:"rules"`
		}
		if err := c.Admin(ctx, "GetFaults", map[string]any{}, &cur); err != nil {
			return err
		}
		rule := map[string]any{"operation": *op, "rate": *rate}
		if *errName != "" {
			rule["error"] = *errName
		}
		if *latency > 0 {
			rule["latency"] = int64(*latency)
		}
		err = c.Admin(ctx, "SetFaults", map[string]any{"rules": append(cur.Rules, rule)}, &out)
	}
	if err != nil {
		return err
	}
	return printJSON(env, out)
}
