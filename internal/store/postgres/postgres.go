// Package postgres is the shared store.Store: several idcgate replicas on one
// PostgreSQL database. Read-write transactions run SERIALIZABLE and are
// retried on serialization failures and deadlocks, so the domain's
// read-check-write logic stays correct across replicas. Reads run REPEATABLE
// READ READ ONLY, one consistent snapshot per View.
//
// Keys are stored as text COLLATE "C" (byte order), so they must be valid
// UTF-8 without NUL bytes; idcgate's keys are ASCII paths.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/idcgate/idcgate/internal/store"
)

// DB is a PostgreSQL-backed store.Store.
type DB struct {
	pool   *pgxpool.Pool
	closed atomic.Bool
}

var _ store.Store = (*DB)(nil)

// migrations[i] is schema version i+1. Append only; never edit one that
// has shipped.
var migrations = []string{
	`CREATE TABLE kv (key text COLLATE "C" PRIMARY KEY, value bytea NOT NULL)`,
}

// migrationLockID is the pg_advisory_xact_lock key serializing migrations
// across concurrently starting replicas.
const migrationLockID int64 = 0x1dc9a7e5_70e0

const (
	maxRetries = 10
	scanBatch  = 256
)

// Open connects to dsn and brings the schema up to date.
func Open(ctx context.Context, dsn string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres DSN: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres migrations: %w", err)
	}
	return &DB{pool: pool}, nil
}

// migrate applies pending migrations in one transaction that holds an
// advisory lock, so concurrent Opens apply each migration exactly once.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLockID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version int PRIMARY KEY)`); err != nil {
			return err
		}
		var current int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
			return err
		}
		if current > len(migrations) {
			return fmt.Errorf("database schema version %d is newer than this idcgate (%d)", current, len(migrations))
		}
		for v := current + 1; v <= len(migrations); v++ {
			if _, err := tx.Exec(ctx, migrations[v-1]); err != nil {
				return fmt.Errorf("migration %d: %w", v, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, v); err != nil {
				return fmt.Errorf("migration %d: %w", v, err)
			}
		}
		return nil
	})
}

// inTx acquires a connection and runs fn in one transaction on it. A pool
// closed by Close reports store.ErrClosed.
func (d *DB) inTx(ctx context.Context, opts pgx.TxOptions, fn func(*txn) error) error {
	conn, err := d.pool.Acquire(ctx)
	if err != nil {
		if d.closed.Load() {
			return store.ErrClosed
		}
		return err
	}
	defer conn.Release()
	return pgx.BeginTxFunc(ctx, conn, opts, func(tx pgx.Tx) error {
		return fn(&txn{ctx: ctx, tx: tx})
	})
}

// View runs fn in a REPEATABLE READ READ ONLY transaction.
func (d *DB) View(ctx context.Context, fn func(store.Reader) error) error {
	if err := store.Ready(ctx, d.closed.Load()); err != nil {
		return err
	}
	opts := pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	return d.inTx(ctx, opts, func(t *txn) error { return fn(t) })
}

