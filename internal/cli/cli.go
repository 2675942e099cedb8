// Package cli implements the idcgate command line: `serve` runs the server;
// client subcommands talk to a running server. Exit codes: 0 ok, 1 runtime
// error, 2 usage error; errors go to stderr in one line.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/idcgate/idcgate/internal/app"
	"github.com/idcgate/idcgate/internal/config"
)

// Exit codes.
const (
	ExitOK    = 0
	ExitError = 1
	ExitUsage = 2
)

// Env is what a command may touch of the process.
type Env struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// Stdin is standard input (nil: os.Stdin).
	Stdin io.Reader
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env Env, args []string) error
}

func commands() []command {
	return []command{
		{"serve", "run the idcgate server", runServe},
		{"login", "run the identity flow and print an identity-enhanced session", runLogin},
		{"idp", "the built-in test IdP: 'idp token --user NAME' prints a JWT", runIdp},
		{"token", "'token get --workgroup W' prints a token; 'token inspect TOKEN' its header and claims", runToken},
		{"keys", "'keys rotate|retire|describe --workgroup NAME' manages workgroup keys (administrator)", runKeys},
		{"audit", "'audit tail [--max N] [--follow] [--user NAME] [--event NAME]' prints the latest audit events (administrator)", runAudit},
		{"faults", "'faults set|clear|list' injects errors or latency into operations (administrator)", runFaults},
		{"users", "'users set-password --user NAME' sets a directory user's sign-in password, read from standard input or the terminal (administrator)", runUsers},
		{"upstream", "'upstream ca' prints the CA certificate an upstream PostgreSQL's ssl_ca_file needs (administrator)", runUpstream},
		{"version", "print the version", runVersion},
	}
}

// Version is set at build time with -ldflags "-X …/cli.Version=…".
var Version = "dev"

// usageError marks an error as a usage mistake (exit code 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// Run runs the command line args (without the program name) and returns the
// process exit code.
func Run(args []string, env Env) int {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(env.Stderr)
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		err := c.run(ctx, env, args[1:])
		switch {
		case err == nil:
			return ExitOK
		case errors.Is(err, flag.ErrHelp):
			return ExitOK
		case isUsage(err):
			fmt.Fprintf(env.Stderr, "idcgate %s: %v\n", c.name, err)
			return ExitUsage
		default:
			fmt.Fprintf(env.Stderr, "idcgate %s: %s\n", c.name, oneLine(err.Error()))
			return ExitError
		}
	}
	fmt.Fprintf(env.Stderr, "idcgate: unknown command %q (see idcgate help)\n", args[0])
	return ExitUsage
}

func isUsage(err error) bool {
	var u usageError
	return errors.As(err, &u)
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "idcgate: a self-hosted, wire-compatible Redshift Serverless GetIdentityCenterAuthToken flow")
	fmt.Fprintln(w, "\nUsage: idcgate <command> [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'idcgate <command> -h' for the flags of a command.")
}

func newFlagSet(name string, env Env) *flag.FlagSet {
	fs := flag.NewFlagSet("idcgate "+name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	return fs
}

// parseFlags parses and turns flag errors into usage errors, a required
// flag (by name) left empty among them. The flag
// package is kept from printing an error and the whole usage itself: Run
// prints the error on one line; -h still prints the flags.
func parseFlags(fs *flag.FlagSet, args []string, required ...string) error {
	out := fs.Output()
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.SetOutput(out)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(out, "Usage of %s:\n", fs.Name())
			fs.PrintDefaults()
			return err
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	for _, name := range required {
		if fs.Lookup(name).Value.String() == "" {
			return usageError{"--" + name + " is required"}
		}
	}
	return nil
}

func runVersion(_ context.Context, env Env, args []string) error {
	fs := newFlagSet("version", env)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, "idcgate", Version)
	return nil
}

func runServe(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet("serve", env)
	cfgPath := fs.String("config", "", "configuration file (YAML); env IDCGATE_CONFIG")
	help := map[string]string{
		"data-dir":     "data directory (default " + config.DefaultDataDir + ")",
		"listen":       "address of the AWS API listener (default " + config.DefaultListen + ")",
		"pg-listen":    "address of the PostgreSQL gateway (default " + config.DefaultPGListen + ")",
		"pg-upstream":  "default upstream PostgreSQL of every workgroup: a DSN, \"managed\" (idcgate runs its own) or \"none\"",
		"region":       "AWS region served (default " + config.DefaultRegion + ")",
		"store":        "shared store URL (postgres://…); default: embedded store in the data dir",
		"audit-log":    "audit log file (default <data-dir>/audit.log)",
		"log-format":   "log format: text or json (default text)",
		"log-level":    "log level: debug, info, warn, error (default info)",
		"pprof-listen": "serve Go's /debug/pprof/ profiling endpoints, unauthenticated, on this address (default off; use loopback)",
	}
	help["pg-max-sessions-per-user"] = "most gateway sessions of one user on one workgroup, across replicas (default 20)"
	help["pg-max-sessions-per-workgroup"] = "most gateway sessions on one workgroup, across replicas (default 500)"
	vals := map[string]*string{}
	for _, name := range config.Settings {
		vals[name] = fs.String(name, "", help[name]+"; env "+config.EnvName(name))
	}
	insecure := fs.Bool("pg-insecure", false, "allow gateway token logins without TLS (local testing only); env IDCGATE_PG_INSECURE=true")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	set := map[string]string{}
	fs.Visit(func(f *flag.Flag) {
		if v, ok := vals[f.Name]; ok {
			set[f.Name] = *v
		}
	})
	path := *cfgPath
	if path == "" {
		path = env.Getenv("IDCGATE_CONFIG")
	}
	cfg := &config.Config{}
	if path != "" {
		var err error
		if cfg, err = config.Load(path); err != nil {
			return err
		}
	}
	if err := cfg.Override(env.Getenv, set); err != nil {
		return usageError{err.Error()}
	}
	if *insecure {
		cfg.PGInsecure = true
	}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := newLogger(env.Stderr, cfg.LogFormat, cfg.LogLevel)
	a, err := app.Open(ctx, cfg, log, app.Options{Getenv: env.Getenv})
	if err != nil {
		return err
	}
	return a.Serve(ctx)
}

func newLogger(w io.Writer, format, level string) *slog.Logger {
	var lv slog.Level
	lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
