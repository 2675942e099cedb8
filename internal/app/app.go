// Package app wires idcgate together: it opens the data dir and the store,
// loads the master key, builds every service from the config, seeds the
// resources the config declares, writes the administrator credentials file,
// and serves the HTTP API until its context ends.
package app

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/idcgate/idcgate/internal/audit/journal"
	"github.com/idcgate/idcgate/internal/audit/trail"
	"github.com/idcgate/idcgate/internal/auth"
	"github.com/idcgate/idcgate/internal/clock"
	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/dataapi"
	"github.com/idcgate/idcgate/internal/dbcreds"
	"github.com/idcgate/idcgate/internal/faults"
	"github.com/idcgate/idcgate/internal/gateway"
	"github.com/idcgate/idcgate/internal/gateway/leases"
	"github.com/idcgate/idcgate/internal/gateway/tokenlogin"
	"github.com/idcgate/idcgate/internal/iamstore"
	"github.com/idcgate/idcgate/internal/idp"
	"github.com/idcgate/idcgate/internal/issuer"
	"github.com/idcgate/idcgate/internal/keyring"
	"github.com/idcgate/idcgate/internal/managedpg"
	"github.com/idcgate/idcgate/internal/masterkey"
	"github.com/idcgate/idcgate/internal/metrics"
	"github.com/idcgate/idcgate/internal/oidc"
	"github.com/idcgate/idcgate/internal/pagetoken"
	"github.com/idcgate/idcgate/internal/passwords/phc"
	"github.com/idcgate/idcgate/internal/redshiftidc"
	"github.com/idcgate/idcgate/internal/server"
	"github.com/idcgate/idcgate/internal/serverless"
	"github.com/idcgate/idcgate/internal/sigv4"
	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/store/bolt"
	"github.com/idcgate/idcgate/internal/store/postgres"
	"github.com/idcgate/idcgate/internal/throttle"
)

// Options inject the clock and randomness (tests) and the environment.
type Options struct {
	Clock  clock.Clock
	Rand   io.Reader
	Getenv func(string) string
	// PasswordParams is the argon2id cost of sign-in passwords (zero:
	// phc.DefaultParams). Tests lower it: every start hashes the config's
	// passwords, and at production cost that was most of the e2e suite's CPU.
	PasswordParams phc.Params
}

// App is a running (or ready to run) idcgate.
type App struct {
	Config   *config.Config
	Log      *slog.Logger
	Store    store.Store
	Registry *auth.Registry
	Handler  http.Handler
	// CredentialsFile is where the administrator keys were written.
	CredentialsFile string
	// PublicURL is how clients reach the API (and the IdP's issuer base).
	PublicURL string
	Keys      *keyring.Keyring
	Issuer    *issuer.Issuer
	// OIDC is SSO-OIDC: CreateTokenWithIAM, and interactive sign-in's
	// clients, device and authorization codes (the sign-in pages' service).
	OIDC *oidc.Service
	// Gateway is the PostgreSQL gateway (nil when disabled).
	Gateway *gateway.Gateway
	Audit   *trail.Log
	// DataAPI is the Redshift Data API's statements (nil without the gateway).
	DataAPI *dataapi.Service
	// Managed is the managed upstream PostgreSQL (nil when not running).
	Managed *managedpg.Cluster

	listener net.Listener
	// pprofListener is bound at Open when pprof-listen is set (else nil).
	pprofListener net.Listener
	http          *http.Server
	clock         clock.Clock
}

// StoreFileName is the embedded store's file inside the data dir.
const StoreFileName = "idcgate.db"

