// Package managedpg runs idcgate's own PostgreSQL (pgUpstream: managed):
// initdb on first start, pg_ctl start and stop with idcgate, on a loopback
// port picked once and remembered in the cluster's configuration.
//
// Nobody logs in to it with a password. pg_hba.conf lets in:
//   - idcgate's user roles (members of idcgate_users) over TLS with a client
//     certificate from idcgate's upstream CA (ssl_ca_file), as the gateway
//     logs users in to any upstream;
//   - the service role "idcgate" (CREATEROLE, pg_signal_backend: role sync
//     and ending sessions at shutdown) the same way, with a certificate for
//     "idcgate" the gateway mints per handshake (RoleSync.ServiceTLS);
//   - the superuser "postgres" over the Unix socket only, by peer
//     authentication for the OS user that runs idcgate (and, as root, the
//     postgres OS user): what an operator uses for admin work, and what
//     idcgate creates databases and group roles with.
//
// and nothing else. No password, verifier or token exists to be learnt,
// set or logged. As root, the server runs as the "postgres" OS user (which
// Debian's package creates) in a directory that user owns.
package managedpg

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/big"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/idcgate/idcgate/internal/pgbin"
)

const (
	// Superuser is the cluster's superuser (initdb -U), reachable only
	// over the Unix socket by peer authentication.
	Superuser = "postgres"
	// ServiceRole is the role the gateway's role sync logs in as, with a
	// client certificate.
	ServiceRole = "idcgate"
	// osUser runs the server when idcgate runs as root (PostgreSQL
	// refuses to run as root).
	osUser = "postgres"
	// memberRole is gateway.MemberRole (pg_hba.conf's "+idcgate_users").
	memberRole = "idcgate_users"
	// confFile is included at the end of postgresql.conf and rewritten at
	// every start.
	confFile       = "idcgate.conf"
	clientCAFile   = "idcgate-upstream-ca.crt"
	serverCertFile = "server.crt"
	serverKeyFile  = "server.key"
	startTimeout   = 60 * time.Second
	// maxSocketPath is sun_path's size less its NUL on Linux.
	maxSocketPath = 107
)

// ErrUnreachable: idcgate runs as root and the postgres OS user cannot
// reach the directory (a parent such as /root is private): FallbackDir is
// one it owns.
var ErrUnreachable = errors.New("the managed PostgreSQL's directory is out of the postgres OS user's reach")

// FallbackDir is where the cluster of data dir dataDir lives when the
// postgres OS user cannot reach the directory beside it: in that user's
// home (Debian: /var/lib/postgresql), named by a hash of the data dir's
// absolute path, so the same data dir finds it again.
func FallbackDir(dataDir string) (string, error) {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return "", err
	}
	u, err := user.Lookup(osUser)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(filepath.Clean(abs)))
	return filepath.Join(u.HomeDir, "idcgate-"+hex.EncodeToString(sum[:6])), nil
}

// Options say where and how to run the cluster.
type Options struct {
	// Dir holds the cluster (data/), its log (postgres.log) and its Unix
	// socket. Created 0700 if missing (owned by the postgres OS user when
	// idcgate runs as root).
	Dir string
	// BinDir holds initdb, pg_ctl and postgres (FindBinDir).
	BinDir string
	// ClientCA is idcgate's upstream CA certificate (PEM): the server's
	// ssl_ca_file, the only CA it accepts client certificates from.
	ClientCA []byte
	Log      *slog.Logger
}

// Cluster is a running managed PostgreSQL.
type Cluster struct {
	// Dir, DataDir, LogFile: the cluster's home, its data directory and
	// the server's log.
	Dir, DataDir, LogFile string
	BinDir                string
	// Port is its TCP port on 127.0.0.1 (and the socket's number).
	Port int
	// Created: this Start made Dir (a failed first start removes it).
	Created bool

	log      *slog.Logger
	runAs    string // OS user the tools run as; "" for the current one
	uid, gid int    // owner of what idcgate writes, when runAs is set

	mu     sync.Mutex // serializes the Ensure* calls
	jobs   sync.WaitGroup
	ctx    context.Context // ends at Stop: background Ensure calls give up
	cancel context.CancelFunc
}

