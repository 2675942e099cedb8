package config

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/idcgate/idcgate/internal/iam"
	"github.com/idcgate/idcgate/internal/passwords/phc"
)

// A sign-in password's length in bytes (BEHAVIOUR 18.6): the config's and
// set-password's.
const (
	MinPasswordLength = 8
	MaxPasswordLength = 256
)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// setting is a server setting a flag or IDCGATE_<NAME> can set, with the
// Config field behind it: text, or a positive whole number.
type setting struct {
	name string
	text func(*Config) *string
	num  func(*Config) *int
}

// settings are the server settings, in the order they are applied.
var settings = []setting{
	{name: "data-dir", text: func(c *Config) *string { return &c.DataDir }},
	{name: "listen", text: func(c *Config) *string { return &c.Listen }},
	{name: "pg-listen", text: func(c *Config) *string { return &c.PGListen }},
	{name: "pg-upstream", text: func(c *Config) *string { return &c.PGUpstream }},
	{name: "region", text: func(c *Config) *string { return &c.Region }},
	{name: "store", text: func(c *Config) *string { return &c.Store }},
	{name: "audit-log", text: func(c *Config) *string { return &c.AuditLog }},
	{name: "log-format", text: func(c *Config) *string { return &c.LogFormat }},
	{name: "log-level", text: func(c *Config) *string { return &c.LogLevel }},
	{name: "pprof-listen", text: func(c *Config) *string { return &c.PprofListen }},
	{name: "pg-max-sessions-per-user", num: func(c *Config) *int { return &c.Gateway.MaxSessionsPerUser }},
	{name: "pg-max-sessions-per-workgroup", num: func(c *Config) *int { return &c.Gateway.MaxConnsPerWorkgroup }},
}

// Settings names the server settings. The flag is --<name>; the variable
// is IDCGATE_<NAME> with '-' as '_'.
var Settings = func() []string {
	names := make([]string, len(settings))
	for i, st := range settings {
		names[i] = st.name
	}
	return names
}()

// set sets a setting from its text.
func (c *Config) set(name, v string) error {
	for _, st := range settings {
		if st.name != name {
			continue
		}
		if st.num == nil {
			*st.text(c) = v
			return nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("config: %s must be a positive whole number, not %q", name, v)
		}
		*st.num(c) = n
		return nil
	}
	return fmt.Errorf("config: unknown setting %q", name)
}

// EnvName is the environment variable for a setting.
func EnvName(setting string) string {
	return "IDCGATE_" + strings.ToUpper(strings.ReplaceAll(setting, "-", "_"))
}

// Override applies, in increasing precedence, environment variables (from
// getenv) and explicitly set flags (name → value) over the file's values.
func (c *Config) Override(getenv func(string) string, flags map[string]string) error {
	for _, name := range Settings {
		if v := getenv(EnvName(name)); v != "" {
			if err := c.set(name, v); err != nil {
				return fmt.Errorf("%s: %w", EnvName(name), err)
			}
		}
	}
	if v := getenv("IDCGATE_PG_INSECURE"); v == "true" || v == "1" {
		c.PGInsecure = true
	}
	for name, v := range flags {
		if err := c.set(name, v); err != nil {
			return err
		}
	}
	return nil
}