// Open prepares everything and binds the listener (cfg.Listen; port 0
// picks a free one), but does not serve yet.
func Open(ctx context.Context, cfg *config.Config, log *slog.Logger, opt Options) (_ *App, err error) {
	if opt.Rand == nil {
		opt.Rand = rand.Reader
	}
	if opt.Getenv == nil {
		opt.Getenv = os.Getenv
	}
	made := firstMissing(cfg.DataDir)
	wasEmpty := made == "" && isEmptyDir(cfg.DataDir)
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	// A first start that fails (a port in use, a bad upstream) leaves no
	// half-made data dir behind: the next start would find a master key
	// and credentials of a deployment that never ran. Registered first, so
	// it runs after every other clean-up has closed its files.
	defer func() {
		switch {
		case err == nil:
		case made != "":
			os.RemoveAll(made)
		case wasEmpty:
			entries, _ := os.ReadDir(cfg.DataDir)
			for _, e := range entries {
				os.RemoveAll(filepath.Join(cfg.DataDir, e.Name()))
			}
		}
	}()
	// A data dir created by someone else keeps their mode; ours is private.
	if err := os.Chmod(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	mk, err := masterkey.Load(cfg.DataDir, opt.Getenv, opt.Rand)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	zeroConfigInstance(cfg, mk)
	st, versions, err := openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			st.Close()
		}
	}()
	// Before anything is written: a replica with another master key must
	// not start (it would fail later, at the first unwrap).
	if err := masterkey.Verify(ctx, st, mk); err != nil {
		return nil, err
	}

	var gw *gateway.Gateway
	mets := metrics.New(func() float64 {
		if gw == nil {
			return 0
		}
		return float64(gw.Active())
	})
	st = journal.Journaled{Store: metrics.Store{Store: st, M: mets}}

	iamSvc, err := iamstore.New(st, mk, opt.Clock, opt.Rand)
	if err != nil {
		return nil, err
	}
	reg, err := auth.NewRegistry(ctx, cfg, mk, st, iamSvc, versions, opt.Rand, opt.Clock.Now())
	if err != nil {
		return nil, err
	}
	credPath := filepath.Join(cfg.DataDir, "credentials")
	if err := auth.WriteCredentialsFile(credPath, reg.Roots()); err != nil {
		return nil, fmt.Errorf("credentials file: %w", err)
	}

	// The services read and write through the wrapped store; the ones
	// that keep reads are given the embedded store's versions explicitly.
	idcApps := &redshiftidc.Service{Store: st, Versions: versions, Rand: opt.Rand, Clock: opt.Clock,
		Pages: &pagetoken.Codec{Key: mk.Derive(32, "page-token"), Clock: opt.Clock, TTL: 24 * time.Hour}}
	sl := &serverless.Service{
		Store:           st,
		Versions:        versions,
		Clock:           opt.Clock,
		Rand:            opt.Rand,
		TransitionDelay: cfg.Serverless.TransitionDelay.Duration,
		CapacityRPU:     cfg.Serverless.CapacityRPU,
		Pages:           &pagetoken.Codec{Key: mk.Derive(32, "page-token"), Clock: opt.Clock, TTL: 24 * time.Hour},
		IdcApplications: idcApps,
		Networks:        networks(cfg),
	}
	keys, err := keyring.New(st, mk, opt.Clock, opt.Rand)
	if err != nil {
		return nil, err
	}
	keys.CacheFor = time.Second
	// A workgroup's keys are created and destroyed in the transactions that
	// create and delete it; the cache is dropped only after the delete
	// committed, so no reader can cache the destroyed ring again.
	sl.OnCreateWorkgroup = func(tx store.Tx, sc serverless.Scope, wg serverless.Workgroup) error {
		return keys.Create(tx, keyring.ID{Account: sc.Account, Region: sc.Region, WorkgroupID: wg.WorkgroupId})
	}
	sl.OnDeleteWorkgroup = func(tx store.Tx, sc serverless.Scope, wg serverless.Workgroup) error {
		return keyring.Destroy(tx, keyring.ID{Account: sc.Account, Region: sc.Region, WorkgroupID: wg.WorkgroupId})
	}
	sl.AfterDeleteWorkgroup = func(sc serverless.Scope, wg serverless.Workgroup) {
		keys.Forget(keyring.ID{Account: sc.Account, Region: sc.Region, WorkgroupID: wg.WorkgroupId})
	}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", cfg.Listen, err)
	}
	defer func() {
		if err != nil {
			ln.Close()
		}
	}()
	var pprofLn net.Listener
	if cfg.PprofListen != "" {
		if pprofLn, err = net.Listen("tcp", cfg.PprofListen); err != nil {
			return nil, fmt.Errorf("pprof-listen %s: %w", cfg.PprofListen, err)
		}
		defer func() {
			if err != nil {
				pprofLn.Close()
			}
		}()
	}
	publicURL := cfg.PublicURL
	if publicURL == "" {
		publicURL = "http://" + ln.Addr().String()
	}
	ids, err := newIdentity(cfg, mk, reg, publicURL, opt)
	if err != nil {
		return nil, err
	}
	if ids.idpKeyFileRemoved {
		log.Info("removed the built-in IdP's key file: its key now derives from the master key, as every replica's does", "file", idp.OldKeyFile)
	}
	// Interactive sign-in keeps its state in the store, so any replica
	// serves any step of it.
	ids.oidc.Store, ids.oidc.Endpoint, ids.oidc.Region = st, strings.TrimSuffix(publicURL, "/"), cfg.Region
	// The identity store first: sso-admin's config assignments name its
	// groups, and CreateTokenWithIAM reads its users.
	idStore, err := openIdentityStore(ctx, cfg, mk, st, versions, ids.dir, opt)
	if err != nil {
		return nil, err
	}
	pws, err := openPasswords(ctx, cfg, st, idStore, opt)
	if err != nil {
		return nil, err
	}
	sso, err := newSSOAdmin(ctx, cfg, mk, st, ids, opt)
	if err != nil {
		return nil, err
	}
	// Each Redshift IdC application has its managed sso-admin application,
	// made with it: the config's are seeded once sso-admin is there.
	idcApps.IdentityCenter = redshiftIdentityCenter{sso}
	if err := seed(ctx, cfg, idcApps, sl); err != nil {
		return nil, fmt.Errorf("seeding config resources: %w", err)
	}
	if err := idcApps.EnsureManagedApplications(ctx); err != nil {
		return nil, fmt.Errorf("managed applications of Redshift IdC applications: %w", err)
	}
	if err := migrateKeyrings(ctx, cfg, sl, keys); err != nil {
		return nil, fmt.Errorf("creating workgroup keys: %w", err)
	}

	iss := &issuer.Issuer{Serverless: sl, Keys: keys, Dir: ids.dir, IdcApps: idcApps, TTL: cfg.Tokens.TTL.Duration, Clock: opt.Clock, Rand: opt.Rand}

	auditLog, err := trail.Open(cfg.AuditLog, st, trail.Options{
		// The embedded store is this process's alone: the file can be its
		// copy's write-ahead log. Replicas of a shared store must see each
		// other's records at once.
		StoreBehind: cfg.Store == "",
		// Against the wall clock, which the record keys are taken from.
		Retention:     cfg.Audit.Retention.Duration,
		Log:           log.With("component", "audit"),
		ObserveCommit: mets.ObserveAuditCommit,
	})
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	defer func() {
		if err != nil {
			auditLog.Close()
		}
	}()
	if n, err := auditLog.Recover(ctx, journalCutoff(cfg, opt.Clock)); err != nil {
		return nil, fmt.Errorf("audit journal: %w", err)
	} else if n > 0 {
		log.Warn("audit records recovered from the journal (changes whose record was not written)", "records", n)
	}
	var mpg *managedpg.Cluster
	var dataAPI *dataapi.Service
	defer func() {
		if err != nil && mpg != nil {
			mpg.Stop()
			if mpg.Created {
				os.RemoveAll(mpg.Dir)
			}
		}
	}()
	if !cfg.Gateway.Disabled {
		tlsCfg, err := gatewayTLS(cfg)
		if err != nil {
			return nil, err
		}
		ca, err := upstreamCA(ctx, cfg, mk, st)
		if err != nil {
			return nil, err
		}
		binDir, note := managedWanted(cfg, managedpg.Find)
		if note != nil {
			log.Warn("no managed upstream: " + note.Error())
		}
		if binDir != "" {
			if mpg, err = startManaged(ctx, cfg, binDir, ca, sl, idcApps, idStore, log.With("component", "managedpg")); err != nil {
				return nil, err
			}
		}
		roles := &gateway.RoleSync{Clock: opt.Clock, Certs: ca, CacheFor: time.Minute, ServiceTLS: serviceTLS(mpg, ca)}
		upstreams := &tokenlogin.Upstreams{Config: cfg, Serverless: sl, Managed: mpg}
		// The Data API's statements log in upstream the gateway's way, with
		// the gateway's role sync (one code path for roles and refusals).
		dataAPI = newDataAPI(cfg, st, sl, idcApps, ids.dir, roles, upstreams, sl.Pages, log.With("component", "dataapi"), opt.Clock)
		if cfg.Store == "" {
			// The embedded store is this process's alone: no runner of an
			// earlier process is alive, so its statements not final ended.
			if n, err := dataAPI.RecoverAll(ctx); err != nil {
				return nil, fmt.Errorf("data api statements: %w", err)
			} else if n > 0 {
				log.Warn("data api statements left running by the previous process marked FAILED or ABORTED", "statements", n)
			}
		}
		gw, err = gateway.New(gateway.Config{
			Listen: cfg.PGListen, TLS: tlsCfg, Insecure: cfg.PGInsecure,
			LoginTimeout: cfg.Gateway.LoginTimeout.Duration, IdleTimeout: cfg.Gateway.IdleTimeout.Duration,
			MaxConnsPerWorkgroup: cfg.Gateway.MaxConnsPerWorkgroup,
			Auth: &tokenlogin.Authenticator{Issuer: iss, Upstreams: upstreams, Roles: reg, OIDC: ids.oidc, Region: cfg.Region,
				Replays: &tokenlogin.Replays{Store: st, Clock: opt.Clock}},
			IAMAuth: &tokenlogin.IAMCredentials{Serverless: sl, Upstreams: upstreams, Roles: reg,
				Sealer: &dbcreds.Sealer{Keys: keys, Clock: opt.Clock}},
			Roles:   roles,
			Log:     log.With("component", "gateway"),
			OnLogin: gatewayAudit(auditLog, mets, cfg.Region, opt.Clock),
			// The limits, counted across replicas in the store.
			Sessions: &leases.Leases{Store: st, PerUser: cfg.Gateway.MaxSessionsPerUser, PerWorkgroup: cfg.Gateway.MaxConnsPerWorkgroup,
				Clock: opt.Clock, Log: log.With("component", "gateway")},
		})
		if err != nil {
			return nil, err
		}
	}

	inj := &faults.Injector{Store: st, Clock: opt.Clock}
	if len(cfg.Faults) > 0 {
		if _, err := inj.Seed(ctx, cfg.Faults); err != nil {
			return nil, fmt.Errorf("faults: %w", err)
		}
	}

	signIn, err := newSignIn(cfg, mk, ids, pws, auditLog, publicURL, log, opt)
	if err != nil {
		return nil, err
	}
	verifier := &sigv4.Verifier{Credentials: credentialChain{reg, ids.sts}, Region: cfg.Region, Clock: opt.Clock}
	h := server.New(server.Deps{
		Log:        log,
		Region:     cfg.Region,
		Clock:      opt.Clock,
		Verifier:   verifier,
		Serverless: sl,
		STS:        ids.sts,
		OIDC:       ids.oidc,
		IdcApps:    idcApps,
		IAM:        iamSvc,
		IdP:        ids.idp,
		Directory:  ids.dir,
		DataAPI:    dataAPI,
		SSOAdmin:   sso,
		IdStore:    idStore,
		Passwords:  pws,
		SignIn:     signIn,
		Issuer:     iss,
		Keys:       keys,
		Audit:      auditLog,
		Store:      st,
		Metrics:    mets,
		Faults:     inj,
		Throttle: throttle.New(
			throttle.Limit{Rate: cfg.Throttle.Global.Rate, Burst: cfg.Throttle.Global.Burst},
			throttle.Limit{Rate: cfg.Throttle.PerPrincipal.Rate, Burst: cfg.Throttle.PerPrincipal.Burst}),
		Ready: func(ctx context.Context) error {
			return st.View(ctx, func(store.Reader) error { return nil })
		},
		PrivateMetrics: !*cfg.HTTP.PublicMetrics,
	})
	return &App{Config: cfg, Log: log, Store: st, Registry: reg, Handler: h, CredentialsFile: credPath, listener: ln, pprofListener: pprofLn, PublicURL: publicURL,
		Keys: keys, Issuer: iss, OIDC: ids.oidc, Gateway: gw, DataAPI: dataAPI, Audit: auditLog, Managed: mpg, clock: opt.Clock}, nil
}