// Update runs fn in a SERIALIZABLE transaction and commits when fn returns
// nil. On a serialization failure (40001) or deadlock (40P01), from fn's
// statements or from COMMIT, fn runs again in a new transaction, up to
// maxRetries times with jittered exponential backoff.
func (d *DB) Update(ctx context.Context, fn func(store.Tx) error) error {
	if err := store.Ready(ctx, d.closed.Load()); err != nil {
		return err
	}
	opts := pgx.TxOptions{IsoLevel: pgx.Serializable}
	for attempt := 0; ; attempt++ {
		err := d.inTx(ctx, opts, func(t *txn) error { return fn(t) })
		if err == nil || attempt >= maxRetries || !retryable(err) {
			return err
		}
		t := time.NewTimer(backoff(attempt))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// backoff is exponential from 2ms, capped at 250ms, with the upper half
// randomized so contenders spread out.
func backoff(attempt int) time.Duration {
	d := 2 * time.Millisecond << min(attempt, 7)
	d = min(d, 250*time.Millisecond)
	return d/2 + rand.N(d/2+1)
}

func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// Close closes the connection pool, waiting for connections in use to be
// released; later View and Update calls return store.ErrClosed.
func (d *DB) Close() error {
	if !d.closed.Swap(true) {
		d.pool.Close()
	}
	return nil
}

// Ping checks that the database answers.
func (d *DB) Ping(ctx context.Context) error { return d.pool.Ping(ctx) }

type txn struct {
	ctx context.Context
	tx  pgx.Tx
}

func (t *txn) Get(key string) ([]byte, error) {
	if !validKey(key) {
		return nil, store.ErrNotFound // no stored key can equal it
	}
	var v []byte
	err := t.tx.QueryRow(t.ctx, `SELECT value FROM kv WHERE key = $1`, key).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

func (t *txn) Put(key string, value []byte) error {
	if key == "" || !validKey(key) {
		return fmt.Errorf("store: invalid key %q: must be non-empty UTF-8 without NUL", key)
	}
	if value == nil {
		value = []byte{}
	}
	_, err := t.tx.Exec(t.ctx,
		`INSERT INTO kv (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
		key, value)
	return err
}

func (t *txn) Delete(key string) error {
	if !validKey(key) {
		return nil
	}
	_, err := t.tx.Exec(t.ctx, `DELETE FROM kv WHERE key = $1`, key)
	return err
}

// readPage appends the rows of one scan query to page. Scans read in pages
// so that fn runs with no result set open: it may read the store itself.
func (t *txn) readPage(page []kvPair, q string, args []any) ([]kvPair, error) {
	rows, err := t.tx.Query(t.ctx, q, args...)
	if err != nil {
		return page, err
	}
	defer rows.Close()
	for rows.Next() {
		var p kvPair
		if err := rows.Scan(&p.key, &p.value); err != nil {
			return page, err
		}
		page = append(page, p)
	}
	return page, rows.Err()
}

type kvPair struct {
	key   string
	value []byte
}

// Scan reads pages of scanBatch rows in key order and calls fn after each
// page's rows are closed, so fn may use the transaction (Get) itself.
func (t *txn) Scan(prefix, after string, fn func(key string, value []byte) (bool, error)) error {
	// The range is computed on a valid-UTF-8 form of the prefix (a prefix
	// may end inside a multibyte rune); exact filtering happens in Go.
	lo := trimPartialRune(prefix)
	if !validKey(lo) {
		return nil // no valid key starts with it
	}
	hi := successor(lo) // "" means no upper bound
	from, inclusive := lo, true
	if after >= lo && validKey(after) {
		from, inclusive = after, false
	}
	keep := func(key string) bool { return key > after && strings.HasPrefix(key, prefix) }
	return t.walk(" ORDER BY key", keep, fn, func() (string, []any) {
		op := ">="
		if !inclusive {
			op = ">"
		}
		if hi == "" {
			return `SELECT key, value FROM kv WHERE key ` + op + ` $1`, []any{from}
		}
		return `SELECT key, value FROM kv WHERE key ` + op + ` $1 AND key < $2`, []any{from, hi}
	}, func(last string) { from, inclusive = last, false })
}

// walk reads a key range in pages of scanBatch rows, in the order order
// names: page is the query for the next page, and next moves the range
// past the last key of a full page. The SQL range may be a superset of
// the wanted keys, so fn sees only the rows keep admits; its stop or error
// ends the walk, as does a short page.
func (t *txn) walk(order string, keep func(key string) bool, fn func(key string, value []byte) (bool, error), page func() (string, []any), next func(last string)) error {
	rows := make([]kvPair, 0, scanBatch)
	for {
		q, args := page()
		var err error
		if rows, err = t.readPage(rows[:0], q+fmt.Sprintf("%s LIMIT %d", order, scanBatch), args); err != nil {
			return err
		}
		for _, p := range rows {
			if !keep(p.key) {
				continue
			}
			more, err := fn(p.key, p.value)
			if err != nil || !more {
				return err
			}
		}
		if len(rows) < scanBatch {
			return nil
		}
		next(rows[len(rows)-1].key)
	}
}

var _ store.ReverseScanner = (*txn)(nil)

// ScanReverse reads pages of scanBatch rows in descending key order, like
// Scan. The SQL range is a superset of the wanted keys (computed on valid
// UTF-8 forms of prefix and before); exact filtering happens in Go.
func (t *txn) ScanReverse(prefix, before string, fn func(key string, value []byte) (bool, error)) error {
	lo := trimPartialRune(prefix)
	if !validKey(lo) {
		return nil
	}
	upper := successor(lo) // "" means no upper bound
	if before != "" {
		b := before
		if !validKey(b) {
			// A bound above every key below before; Go drops the excess.
			if b = trimPartialRune(b); validKey(b) {
				b = successor(b)
			} else {
				b = ""
			}
		}
		if b != "" && (upper == "" || b < upper) {
			upper = b
		}
	}
	keep := func(key string) bool { return (before == "" || key < before) && strings.HasPrefix(key, prefix) }
	return t.walk(" ORDER BY key DESC", keep, fn, func() (string, []any) {
		if upper == "" {
			return `SELECT key, value FROM kv WHERE key >= $1`, []any{lo}
		}
		return `SELECT key, value FROM kv WHERE key >= $1 AND key < $2`, []any{lo, upper}
	}, func(last string) { upper = last })
}

// validKey reports whether s can be stored in a text column.
func validKey(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// trimPartialRune drops an incomplete UTF-8 sequence at the end of s.
func trimPartialRune(s string) string {
	for i := 1; i <= utf8.UTFMax-1 && i <= len(s); i++ {
		if utf8.RuneStart(s[len(s)-i]) {
			if r, _ := utf8.DecodeRuneInString(s[len(s)-i:]); r == utf8.RuneError && !utf8.FullRuneInString(s[len(s)-i:]) {
				return s[:len(s)-i]
			}
			break
		}
	}
	return s
}

// successor returns the smallest valid UTF-8 string greater than every
// string that has prefix p in byte order, or "" when there is none (p is
// empty or all U+10FFFF). It increments the last rune that can be
// incremented (UTF-8 byte order is code point order), skipping surrogates.
func successor(p string) string {
	for len(p) > 0 {
		r, size := utf8.DecodeLastRuneInString(p)
		p = p[:len(p)-size]
		if r == utf8.RuneError && size <= 1 {
			continue // not expected for valid input; widen the range
		}
		if r < utf8.MaxRune {
			r++
			if r == 0xD800 {
				r = 0xE000
			}
			return p + string(r)
		}
	}
	return ""
}
