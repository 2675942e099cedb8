// Package config defines idcgate's configuration file, its defaults, and how
// flags and IDCGATE_* environment variables override it.
//
// The file describes a whole deployment: server settings, AWS accounts with
// their IAM users and roles, the Identity Center directory, Redshift IdC
// applications and the namespaces and workgroups to create at start.
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/idcgate/idcgate/internal/faults"
)

// Defaults (BEHAVIOUR 11.1, and the section of each setting).
const (
	DefaultDataDir         = "./idcgate-data"
	DefaultListen          = "127.0.0.1:7439"
	DefaultPGListen        = "127.0.0.1:5439"
	DefaultRegion          = "us-east-1"
	DefaultTransitionDelay = 300 * time.Millisecond
	DefaultTokenTTL        = time.Hour
	// DefaultMaxSessionsPerUser is gateway.maxSessionsPerUser's default:
	// one user's sessions on one workgroup.
	DefaultMaxSessionsPerUser = 20
	// DefaultShutdownGrace is gateway.shutdownGrace's default.
	DefaultShutdownGrace  = 10 * time.Second
	DefaultKeyRotation    = 30 * 24 * time.Hour
	DefaultAuditRetention = 90 * 24 * time.Hour
)

// PGUpstream's words that are not DSNs.
const (
	UpstreamManaged = "managed"
	UpstreamNone    = "none"
)

// Config is the whole configuration file.
type Config struct {
	// Server settings; each may be overridden by a flag or IDCGATE_<NAME>.
	DataDir  string `yaml:"dataDir"`
	Listen   string `yaml:"listen"`
	PGListen string `yaml:"pgListen"`
	// PGUpstream is every workgroup's default upstream PostgreSQL: a DSN,
	// UpstreamManaged (idcgate runs its own), or UpstreamNone. Unset, it is
	// managed when PostgreSQL's server binaries are installed and the store
	// is the embedded one (one idcgate), else none.
	PGUpstream string `yaml:"pgUpstream"`
	Region     string `yaml:"region"`
	Store      string `yaml:"store"`
	AuditLog   string `yaml:"auditLog"`
	// PprofListen, when set, serves Go's profiling endpoints
	// (/debug/pprof/) there, unauthenticated: for profiling on loopback.
	PprofListen string `yaml:"pprofListen"`
	LogFormat   string `yaml:"logFormat"` // text | json
	LogLevel    string `yaml:"logLevel"`  // debug | info | warn | error
	// PGInsecure allows token logins without TLS (local testing only).
	PGInsecure bool `yaml:"pgInsecure"`
	// PGTLSCert and PGTLSKey are the gateway's certificate; default: one
	// generated into the data dir.
	PGTLSCert string          `yaml:"pgTlsCert"`
	PGTLSKey  string          `yaml:"pgTlsKey"`
	Gateway   GatewaySettings `yaml:"gateway"`
	DataAPI   DataAPISettings `yaml:"dataApi"`
	// PublicURL is how clients reach the API, e.g. https://idcgate.example.com;
	// default http://<listen address>. The built-in IdP's issuer is <PublicURL>/idp.
	PublicURL string `yaml:"publicUrl"`

	HTTP       HTTPSettings       `yaml:"http"`
	Serverless ServerlessSettings `yaml:"serverless"`
	Throttle   ThrottleSettings   `yaml:"throttle"`
	// Faults are fault-injection rules applied at start (off when empty).
	Faults []faults.Rule `yaml:"faults"`
	Tokens TokenSettings `yaml:"tokens"`
	Audit  AuditSettings `yaml:"audit"`

	Accounts       []Account       `yaml:"accounts"`
	IdentityCenter *IdentityCenter `yaml:"identityCenter"`
}

// ServerlessSettings tune the Redshift Serverless emulation.
type ServerlessSettings struct {
	// TransitionDelay is how long CREATING, MODIFYING and DELETING last.
	TransitionDelay *Duration `yaml:"transitionDelay"`
	// CapacityRPU is the per-account RPU quota (sum of base capacities).
	CapacityRPU int `yaml:"capacityRPU"`
}