// firstMissing is the outermost directory of path that does not exist yet
// ("" when path exists): what MkdirAll(path) will create.
func firstMissing(path string) string {
	path = filepath.Clean(path)
	missing := ""
	for {
		if _, err := os.Lstat(path); err == nil || !errors.Is(err, fs.ErrNotExist) {
			return missing
		}
		missing = path
		parent := filepath.Dir(path)
		if parent == path {
			return missing
		}
		path = parent
	}
}

func isEmptyDir(path string) bool {
	entries, err := os.ReadDir(path)
	return err == nil && len(entries) == 0
}

// journalGrace is how old a journal entry must be before a replica of a
// shared store recovers it: older than any call can still be in flight on
// another replica (HTTP calls are bounded by the server's timeouts).
const journalGrace = 5 * time.Minute

// journalCutoff: the embedded store is one process's (it is locked), so at
// start nothing of it is in flight; a shared store's younger entries may
// belong to calls other replicas are still serving.
func journalCutoff(cfg *config.Config, now clock.Clock) time.Time {
	if cfg.Store == "" {
		return now.Now().Add(journalGrace) // everything
	}
	return now.Now().Add(-journalGrace)
}

// recoverJournal writes out, every minute, journal entries whose call ended
// without its record (a failed audit write, or a replica that died).
func (a *App) recoverJournal(ctx context.Context) {
	every(ctx, time.Minute, func() {
		n, err := a.Audit.Recover(ctx, a.clock.Now().Add(-journalGrace))
		if err != nil && ctx.Err() == nil {
			a.Log.Error("audit journal recovery", "err", err)
		} else if n > 0 {
			a.Log.Warn("audit records recovered from the journal", "records", n)
		}
	})
}