// Start initializes the cluster on first use, (re)writes its idcgate
// settings, and starts it; Stop stops it.
func Start(ctx context.Context, o Options) (_ *Cluster, err error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, errorf("directory", err)
	}
	c := &Cluster{Dir: dir, BinDir: o.BinDir, log: o.Log}
	if os.Geteuid() == 0 {
		u, err := user.Lookup(osUser)
		if err != nil {
			return nil, errorf("running as root", fmt.Errorf("PostgreSQL must run as the %q OS user, which does not exist (Debian's postgresql package creates it; or useradd -r %s): %w", osUser, osUser, err))
		}
		c.runAs = osUser
		c.uid, _ = strconv.Atoi(u.Uid)
		c.gid, _ = strconv.Atoi(u.Gid)
	}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		c.Created = true
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, errorf("directory", err)
	}
	defer func() {
		if err != nil && c.Created {
			os.RemoveAll(dir)
		}
	}()
	if err := c.own(dir); err != nil {
		return nil, errorf("directory", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, errorf("directory", err)
	}
	if c.runAs != "" {
		// A parent directory the postgres user cannot search (a 0700 home)
		// would fail in initdb with a less helpful message.
		if out, err := c.command("test", "-w", dir).CombinedOutput(); err != nil {
			return nil, errorf("directory", fmt.Errorf("%w: the %s OS user cannot write %s (a parent directory is private to root?): %v %s", ErrUnreachable, osUser, dir, err, out))
		}
	}
	// /proc/<pid>/cwd (the stale-lock check) shows the resolved path.
	if dir, err = filepath.EvalSymlinks(dir); err != nil {
		return nil, errorf("directory", err)
	}
	c.Dir, c.DataDir, c.LogFile = dir, filepath.Join(dir, "data"), filepath.Join(dir, "postgres.log")
	if len(dir)+len("/.s.PGSQL.65535") > maxSocketPath {
		return nil, errorf("directory", fmt.Errorf("%s is too long for the server's Unix socket (%d bytes at most): choose a shorter data dir", dir, maxSocketPath-len("/.s.PGSQL.65535")))
	}
	if err := c.initdb(); err != nil {
		return nil, err
	}
	// Before the port check: a server left running holds the port.
	if err := c.clearStale(); err != nil {
		return nil, err
	}
	if err := c.configure(o.ClientCA); err != nil {
		return nil, err
	}
	if err := c.start(); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			c.stopServer()
		}
	}()
	c.ctx, c.cancel = context.WithCancel(context.Background())
	if err := c.bootstrap(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// initdb creates the cluster unless it exists. A data directory without
// PG_VERSION is what a killed initdb leaves: made again.
func (c *Cluster) initdb() error {
	if _, err := os.Stat(filepath.Join(c.DataDir, "PG_VERSION")); err == nil {
		return nil
	}
	if err := os.RemoveAll(c.DataDir); err != nil {
		return errorf("initdb", err)
	}
	if out, err := c.tool("initdb", "-D", c.DataDir, "-U", Superuser, "--auth=peer", "-E", "UTF8", "--locale=C", "--no-instructions"); err != nil {
		return errorf("initdb", fmt.Errorf("%v: %s", err, strings.TrimSpace(string(out))))
	}
	f, err := os.OpenFile(filepath.Join(c.DataDir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return errorf("initdb", err)
	}
	defer f.Close()
	// Last, so idcgate's settings win over the file's (ALTER SYSTEM's
	// postgresql.auto.conf still wins over both).
	if _, err := fmt.Fprintf(f, "\n# idcgate's settings, rewritten at every start of idcgate.\ninclude_if_exists = '%s'\n", confFile); err != nil {
		return errorf("initdb", err)
	}
	return nil
}

// configure writes what idcgate decides at every start: certificates, the
// client CA, pg_hba.conf, pg_ident.conf and idcgate.conf (the port, chosen
// here, is kept there).
func (c *Cluster) configure(clientCA []byte) error {
	if _, err := os.Stat(filepath.Join(c.DataDir, serverCertFile)); errors.Is(err, fs.ErrNotExist) {
		certPEM, keyPEM, err := serverCert()
		if err != nil {
			return errorf("server certificate", err)
		}
		if err := c.write(serverKeyFile, keyPEM, 0o600); err != nil {
			return err
		}
		if err := c.write(serverCertFile, certPEM, 0o644); err != nil {
			return err
		}
	}
	if len(clientCA) == 0 {
		return errorf("ssl_ca_file", errors.New("no upstream CA certificate"))
	}
	if err := c.write(clientCAFile, clientCA, 0o644); err != nil {
		return err
	}
	// The first matching line decides. Everything not named is refused.
	hba := "# Written by idcgate at every start (edits are lost).\n" +
		"local   all  +" + memberRole + "                reject\n" +
		"hostssl all  +" + memberRole + "  127.0.0.1/32  cert\n" +
		"host    all  +" + memberRole + "  all           reject\n" +
		"hostssl all  " + ServiceRole + "        127.0.0.1/32  cert\n" +
		"local   all  " + Superuser + "       peer map=idcgate\n"
	if err := c.write("pg_hba.conf", []byte(hba), 0o600); err != nil {
		return err
	}
	ident := "# Written by idcgate at every start: OS users that may log in as " + Superuser + " over the socket.\n"
	me, err := user.Current()
	if err != nil {
		return errorf("current user", err)
	}
	for _, u := range uniq(me.Username, c.runAs) {
		ident += "idcgate  " + u + "  " + Superuser + "\n"
	}
	if err := c.write("pg_ident.conf", []byte(ident), 0o600); err != nil {
		return err
	}
	c.Port = c.rememberedPort()
	if c.Port == 0 || !portFree(c.Port) {
		if c.Port, err = pgbin.FreePort(); err != nil {
			return errorf("port", err)
		}
	}
	return c.writeConf()
}

func (c *Cluster) writeConf() error {
	conf := fmt.Sprintf(`# Written by idcgate at every start (edits are lost): put your own
# settings in postgresql.conf above the include, or use ALTER SYSTEM.
listen_addresses = '127.0.0.1'
port = %d
unix_socket_directories = '%s'
ssl = on
ssl_cert_file = '%s'
ssl_key_file = '%s'
ssl_ca_file = '%s'
`, c.Port, strings.ReplaceAll(c.Dir, "'", "''"), serverCertFile, serverKeyFile, clientCAFile)
	return c.write(confFile, []byte(conf), 0o600)
}

var portRe = regexp.MustCompile(`(?m)^port = ([0-9]+)$`)

func (c *Cluster) rememberedPort() int {
	b, err := os.ReadFile(filepath.Join(c.DataDir, confFile))
	if err != nil {
		return 0
	}
	m := portRe.FindSubmatch(b)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// clearStale makes a postmaster.pid left by a killed run harmless: a
// postmaster still running on this data directory (idcgate was killed,
// the server was not) is stopped, to start again with this run's
// settings; a lock file naming any other process (or none) is removed,
// so a reused pid cannot stop the start.
func (c *Cluster) clearStale() error {
	pidFile := filepath.Join(c.DataDir, "postmaster.pid")
	b, err := os.ReadFile(pidFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return errorf("postmaster.pid", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	if pid, err := strconv.Atoi(strings.TrimSpace(line)); err == nil && pid > 0 && c.isPostmaster(pid) {
		c.log.Warn("stopping the managed PostgreSQL left running by an earlier idcgate", "pid", pid, "dir", c.Dir)
		if out, err := c.tool("pg_ctl", "-D", c.DataDir, "-m", "fast", "-w", "-t", strconv.Itoa(int(startTimeout/time.Second)), "stop"); err != nil {
			return errorf("stopping the earlier server", fmt.Errorf("%v: %s", err, strings.TrimSpace(string(out))))
		}
		return nil
	}
	if err := os.Remove(pidFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return errorf("stale postmaster.pid", err)
	}
	return nil
}

// isPostmaster: pid is a postgres process whose working directory is this
// data directory (the postmaster changes to it).
func (c *Cluster) isPostmaster(pid int) bool {
	cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
	if err != nil || cwd != c.DataDir {
		return false
	}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	return err == nil && filepath.Base(exe) == "postgres"
}

// start runs pg_ctl start, on a new free port when the remembered one was
// taken between the check and the bind.
func (c *Cluster) start() error {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if attempt > 0 {
			if c.Port, err = pgbin.FreePort(); err != nil {
				return errorf("port", err)
			}
			if err := c.writeConf(); err != nil {
				return err
			}
		}
		cmd := c.command(filepath.Join(c.BinDir, "pg_ctl"), "-D", c.DataDir, "-l", c.LogFile, "-w", "-t", strconv.Itoa(int(startTimeout/time.Second)), "start")
		// Its own process group: a terminal's Ctrl-C reaches idcgate, which
		// stops the server after the gateway's sessions, not the server first.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		out, runErr := cmd.CombinedOutput()
		if runErr == nil {
			return nil
		}
		err = fmt.Errorf("pg_ctl start: %v: %s; the end of %s:\n%s", runErr, strings.TrimSpace(string(out)), c.LogFile, tail(c.LogFile, 10))
	}
	return errorf("start", err)
}

// bootstrap makes the service role right (no password whoever set one,
// CREATEROLE, pg_signal_backend) and idcgate_users, created by the service
// role so that it holds ADMIN on it from PostgreSQL 16 on.
func (c *Cluster) bootstrap(ctx context.Context) error {
	conn, err := c.Admin(ctx, "postgres")
	if err != nil {
		return errorf("connecting as "+Superuser, err)
	}
	defer conn.Close(context.Background())
	svc := pgx.Identifier{ServiceRole}.Sanitize()
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if err := createRole(ctx, tx, ServiceRole, "LOGIN CREATEROLE"); err != nil {
			return err
		}
		for _, q := range []string{
			"ALTER ROLE " + svc + " LOGIN CREATEROLE NOSUPERUSER NOREPLICATION NOBYPASSRLS PASSWORD NULL",
			"GRANT pg_signal_backend TO " + svc,
			"SET LOCAL ROLE " + svc,
		} {
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
		}
		return createRole(ctx, tx, memberRole, "NOLOGIN")
	})
	if err != nil {
		return errorf("service role", err)
	}
	return nil
}

func createRole(ctx context.Context, tx pgx.Tx, name, opts string) error {
	var exists bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", name).Scan(&exists); err != nil || exists {
		return err
	}
	_, err := tx.Exec(ctx, "CREATE ROLE "+pgx.Identifier{name}.Sanitize()+" "+opts)
	return err
}

// Admin connects as the superuser over the Unix socket (peer
// authentication): idcgate's own administration, and a test's.
func (c *Cluster) Admin(ctx context.Context, db string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig("sslmode=disable")
	if err != nil {
		return nil, err
	}
	cfg.Host, cfg.Port, cfg.User, cfg.Database, cfg.Fallbacks = c.Dir, uint16(c.Port), Superuser, db, nil
	cfg.RuntimeParams["application_name"] = "idcgate managed upstream"
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	return pgx.ConnectConfig(ctx, cfg)
}

// DSN is the service role's connection to database db: TLS to 127.0.0.1,
// the server's certificate checked against the one kept in the cluster.
// It holds no secret (the client certificate comes from RoleSync.ServiceTLS).
func (c *Cluster) DSN(db string) string {
	u := url.URL{Scheme: "postgres", User: url.User(ServiceRole), Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(c.Port)), Path: "/" + db,
		RawQuery: url.Values{"sslmode": {"verify-full"}, "sslrootcert": {filepath.Join(c.DataDir, serverCertFile)}}.Encode()}
	return u.String()
}

