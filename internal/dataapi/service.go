package dataapi

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/idcgate/idcgate/internal/apierror"
	"github.com/idcgate/idcgate/internal/clock"
	"github.com/idcgate/idcgate/internal/ids"
	"github.com/idcgate/idcgate/internal/pagetoken"
	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/validation"
)

// Upstreams finds a workgroup's upstream PostgreSQL.
type Upstreams interface {
	// UpstreamDSN is the DSN, with the service credential, of database on
	// the workgroup's upstream.
	UpstreamDSN(ctx context.Context, sc Scope, workgroup, database string) (string, error)
}

// Roles makes users' roles right upstream and opens their sessions: the
// gateway's RoleSync, so a statement runs with exactly the roles and
// refusals of a gateway login.
type Roles interface {
	// Sync makes u's role right on the upstream dsn (created, marked,
	// group roles granted and revoked) and returns its name.
	Sync(ctx context.Context, dsn string, sc Scope, workgroup WorkgroupRef, u User) (string, error)
	// SessionConfig is dsn made into a session of role, authenticated by
	// the role's client certificate.
	SessionConfig(dsn, role string) (*pgconn.Config, error)
	// TerminateBackend ends backend pid on dsn if it is still role's
	// session opened by application, with the service credential.
	TerminateBackend(ctx context.Context, dsn string, pid int64, role, application string) (bool, error)
}

// WorkgroupRef names a workgroup.
type WorkgroupRef struct {
	Name string
	ID   string
}

// Defaults.
const (
	// DefaultMaxActive is the active statements (submitted, picked or
	// started) per workgroup on one idcgate process (ours; AWS's quota is
	// per account).
	DefaultMaxActive = 500
	// DefaultMaxConns is the upstream connections per workgroup that
	// statements run on at once; the rest wait as SUBMITTED.
	DefaultMaxConns = 20
	// Retention is how long a statement and its results are kept (AWS: 24 hours).
	Retention = 24 * time.Hour
	// DefaultMaxResultBytes is the most result data one statement keeps
	// (AWS: 100 MB).
	DefaultMaxResultBytes = 100 << 20
	// heartbeatEvery and staleAfter: a runner touches its statements every
	// heartbeatEvery; one not touched for staleAfter has lost its runner.
	heartbeatEvery = 2 * time.Second
	staleAfter     = 15 * time.Second
	// pageRows and pageBytes bound one result page (one store value, one
	// GetStatementResult answer).
	pageRows  = 1000
	pageBytes = 1 << 20
)

// Service runs and keeps statements.
type Service struct {
	Store     store.Store
	Clock     clock.Clock
	Upstreams Upstreams
	Roles     Roles
	Resolver  *Resolver
	Pages     *pagetoken.Codec
	Log       *slog.Logger
	// MaxActive and MaxConns per workgroup (0: the defaults).
	MaxActive int
	MaxConns  int
	// MaxResultBytes is the most result data one statement keeps (0:
	// DefaultMaxResultBytes); a bigger result fails the statement.
	MaxResultBytes int64
	// PageRows overrides pageRows (tests).
	PageRows int

	initOnce sync.Once
	runner   string
	base     context.Context
	stop     context.CancelFunc
	wg       sync.WaitGroup

	mu         sync.Mutex
	workgroups map[string]*workgroupState
	running    map[string]*localRun
	pools      map[string]*rolePool
	closed     bool
}

// rolePool is the connection pool of one role on one upstream.
type rolePool struct {
	pool *pgxpool.Pool
	used time.Time // wall clock: pools idle out in real time
}

type workgroupState struct {
	active int
	conns  chan struct{}
}

// localRun is a statement this process runs.
type localRun struct {
	scope    Scope
	cancel   context.CancelCauseFunc
	workgrp  string
	shutdown bool
}

// errCancelled and errShutdown are why a run's context ends.
var (
	errCancelled = errors.New("statement cancelled")
	errShutdown  = errors.New("idcgate shut down")
)

func (s *Service) init() {
	s.initOnce.Do(func() {
		s.runner = ids.MustUUID()
		s.base, s.stop = context.WithCancel(context.Background())
		s.workgroups = map[string]*workgroupState{}
		s.running = map[string]*localRun{}
		s.pools = map[string]*rolePool{}
		if s.Log == nil {
			s.Log = slog.New(slog.DiscardHandler)
		}
	})
}