// pruneSignIns deletes, every minute, interactive sign-in's expired
// records (clients, device and authorization codes, used refresh tokens).
// Every replica may: a record deleted twice is harmless.
func (a *App) pruneSignIns(ctx context.Context) {
	every(ctx, time.Minute, func() {
		if n, err := a.OIDC.Prune(ctx); err != nil && ctx.Err() == nil {
			a.Log.Error("pruning expired sign-in records", "err", err)
		} else if n > 0 {
			a.Log.Debug("expired sign-in records pruned", "records", n)
		}
	})
}

// every runs job every d until ctx ends (background jobs of Serve).
func every(ctx context.Context, d time.Duration, job func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			job()
		}
	}
}

// openStore opens the configured store, and gives its version source
// (store.Versioned) when it can vouch for its reads: the embedded store,
// which sees every write made to it. A shared store gives none (another
// replica's writes would go unseen), so its services read every time.
func openStore(ctx context.Context, cfg *config.Config) (store.Store, store.Versioned, error) {
	if cfg.Store != "" {
		st, err := postgres.Open(ctx, cfg.Store)
		if err != nil {
			return nil, nil, fmt.Errorf("store: %w", err)
		}
		return st, nil, nil
	}
	db, err := bolt.Open(filepath.Join(cfg.DataDir, StoreFileName))
	if err != nil {
		return nil, nil, fmt.Errorf("store: %w", err)
	}
	return db, db, nil
}