// Owns tells whether dsn is one of DSN's (any database).
func (c *Cluster) Owns(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://"+ServiceRole+"@"+net.JoinHostPort("127.0.0.1", strconv.Itoa(c.Port))+"/")
}

// EnsureGroupRoles creates each missing role as a NOLOGIN role (a group
// role the gateway's sync may grant), as the service role. Names over
// PostgreSQL's 63 bytes are skipped with a warning: PostgreSQL would cut them.
func (c *Cluster) EnsureGroupRoles(ctx context.Context, names []string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	conn, err := c.Admin(ctx, "postgres")
	if err != nil {
		return errorf("group roles", err)
	}
	defer conn.Close(context.Background())
	for _, name := range names {
		if len(name) > 63 {
			c.log.Warn("managed PostgreSQL: group role name over 63 bytes not created", "role", name)
			continue
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SET LOCAL ROLE "+pgx.Identifier{ServiceRole}.Sanitize()); err != nil {
				return err
			}
			return createRole(ctx, tx, name, "NOLOGIN")
		})
		if err != nil {
			return errorf("group role "+name, err)
		}
	}
	return nil
}

// createdMark starts the comment of a database idcgate created; seededMark
// ends it once its seed SQL ran (in the seed's transaction).
const (
	createdMark = "idcgate: created for namespace "
	seededMark  = "; seeded"
)