// HTTPSettings tune the API listener.
type HTTPSettings struct {
	// PublicMetrics serves /metrics without a signature (default true);
	// when false, /metrics answers only requests signed by an account
	// administrator (SigV4 service "idcgate").
	PublicMetrics *bool `yaml:"publicMetrics"`
}

// GatewaySettings tune the PostgreSQL gateway.
type GatewaySettings struct {
	LoginTimeout *Duration `yaml:"loginTimeout"`
	IdleTimeout  *Duration `yaml:"idleTimeout"`
	// ShutdownGrace is how long open sessions may run on when idcgate
	// stops (default 10s); then their queries are ended with 57P01.
	ShutdownGrace *Duration `yaml:"shutdownGrace"`
	// MaxConnsPerWorkgroup and MaxSessionsPerUser (per workgroup) limit
	// gateway sessions, counted across replicas in the store.
	MaxConnsPerWorkgroup int `yaml:"maxConnectionsPerWorkgroup"`
	MaxSessionsPerUser   int `yaml:"maxSessionsPerUser"`
	// Disabled turns the gateway off (API only).
	Disabled bool `yaml:"disabled"`
}

// DataAPISettings tune the Redshift Data API (RedshiftData.*).
type DataAPISettings struct {
	// MaxActiveStatements is the statements per workgroup that may be
	// submitted, picked or started at once on one idcgate process; beyond
	// it ExecuteStatement answers ActiveStatementsExceededException.
	MaxActiveStatements int `yaml:"maxActiveStatements"`
	// MaxConnectionsPerWorkgroup bounds the upstream connections the
	// statements of one workgroup run on at once; the rest wait SUBMITTED.
	MaxConnectionsPerWorkgroup int `yaml:"maxConnectionsPerWorkgroup"`
}

// ThrottleSettings are token buckets: requests per second and burst.
type ThrottleSettings struct {
	Global       *RateLimit `yaml:"global"`
	PerPrincipal *RateLimit `yaml:"perPrincipal"`
}

// RateLimit is one token bucket; rate 0 disables it.
type RateLimit struct {
	Rate  float64 `yaml:"rate"`
	Burst int     `yaml:"burst"`
}

// AuditSettings tune the audit trail.
type AuditSettings struct {
	// Retention is how long the store keeps each record for lookups
	// (`audit tail`), like CloudTrail's 90-day event history; "0s" keeps
	// them forever. The JSON-lines file (auditLog) keeps everything.
	Retention *Duration `yaml:"retention"`
}

// TokenSettings tune GetIdentityCenterAuthToken.
type TokenSettings struct {
	TTL *Duration `yaml:"ttl"`
	// KeyRotation rotates every workgroup key this often ("0s": never);
	// old versions are retired once no token sealed under them can be valid.
	KeyRotation *Duration `yaml:"keyRotation"`
}

// Account is one AWS account and everything that lives in it.
type Account struct {
	ID    string `yaml:"id"`
	Alias string `yaml:"alias"`

	Users []User `yaml:"users"`
	Roles []Role `yaml:"roles"`
	// OIDCProviders are IAM OpenID Connect providers: their tokens may be
	// exchanged by AssumeRoleWithWebIdentity for roles that trust them.
	OIDCProviders           []OIDCProvider           `yaml:"oidcProviders"`
	RedshiftIdcApplications []RedshiftIdcApplication `yaml:"redshiftIdcApplications"`
	Namespaces              []Namespace              `yaml:"namespaces"`
	Workgroups              []Workgroup              `yaml:"workgroups"`
	// VPC is the account's emulated network; without one, workgroup
	// subnets are taken as given and not checked.
	VPC *VPC `yaml:"vpc"`
}

// VPC is an account's emulated VPC: the subnets workgroups may be placed in.
// A workgroup created without subnetIds gets all of them.
type VPC struct {
	ID      string   `yaml:"id"`
	Subnets []Subnet `yaml:"subnets"`
}

