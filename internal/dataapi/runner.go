package dataapi

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/idcgate/idcgate/internal/store"
)

// session is an upstream connection of a user's role, from the pool of
// (upstream, role).
type session struct {
	conn *pgxpool.Conn
	pg   *pgconn.PgConn
}

// open syncs u's role on the workgroup's upstream (RoleSync, as a gateway
// login does) and takes a connection of that role from its pool.
func (s *Service) open(ctx context.Context, sc Scope, wg WorkgroupRef, database string, u User) (*session, error) {
	dsn, err := s.Upstreams.UpstreamDSN(ctx, sc, wg.Name, database)
	if err != nil {
		return nil, err
	}
	role, err := s.Roles.Sync(ctx, dsn, sc, wg, u)
	if err != nil {
		return nil, err
	}
	p, err := s.pool(ctx, dsn, role)
	if err != nil {
		return nil, err
	}
	c, err := p.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	return &session{conn: c, pg: c.Conn().PgConn()}, nil
}

// release returns a connection to its pool with the session reset (what a
// statement set does not reach the next one), or closes it when the
// statement was cancelled or left it unusable.
func (ss *session) release(ctx context.Context, reusable bool) {
	if reusable && ss.pg.TxStatus() == 'I' {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		err := ss.pg.Exec(ctx, "DISCARD ALL").Close()
		cancel()
		if err == nil {
			ss.conn.Release()
			return
		}
	}
	ss.conn.Hijack().Close(context.Background())
}

// pool is the connection pool of role on dsn, made on first use.
func (s *Service) pool(ctx context.Context, dsn, role string) (*pgxpool.Pool, error) {
	key := dsn + "\x00" + role
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.pools[key]; e != nil {
		e.used = time.Now()
		return e.pool, nil
	}
	if s.closed {
		return nil, errShutdown
	}
	sc, err := s.Roles.SessionConfig(dsn, role)
	if err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("upstream DSN: %w", err)
	}
	cfg.ConnConfig.Config = *sc
	if cfg.ConnConfig.RuntimeParams == nil {
		cfg.ConnConfig.RuntimeParams = map[string]string{}
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = applicationName
	// A cancelled statement's query is cancelled upstream (a cancel
	// request), not only abandoned: the backend stops at once.
	cfg.ConnConfig.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: pc, DeadlineDelay: 5 * time.Second}
	}
	cfg.MaxConns = int32(s.maxConns())
	cfg.MinConns = 0
	cfg.MaxConnIdleTime = time.Minute
	p, err := pgxpool.NewWithConfig(s.base, cfg)
	if err != nil {
		return nil, err
	}
	s.pools[key] = &rolePool{pool: p, used: time.Now()}
	return p, nil
}

// applicationName names the statements' sessions upstream (pg_stat_activity).
const applicationName = "idcgate data api"

// run runs st to its end and records each step.
func (s *Service) run(ctx context.Context, st *Statement, u User, w *workgroupState) {
	sc := Scope{st.Account, st.Region}
	select {
	case w.conns <- struct{}{}:
		defer func() { <-w.conns }()
	case <-ctx.Done():
		s.end(st, ctx, nil)
		return
	}
	st.Status = StatusPicked
	ss, err := s.open(ctx, sc, WorkgroupRef{Name: st.Workgroup, ID: st.WorkgroupID}, st.Database, u)
	if err != nil {
		s.end(st, ctx, connectError(err, s))
		return
	}
	reusable := false
	defer func() { ss.release(ctx, reusable) }()
	now := s.now()
	st.Status, st.Pid, st.UpdatedAt = StatusStarted, int64(ss.pg.PID()), now
	started := s.noteStarted(ctx, st)
	start := now
	if st.Batch {
		if err := ss.pg.Exec(ctx, "BEGIN").Close(); err != nil {
			started()
			s.end(st, ctx, err)
			return
		}
	}
	var failed error
	for i := range st.Subs {
		if failed != nil {
			st.Subs[i].Status, st.Subs[i].UpdatedAt = StatusAborted, s.now()
			continue
		}
		failed = s.runSub(ctx, ss.pg, st, i)
	}
	if st.Batch {
		q := "COMMIT"
		if failed != nil {
			q = "ROLLBACK"
		}
		if err := ss.pg.Exec(context.WithoutCancel(ctx), q).Close(); err != nil && failed == nil {
			failed = err
		}
	}
	st.Duration = s.now().Sub(start)
	// A SQL error leaves the connection sound (release checks it is idle);
	// a cancel or a broken connection does not.
	var pe *pgconn.PgError
	reusable = (failed == nil || errors.As(failed, &pe)) && ctx.Err() == nil
	started()
	s.end(st, ctx, failed)
}