// EnsureDatabase creates database db (for namespace ns) if it does not
// exist and, for a database idcgate created, runs seedSQL once as the
// superuser, in one transaction with the mark that it ran: later starts
// never run it again, so what an operator changes or drops stays so.
func (c *Cluster) EnsureDatabase(ctx context.Context, db, ns, seedSQL string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	conn, err := c.Admin(ctx, "postgres")
	if err != nil {
		return errorf("database "+db, err)
	}
	defer conn.Close(context.Background())
	id := pgx.Identifier{db}.Sanitize()
	var comment *string
	err = conn.QueryRow(ctx, "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1", db).Scan(&comment)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+id); err != nil {
			return errorf("creating database "+db, err)
		}
		mark := createdMark + ns
		if _, err := conn.Exec(ctx, "COMMENT ON DATABASE "+id+" IS "+literal(mark)); err != nil {
			return errorf("database "+db, err)
		}
		comment = &mark
		c.log.Info("managed PostgreSQL: database created", "database", db, "namespace", ns)
	case err != nil:
		return errorf("database "+db, err)
	}
	if seedSQL == "" || comment == nil || !strings.HasPrefix(*comment, createdMark) || strings.HasSuffix(*comment, seededMark) {
		return nil
	}
	seedConn, err := c.Admin(ctx, db)
	if err != nil {
		return errorf("database "+db, err)
	}
	defer seedConn.Close(context.Background())
	err = pgx.BeginFunc(ctx, seedConn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, seedSQL); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "COMMENT ON DATABASE "+id+" IS "+literal(*comment+seededMark))
		return err
	})
	if err != nil {
		return errorf("seeding database "+db+" (namespace "+ns+"'s seedSql)", err)
	}
	c.log.Info("managed PostgreSQL: database seeded", "database", db, "namespace", ns)
	return nil
}