// Subnet is one subnet of a VPC; dual-stack workgroups need every one of
// their subnets to have an IPv6 CIDR block.
type Subnet struct {
	ID               string `yaml:"id"`
	AvailabilityZone string `yaml:"availabilityZone"`
	IPv6CidrBlock    string `yaml:"ipv6CidrBlock"`
}

// User is an IAM user with long-term access keys.
type User struct {
	Name       string      `yaml:"name"`
	Path       string      `yaml:"path"`
	AccessKeys []AccessKey `yaml:"accessKeys"`
	Policies   []Policy    `yaml:"policies"`
}

// AccessKey is a long-term key pair (AKIA…).
type AccessKey struct {
	AccessKeyID     string `yaml:"accessKeyId"`
	SecretAccessKey string `yaml:"secretAccessKey"`
}

// OIDCProvider is an IAM OpenID Connect provider: an issuer URL and the
// client ids (audiences) its tokens must name.
type OIDCProvider struct {
	URL         string   `yaml:"url"`
	ClientIDs   []string `yaml:"clientIds"`
	Thumbprints []string `yaml:"thumbprints"`
}

// Role is an IAM role: who may assume it, and what its sessions may do.
type Role struct {
	Name               string    `yaml:"name"`
	Path               string    `yaml:"path"`
	MaxSessionDuration *Duration `yaml:"maxSessionDuration"`
	TrustPolicy        Document  `yaml:"trustPolicy"`
	Policies           []Policy  `yaml:"policies"`
}

// Policy is a named inline policy.
type Policy struct {
	Name     string   `yaml:"name"`
	Document Document `yaml:"document"`
}

// Document is an IAM policy document written as YAML (or as a JSON string);
// JSON holds it re-encoded as JSON.
type Document struct {
	JSON []byte
}

// UnmarshalYAML accepts a mapping or a string holding JSON.
func (d *Document) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		d.JSON = []byte(n.Value)
		return nil
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("line %d: policy document: %w", n.Line, err)
	}
	d.JSON = b
	return nil
}

// RedshiftIdcApplication links Redshift to the Identity Center instance.
type RedshiftIdcApplication struct {
	Name              string `yaml:"name"`
	IdentityNamespace string `yaml:"identityNamespace"`
	IdcInstanceArn    string `yaml:"idcInstanceArn"`
	IamRoleArn        string `yaml:"iamRoleArn"`
}

// Namespace is created at start when missing.
type Namespace struct {
	Name                   string `yaml:"name"`
	DbName                 string `yaml:"dbName"`
	AdminUsername          string `yaml:"adminUsername"`
	RedshiftIdcApplication string `yaml:"redshiftIdcApplication"` // by name
	// SeedSQL runs once, as the managed upstream's superuser, in the
	// database idcgate creates for this namespace (managed upstream only).
	SeedSQL string `yaml:"seedSql"`
}

// Workgroup is created at start when missing.
type Workgroup struct {
	Name         string `yaml:"name"`
	Namespace    string `yaml:"namespace"`
	BaseCapacity int32  `yaml:"baseCapacity"`
	// Upstream is the PostgreSQL DSN the gateway connects this workgroup to.
	Upstream string `yaml:"upstream"`
}

// IdentityCenter is the one Identity Center instance and its directory.
type IdentityCenter struct {
	InstanceArn     string `yaml:"instanceArn"`
	IdentityStoreID string `yaml:"identityStoreId"`
	// Account owns the instance; default: the first account.
	Account string `yaml:"account"`

	Users               []DirectoryUser      `yaml:"users"`
	Groups              []DirectoryGroup     `yaml:"groups"`
	TrustedTokenIssuers []TrustedTokenIssuer `yaml:"trustedTokenIssuers"`
	Applications        []Application        `yaml:"applications"`
}

// DirectoryUser is an Identity Center user. Its user id is not stored: it is
// derived from the master key, the identity store id and the user name, so
// it is stable across restarts and replicas that share the master key, and
// changes when any of the three does.
type DirectoryUser struct {
	UserName    string   `yaml:"userName"`
	DisplayName string   `yaml:"displayName"`
	Emails      []string `yaml:"emails"`
	// Password and PasswordHash (an argon2id PHC string) give the user a
	// sign-in password for the pages (BEHAVIOUR 18.6); at most one of them.
	// A plain password is hashed at start and never stored as given.
	Password     string `yaml:"password"`
	PasswordHash string `yaml:"passwordHash"`
}