// startedAfter is how long a statement runs before its STARTED state (and
// backend pid) is written: most statements end sooner, and their FINISHED
// record is the only write of their run, one commit (an fsync on the
// embedded store) less on the way to the answer (ours).
const startedAfter = 50 * time.Millisecond

// noteStarted writes st's STARTED state if it still runs after
// startedAfter; the returned func, called before st's end is written,
// makes sure no late STARTED write lands after it.
func (s *Service) noteStarted(ctx context.Context, st *Statement) func() {
	snap := *st
	snap.Subs = slices.Clone(st.Subs)
	for i := range snap.Subs {
		snap.Subs[i].Status = StatusStarted
	}
	var mu sync.Mutex
	done := false
	t := time.AfterFunc(startedAfter, func() {
		mu.Lock()
		defer mu.Unlock()
		if done {
			return
		}
		if err := s.update(ctx, &snap, nil); err != nil {
			s.Log.Error("data api: recording a statement start", "statement", snap.ID, "err", err)
		}
	})
	return func() {
		t.Stop()
		mu.Lock()
		done = true
		mu.Unlock()
	}
}

// runSub runs one SQL text and stores its results page by page, so a large
// result never sits whole in memory.
func (s *Service) runSub(ctx context.Context, pg *pgconn.PgConn, st *Statement, i int) error {
	sub := &st.Subs[i]
	start := s.now()
	sub.Status, sub.UpdatedAt = StatusStarted, start
	sql, vals := rewriteParams(sub.SQL, st.Params)
	rr := pg.ExecParams(ctx, sql, vals, nil, nil, nil)
	// A copy: the reader's own is valid only until it is closed.
	fds := slices.Clone(rr.FieldDescriptions())
	sub.HasResultSet = rr.FieldDescriptions() != nil
	var cols []Column
	oids := make([]uint32, len(fds))
	for k, f := range fds {
		cols = append(cols, columnOf(f))
		oids[k] = f.DataTypeOID
	}
	w := pageWriter{s: s, st: st, sub: i + 1, format: st.ResultFormat, max: s.pageRows()}
	if st.ResultFormat == FormatCSV && sub.HasResultSet {
		names := make([]string, len(cols))
		for k, c := range cols {
			names[k] = c.Name
		}
		w.header = names
	}
	var rows int64
	var werr error
	for rr.NextRow() {
		rows++
		if werr = w.add(ctx, rr.Values(), oids); werr != nil {
			break
		}
	}
	if werr != nil {
		// Stop the query: its result is over the limit, or unstorable.
		pg.CancelRequest(context.WithoutCancel(ctx))
	}
	tag, err := rr.Close()
	if werr == nil && err == nil {
		werr = w.flush(ctx)
	}
	sub.UpdatedAt = s.now()
	sub.Duration = sub.UpdatedAt.Sub(start)
	if werr != nil {
		w.discard(context.WithoutCancel(ctx))
		sub.Status, sub.Error = StatusFailed, publicError(werr, s)
		return werr
	}
	if err != nil {
		w.discard(context.WithoutCancel(ctx))
		if ctx.Err() != nil {
			sub.Status = StatusAborted
			return ctx.Err()
		}
		sub.Status, sub.Error = StatusFailed, publicError(err, s)
		return err
	}
	if sub.HasResultSet {
		sub.ResultRows = rows
		if len(cols) > 0 && hasTables(fds) {
			s.tableColumns(ctx, pg, st.ID, fds, cols)
		}
	} else {
		sub.ResultRows = tag.RowsAffected()
	}
	sub.Columns, sub.Pages, sub.ResultSize = cols, w.pages, w.total
	sub.Status = StatusFinished
	return nil
}