// ApplyDefaults fills every unset value with its default. Relative paths in
// the file stay relative to the working directory, as with every flag.
func (c *Config) ApplyDefaults() {
	unset(&c.DataDir, DefaultDataDir)
	unset(&c.Listen, DefaultListen)
	unset(&c.PGListen, DefaultPGListen)
	unset(&c.Region, DefaultRegion)
	unset(&c.AuditLog, filepath.Join(c.DataDir, "audit.log"))
	unset(&c.LogFormat, "text")
	unset(&c.LogLevel, "info")
	on := true
	unset(&c.HTTP.PublicMetrics, &on)
	unset(&c.Serverless.TransitionDelay, &Duration{DefaultTransitionDelay})
	unset(&c.Tokens.TTL, &Duration{DefaultTokenTTL})
	unset(&c.Gateway.LoginTimeout, &Duration{30 * time.Second})
	unset(&c.Gateway.IdleTimeout, &Duration{})
	unset(&c.Gateway.ShutdownGrace, &Duration{DefaultShutdownGrace})
	unset(&c.Gateway.MaxConnsPerWorkgroup, 500)
	// One user must not be able to take every upstream connection.
	unset(&c.Gateway.MaxSessionsPerUser, DefaultMaxSessionsPerUser)
	unset(&c.Throttle.Global, &RateLimit{})
	unset(&c.Throttle.PerPrincipal, &RateLimit{Rate: 500, Burst: 1000})
	unset(&c.Tokens.KeyRotation, &Duration{DefaultKeyRotation})
	unset(&c.Audit.Retention, &Duration{DefaultAuditRetention})
	if len(c.Accounts) == 0 {
		c.Accounts = []Account{{ID: "123456789012"}}
	}
	for i := range c.Accounts {
		a := &c.Accounts[i]
		for j := range a.RedshiftIdcApplications {
			unset(&a.RedshiftIdcApplications[j].IdentityNamespace, "AWSIDC")
		}
		for j := range a.Roles {
			unset(&a.Roles[j].MaxSessionDuration, &Duration{time.Hour})
		}
	}
	if ic := c.IdentityCenter; ic != nil {
		unset(&ic.Account, c.Accounts[0].ID)
		for i := range ic.TrustedTokenIssuers {
			t := &ic.TrustedTokenIssuers[i]
			unset(&t.ClaimAttributePath, "email")
			unset(&t.IdentityStoreAttributePath, "emails.value")
		}
	}
}

// unset gives *p the value v when it holds its zero value (a setting the
// file, the environment and the flags left out).
func unset[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}

var (
	accountIDRe   = regexp.MustCompile(`^[0-9]{12}$`)
	accessKeyRe   = regexp.MustCompile(`^AKIA[A-Z0-9]{16}$`)
	iamNameRe     = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	resourceRe    = regexp.MustCompile(`^[a-z0-9-]{3,64}$`)
	instanceArnRe = regexp.MustCompile(`^arn:aws:sso:::instance/ssoins-[0-9a-f]{16}$`)
	storeIDRe     = regexp.MustCompile(`^d-[0-9a-f]{10}$`)
	appArnRe      = regexp.MustCompile(`^arn:aws:sso::([0-9]{12}):application/(ssoins-[0-9a-f]{16})/apl-[0-9a-f]{16}$`)
	regionRe      = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]$`)
	vpcIDRe       = regexp.MustCompile(`^vpc-([0-9a-f]{8}|[0-9a-f]{17})$`)
	subnetIDRe    = regexp.MustCompile(`^subnet-([0-9a-f]{8}|[0-9a-f]{17})$`)
	// The Redshift API model's patterns for a Redshift IdC application.
	idcAppNameRe        = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)
	identityNamespaceRe = regexp.MustCompile(`^[a-zA-Z0-9_+.#@$-]+$`)
	// sso-admin's access scope pattern.
	scopeRe = regexp.MustCompile(`^[A-Za-z0-9_]{1,50}(:[A-Za-z0-9_]{1,50}){0,2}$`)
)

