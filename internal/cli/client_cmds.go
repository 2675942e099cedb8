package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/idcgate/idcgate/internal/client"
	"github.com/idcgate/idcgate/internal/config"
)

// clientFlags are the flags every client subcommand shares.
type clientFlags struct {
	endpoint, region, profile string
}

func (f *clientFlags) register(fs *flag.FlagSet, env Env) {
	def := env.Getenv("IDCGATE_ENDPOINT")
	if def == "" {
		def = client.DefaultEndpoint
	}
	fs.StringVar(&f.endpoint, "endpoint", def, "idcgate API endpoint; env IDCGATE_ENDPOINT")
	fs.StringVar(&f.region, "region", "", "AWS region (default from the AWS config, else us-east-1)")
	fs.StringVar(&f.profile, "profile", "", "AWS profile (default: AWS_PROFILE / default)")
}

func (f *clientFlags) client(ctx context.Context) (*client.Client, error) {
	return client.New(ctx, client.Options{Endpoint: f.endpoint, Region: f.region, Profile: f.profile})
}

// runIdp: idcgate idp token --user NAME [--audience A] [--ttl D]
func runIdp(ctx context.Context, env Env, args []string) error {
	if len(args) == 0 || args[0] != "token" {
		return usageError{"usage: idcgate idp token --user NAME [--audience A] [--ttl D]"}
	}
	fs := newFlagSet("idp token", env)
	var cf clientFlags
	cf.register(fs, env)
	user := fs.String("user", "", "directory user name (required)")
	audience := fs.String("audience", "idcgate-demo", "JWT audience")
	ttl := fs.Duration("ttl", time.Hour, "token lifetime")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *user == "" {
		return usageError{"--user is required"}
	}
	c, err := cf.client(ctx)
	if err != nil {
		return err
	}
	tok, err := c.IssueTestToken(ctx, *user, *audience, *ttl)
	if err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, tok)
	return nil
}

// runLogin runs the whole identity flow and prints an identity-enhanced session.
func runLogin(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet("login", env)
	var cf clientFlags
	cf.register(fs, env)
	user := fs.String("user", "", "directory user name (required)")
	role := fs.String("role", "", "role ARN to assume (default: the config's first role)")
	app := fs.String("application", "", "Identity Center application ARN (default: the config's only application)")
	audience := fs.String("audience", "", "audience of the IdP token (default: the application's first)")
	output := fs.String("output", "env", "env or credential-process")
	cfgPath := fs.String("config", env.Getenv("IDCGATE_CONFIG"), "config file for the defaults; env IDCGATE_CONFIG")
	adminFile := fs.String("admin-credentials-file", "", "administrator credentials for the built-in IdP (default <data-dir>/credentials)")
	duration := fs.Duration("duration", time.Hour, "session duration")
	jwtFile := fs.String("jwt-file", "", "use this IdP JWT instead of asking the built-in IdP")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *user == "" && *jwtFile == "" {
		return usageError{"--user is required"}
	}
	if *output != "env" && *output != "credential-process" {
		return usageError{"--output must be env or credential-process"}
	}
	dataDir := config.DefaultDataDir
	if *cfgPath != "" {
		cfg, err := config.Load(*cfgPath)
		if err != nil {
			return err
		}
		cfg.ApplyDefaults()
		dataDir = cfg.DataDir
		if *role == "" && len(cfg.Accounts) > 0 && len(cfg.Accounts[0].Roles) > 0 {
			*role = "arn:aws:iam::" + cfg.Accounts[0].ID + ":role/" + cfg.Accounts[0].Roles[0].Name
		}
		if ic := cfg.IdentityCenter; ic != nil && *app == "" && len(ic.Applications) == 1 {
			*app = ic.Applications[0].Arn
			if *audience == "" && len(ic.Applications[0].Grants) > 0 && len(ic.Applications[0].Grants[0].Audiences) > 0 {
				*audience = ic.Applications[0].Grants[0].Audiences[0]
			}
		}
	}
	if d := env.Getenv("IDCGATE_DATA_DIR"); d != "" {
		dataDir = d
	}
	if *role == "" || *app == "" {
		return usageError{"--role and --application are required (or --config to take the config's)"}
	}
	if *audience == "" {
		*audience = "idcgate-demo"
	}

	// 1. A JWT from the IdP.
	var assertion string
	if *jwtFile != "" {
		b, err := os.ReadFile(*jwtFile)
		if err != nil {
			return err
		}
		assertion = strings.TrimSpace(string(b))
	} else {
		path := *adminFile
		if path == "" {
			path = filepath.Join(dataDir, "credentials")
		}
		admin, err := client.New(ctx, client.Options{Endpoint: cf.endpoint, Region: cf.region, CredentialsFile: path, Profile: "default"})
		if err != nil {
			return err
		}
		assertion, err = admin.IssueTestToken(ctx, *user, *audience, 10*time.Minute)
		if err != nil {
			return fmt.Errorf("built-in IdP: %w", err)
		}
	}

	// 2. and 3., signed with the caller's own credentials.
	c, err := cf.client(ctx)
	if err != nil {
		return err
	}
	session := *user
	if session == "" {
		session = "idcgate-login"
	}
	sess, err := c.IdentitySession(ctx, assertion, *app, *role, session, *duration)
	if err != nil {
		return err
	}
	cr := sess.Credentials
	if *output == "credential-process" {
		return json.NewEncoder(env.Stdout).Encode(map[string]any{
			"Version": 1, "AccessKeyId": cr.AccessKeyID, "SecretAccessKey": cr.SecretAccessKey,
			"SessionToken": cr.SessionToken, "Expiration": cr.Expires.UTC().Format(time.RFC3339),
		})
	}
	fmt.Fprintf(env.Stdout, "export AWS_ACCESS_KEY_ID=%s\nexport AWS_SECRET_ACCESS_KEY=%s\nexport AWS_SESSION_TOKEN=%s\n# %s until %s\n",
		cr.AccessKeyID, cr.SecretAccessKey, cr.SessionToken, sess.Arn, cr.Expires.UTC().Format(time.RFC3339))
	return nil
}