func hasTables(fds []pgconn.FieldDescription) bool {
	for _, f := range fds {
		if f.TableOID != 0 {
			return true
		}
	}
	return false
}

// tableColumns fills in the schema, table and NOT NULL of the columns
// that are a table's, from the catalog (best effort: metadata only).
func (s *Service) tableColumns(ctx context.Context, pg *pgconn.PgConn, st string, fds []pgconn.FieldDescription, cols []Column) {
	var oids []string
	for _, f := range fds {
		if f.TableOID != 0 {
			oids = append(oids, strconv.FormatUint(uint64(f.TableOID), 10))
		}
	}
	rr := pg.ExecParams(ctx, `SELECT a.attrelid, a.attnum, n.nspname, c.relname, a.attnotnull
		FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0`, [][]byte{[]byte("{" + strings.Join(oids, ",") + "}")}, nil, nil, nil)
	type attr struct {
		schema, table string
		notNull       bool
	}
	found := map[[2]uint64]attr{}
	for rr.NextRow() {
		v := rr.Values()
		rel, _ := strconv.ParseUint(string(v[0]), 10, 32)
		num, _ := strconv.ParseUint(string(v[1]), 10, 16)
		found[[2]uint64{rel, num}] = attr{string(v[2]), string(v[3]), string(v[4]) == "t"}
	}
	if _, err := rr.Close(); err != nil {
		s.Log.Warn("data api: reading result columns' tables", "statement", st, "err", err)
		return
	}
	for k, f := range fds {
		if a, ok := found[[2]uint64{uint64(f.TableOID), uint64(f.TableAttributeNumber)}]; ok {
			cols[k].SchemaName, cols[k].TableName = a.schema, a.table
			if a.notNull {
				cols[k].Nullable = 0
			}
		}
	}
}

func (s *Service) pageRows() int { return positiveOr(s.PageRows, pageRows) }

// pageWriter streams a result into the store, one page per store value.
type pageWriter struct {
	s      *Service
	st     *Statement
	sub    int
	format string
	max    int
	header []string

	buf   bytes.Buffer
	rows  int
	pages int
	total int64
	csv   *csv.Writer
	cells []string
}

// userError is a message meant for the statement's owner, as it is.
type userError string

func (e userError) Error() string { return string(e) }

// tooLarge is the Error of a statement whose result is over the limit.
func tooLarge(limit int64) error {
	return userError(fmt.Sprintf("The query's result is larger than the Data API keeps (%d MB): select fewer rows or columns.", limit>>20))
}

func (w *pageWriter) add(ctx context.Context, vals [][]byte, oids []uint32) error {
	if w.format == FormatCSV {
		if w.csv == nil {
			w.csv = csv.NewWriter(&w.buf)
		}
		if w.header != nil {
			w.csv.Write(w.header)
			w.header = nil
		}
		w.cells = w.cells[:0]
		for _, v := range vals {
			w.cells = append(w.cells, string(v))
		}
		w.csv.Write(w.cells)
		w.csv.Flush()
	} else {
		b := w.buf.AvailableBuffer()
		if w.rows == 0 {
			b = append(b, '[')
		} else {
			b = append(b, ',')
		}
		b = append(b, '[')
		for k, v := range vals {
			if k > 0 {
				b = append(b, ',')
			}
			b = appendField(b, oids[k], v)
		}
		b = append(b, ']')
		w.buf.Write(b)
	}
	w.rows++
	if limit := w.s.maxResultBytes(); w.total+int64(w.buf.Len()) > limit {
		return tooLarge(limit)
	}
	if w.rows >= w.max || w.buf.Len() >= pageBytes {
		return w.flush(ctx)
	}
	return nil
}