// Go runs job in the background until Stop (which waits for it), logging
// its error: work started by an API call that must not wait for it.
func (c *Cluster) Go(what string, job func(ctx context.Context) error) {
	c.jobs.Go(func() {
		if err := job(c.ctx); err != nil && c.ctx.Err() == nil {
			c.log.Error("managed PostgreSQL: "+what, "err", err)
		}
	})
}

// Stop waits for background jobs (told to give up) and stops the server
// (fast: sessions still open are ended, as the gateway's shutdown has done).
func (c *Cluster) Stop() error {
	c.cancel()
	c.jobs.Wait()
	return c.stopServer()
}

func (c *Cluster) stopServer() error {
	if out, err := c.tool("pg_ctl", "-D", c.DataDir, "-m", "fast", "-w", "-t", strconv.Itoa(int(startTimeout/time.Second)), "stop"); err != nil {
		return errorf("stop", fmt.Errorf("%v: %s", err, strings.TrimSpace(string(out))))
	}
	return nil
}

func (c *Cluster) command(name string, args ...string) *exec.Cmd {
	return pgbin.Command(c.runAs, name, args...)
}

func (c *Cluster) tool(name string, args ...string) ([]byte, error) {
	return c.command(filepath.Join(c.BinDir, name), args...).CombinedOutput()
}

// own gives path to the server's OS user when idcgate runs as root.
func (c *Cluster) own(path string) error {
	if c.runAs == "" {
		return nil
	}
	return os.Chown(path, c.uid, c.gid)
}

// write replaces a file in the data directory, owned by the server's user
// (PostgreSQL refuses a key file others may read).
func (c *Cluster) write(name string, data []byte, mode os.FileMode) error {
	path := filepath.Join(c.DataDir, name)
	tmp := path + ".idcgate-tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return errorf(name, err)
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return errorf(name, err)
	}
	if err := c.own(tmp); err != nil {
		return errorf(name, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return errorf(name, err)
	}
	return nil
}

// serverCert is a self-signed certificate for 127.0.0.1 and localhost:
// the service DSN trusts exactly it (sslrootcert), so no CA is needed.
func serverCert() (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial.Add(serial, big.NewInt(1)),
		Subject:      pkix.Name{CommonName: "idcgate managed PostgreSQL", Organization: []string{"idcgate"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(20, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		// Its own root of trust (sslrootcert).
		BasicConstraintsValid: true, IsCA: true, MaxPathLenZero: true,
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:    []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), nil
}

func portFree(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

func literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func uniq(names ...string) []string {
	var out []string
	for _, n := range names {
		if n != "" && (len(out) == 0 || out[0] != n) {
			out = append(out, n)
		}
	}
	return out
}

// tail is the last n lines of a file, for an error that needs the server's words.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