func (s *Service) now() time.Time { return s.Clock.Now().UTC() }

// The limits: a Service field that is not positive is its default.
func (s *Service) maxResultBytes() int64 { return positiveOr(s.MaxResultBytes, DefaultMaxResultBytes) }
func (s *Service) maxActive() int        { return positiveOr(s.MaxActive, DefaultMaxActive) }
func (s *Service) maxConns() int         { return positiveOr(s.MaxConns, DefaultMaxConns) }

func positiveOr[T int | int64](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// ExecuteRequest is one ExecuteStatement or BatchExecuteStatement.
type ExecuteRequest struct {
	Scope        Scope
	Caller       Caller
	Workgroup    WorkgroupRef
	Database     string
	SQLs         []string
	Batch        bool
	Params       []Param
	Name         string
	ResultFormat string
	// ClientToken makes a retried call idempotent: the same owner's same
	// token within the retention answers the statement it made.
	ClientToken string
}

// Execute accepts a statement and starts running it.
func (s *Service) Execute(ctx context.Context, req ExecuteRequest) (*Statement, error) {
	s.init()
	now := s.now()
	st := &Statement{
		ID: ids.MustUUID(), Account: req.Scope.Account, Region: req.Scope.Region,
		Workgroup: req.Workgroup.Name, WorkgroupID: req.Workgroup.ID, Database: req.Database,
		DbUser: req.Caller.User.Role(), Owner: req.Caller.Owner, Name: req.Name, Batch: req.Batch,
		Params: req.Params, ResultFormat: req.ResultFormat, Status: StatusSubmitted,
		CreatedAt: now, UpdatedAt: now, Runner: s.runner, Heartbeat: now,
	}
	for _, g := range req.Caller.User.Groups {
		st.DbGroups = append(st.DbGroups, req.Caller.User.Namespace+":"+g)
	}
	for _, q := range req.SQLs {
		st.Subs = append(st.Subs, Sub{SQL: q, Status: StatusSubmitted, CreatedAt: now, UpdatedAt: now, ResultRows: -1, ResultSize: -1})
	}
	if st.ResultFormat == "" {
		st.ResultFormat = FormatJSON
	}
	if req.ClientToken != "" {
		st.ClientTokenKey = clientTokenKey(req.Scope, st.Owner, req.ClientToken)
	}
	if req.ClientToken != "" {
		if prev, err := s.byClientToken(ctx, req); prev != nil || err != nil {
			return prev, err
		}
	}
	wgKey := req.Scope.Account + "/" + req.Scope.Region + "/" + req.Workgroup.ID
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, errors.New("dataapi: shutting down")
	}
	w := s.workgroups[wgKey]
	if w == nil {
		w = &workgroupState{conns: make(chan struct{}, s.maxConns())}
		s.workgroups[wgKey] = w
	}
	if w.active >= s.maxActive() {
		s.mu.Unlock()
		return nil, apierror.New(ErrActiveStatementsExceeded, "Active statements exceeded the allowed quota: workgroup %s already runs %d statements.", req.Workgroup.Name, w.active)
	}
	w.active++
	runCtx, cancel := context.WithCancelCause(s.base)
	run := &localRun{scope: req.Scope, cancel: cancel, workgrp: wgKey}
	s.running[st.ID] = run
	s.mu.Unlock()

	err := s.Store.Update(ctx, func(tx store.Tx) error {
		if err := store.PutJSON(tx, statementKey(req.Scope, st.ID), st); err != nil {
			return err
		}
		if err := tx.Put(ownerKey(st), nil); err != nil {
			return err
		}
		if err := tx.Put(expiryKey(st, Retention), nil); err != nil {
			return err
		}
		if st.ClientTokenKey != "" {
			if err := tx.Put(st.ClientTokenKey, []byte(st.ID)); err != nil {
				return err
			}
		}
		return tx.Put(activeKey(st), nil)
	})
	if err != nil {
		s.finishLocal(st.ID, w)
		cancel(nil)
		return nil, err
	}
	out := *st // the run goroutine owns st from here
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer s.finishLocal(st.ID, w)
		defer cancel(nil)
		s.run(runCtx, st, req.Caller.User, w)
	}()
	return &out, nil
}

