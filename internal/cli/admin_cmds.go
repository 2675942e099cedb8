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

	"github.com/idcgate/idcgate/internal/audit/query"
)

// runToken: idcgate token get|inspect.
func runToken(ctx context.Context, env Env, args []string) error {
	if len(args) > 0 && args[0] == "get" {
		return runTokenGet(ctx, env, args[1:])
	}
	if len(args) == 0 || args[0] != "inspect" {
		return usageError{"usage: idcgate token get --workgroup NAME[,NAME…] | idcgate token inspect TOKEN (or - for standard input)"}
	}
	fs, cf := newClientFlagSet("token inspect", env)
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
	if err := printJSON(env, out); err != nil {
		return err
	}
	// The JSON shows what the token holds either way; the exit code says
	// whether it opens, so scripts need not parse it.
	var v struct {
		Valid   bool   `json:"valid"`
		Problem string `json:"problem"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		return err
	}
	if !v.Valid {
		return fmt.Errorf("the token does not open: %s", v.Problem)
	}
	return nil
}

// runKeys: idcgate keys rotate|retire|describe --workgroup NAME [--min-version N]
func runKeys(ctx context.Context, env Env, args []string) error {
	ops := map[string]string{"rotate": "RotateWorkgroupKey", "retire": "RetireWorkgroupKeys", "describe": "DescribeWorkgroupKeys"}
	if len(args) == 0 || ops[args[0]] == "" {
		return usageError{"usage: idcgate keys rotate|retire|describe --workgroup NAME [--min-version N]"}
	}
	fs, cf := newClientFlagSet("keys "+args[0], env)
	wg := fs.String("workgroup", "", "workgroup name (required)")
	min := fs.Int("min-version", 0, "retire: the lowest key version that may still open tokens")
	if err := parseFlags(fs, args[1:], "workgroup"); err != nil {
		return err
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

// runUpstream: idcgate upstream ca — the PEM for ssl_ca_file, on stdout.
func runUpstream(ctx context.Context, env Env, args []string) error {
	if len(args) == 0 || args[0] != "ca" {
		return usageError{"usage: idcgate upstream ca > upstream-ca.crt"}
	}
	fs, cf := newClientFlagSet("upstream ca", env)
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	c, err := cf.client(ctx)
	if err != nil {
		return err
	}
	var out struct {
		Certificate string `json:"certificate"`
	}
	if err := c.Admin(ctx, "GetUpstreamCA", map[string]any{}, &out); err != nil {
		return err
	}
	_, err = io.WriteString(env.Stdout, out.Certificate)
	return err
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
	fs, cf := newClientFlagSet("token get", env)
	wgs := fs.String("workgroup", "", "workgroup name(s), comma-separated (required)")
	if err := parseFlags(fs, args, "workgroup"); err != nil {
		return err
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

// runAudit: idcgate audit tail [--max N] [--follow] [--user NAME] [--event NAME]
func runAudit(ctx context.Context, env Env, args []string) error {
	const usage = "usage: idcgate audit tail [--max N] [--follow] [--user NAME] [--event NAME]"
	if len(args) == 0 || args[0] != "tail" {
		return usageError{usage}
	}
	fs, cf := newClientFlagSet("audit tail", env)
	maxN := fs.Int("max", 50, "print the latest N events (at most 1000)")
	follow := fs.Bool("follow", false, "then keep printing new events until interrupted")
	user := fs.String("user", "", "only events of this user name (IAM user, role session or directory user)")
	event := fs.String("event", "", "only events with this eventName")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *maxN < 1 || *maxN > query.MaxLookup {
		return usageError{fmt.Sprintf("--max must be between 1 and %d", query.MaxLookup)}
	}
	c, err := cf.client(ctx)
	if err != nil {
		return err
	}
	type page struct {
		Events []json.RawMessage `json:"events"`
		Cursor string            `json:"cursor"`
	}
	lookup := func(in map[string]any) (page, error) {
		in["userName"], in["eventName"] = *user, *event
		var out page
		err := c.Admin(ctx, "LookupEvents", in, &out)
		return out, err
	}
	show := func(events []json.RawMessage) {
		for _, e := range events {
			fmt.Fprintln(env.Stdout, string(e))
		}
	}
	latest, err := lookup(map[string]any{"latest": true, "maxResults": *maxN})
	if err != nil {
		return err
	}
	show(latest.Events)
	if !*follow {
		return nil
	}
	// Keys need not arrive in order across replicas (query.Follower): prime
	// with the window below the cursor, then re-read it on every poll.
	f := query.NewFollower(latest.Cursor, query.FollowWindow)
	f.Prime(latest.Events)
	for after := f.After(); ; {
		p, err := lookup(map[string]any{"after": after, "until": f.Cursor(), "maxResults": query.MaxLookup})
		if err != nil {
			return err
		}
		f.Prime(p.Events)
		if len(p.Events) < query.MaxLookup {
			break
		}
		after = p.Cursor
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		for after := f.After(); ; {
			p, err := lookup(map[string]any{"after": after, "maxResults": query.MaxLookup})
			if ctx.Err() != nil {
				return nil
			}
			if err != nil {
				return err
			}
			show(f.Take(p.Events, p.Cursor))
			if len(p.Events) < query.MaxLookup {
				break
			}
			after = p.Cursor
		}
	}
}

// runFaults: idcgate faults set|clear|list
func runFaults(ctx context.Context, env Env, args []string) error {
	if len(args) == 0 || (args[0] != "set" && args[0] != "clear" && args[0] != "list") {
		return usageError{"usage: idcgate faults set --operation OP [--error InternalServerException|ThrottlingException] [--latency D] [--rate R] | faults clear | faults list"}
	}
	fs, cf := newClientFlagSet("faults "+args[0], env)
	op := fs.String("operation", "", "operation name, or * for all")
	errName := fs.String("error", "", "error to inject")
	latency := fs.Duration("latency", 0, "latency to add")
	rate := fs.Float64("rate", 1, "probability in (0, 1]")
	var required []string
	if args[0] == "set" {
		required = []string{"operation"}
	}
	if err := parseFlags(fs, args[1:], required...); err != nil {
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