// Validate checks the whole configuration and reports every problem found,
// one per line, so a user can fix the file in one pass. It expects
// ApplyDefaults to have run.
func (c *Config) Validate() error {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }

	if !regionRe.MatchString(c.Region) {
		bad("region %q is not an AWS region name", c.Region)
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		bad("logFormat %q: want text or json", c.LogFormat)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("logLevel %q: want debug, info, warn or error", c.LogLevel)
	}
	if c.DataAPI.MaxActiveStatements < 0 || c.DataAPI.MaxConnectionsPerWorkgroup < 0 {
		bad("dataApi.maxActiveStatements and dataApi.maxConnectionsPerWorkgroup must be positive (0: the default)")
	}
	if c.Gateway.MaxSessionsPerUser < 0 || c.Gateway.MaxConnsPerWorkgroup < 0 {
		bad("gateway.maxSessionsPerUser and gateway.maxConnectionsPerWorkgroup must be positive (0: the default)")
	}
	if d := c.Gateway.ShutdownGrace.Duration; d < 0 || d > 10*time.Minute {
		bad("gateway.shutdownGrace %s: want 0 to 10m", d)
	}
	if d := c.Serverless.TransitionDelay.Duration; d < 0 || d > time.Hour {
		bad("serverless.transitionDelay %s: want 0 to 1h", d)
	}
	if d := c.Tokens.TTL.Duration; d < time.Minute || d > 12*time.Hour {
		bad("tokens.ttl %s: want 1m to 12h", d)
	}
	if d := c.Tokens.KeyRotation.Duration; d != 0 && d < time.Minute {
		bad("tokens.keyRotation %s: want 0 (off) or at least 1m", d)
	}
	if d := c.Audit.Retention.Duration; d != 0 && d < time.Minute {
		bad("audit.retention %s: want 0 (keep forever) or at least 1m", d)
	}
	for name, l := range map[string]*RateLimit{"throttle.global": c.Throttle.Global, "throttle.perPrincipal": c.Throttle.PerPrincipal} {
		if l.Rate < 0 || l.Burst < 0 || (l.Rate > 0 && l.Burst < 1) {
			bad("%s: rate >= 0, and burst >= 1 when rate > 0", name)
		}
	}
	if (c.PGTLSCert == "") != (c.PGTLSKey == "") {
		bad("pgTlsCert and pgTlsKey go together")
	}
	if c.Store != "" && !strings.HasPrefix(c.Store, "postgres://") && !strings.HasPrefix(c.Store, "postgresql://") {
		bad("store %q: want empty (embedded) or a postgres:// URL", c.Store)
	}

	accounts := map[string]bool{}
	keys := map[string]bool{}
	for i, a := range c.Accounts {
		where := fmt.Sprintf("accounts[%d]", i)
		if !accountIDRe.MatchString(a.ID) {
			bad("%s.id %q: want 12 digits", where, a.ID)
		}
		if accounts[a.ID] {
			bad("%s.id %q: duplicate account", where, a.ID)
		}
		accounts[a.ID] = true
		names := map[string]bool{}
		for j, u := range a.Users {
			uw := fmt.Sprintf("%s.users[%d]", where, j)
			checkIAMName(bad, names, uw, "user", u.Name)
			for k, key := range u.AccessKeys {
				kw := fmt.Sprintf("%s.accessKeys[%d]", uw, k)
				if !accessKeyRe.MatchString(key.AccessKeyID) {
					bad("%s.accessKeyId %q: want AKIA followed by 16 upper-case letters or digits", kw, key.AccessKeyID)
				}
				if len(key.SecretAccessKey) < 16 {
					bad("%s.secretAccessKey: too short", kw)
				}
				if keys[key.AccessKeyID] {
					bad("%s.accessKeyId %q: duplicate access key", kw, key.AccessKeyID)
				}
				keys[key.AccessKeyID] = true
			}
			checkPolicies(bad, uw, u.Policies, "user "+u.Name, maxUserPolicies)
		}
		for j, r := range a.Roles {
			rw := fmt.Sprintf("%s.roles[%d]", where, j)
			checkIAMName(bad, names, rw, "role", r.Name)
			if d := r.MaxSessionDuration.Duration; d < time.Hour || d > 12*time.Hour {
				bad("%s.maxSessionDuration %s: want 1h to 12h", rw, d)
			}
			if len(r.TrustPolicy.JSON) == 0 {
				bad("%s.trustPolicy: required", rw)
			} else {
				checkPolicy(bad, rw+".trustPolicy", r.TrustPolicy, iam.KindTrust)
				// IAM's quota on trust policies is 2,048 characters, raised
				// on request up to 4,096: refuse only what AWS never takes.
				if n := policySize(r.TrustPolicy); n > maxTrustPolicy {
					bad("%s.trustPolicy: LimitExceeded: Cannot exceed quota for ACLSizePerRole: %d (this one has %d characters)", rw, maxTrustPolicy, n)
				}
			}
			checkPolicies(bad, rw, r.Policies, "role "+r.Name, maxRolePolicies)
		}
		providers := map[string]bool{}
		for j, p := range a.OIDCProviders {
			pw := fmt.Sprintf("%s.oidcProviders[%d]", where, j)
			u, err := url.Parse(p.URL)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil || len(p.URL) > 255 {
				bad("%s.url %q: want an https:// (or http://) issuer URL of at most 255 characters, without query, fragment or user info", pw, p.URL)
			} else {
				key := strings.ToLower(u.Host) + strings.TrimSuffix(u.Path, "/")
				if providers[key] {
					bad("%s.url %q: duplicate provider (one per issuer URL in an account)", pw, p.URL)
				}
				providers[key] = true
			}
			if len(p.ClientIDs) > 100 {
				bad("%s.clientIds: at most 100", pw)
			}
			for k, id := range p.ClientIDs {
				if id == "" || len(id) > 255 {
					bad("%s.clientIds[%d] %q: want 1 to 255 characters", pw, k, id)
				}
			}
			if len(p.Thumbprints) > 5 {
				bad("%s.thumbprints: at most 5", pw)
			}
			for k, tp := range p.Thumbprints {
				if _, err := hex.DecodeString(tp); err != nil || len(tp) != 40 {
					bad("%s.thumbprints[%d] %q: want 40 hex digits (a SHA-1 hash)", pw, k, tp)
				}
			}
		}
		apps := map[string]bool{}
		for j, app := range a.RedshiftIdcApplications {
			aw := fmt.Sprintf("%s.redshiftIdcApplications[%d]", where, j)
			if app.Name == "" || apps[app.Name] {
				bad("%s.name %q: required and unique", aw, app.Name)
			} else if !idcAppNameRe.MatchString(app.Name) || len(app.Name) > 63 {
				bad("%s.name %q: want 1-63 characters of %s (the Redshift API's pattern)", aw, app.Name, idcAppNameRe)
			}
			apps[app.Name] = true
			// It prefixes every database role name ("AWSIDC:alice").
			if !identityNamespaceRe.MatchString(app.IdentityNamespace) || len(app.IdentityNamespace) > 127 {
				bad("%s.identityNamespace %q: want 1-127 characters of %s (the Redshift API's pattern)", aw, app.IdentityNamespace, identityNamespaceRe)
			}
			if c.IdentityCenter == nil || app.IdcInstanceArn != c.IdentityCenter.InstanceArn {
				bad("%s.idcInstanceArn %q: must be identityCenter.instanceArn", aw, app.IdcInstanceArn)
			}
		}
		nss := map[string]bool{}
		for j, ns := range a.Namespaces {
			nw := fmt.Sprintf("%s.namespaces[%d]", where, j)
			checkUnique(bad, nss, nw, ns.Name, resourceRe.MatchString(ns.Name), "want 3-64 of [a-z0-9-], unique")
			if ns.RedshiftIdcApplication != "" && !apps[ns.RedshiftIdcApplication] {
				bad("%s.redshiftIdcApplication %q: no such application in this account", nw, ns.RedshiftIdcApplication)
			}
		}
		wgs := map[string]bool{}
		used := map[string]bool{}
		for j, wg := range a.Workgroups {
			ww := fmt.Sprintf("%s.workgroups[%d]", where, j)
			checkUnique(bad, wgs, ww, wg.Name, resourceRe.MatchString(wg.Name), "want 3-64 of [a-z0-9-], unique")
			if !nss[wg.Namespace] {
				bad("%s.namespace %q: no such namespace in this account", ww, wg.Namespace)
			}
			if used[wg.Namespace] {
				bad("%s.namespace %q: a namespace has at most one workgroup", ww, wg.Namespace)
			}
			used[wg.Namespace] = true
		}
		if a.VPC != nil {
			checkVPC(bad, where+".vpc", c.Region, a.VPC)
		}
	}

	if ic := c.IdentityCenter; ic != nil {
		if !instanceArnRe.MatchString(ic.InstanceArn) {
			bad("identityCenter.instanceArn %q: want arn:aws:sso:::instance/ssoins-<16 hex>", ic.InstanceArn)
		}
		if !storeIDRe.MatchString(ic.IdentityStoreID) {
			bad("identityCenter.identityStoreId %q: want d-<10 hex>", ic.IdentityStoreID)
		}
		if !accounts[ic.Account] {
			bad("identityCenter.account %q: not a configured account", ic.Account)
		}
		// IAM Identity Center requires user names and email addresses to be
		// unique; a claim matching two users could name either, so both are
		// checked here (and FindUser still refuses an ambiguous match).
		users := map[string]bool{}
		names := map[string]int{}  // DirectoryKey(userName) → index
		emails := map[string]int{} // DirectoryKey(email) → index of its user
		for i, u := range ic.Users {
			users[u.UserName] = true
			if u.UserName == "" {
				bad("identityCenter.users[%d].userName %q: required", i, u.UserName)
				continue
			}
			if j, dup := names[DirectoryKey(u.UserName)]; dup {
				bad("identityCenter.users[%d].userName %q: already the userName of identityCenter.users[%d] (%q); user names are unique in an identity store, ignoring case", i, u.UserName, j, ic.Users[j].UserName)
			} else {
				names[DirectoryKey(u.UserName)] = i
			}
			switch {
			case u.Password != "" && u.PasswordHash != "":
				bad("identityCenter.users[%d] (%q): password and passwordHash: give one of them", i, u.UserName)
			case u.Password != "" && (len(u.Password) < MinPasswordLength || len(u.Password) > MaxPasswordLength):
				// The value itself is never repeated in a message.
				bad("identityCenter.users[%d].password: %d to %d bytes", i, MinPasswordLength, MaxPasswordLength)
			case u.PasswordHash != "":
				if _, err := phc.Parse(u.PasswordHash); err != nil {
					bad("identityCenter.users[%d].passwordHash: %v", i, err)
				}
			}
			for k, e := range u.Emails {
				key := DirectoryKey(e)
				if e == "" {
					bad("identityCenter.users[%d].emails[%d]: empty", i, k)
				} else if j, dup := emails[key]; dup && j != i {
					bad("identityCenter.users[%d].emails[%d] %q: already an email of identityCenter.users[%d] (%q); email addresses are unique in an identity store, ignoring case", i, k, e, j, ic.Users[j].UserName)
				} else if !dup {
					emails[key] = i
				}
			}
		}
		groups := map[string]bool{}
		for i, g := range ic.Groups {
			checkUnique(bad, groups, fmt.Sprintf("identityCenter.groups[%d]", i), g.Name, g.Name != "", "required and unique")
			for _, m := range g.Members {
				if !users[m] {
					bad("identityCenter.groups[%d].members: %q is not a directory user", i, m)
				}
			}
		}
		issuers := map[string]bool{}
		for i, t := range ic.TrustedTokenIssuers {
			tw := fmt.Sprintf("identityCenter.trustedTokenIssuers[%d]", i)
			checkUnique(bad, issuers, tw, t.Name, t.Name != "", "required and unique")
			if !t.Builtin && t.IssuerURL == "" {
				bad("%s: issuerUrl required unless builtin", tw)
			}
			if !t.Builtin && t.JWKSURL == "" && t.JWKS == "" {
				bad("%s: jwksUrl or jwks required unless builtin", tw)
			}
			if !claimPathRe.MatchString(t.ClaimAttributePath) {
				bad("%s.claimAttributePath %q: want a claim name or a dotted path of names (JMESPath identifiers, quoted when they hold other characters), such as email, custom.employee_id or \"cognito:username\"", tw, t.ClaimAttributePath)
			}
			// The directory attributes CreateTokenWithIAM can match
			// (identitycenter.Directory.FindUser).
			switch t.IdentityStoreAttributePath {
			case "userName", "emails.value":
			default:
				bad("%s.identityStoreAttributePath %q: unsupported; want userName or emails.value", tw, t.IdentityStoreAttributePath)
			}
		}
		for i, app := range ic.Applications {
			aw := fmt.Sprintf("identityCenter.applications[%d]", i)
			m := appArnRe.FindStringSubmatch(app.Arn)
			switch {
			case m == nil:
				bad("%s.arn %q: want arn:aws:sso::<account>:application/ssoins-<16 hex>/apl-<16 hex>", aw, app.Arn)
			case !strings.HasSuffix(ic.InstanceArn, "/"+m[2]):
				bad("%s.arn %q: not an application of %s", aw, app.Arn, ic.InstanceArn)
			case m[1] != ic.Account:
				bad("%s.arn %q: not in identityCenter.account %s", aw, app.Arn, ic.Account)
			}
			for j, g := range app.Grants {
				if !issuers[g.Issuer] {
					bad("%s.grants[%d].issuer %q: no such trusted token issuer", aw, j, g.Issuer)
				}
				if len(g.Audiences) == 0 {
					bad("%s.grants[%d].audiences: at least one", aw, j)
				}
			}
			for j, sc := range app.Scopes {
				if !scopeRe.MatchString(sc) {
					bad("%s.scopes[%d] %q: want up to three names of [A-Za-z0-9_] joined by colons, such as redshift:connect", aw, j, sc)
				}
			}
			if app.ActorPolicy != nil {
				checkPolicy(bad, aw+".actorPolicy", *app.ActorPolicy, iam.KindResource)
			}
			for j, u := range app.Assignments.Users {
				if !users[u] {
					bad("%s.assignments.users[%d]: %q is not a directory user", aw, j, u)
				}
			}
			for j, g := range app.Assignments.Groups {
				if !groups[g] {
					bad("%s.assignments.groups[%d]: %q is not a directory group", aw, j, g)
				}
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("config: %d problem(s):\n  %s", len(errs), strings.Join(errs, "\n  "))
	}
	return nil
}

// checkUnique checks the name of one of a list's items (at where): of
// its form (ok) and not one seen before; want is what the message asks.
func checkUnique(bad func(string, ...any), seen map[string]bool, where, name string, ok bool, want string) {
	if !ok || seen[name] {
		bad("%s.name %q: %s", where, name, want)
	}
	seen[name] = true
}

// checkIAMName checks the name of an IAM user or role (kind): IAM's
// pattern, and unique among the account's names (by kind, lower-cased).
func checkIAMName(bad func(string, ...any), names map[string]bool, where, kind, name string) {
	if !iamNameRe.MatchString(name) {
		bad("%s.name %q: not a valid IAM %s name", where, name, kind)
	}
	key := kind + "/" + strings.ToLower(name)
	if names[key] {
		bad("%s.name %q: duplicate %s (IAM names are unique ignoring case)", where, name, kind)
	}
	names[key] = true
}

// checkVPC checks ids have EC2's forms and IPv6 blocks are IPv6 prefixes.
func checkVPC(bad func(string, ...any), where, region string, v *VPC) {
	if !vpcIDRe.MatchString(v.ID) {
		bad("%s.id %q: want vpc- followed by 8 or 17 hex digits", where, v.ID)
	}
	if len(v.Subnets) == 0 {
		bad("%s.subnets: at least one", where)
	}
	seen := map[string]bool{}
	for i, s := range v.Subnets {
		sw := fmt.Sprintf("%s.subnets[%d]", where, i)
		if !subnetIDRe.MatchString(s.ID) || seen[s.ID] {
			bad("%s.id %q: want subnet- followed by 8 or 17 hex digits, unique", sw, s.ID)
		}
		seen[s.ID] = true
		if az := s.AvailabilityZone; az != "" && !(len(az) == len(region)+1 && strings.HasPrefix(az, region) && az[len(az)-1] >= 'a' && az[len(az)-1] <= 'z') {
			bad("%s.availabilityZone %q: want %s followed by a letter", sw, az, region)
		}
		if s.IPv6CidrBlock != "" {
			if p, err := netip.ParsePrefix(s.IPv6CidrBlock); err != nil || !p.Addr().Is6() || p.Addr().Is4In6() {
				bad("%s.ipv6CidrBlock %q: not an IPv6 CIDR block", sw, s.IPv6CidrBlock)
			}
		}
	}
}

// claimPathRe is the JMESPath subset trusted token issuers may use to name
// a claim: identifiers (or quoted names) joined by dots.
var claimPathRe = regexp.MustCompile(`^(?:[A-Za-z_][A-Za-z0-9_]*|"[^"\\]+")(?:\.(?:[A-Za-z_][A-Za-z0-9_]*|"[^"\\]+"))*$`)

// IAM's size quotas, in characters without white space (as IAM counts):
// inline policies of one user together, of one role together, and a trust
// policy at its highest adjustable value.
const (
	maxUserPolicies = 2048
	maxRolePolicies = 10240
	maxTrustPolicy  = 4096
)

// checkPolicies checks an identity's inline policies: names, each document
// as IAM would parse an identity policy, and their total size.
func checkPolicies(bad func(string, ...any), where string, ps []Policy, owner string, maxSize int) {
	seen := map[string]bool{}
	size := 0
	for i, p := range ps {
		checkUnique(bad, seen, fmt.Sprintf("%s.policies[%d]", where, i), p.Name, p.Name != "", "required and unique")
		if len(p.Document.JSON) == 0 {
			bad("%s.policies[%d].document: required", where, i)
			continue
		}
		checkPolicy(bad, fmt.Sprintf("%s.policies[%d].document", where, i), p.Document, iam.KindIdentity)
		size += policySize(p.Document)
	}
	if size > maxSize {
		bad("%s.policies: LimitExceeded: Maximum policy size of %d bytes exceeded for %s", where, maxSize, owner)
	}
}

// checkPolicy refuses at load a document IAM would refuse to store, in
// IAM's words, rather than letting it be evaluated with undefined meaning.
func checkPolicy(bad func(string, ...any), where string, d Document, kind iam.Kind) {
	_, err := iam.ParsePolicy(d.JSON, kind)
	if pe := (*iam.PolicyError)(nil); errors.As(err, &pe) {
		bad("%s: MalformedPolicyDocument: %s", where, pe.Detail())
	} else if err != nil {
		bad("%s: %v", where, err)
	}
}

func policySize(d Document) int {
	n := 0
	for _, r := range string(d.JSON) {
		if !unicode.IsSpace(r) {
			n++
		}
	}
	return n
}

// LoadFile loads path (if not empty), applies environment and flag overrides
// and defaults, and validates the result.
func LoadFile(path string, flags map[string]string) (*Config, error) {
	c := &Config{}
	if path != "" {
		var err error
		if c, err = Load(path); err != nil {
			return nil, err
		}
	}
	if err := c.Override(os.Getenv, flags); err != nil {
		return nil, err
	}
	c.ApplyDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}
