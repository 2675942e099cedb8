package cli

import (
	"context"
	"encoding/json"
	"errors"
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

// newClientFlagSet is the flag set of a client subcommand, with the
// client flags registered.
func newClientFlagSet(name string, env Env) (*flag.FlagSet, *clientFlags) {
	fs, f := newFlagSet(name, env), &clientFlags{}
	def := env.Getenv("IDCGATE_ENDPOINT")
	if def == "" {
		def = client.DefaultEndpoint
	}
	fs.StringVar(&f.endpoint, "endpoint", def, "idcgate API endpoint; env IDCGATE_ENDPOINT")
	fs.StringVar(&f.region, "region", "", "AWS region (default from the AWS config, else us-east-1)")
	fs.StringVar(&f.profile, "profile", "", "AWS profile (default: AWS_PROFILE / default)")
	return fs, f
}

func (f *clientFlags) client(ctx context.Context) (*client.Client, error) {
	return client.New(ctx, client.Options{Endpoint: f.endpoint, Region: f.region, Profile: f.profile})
}

// MaxIdPTokenTTL is the longest lifetime the built-in IdP signs for (the
// administrator API's ttlSeconds maximum).
const MaxIdPTokenTTL = 24 * time.Hour

// ttlFlag is a duration flag bounded to what the built-in IdP accepts, so a
// bad value is a usage error before any call is made.
type ttlFlag struct{ d time.Duration }

func (f *ttlFlag) String() string { return f.d.String() }
func (f *ttlFlag) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("want a duration such as 90s, 10m or 1h")
	}
	if d < time.Second || d > MaxIdPTokenTTL {
		return fmt.Errorf("must be from 1s to %s", strings.TrimSuffix(MaxIdPTokenTTL.String(), "0m0s"))
	}
	f.d = d
	return nil
}

// runIdp: idcgate idp token --user NAME [--audience A] [--ttl D]
func runIdp(ctx context.Context, env Env, args []string) error {
	if len(args) == 0 || args[0] != "token" {
		return usageError{"usage: idcgate idp token --user NAME [--audience A] [--ttl D]"}
	}
	fs, cf := newClientFlagSet("idp token", env)
	user := fs.String("user", "", "directory user name (required)")
	audience := fs.String("audience", "idcgate-demo", "JWT audience")
	ttl := ttlFlag{time.Hour}
	fs.Var(&ttl, "ttl", "token lifetime, 1s to 24h")
	if err := parseFlags(fs, args[1:], "user"); err != nil {
		return err
	}
	c, err := cf.client(ctx)
	if err != nil {
		return err
	}
	tok, err := c.IssueTestToken(ctx, *user, *audience, ttl.d)
	if err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, tok)
	return nil
}