// byClientToken is the statement req's client token already made, if any.
func (s *Service) byClientToken(ctx context.Context, req ExecuteRequest) (*Statement, error) {
	id, err := store.Read(ctx, s.Store, func(r store.Reader) ([]byte, error) {
		return r.Get(clientTokenKey(req.Scope, req.Caller.Owner, req.ClientToken))
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	st, err := s.get(ctx, req.Scope, req.Caller.Owner, string(id))
	if errors.Is(err, ErrNotFound) {
		return nil, nil // expired: the token may make a new one
	}
	return st, err
}

func (s *Service) finishLocal(id string, w *workgroupState) {
	s.mu.Lock()
	delete(s.running, id)
	w.active--
	s.mu.Unlock()
}

// get reads a statement for its owner: another owner's, or an expired
// one, is not found.
func (s *Service) get(ctx context.Context, sc Scope, o Owner, id string) (*Statement, error) {
	st, err := store.ViewJSON[Statement](ctx, s.Store, statementKey(sc, id))
	if errors.Is(err, store.ErrNotFound) || err == nil && (!st.Owner.Same(o) || !s.now().Before(st.CreatedAt.Add(Retention))) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, err
	}
	if err := s.orphaned(ctx, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

func notFound(id string) error {
	return &apierror.Error{Kind: ErrNotFound, Message: "Query does not exist.", Members: resourceID(id)}
}

// splitID parses "<id>" or "<id>:<n>" (a batch's n-th statement, from 1).
func splitID(id string) (base string, sub int, err error) {
	base, n, ok := strings.Cut(id, ":")
	if !ok {
		return base, 0, nil
	}
	sub, err = strconv.Atoi(n)
	if err != nil || sub < 1 || sub > 40 {
		return "", 0, notFound(id)
	}
	return base, sub, nil
}

// getByID reads the statement an id of the API names ("<id>", or
// "<id>:<n>" for a batch's n-th statement), with the parts of the id.
func (s *Service) getByID(ctx context.Context, sc Scope, o Owner, id string) (st *Statement, base string, sub int, err error) {
	s.init()
	if base, sub, err = splitID(id); err != nil {
		return nil, "", 0, err
	}
	st, err = s.get(ctx, sc, o, base)
	return st, base, sub, err
}

// Describe is DescribeStatement: the statement, or with "<id>:<n>" the
// same statement (AWS answers the parent for a sub-statement id too).
func (s *Service) Describe(ctx context.Context, sc Scope, o Owner, id string) (*Statement, error) {
	st, _, sub, err := s.getByID(ctx, sc, o, id)
	if err != nil {
		return nil, err
	}
	if sub > 0 && (!st.Batch || sub > len(st.Subs)) {
		return nil, notFound(id)
	}
	return st, nil
}

// Cancel is CancelStatement: a statement not yet final is stopped, its
// upstream query cancelled (by its runner, on whichever replica), and ends
// ABORTED.
func (s *Service) Cancel(ctx context.Context, sc Scope, o Owner, id string) error {
	s.init()
	st, err := s.get(ctx, sc, o, id)
	if err != nil {
		return err
	}
	if st.Status.Final() {
		return validation.Newf("Could not cancel a query that is already in %s state with ID: %s", st.Status, id)
	}
	err = s.Store.Update(ctx, func(tx store.Tx) error {
		var cur Statement
		if err := store.GetJSON(tx, statementKey(sc, id), &cur); err != nil {
			return err
		}
		if cur.Status.Final() {
			return validation.Newf("Could not cancel a query that is already in %s state with ID: %s", cur.Status, id)
		}
		cur.CancelRequested = true
		cur.UpdatedAt = s.now()
		return store.PutJSON(tx, statementKey(sc, id), &cur)
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	run := s.running[id]
	s.mu.Unlock()
	if run != nil {
		run.cancel(errCancelled)
	}
	return nil
}

// orphaned fails st, in the store and in place, when it is not final and
// its runner has stopped touching it (BEHAVIOUR 14.6): no statement stays
// STARTED for ever after a crash.
func (s *Service) orphaned(ctx context.Context, st *Statement) error {
	if st.Status.Final() || s.now().Sub(st.Heartbeat) < staleAfter {
		return nil
	}
	s.mu.Lock()
	_, local := s.running[st.ID]
	s.mu.Unlock()
	if local {
		return nil
	}
	var out Statement
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		sc := Scope{st.Account, st.Region}
		if err := store.GetJSON(tx, statementKey(sc, st.ID), &out); err != nil {
			return err
		}
		if out.Status.Final() || s.now().Sub(out.Heartbeat) < staleAfter {
			return nil
		}
		endOrphan(&out, s.now())
		if err := store.PutJSON(tx, statementKey(sc, st.ID), &out); err != nil {
			return err
		}
		return tx.Delete(activeKey(&out))
	})
	if err != nil {
		return err
	}
	if out.Status.Final() && st.Status != out.Status {
		s.stopBackend(ctx, &out)
	}
	*st = out
	return nil
}

// stopBackend ends the upstream backend of a statement whose runner is
// gone, if it still runs (best effort: the record is already final).
func (s *Service) stopBackend(ctx context.Context, st *Statement) {
	if st.Pid == 0 || s.Roles == nil || s.Upstreams == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	dsn, err := s.Upstreams.UpstreamDSN(ctx, Scope{st.Account, st.Region}, st.Workgroup, st.Database)
	if err == nil {
		_, err = s.Roles.TerminateBackend(ctx, dsn, st.Pid, st.DbUser, applicationName)
	}
	if err != nil {
		s.Log.Warn("data api: ending the upstream backend of a statement whose runner stopped", "statement", st.ID, "pid", st.Pid, "err", err)
	}
}

// endOrphan ends a statement whose runner is gone: ABORTED when its
// owner had asked to cancel it, else FAILED.
func endOrphan(st *Statement, now time.Time) {
	status, msg := StatusFailed, "The statement's runner (an idcgate process) stopped before the statement ended; it may have partly run."
	if st.CancelRequested {
		status, msg = StatusAborted, "The statement was cancelled."
	}
	st.Status, st.Error, st.UpdatedAt = status, msg, now
	for i := range st.Subs {
		if !st.Subs[i].Status.Final() {
			st.Subs[i].Status, st.Subs[i].UpdatedAt = status, now
			if i == 0 || st.Subs[i-1].Status.Final() && st.Subs[i-1].Status == StatusFinished {
				st.Subs[i].Error = msg
			}
		}
	}
}

// ListRequest is ListStatements.
type ListRequest struct {
	Scope      Scope
	Owner      Owner
	Status     string // "" or ALL: every status
	Name       string // prefix
	Workgroup  string
	Database   string
	RoleLevel  bool
	MaxResults int
	NextToken  string
}

const opListStatements = "ListStatements"

// List is ListStatements: the owner's statements, newest first.
func (s *Service) List(ctx context.Context, req ListRequest) ([]Statement, string, error) {
	s.init()
	before := ""
	if req.NextToken != "" {
		p, err := s.Pages.DecodeFor(req.NextToken, opListStatements, req.Scope.Account, req.Scope.Region)
		if err != nil || !strings.HasPrefix(p.After, ownerPrefix(req.Scope, req.Owner)) {
			return nil, "", validation.Newf("The NextToken is invalid or expired.")
		}
		before = p.After
	}
	limit := req.MaxResults
	if limit <= 0 {
		limit = 100
	}
	var out []Statement
	next := ""
	now := s.now()
	err := s.Store.View(ctx, func(r store.Reader) error {
		return store.ScanReverse(r, ownerPrefix(req.Scope, req.Owner), before, func(k string, _ []byte) (bool, error) {
			id := k[strings.LastIndexByte(k, '/')+1:]
			var st Statement
			if err := store.GetJSON(r, statementKey(req.Scope, id), &st); errors.Is(err, store.ErrNotFound) {
				return true, nil
			} else if err != nil {
				return false, err
			}
			if !now.Before(st.CreatedAt.Add(Retention)) {
				return false, nil // older ones are expired too
			}
			if !matches(&st, req) {
				return true, nil
			}
			if len(out) == limit {
				next = k
				return false, nil
			}
			out = append(out, st)
			return true, nil
		})
	})
	if err != nil {
		return nil, "", err
	}
	for i := range out {
		if err := s.orphaned(ctx, &out[i]); err != nil {
			return nil, "", err
		}
	}
	tok := ""
	if next != "" {
		// The page after is everything before the last key listed.
		last := ownerKey(&out[len(out)-1])
		if tok, err = s.Pages.New(opListStatements, req.Scope.Account, req.Scope.Region, last); err != nil {
			return nil, "", err
		}
	}
	return out, tok, nil
}

func matches(st *Statement, req ListRequest) bool {
	switch {
	case req.Status != "" && req.Status != "ALL" && string(st.Status) != req.Status:
	case req.Name != "" && !strings.HasPrefix(st.Name, req.Name):
	case req.Workgroup != "" && st.Workgroup != req.Workgroup:
	case req.Database != "" && st.Database != req.Database:
	case !req.RoleLevel && st.Owner.Session != req.Owner.Session:
	default:
		return true
	}
	return false
}

// Page is one page of a statement's results.
type Page struct {
	Columns []Column
	// Records is the page as stored: a JSON array of rows of Field
	// objects (FormatJSON), or CSV text (FormatCSV).
	Records   []byte
	TotalRows int64
	NextToken string
}

const opResult = "GetStatementResult"

// Result is one page of a statement's results (GetStatementResult with
// format JSON, GetStatementResultV2 with CSV).
func (s *Service) Result(ctx context.Context, sc Scope, o Owner, id, format, nextToken string) (*Page, error) {
	st, base, sub, err := s.getByID(ctx, sc, o, id)
	if err != nil {
		return nil, err
	}
	switch {
	case sub == 0 && st.Batch:
		return nil, validation.Newf("Statement %s is a batch: get the results of one of its statements with the id %s:<n>.", base, base)
	case sub > len(st.Subs) || sub > 0 && !st.Batch:
		return nil, notFound(id)
	}
	if sub == 0 {
		sub = 1
	}
	ss := &st.Subs[sub-1]
	if ss.Status != StatusFinished || !ss.HasResultSet {
		return nil, &apierror.Error{Kind: ErrNotFound, Message: "Query does not have result. Please check query status with DescribeStatement.", Members: resourceID(id)}
	}
	if st.ResultFormat != format {
		if format == FormatCSV {
			return nil, validation.Newf("GetStatementResultV2 reads results in CSV format only: statement %s was run with ResultFormat %s, use GetStatementResult.", id, st.ResultFormat)
		}
		return nil, validation.Newf("GetStatementResult reads results in JSON format only: statement %s was run with ResultFormat %s, use GetStatementResultV2.", id, st.ResultFormat)
	}
	page := 0
	if nextToken != "" {
		p, err := s.Pages.DecodeFor(nextToken, opResult, sc.Account, sc.Region)
		prefix := id + "/"
		if err != nil || !strings.HasPrefix(p.After, prefix) {
			return nil, validation.Newf("The NextToken is invalid or expired.")
		}
		page, err = strconv.Atoi(p.After[len(prefix):])
		if err != nil || page < 1 || page >= ss.Pages {
			return nil, validation.Newf("The NextToken is invalid or expired.")
		}
	}
	out := &Page{Columns: ss.Columns, TotalRows: ss.ResultRows}
	if ss.Pages == 0 {
		if format == FormatJSON {
			out.Records = []byte("[]")
		}
		return out, nil
	}
	out.Records, err = store.Read(ctx, s.Store, func(r store.Reader) ([]byte, error) { return r.Get(pageKey(base, sub, page)) })
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, err
	}
	if page+1 < ss.Pages {
		if out.NextToken, err = s.Pages.New(opResult, sc.Account, sc.Region, id+"/"+strconv.Itoa(page+1)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// resourceID is the Data API's ResourceNotFoundException member naming
// the statement (its model's ResourceId, not resourceName).
func resourceID(id string) map[string]string {
	return map[string]string{"ResourceId": apierror.Printable(id)}
}
