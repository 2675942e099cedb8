package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/idcgate/idcgate/internal/pgtest"
	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/store/storetest"
)

var dbSeq atomic.Int64

// freshDSN creates a new, empty database on pg.
func freshDSN(t *testing.T, pg *pgtest.Server) string {
	t.Helper()
	name := fmt.Sprintf("store_test_%d", dbSeq.Add(1))
	pg.CreateDatabase(t, name)
	return pg.DSN(name)
}

func openDSN(t *testing.T, dsn string) *DB {
	t.Helper()
	db, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestPostgres(t *testing.T) {
	pg := pgtest.Start(t)
	ctx := context.Background()

	t.Run("Conformance", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store { return openDSN(t, freshDSN(t, pg)) })
	})

	t.Run("Durable", func(t *testing.T) {
		var dsn string
		storetest.RunDurable(t,
			func(t *testing.T) store.Store { dsn = freshDSN(t, pg); return openDSN(t, dsn) },
			func(t *testing.T) store.Store { return openDSN(t, dsn) })
	})

	t.Run("ConcurrentOpens", func(t *testing.T) {
		dsn := freshDSN(t, pg)
		const n = 2
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				db, err := Open(ctx, dsn)
				if err == nil {
					err = db.Update(ctx, func(tx store.Tx) error { return tx.Put(fmt.Sprint("opened/", i), nil) })
					db.Close()
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("Open %d: %v", i, err)
			}
		}
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		var versions []int
		rows, _ := c.Query(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
		versions, err = pgx.CollectRows(rows, pgx.RowTo[int])
		if err != nil || fmt.Sprint(versions) != fmt.Sprint(seq(len(migrations))) {
			t.Fatalf("schema_migrations %v %v", versions, err)
		}
		var collation string
		if err := c.QueryRow(ctx, `SELECT collation_name FROM information_schema.columns WHERE table_name = 'kv' AND column_name = 'key'`).Scan(&collation); err != nil || collation != "C" {
			t.Fatalf("key collation %q %v", collation, err)
		}
	})

	t.Run("CounterAcrossTwoHandles", func(t *testing.T) {
		dsn := freshDSN(t, pg)
		a, b := openDSN(t, dsn), openDSN(t, dsn)
		const workers, each = 8, 25
		storetest.IncrementConcurrently(ctx, t, "counter", workers, each, func(w int) store.Store {
			if w%2 == 1 {
				return b
			}
			return a
		})
		var got []byte
		if err := b.View(ctx, func(r store.Reader) error {
			var err error
			got, err = r.Get("counter")
			return err
		}); err != nil || string(got) != fmt.Sprint(workers*each) {
			t.Fatalf("counter %q %v, want %d", got, err, workers*each)
		}
	})

	t.Run("UpdateRetriesSerializationFailures", func(t *testing.T) {
		db := openDSN(t, freshDSN(t, pg))
		runs := 0
		err := db.Update(ctx, func(tx store.Tx) error {
			runs++
			if runs < 3 {
				return fmt.Errorf("wrapped: %w", &pgconn40001)
			}
			return tx.Put("k", []byte("v"))
		})
		if err != nil || runs != 3 {
			t.Fatalf("runs %d err %v", runs, err)
		}
		runs = 0
		err = db.Update(ctx, func(store.Tx) error { runs++; return &pgconn40001 })
		if !errors.Is(err, &pgconn40001) || runs != maxRetries+1 {
			t.Fatalf("runs %d err %v", runs, err)
		}
	})

	t.Run("ScanPagesAndUTF8", func(t *testing.T) {
		db := openDSN(t, freshDSN(t, pg))
		err := db.Update(ctx, func(tx store.Tx) error {
			for i := range 3*scanBatch + 7 {
				if err := tx.Put(fmt.Sprintf("p/%05d", i), []byte("x")); err != nil {
					return err
				}
			}
			if err := tx.Put("q/é", nil); err != nil {
				return err
			}
			return tx.Put("p", nil)
		})
		if err != nil {
			t.Fatal(err)
		}
		count := func(prefix, after string) int {
			n := 0
			if err := db.View(ctx, func(r store.Reader) error {
				return r.Scan(prefix, after, func(k string, _ []byte) (bool, error) {
					if !strings.HasPrefix(k, prefix) || k <= after {
						return false, fmt.Errorf("bad key %q", k)
					}
					n++
					return true, nil
				})
			}); err != nil {
				t.Fatal(err)
			}
			return n
		}
		for _, c := range []struct {
			prefix, after string
			want          int
		}{
			{"p/", "", 3*scanBatch + 7},
			{"p/", fmt.Sprintf("p/%05d", scanBatch-1), 2*scanBatch + 7},
			{"p", "", 3*scanBatch + 8},
			{"q/\xc3", "", 1},           // prefix ending inside a rune
			{"q/\xc3\xa9", "q/\xc3", 1}, // after not valid UTF-8
			{"q/\xa9", "", 0},
			{"\x00", "", 0},
		} {
			if got := count(c.prefix, c.after); got != c.want {
				t.Errorf("Scan(%q, %q): %d keys, want %d", c.prefix, c.after, got, c.want)
			}
		}
		if err := db.Update(ctx, func(tx store.Tx) error { return tx.Put("bad\xff", nil) }); err == nil {
			t.Error("Put of a non-UTF-8 key succeeded")
		}
	})
}

var pgconn40001 = pgconn.PgError{Code: "40001", Message: "could not serialize access"}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i + 1
	}
	return s
}

// checkEach checks that f, named name, maps each key of cases to its value.
func checkEach(t *testing.T, name string, f func(string) string, cases map[string]string) {
	t.Helper()
	for in, want := range cases {
		if got := f(in); got != want {
			t.Errorf("%s(%q) = %q, want %q", name, in, got, want)
		}
	}
}

func TestSuccessor(t *testing.T) {
	checkEach(t, "successor", successor, map[string]string{
		"":                     "",
		"a/":                   "a0",
		"ab":                   "ac",
		"a\u007f":              "a\u0080",
		"x\u00bf":              "x\u00c0",
		"\ud7ff":               "\ue000",
		"a\U0010ffff":          "b",
		"\U0010ffff\U0010ffff": "",
	})
}

func TestTrimPartialRune(t *testing.T) {
	checkEach(t, "trimPartialRune", trimPartialRune, map[string]string{
		"":              "",
		"abc":           "abc",
		"a\xc3":         "a",
		"a\xc3\xa9":     "a\xc3\xa9",
		"a\xe2\x82":     "a",
		"a\xf0\x9f\x98": "a",
	})
}