// runLogin runs the whole identity flow and prints an identity-enhanced session.
func runLogin(ctx context.Context, env Env, args []string) error {
	fs, cf := newClientFlagSet("login", env)
	user := fs.String("user", "", "directory user name (required)")
	role := fs.String("role", "", "role to assume, a name or an ARN (default: the one role the server finds for your credentials)")
	app := fs.String("application", "", "Identity Center application ARN (default: the one application whose grant accepts the built-in IdP)")
	audience := fs.String("audience", "", "audience of the IdP token (default: the application's grant's first)")
	output := fs.String("output", "env", "env or credential-process")
	cfgPath := fs.String("config", env.Getenv("IDCGATE_CONFIG"), "the server's config file, to find its data dir; env IDCGATE_CONFIG")
	dataDir := fs.String("data-dir", env.Getenv("IDCGATE_DATA_DIR"), "the server's data dir, where its administrator credentials are (default: the config's dataDir); env IDCGATE_DATA_DIR")
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
	var cfg *config.Config
	if *cfgPath != "" {
		var err error
		if cfg, err = config.Load(*cfgPath); err != nil {
			return err
		}
		cfg.ApplyDefaults()
	}
	// Steps 2 and 3 are signed with the caller's own credentials.
	c, err := cf.client(ctx)
	if err != nil {
		return err
	}
	// The administrator credentials: for the built-in IdP's JWT, and to
	// ask the server which role and application to take.
	var admin *client.Client
	adminPath, adminErr := adminCredentialsFile(*adminFile, *dataDir, *cfgPath, cfg)
	if adminErr == nil {
		if admin, err = client.New(ctx, client.Options{Endpoint: cf.endpoint, Region: cf.region, CredentialsFile: adminPath, Profile: "default"}); err != nil {
			return err
		}
	}
	if *role == "" || *app == "" || *audience == "" || !strings.HasPrefix(*role, "arn:") {
		callerArn, err := c.CallerArn(ctx)
		if err != nil {
			return err
		}
		if *role != "" && !strings.HasPrefix(*role, "arn:") {
			*role = "arn:aws:iam::" + arnAccount(callerArn) + ":role/" + *role
		}
		if *role == "" || *app == "" || *audience == "" {
			if admin == nil {
				if *role == "" || *app == "" {
					return adminErr // it says what to pass
				}
			} else if err := pickCandidates(ctx, admin, callerArn, role, app, audience); err != nil {
				return err
			}
		}
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
		if admin == nil {
			return adminErr
		}
		assertion, err = admin.IssueTestToken(ctx, *user, *audience, 10*time.Minute)
		if err != nil {
			return fmt.Errorf("built-in IdP: %w", err)
		}
	}

	// 2. and 3.
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

// pickCandidates fills in what is empty of role, app and audience from the
// server's candidates for callerArn: exactly one role and one application,
// or an error that lists them.
func pickCandidates(ctx context.Context, admin *client.Client, callerArn string, role, app, audience *string) error {
	cands, err := admin.LoginCandidates(ctx, callerArn)
	if err != nil {
		return fmt.Errorf("asking the server for a role and an application: %w", err)
	}
	if *role == "" {
		switch len(cands.Roles) {
		case 1:
			*role = cands.Roles[0]
		case 0:
			return fmt.Errorf("no role trusts %s for sts:AssumeRole and sts:SetContext and allows %s: pass --role", callerArn, "redshift-serverless:GetIdentityCenterAuthToken")
		default:
			return fmt.Errorf("%d roles would do for %s (%s): pass --role", len(cands.Roles), callerArn, strings.Join(cands.Roles, ", "))
		}
	}
	var arns []string
	for _, a := range cands.Applications {
		arns = append(arns, a.ApplicationArn)
		if a.ApplicationArn == *app && *audience == "" && len(a.Audiences) > 0 {
			*audience = a.Audiences[0]
		}
	}
	if *app == "" {
		switch len(cands.Applications) {
		case 1:
			*app = cands.Applications[0].ApplicationArn
			if *audience == "" && len(cands.Applications[0].Audiences) > 0 {
				*audience = cands.Applications[0].Audiences[0]
			}
		case 0:
			return fmt.Errorf("no application has a jwt-bearer grant that accepts the built-in IdP: pass --application")
		default:
			return fmt.Errorf("%d applications accept the built-in IdP (%s): pass --application", len(arns), strings.Join(arns, ", "))
		}
	}
	return nil
}

// arnAccount is the account field of an ARN ("" if it has none).
func arnAccount(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 5 {
		return ""
	}
	return parts[4]
}

// adminCredentialsFile finds the server's administrator credentials. A
// relative data dir is tried against the working directory, then against the
// config file's directory, because credential_process runs login from
// wherever the SDK's process happens to be.
func adminCredentialsFile(explicit, dataDir, cfgPath string, cfg *config.Config) (string, error) {
	if explicit != "" {
		return explicit, nil
	}
	if dataDir != "" {
		return filepath.Abs(filepath.Join(dataDir, "credentials"))
	}
	dir := config.DefaultDataDir
	if cfg != nil {
		dir = cfg.DataDir
	}
	var candidates []string
	if filepath.IsAbs(dir) {
		candidates = []string{filepath.Join(dir, "credentials")}
	} else {
		if abs, err := filepath.Abs(filepath.Join(dir, "credentials")); err == nil {
			candidates = append(candidates, abs)
		}
		if cfgPath != "" {
			if abs, err := filepath.Abs(filepath.Join(filepath.Dir(cfgPath), dir, "credentials")); err == nil && abs != candidates[0] {
				candidates = append(candidates, abs)
			}
		}
	}
	for _, c := range candidates {
		if _, err := os.Stat(c); err == nil {
			return c, nil
		}
	}
	return "", fmt.Errorf("no administrator credentials at %s: pass --data-dir DIR (the server's data dir; env IDCGATE_DATA_DIR) or --admin-credentials-file FILE", strings.Join(candidates, " or "))
}