// seed re-applies the config's Redshift IdC applications
// (redshiftidc.ApplyConfig), and creates its namespaces and workgroups that
// do not exist yet; existing ones are left as they are.
func seed(ctx context.Context, cfg *config.Config, idc *redshiftidc.Service, sl *serverless.Service) error {
	for _, a := range cfg.Accounts {
		scope := serverless.Scope{Account: a.ID, Region: cfg.Region}
		var apps []redshiftidc.Application
		for _, app := range a.RedshiftIdcApplications {
			apps = append(apps, redshiftidc.Application{
				Name: app.Name, IdentityNamespace: app.IdentityNamespace,
				IdcInstanceArn: app.IdcInstanceArn, IamRoleArn: app.IamRoleArn,
			})
		}
		appArns, err := idc.ApplyConfig(ctx, scope, apps)
		if err != nil {
			return fmt.Errorf("redshift idc applications: %w", err)
		}
		for _, ns := range a.Namespaces {
			in := serverless.CreateNamespaceInput{NamespaceName: ptr(ns.Name)}
			if ns.DbName != "" {
				in.DbName = ptr(ns.DbName)
			}
			if ns.AdminUsername != "" {
				in.AdminUsername = ptr(ns.AdminUsername)
			}
			if ns.RedshiftIdcApplication != "" {
				in.RedshiftIdcApplicationArn = ptr(appArns[ns.RedshiftIdcApplication])
			}
			if _, err := sl.EnsureNamespace(ctx, scope, in); err != nil {
				return fmt.Errorf("namespace %s: %w", ns.Name, err)
			}
		}
		for _, wg := range a.Workgroups {
			in := serverless.CreateWorkgroupInput{WorkgroupName: ptr(wg.Name), NamespaceName: ptr(wg.Namespace)}
			if wg.BaseCapacity != 0 {
				in.BaseCapacity = &wg.BaseCapacity
			}
			if _, err := sl.EnsureWorkgroup(ctx, scope, in); err != nil {
				return fmt.Errorf("workgroup %s: %w", wg.Name, err)
			}
		}
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

// migrateKeyrings gives every live workgroup that has no keyring one
// (workgroups created before rings were created with them, when keys were
// made on first use). Each runs in a transaction that re-reads the
// workgroup, so one being deleted, here or on another replica, gets none.
func migrateKeyrings(ctx context.Context, cfg *config.Config, sl *serverless.Service, keys *keyring.Keyring) error {
	for _, a := range cfg.Accounts {
		sc := serverless.Scope{Account: a.ID, Region: cfg.Region}
		id := func(wg serverless.Workgroup) keyring.ID {
			return keyring.ID{Account: sc.Account, Region: sc.Region, WorkgroupID: wg.WorkgroupId}
		}
		lacksRing := func(r store.Reader, wg serverless.Workgroup) (bool, error) {
			has, err := keys.Has(r, id(wg))
			return !has, err
		}
		err := sl.UpdateEachWorkgroup(ctx, sc, lacksRing, func(tx store.Tx, wg serverless.Workgroup) error {
			return keys.Create(tx, id(wg))
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Addr is the bound API address.
func (a *App) Addr() string { return a.listener.Addr().String() }

// Serve serves until ctx ends, then shuts down gracefully: it stops
// accepting, lets in-flight requests finish (bounded), and closes the store.
func (a *App) Serve(ctx context.Context) error {
	a.http = &http.Server{
		Handler:           a.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn),
	}
	defer a.servePprof()()
	gcPercent := tuneGC()
	errc := make(chan error, 1)
	go func() { errc <- a.http.Serve(a.listener) }()
	// Background jobs end before the store closes under them.
	bg, stopBG := context.WithCancel(ctx)
	var jobs sync.WaitGroup
	stopJobs := func() { stopBG(); jobs.Wait() }
	defer stopJobs()
	jobs.Go(func() { a.rotateKeys(bg) })
	jobs.Go(func() { a.recoverJournal(bg) })
	jobs.Go(func() { a.pruneSignIns(bg) })
	if a.DataAPI != nil {
		jobs.Go(func() { a.DataAPI.Run(bg) })
	}
	if a.Gateway != nil {
		go func() {
			if err := a.Gateway.Serve(); err != nil {
				a.Log.Error("gateway stopped", "err", err)
			}
		}()
		a.Log.Info("serving the PostgreSQL gateway", "pg_addr", a.Gateway.Addr(), "tls", true, "insecure_plaintext_allowed", a.Config.PGInsecure)
	}
	a.Log.Info("serving AWS APIs", "addr", a.Addr(), "region", a.Config.Region,
		"data_dir", a.Config.DataDir, "credentials_file", a.CredentialsFile, "gogc", gcPercent)
	select {
	case err := <-errc:
		a.closeDataAPI(context.Background())
		if a.Gateway != nil {
			a.Gateway.Close(0)
		}
		stopJobs()
		a.stopManaged()
		a.Audit.Close()
		a.Store.Close()
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	gatewayDone := a.shutdownGateway(shutdownCtx) // stops accepting now, drains alongside HTTP
	err := a.http.Shutdown(shutdownCtx)
	// No new statements now: the running ones are cancelled upstream and
	// recorded ABORTED before the store closes.
	a.closeDataAPI(shutdownCtx)
	<-gatewayDone
	stopJobs()
	// After the gateway's sessions ended (their backends with them).
	a.stopManaged()
	// The audit log drains its queue (records of the last calls) before the
	// store closes; bbolt's Close then leaves a file that needs no recovery.
	if aerr := a.Audit.Close(); err == nil {
		err = aerr
	}
	if cerr := a.Store.Close(); err == nil {
		err = cerr
	}
	a.Log.Info("stopped")
	return err
}

// Close releases the listener, the audit log and the store without serving.
func (a *App) Close() error {
	a.listener.Close()
	if a.pprofListener != nil {
		a.pprofListener.Close()
	}
	a.closeDataAPI(context.Background())
	if a.Gateway != nil {
		a.Gateway.Close(0)
	}
	a.stopManaged()
	a.Audit.Close()
	return a.Store.Close()
}

// closeDataAPI stops the Data API's statements (idempotent).
func (a *App) closeDataAPI(ctx context.Context) {
	if a.DataAPI != nil {
		a.DataAPI.Close(ctx)
	}
}

// stopManaged stops the managed upstream, if any (idempotent).
func (a *App) stopManaged() {
	if a.Managed == nil {
		return
	}
	if err := a.Managed.Stop(); err != nil {
		a.Log.Error("stopping the managed PostgreSQL", "err", err)
	}
	a.Managed = nil
}

// rotateKeys rotates workgroup keys on the configured schedule.
func (a *App) rotateKeys(ctx context.Context) {
	period := a.Config.Tokens.KeyRotation.Duration
	if period <= 0 {
		return
	}
	every(ctx, min(period/4, time.Hour), func() {
		n, err := a.RotateKeysDue(ctx)
		if err != nil && ctx.Err() == nil {
			a.Log.Error("scheduled key rotation", "err", err)
		} else if n > 0 {
			a.Log.Info("workgroup keys rotated on schedule", "rings", n)
		}
	})
}

// RotateKeysDue is one tick of the key schedule (tokens.keyRotation): it
// rotates every ring whose latest version is keyRotation old, and retires
// each version once its successor is TTL + 5 minutes old (no token sealed
// under it can still be valid), by the injected clock. The background
// loop calls it every keyRotation/4 (at most hourly); tests call it to
// drive the schedule without waiting. It returns how many rings rotated.
func (a *App) RotateKeysDue(ctx context.Context) (int, error) {
	period := a.Config.Tokens.KeyRotation.Duration
	if period <= 0 {
		return 0, nil
	}
	return a.Keys.RotateDue(ctx, period, a.Config.Tokens.TTL.Duration+5*time.Minute)
}