func (w *pageWriter) flush(ctx context.Context) error {
	if w.rows == 0 && w.header == nil {
		return nil
	}
	if w.format == FormatCSV && w.header != nil {
		// A result of no rows still has its header line.
		w.csv = csv.NewWriter(&w.buf)
		w.csv.Write(w.header)
		w.csv.Flush()
		w.header = nil
	}
	if w.format != FormatCSV {
		w.buf.WriteByte(']')
	}
	b := w.buf.Bytes()
	key := pageKey(w.st.ID, w.sub, w.pages)
	if err := w.s.Store.Update(context.WithoutCancel(ctx), func(tx store.Tx) error { return tx.Put(key, b) }); err != nil {
		return err
	}
	w.total += int64(len(b))
	w.pages++
	w.rows = 0
	w.buf.Reset()
	return nil
}

// discard deletes the pages written of a result that failed.
func (w *pageWriter) discard(ctx context.Context) {
	if w.pages == 0 {
		return
	}
	w.s.Store.Update(ctx, func(tx store.Tx) error {
		for p := 0; p < w.pages; p++ {
			if err := tx.Delete(pageKey(w.st.ID, w.sub, p)); err != nil {
				return err
			}
		}
		return nil
	})
	w.pages, w.total = 0, 0
}

// publicError is what a statement's Error says: PostgreSQL's message for a
// SQL error, a userError as it is (the result limit, a refusal), and a
// generic line for anything else, whose cause is logged, never shown.
func publicError(err error, s *Service) string {
	var pe *pgconn.PgError
	var ue userError
	switch {
	case errors.As(err, &pe):
		return "ERROR: " + pe.Message
	case errors.As(err, &ue):
		return string(ue)
	}
	s.Log.Error("data api: statement failed", "err", err)
	return "The statement could not run on the workgroup's database."
}

// connectError is what a statement that could not start says: the role
// sync's refusal (an apierror message is meant for users), PostgreSQL's
// message, or a generic line with the cause logged.
func connectError(err error, s *Service) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return err
	}
	var pub interface{ Public() string }
	if errors.As(err, &pub) {
		return userError(pub.Public())
	}
	s.Log.Error("data api: connecting to the workgroup's database", "err", err)
	return userError("could not connect to the workgroup's database")
}

// end records st's final state. ctx's cause tells a cancel (ABORTED) and a
// shutdown (ABORTED, said so) from a failure (FAILED with err's message).
func (s *Service) end(st *Statement, ctx context.Context, err error) {
	now := s.now()
	st.UpdatedAt = now
	cause := context.Cause(ctx)
	switch {
	case ctx.Err() != nil && errors.Is(cause, errShutdown):
		st.Status, st.Error = StatusAborted, "The statement was stopped because idcgate shut down; its query was cancelled."
	case ctx.Err() != nil:
		st.Status, st.Error = StatusAborted, "The statement was cancelled."
	case err != nil:
		st.Status, st.Error = StatusFailed, publicError(err, s)
	default:
		st.Status = StatusFinished
	}
	for i := range st.Subs {
		ss := &st.Subs[i]
		if !ss.Status.Final() {
			ss.Status, ss.UpdatedAt = st.Status, now
			if st.Status == StatusFailed && ss.Error == "" {
				ss.Error = st.Error
			}
		}
		if st.Status == StatusFailed && st.Batch && ss.Status == StatusFailed && st.Error != "" && ss.Error != "" {
			st.Error = fmt.Sprintf("%s (statement %d of the batch)", ss.Error, i+1)
		}
	}
	if err := s.update(context.Background(), st, func(tx store.Tx) error { return tx.Delete(activeKey(st)) }); err != nil {
		s.Log.Error("data api: recording a statement's end", "statement", st.ID, "err", err)
	}
}

// update writes st, keeping a cancel request another replica recorded.
func (s *Service) update(ctx context.Context, st *Statement, also func(store.Tx) error) error {
	sc := Scope{st.Account, st.Region}
	return s.Store.Update(context.WithoutCancel(ctx), func(tx store.Tx) error {
		var cur Statement
		if err := store.GetJSON(tx, statementKey(sc, st.ID), &cur); err != nil {
			return err
		}
		st.CancelRequested = st.CancelRequested || cur.CancelRequested
		st.Heartbeat = s.now()
		if err := store.PutJSON(tx, statementKey(sc, st.ID), st); err != nil {
			return err
		}
		if also != nil {
			return also(tx)
		}
		return nil
	})
}