// DirectoryKey is the form in which the identity store compares user names
// for uniqueness, and email addresses for uniqueness and for matching a
// trusted token issuer's claim: ASCII letters lowered, every other byte as
// is. Identity Store's uniqueness ignores case, but nothing in AWS folds
// Unicode case: strings.EqualFold would make the Kelvin sign K (U+212A) a
// k and the long s (U+017F) an s, so a claim "\u212Aate@…" would match kate.
func DirectoryKey(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// DirectoryGroup is an Identity Center group with its members (user names).
type DirectoryGroup struct {
	Name    string   `yaml:"name"`
	Members []string `yaml:"members"`
}

// TrustedTokenIssuer is an external (or the built-in) OIDC issuer whose JWTs
// CreateTokenWithIAM accepts.
type TrustedTokenIssuer struct {
	Name string `yaml:"name"`
	// Builtin marks idcgate's own test IdP (served under /idp/).
	Builtin   bool   `yaml:"builtin"`
	IssuerURL string `yaml:"issuerUrl"`
	JWKSURL   string `yaml:"jwksUrl"`
	JWKS      string `yaml:"jwks"` // inline JWKS JSON
	// ClaimAttributePath is the JWT claim matched to IdentityStoreAttributePath.
	ClaimAttributePath         string `yaml:"claimAttributePath"`
	IdentityStoreAttributePath string `yaml:"identityStoreAttributePath"`
}

// Application is an Identity Center customer-managed application that
// exchanges trusted tokens with CreateTokenWithIAM. CreateTokenWithIAM
// enforces what it declares (BEHAVIOUR 15.4).
type Application struct {
	Arn  string `yaml:"arn"`
	Name string `yaml:"name"`
	// Grants are its jwt-bearer grant: the issuers and audiences it accepts.
	Grants []Grant `yaml:"grants"`
	// Scopes are its access scopes (e.g. redshift:connect), the scopes
	// CreateTokenWithIAM may be asked for besides openid, aws and
	// sts:identity_context.
	Scopes []string `yaml:"scopes"`
	// ActorPolicy is its IAM authentication method: the resource-based
	// policy naming who may call CreateTokenWithIAM for it. Default: the
	// account's IAM principals (arn:aws:iam::<account>:root).
	ActorPolicy *Document `yaml:"actorPolicy"`
	// AssignmentRequired admits only the users assigned (directly or
	// through a group); default false.
	AssignmentRequired *bool `yaml:"assignmentRequired"`
	// Assignments are the directory users and groups assigned, by name.
	Assignments ApplicationAssignments `yaml:"assignments"`
}

// ApplicationAssignments name the users and groups assigned to an application.
type ApplicationAssignments struct {
	Users  []string `yaml:"users"`
	Groups []string `yaml:"groups"`
}

// Grant lets an application accept JWTs of one issuer with these audiences.
type Grant struct {
	Issuer    string   `yaml:"issuer"`
	Audiences []string `yaml:"audiences"`
}

// Duration is a time.Duration written as "300ms", "1h", or a number of seconds.
type Duration struct{ time.Duration }

// UnmarshalYAML parses "1h30m" or plain seconds.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: duration must be a scalar", n.Line)
	}
	if v, err := time.ParseDuration(n.Value); err == nil {
		d.Duration = v
		return nil
	}
	var secs int64
	if err := n.Decode(&secs); err != nil {
		return fmt.Errorf("line %d: %q is not a duration (use 300ms, 1h, or seconds)", n.Line, n.Value)
	}
	d.Duration = time.Duration(secs) * time.Second
	return nil
}

// Load reads and parses a config file; unknown fields are errors, so a typo
// does not silently change behaviour.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(b)
}

// Parse parses a config document.
func Parse(b []byte) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytesReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("config: %w", locateSyntaxError(b, err))
	}
	return &c, nil
}
