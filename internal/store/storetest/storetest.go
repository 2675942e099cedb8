// Package storetest is the conformance suite for store.Store backends. Every
// backend runs Run (and, when it persists, RunDurable) so all of them share
// one definition of correct.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/idcgate/idcgate/internal/store"
)

var errSentinel = errors.New("storetest: sentinel")

func update(t *testing.T, s store.Store, fn func(store.Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func putAll(t *testing.T, s store.Store, kv ...string) {
	t.Helper()
	update(t, s, func(tx store.Tx) error {
		for i := 0; i+1 < len(kv); i += 2 {
			if err := tx.Put(kv[i], []byte(kv[i+1])); err != nil {
				return err
			}
		}
		return nil
	})
}

func getOne(t *testing.T, s store.Store, key string) ([]byte, error) {
	t.Helper()
	return store.Read(context.Background(), s, func(r store.Reader) ([]byte, error) { return r.Get(key) })
}

func mustGet(t *testing.T, s store.Store, key, want string) {
	t.Helper()
	v, err := getOne(t, s, key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	if string(v) != want {
		t.Fatalf("Get(%q) = %q, want %q", key, v, want)
	}
}

func mustMiss(t *testing.T, s store.Store, key string) {
	t.Helper()
	if v, err := getOne(t, s, key); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(%q) = %q, %v; want ErrNotFound", key, v, err)
	}
}

// plainReader hides a reader's optional abilities.
type plainReader struct{ store.Reader }

// scanFunc is a walk of the keys under prefix from the key from on: a
// Reader's Scan, or a ScanReverse.
type scanFunc func(prefix, from string, fn func(k string, v []byte) (bool, error)) error

// render renders a walk as "k=v k=v".
func render(scan scanFunc, prefix, from string) (string, error) {
	var parts []string
	err := scan(prefix, from, func(k string, v []byte) (bool, error) {
		parts = append(parts, k+"="+string(v))
		return true, nil
	})
	return strings.Join(parts, " "), err
}

// scanAll renders a Scan as "k=v k=v".
func scanAll(r store.Reader, prefix, after string) (string, error) {
	return render(r.Scan, prefix, after)
}

// scanFixture is the key set the Scan and ScanReverse cases walk: siblings
// that share a prefix byte by byte ("a/b", "a/b/", "a/bc"), a key deeper
// than its neighbours, and keys on either side.
var scanFixture = []string{
	"a/b", "1", "a/bc", "2", "a/b/", "3", "a/b/x", "4", "a/b/y", "5",
	"a/a", "0", "b", "6", "a/b/x/z", "7", "a", "8",
}

// putNumbered puts m/0000 … m/<n-1>, each with its number as the value:
// enough keys to cross a backend's page boundaries.
func putNumbered(t *testing.T, s store.Store, n int) {
	t.Helper()
	update(t, s, func(tx store.Tx) error {
		for i := 0; i < n; i++ {
			if err := tx.Put(fmt.Sprintf("m/%04d", i), []byte(strconv.Itoa(i))); err != nil {
				return err
			}
		}
		return nil
	})
}

func viewScan(t *testing.T, s store.Store, prefix, after string) string {
	t.Helper()
	out, err := store.Read(context.Background(), s, func(r store.Reader) (string, error) { return scanAll(r, prefix, after) })
	if err != nil {
		t.Fatalf("Scan(%q, %q): %v", prefix, after, err)
	}
	return out
}

// Run runs the conformance suite. open must return a new, empty store; the
// suite closes it when it needs to, and open should also register cleanup.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	// Each step runs in parallel with the others, on a store of its own.
	steps := []struct {
		name  string
		check func(t *testing.T, s store.Store)
	}{
		{"GetMissing", func(t *testing.T, s store.Store) {
			mustMiss(t, s, "no/such/key")
			mustMiss(t, s, "")
		}},

		{"RoundTrip", func(t *testing.T, s store.Store) {
			putAll(t, s, "acct/1/name", "alpha", "acct/1/empty", "")
			mustGet(t, s, "acct/1/name", "alpha")
			v, err := getOne(t, s, "acct/1/empty")
			if err != nil || len(v) != 0 {
				t.Fatalf("empty value: %q %v", v, err)
			}
		}},

		{"Peek", func(t *testing.T, s store.Store) {
			putAll(t, s, "p/k", "value")
			err := s.View(ctx, func(r store.Reader) error {
				v, err := store.Peek(r, "p/k")
				if err != nil || string(v) != "value" {
					return fmt.Errorf("Peek = %q, %v", v, err)
				}
				if _, err := store.Peek(r, "p/missing"); !errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("Peek of a missing key: %v", err)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}},

		{"GetReturnsCallerOwnedSlice", func(t *testing.T, s store.Store) {
			putAll(t, s, "k", "value")
			err := s.View(ctx, func(r store.Reader) error {
				v, err := r.Get("k")
				if err != nil {
					return err
				}
				for i := range v {
					v[i] = 'X'
				}
				if again, err := r.Get("k"); err != nil || string(again) != "value" {
					return fmt.Errorf("same tx sees caller's edit: %q %v", again, err)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			var kept []byte
			update(t, s, func(tx store.Tx) error {
				var err error
				kept, err = tx.Get("k")
				return err
			})
			putAll(t, s, "k", "other")
			if string(kept) != "value" {
				t.Fatalf("slice from Update's Get changed after later writes: %q", kept)
			}
			mustGet(t, s, "k", "other")
		}},

		{"PutCopiesValue", func(t *testing.T, s store.Store) {
			buf := []byte("orig")
			update(t, s, func(tx store.Tx) error {
				err := tx.Put("k", buf)
				copy(buf, "XXXX")
				return err
			})
			mustGet(t, s, "k", "orig")
		}},

		{"Overwrite", func(t *testing.T, s store.Store) {
			putAll(t, s, "k", "one")
			putAll(t, s, "k", "two-longer")
			mustGet(t, s, "k", "two-longer")
			putAll(t, s, "k", "3")
			mustGet(t, s, "k", "3")
		}},

		{"Delete", func(t *testing.T, s store.Store) {
			putAll(t, s, "a", "1", "b", "2")
			update(t, s, func(tx store.Tx) error {
				if err := tx.Delete("a"); err != nil {
					return err
				}
				if _, err := tx.Get("a"); !errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("deleted key visible in same tx: %v", err)
				}
				return tx.Delete("never-existed")
			})
			mustMiss(t, s, "a")
			mustGet(t, s, "b", "2")
		}},

		{"Scan", func(t *testing.T, s store.Store) {
			putAll(t, s, scanFixture...)
			cases := []struct{ prefix, after, want string }{
				{"", "", "a=8 a/a=0 a/b=1 a/b/=3 a/b/x=4 a/b/x/z=7 a/b/y=5 a/bc=2 b=6"},
				{"a/b/", "", "a/b/=3 a/b/x=4 a/b/x/z=7 a/b/y=5"},
				{"a/b", "", "a/b=1 a/b/=3 a/b/x=4 a/b/x/z=7 a/b/y=5 a/bc=2"},
				{"a/bc", "", "a/bc=2"},
				{"a/b/", "a/b/x", "a/b/x/z=7 a/b/y=5"},
				{"a/b/", "a/b/x/z", "a/b/y=5"},
				{"a/b/", "a/b/w", "a/b/x=4 a/b/x/z=7 a/b/y=5"}, // after not a key
				{"a/b/", "a/b/y", ""},
				{"a/b/", "a/a", "a/b/=3 a/b/x=4 a/b/x/z=7 a/b/y=5"}, // after before prefix
				{"a/b/", "a/c", ""},                                 // after past prefix
				{"a/b/", "zzz", ""},
				{"", "a/bc", "b=6"},
				{"", "b", ""},
				{"c", "", ""},
				{"a/b/q", "", ""},
			}
			for _, c := range cases {
				if got := viewScan(t, s, c.prefix, c.after); got != c.want {
					t.Errorf("Scan(%q, %q) = %q, want %q", c.prefix, c.after, got, c.want)
				}
			}
		}},

		{"ScanReverse", func(t *testing.T, s store.Store) {
			putAll(t, s, append(scanFixture, "x/\u00bf", "9", "x/\u00bfa", "10", "x/\u00c0", "11")...)
			err := s.View(ctx, func(r store.Reader) error {
				if _, ok := r.(store.ReverseScanner); !ok {
					return fmt.Errorf("%T does not implement store.ReverseScanner", r)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			cases := []struct{ prefix, before, want string }{
				{"", "", "x/\u00c0=11 x/\u00bfa=10 x/\u00bf=9 b=6 a/bc=2 a/b/y=5 a/b/x/z=7 a/b/x=4 a/b/=3 a/b=1 a/a=0 a=8"},
				{"a/b/", "", "a/b/y=5 a/b/x/z=7 a/b/x=4 a/b/=3"},
				{"a/b", "", "a/bc=2 a/b/y=5 a/b/x/z=7 a/b/x=4 a/b/=3 a/b=1"},
				{"a/b/", "a/b/y", "a/b/x/z=7 a/b/x=4 a/b/=3"},
				{"a/b/", "a/b/x/z", "a/b/x=4 a/b/=3"},
				{"a/b/", "a/b/w", "a/b/=3"}, // before not a key
				{"a/b/", "a/b/", ""},
				{"a/b/", "a/c", "a/b/y=5 a/b/x/z=7 a/b/x=4 a/b/=3"}, // before past prefix
				{"a/b/", "a/a", ""},                                 // before below prefix
				{"", "a/b", "a/a=0 a=8"},
				{"c", "", ""},
				{"x/\u00bf", "", "x/\u00bfa=10 x/\u00bf=9"},        // must not reach x/\u00c0
				{"x/", "x/\u00bfa\xc3", "x/\u00bfa=10 x/\u00bf=9"}, // before ends inside a rune
			}
			for _, c := range cases {
				// The backend's own reverse scan, and the fallback for readers
				// without one, agree.
				for _, hide := range []bool{false, true} {
					var got string
					err := s.View(ctx, func(r store.Reader) error {
						if hide {
							r = plainReader{r}
						}
						var err error
						got, err = render(func(prefix, before string, fn func(string, []byte) (bool, error)) error {
							return store.ScanReverse(r, prefix, before, fn)
						}, c.prefix, c.before)
						return err
					})
					if err != nil || got != c.want {
						t.Errorf("ScanReverse(%q, %q) (fallback %v) = %q, %v; want %q", c.prefix, c.before, hide, got, err, c.want)
					}
				}
			}
			// Many keys cross the backends' page boundaries; early stop works.
			putNumbered(t, s, 600)
			n := 0
			err = s.View(ctx, func(r store.Reader) error {
				return store.ScanReverse(r, "m/", "m/0500", func(k string, v []byte) (bool, error) {
					if want := fmt.Sprintf("m/%04d", 499-n); k != want || string(v) != strconv.Itoa(499-n) {
						return false, fmt.Errorf("key %q = %q, want %q", k, v, want)
					}
					n++
					return n < 300, nil
				})
			})
			if err != nil || n != 300 {
				t.Fatalf("n=%d err=%v", n, err)
			}
		}},

		{"ScanSiblings", func(t *testing.T, s store.Store) {
			putAll(t, s, "a/b", "x", "a/bc", "y", "a/b/c", "z", "a/b0", "w")
			// "a/b/" must not include the sibling "a/bc" or "a/b0" nor "a/b" itself.
			if got := viewScan(t, s, "a/b/", ""); got != "a/b/c=z" {
				t.Fatalf("Scan(a/b/) = %q", got)
			}
			if got := viewScan(t, s, "a/bc", ""); got != "a/bc=y" {
				t.Fatalf("Scan(a/bc) = %q", got)
			}
		}},

		{"ScanBinaryOrder", func(t *testing.T, s store.Store) {
			// Byte order, not a locale collation: uppercase before lowercase,
			// '-' and '.' before digits, and multibyte UTF-8 after ASCII.
			putAll(t, s, "k/b", "", "k/B", "", "k/a-b", "", "k/a.b", "", "k/a0", "", "k/é", "", "k/~", "", "k/A", "")
			want := "k/A= k/B= k/a-b= k/a.b= k/a0= k/b= k/~= k/é="
			if got := viewScan(t, s, "k/", ""); got != want {
				t.Fatalf("Scan = %q, want %q", got, want)
			}
			// Keys are valid UTF-8 (a SQL backend stores text); a prefix ending in
			// a rune whose last byte is 0xbf must not reach the next rune.
			putAll(t, s, "x/\u00bfa", "1", "x/\u00c0", "2", "x/\u00bf", "0", "x/\U0010ffff", "3", "x/\U0010ffff\U0010ffff", "4", "y", "5")
			if got := viewScan(t, s, "x/\u00bf", ""); got != "x/\u00bf=0 x/\u00bfa=1" {
				t.Fatalf("Scan(x/\u00bf) = %q", got)
			}
			if got := viewScan(t, s, "x/\U0010ffff", ""); got != "x/\U0010ffff=3 x/\U0010ffff\U0010ffff=4" {
				t.Fatalf("Scan(x/U+10FFFF) = %q", got)
			}
		}},

		{"ScanEarlyStop", func(t *testing.T, s store.Store) {
			putAll(t, s, "p/1", "", "p/2", "", "p/3", "", "p/4", "")
			var seen []string
			err := s.View(ctx, func(r store.Reader) error {
				return r.Scan("p/", "", func(k string, _ []byte) (bool, error) {
					seen = append(seen, k)
					return len(seen) < 2, nil
				})
			})
			if err != nil || strings.Join(seen, ",") != "p/1,p/2" {
				t.Fatalf("seen %v, err %v", seen, err)
			}
		}},

		{"ScanErrorPropagates", func(t *testing.T, s store.Store) {
			putAll(t, s, "p/1", "", "p/2", "", "p/3", "")
			calls := 0
			err := s.View(ctx, func(r store.Reader) error {
				return r.Scan("p/", "", func(k string, _ []byte) (bool, error) {
					calls++
					if k == "p/2" {
						return true, fmt.Errorf("at %s: %w", k, errSentinel)
					}
					return true, nil
				})
			})
			if !errors.Is(err, errSentinel) {
				t.Fatalf("err = %v", err)
			}
			if calls != 2 {
				t.Fatalf("fn called %d times after error, want 2", calls)
			}
		}},

		{"ScanCallbackMayRead", func(t *testing.T, s store.Store) {
			putAll(t, s, "idx/a", "obj/1", "idx/b", "obj/2", "obj/1", "one", "obj/2", "two")
			var got []string
			err := s.View(ctx, func(r store.Reader) error {
				return r.Scan("idx/", "", func(_ string, v []byte) (bool, error) {
					obj, err := r.Get(string(v))
					if err != nil {
						return false, err
					}
					got = append(got, string(obj))
					return true, nil
				})
			})
			if err != nil || strings.Join(got, ",") != "one,two" {
				t.Fatalf("got %v, err %v", got, err)
			}
		}},

		{"ScanManyKeys", func(t *testing.T, s store.Store) {
			putNumbered(t, s, 1000)
			putAll(t, s, "n/0", "")
			n, last := 0, ""
			err := s.View(ctx, func(r store.Reader) error {
				return r.Scan("m/", "m/0099", func(k string, v []byte) (bool, error) {
					want := fmt.Sprintf("m/%04d", 100+n)
					if k != want || string(v) != strconv.Itoa(100+n) {
						return false, fmt.Errorf("key %q = %q, want %q", k, v, want)
					}
					n++
					last = k
					return true, nil
				})
			})
			if err != nil || n != 900 || last != "m/0999" {
				t.Fatalf("n=%d last=%q err=%v", n, last, err)
			}
		}},

		{"UpdateRollsBackOnError", func(t *testing.T, s store.Store) {
			putAll(t, s, "keep", "1", "change", "old")
			wrapped := fmt.Errorf("domain: %w", errSentinel)
			err := s.Update(ctx, func(tx store.Tx) error {
				if err := tx.Put("new", []byte("x")); err != nil {
					return err
				}
				if err := tx.Put("change", []byte("new")); err != nil {
					return err
				}
				if err := tx.Delete("keep"); err != nil {
					return err
				}
				return wrapped
			})
			if err != wrapped { //nolint:errorlint // must be returned unchanged
				t.Fatalf("Update returned %v, want fn's error unchanged", err)
			}
			if !errors.Is(err, errSentinel) {
				t.Fatal("errors.Is lost the sentinel")
			}
			mustMiss(t, s, "new")
			mustGet(t, s, "keep", "1")
			mustGet(t, s, "change", "old")
		}},

		{"UpdateReturnsNotFoundUnchanged", func(t *testing.T, s store.Store) {
			err := s.Update(ctx, func(tx store.Tx) error {
				_, err := tx.Get("missing")
				return err
			})
			if !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("err = %v", err)
			}
		}},

		{"ViewErrorReturned", func(t *testing.T, s store.Store) {
			if err := s.View(ctx, func(store.Reader) error { return errSentinel }); !errors.Is(err, errSentinel) {
				t.Fatalf("err = %v", err)
			}
		}},

		{"ReadsYourWrites", func(t *testing.T, s store.Store) {
			putAll(t, s, "p/1", "a", "p/2", "b", "p/4", "d")
			update(t, s, func(tx store.Tx) error {
				for _, op := range []func() error{
					func() error { return tx.Put("p/3", []byte("c")) },
					func() error { return tx.Put("p/2", []byte("B")) },
					func() error { return tx.Delete("p/1") },
					func() error { return tx.Put("q/1", []byte("other")) },
				} {
					if err := op(); err != nil {
						return err
					}
				}
				if v, err := tx.Get("p/3"); err != nil || string(v) != "c" {
					return fmt.Errorf("Get own insert: %q %v", v, err)
				}
				if v, err := tx.Get("p/2"); err != nil || string(v) != "B" {
					return fmt.Errorf("Get own overwrite: %q %v", v, err)
				}
				if _, err := tx.Get("p/1"); !errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("Get own delete: %v", err)
				}
				if got, err := scanAll(tx, "p/", ""); err != nil || got != "p/2=B p/3=c p/4=d" {
					return fmt.Errorf("Scan own writes: %q %v", got, err)
				}
				if got, err := scanAll(tx, "p/", "p/2"); err != nil || got != "p/3=c p/4=d" {
					return fmt.Errorf("Scan own writes after: %q %v", got, err)
				}
				return nil
			})
			if got := viewScan(t, s, "", ""); got != "p/2=B p/3=c p/4=d q/1=other" {
				t.Fatalf("after commit: %q", got)
			}
		}},

		{"ConcurrentCounter", func(t *testing.T, s store.Store) {
			putAll(t, s, "counter", "0")
			const workers, each = 8, 25
			IncrementConcurrently(ctx, t, "counter", workers, each, func(int) store.Store { return s })
			mustGet(t, s, "counter", strconv.Itoa(workers*each))
		}},

		{"CanceledContext", func(t *testing.T, s store.Store) {
			cctx, cancel := context.WithCancel(ctx)
			cancel()
			ran := false
			if err := s.Update(cctx, func(tx store.Tx) error { ran = true; return tx.Put("x", []byte("y")) }); err == nil {
				t.Fatal("Update with a canceled context succeeded")
			} else if !errors.Is(err, context.Canceled) {
				t.Logf("Update error (not context.Canceled): %v", err)
			}
			if ran {
				t.Error("Update ran fn with a canceled context")
			}
			if err := s.View(cctx, func(store.Reader) error { return nil }); err == nil {
				t.Fatal("View with a canceled context succeeded")
			}
			mustMiss(t, s, "x")
		}},

		{"LargeValue", func(t *testing.T, s store.Store) {
			big := make([]byte, 1<<20)
			for i := range big {
				big[i] = byte(i*7 + i>>8)
			}
			update(t, s, func(tx store.Tx) error { return tx.Put("big", big) })
			v, err := getOne(t, s, "big")
			if err != nil || !bytes.Equal(v, big) {
				t.Fatalf("1 MiB value: len %d, err %v", len(v), err)
			}
		}},

		{"Closed", func(t *testing.T, s store.Store) {
			putAll(t, s, "k", "v")
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if err := s.View(ctx, func(store.Reader) error { return nil }); !errors.Is(err, store.ErrClosed) {
				t.Fatalf("View after Close: %v", err)
			}
			if err := s.Update(ctx, func(store.Tx) error { return nil }); !errors.Is(err, store.ErrClosed) {
				t.Fatalf("Update after Close: %v", err)
			}
		}},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			t.Parallel()
			step.check(t, open(t))
		})
	}
}

// Increment adds one to the decimal counter at key in its own Update.
func Increment(ctx context.Context, s store.Store, key string) error {
	return s.Update(ctx, func(tx store.Tx) error {
		n := 0
		b, err := tx.Get(key)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return err
		default:
			if n, err = strconv.Atoi(string(b)); err != nil {
				return err
			}
		}
		return tx.Put(key, []byte(strconv.Itoa(n+1)))
	})
}

// IncrementConcurrently runs workers goroutines at once, each of which
// Increments key each times in the store pick gives it (so a test can
// spread them over several handles), and fails t with the first error
// once all are done.
func IncrementConcurrently(ctx context.Context, t *testing.T, key string, workers, each int, pick func(worker int) store.Store) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		s := pick(w)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				if err := Increment(ctx, s, key); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// RunDurable checks that committed data survives Close and reopen. open
// returns a new, empty store; reopen opens the same underlying storage again.
func RunDurable(t *testing.T, open func(t *testing.T) store.Store, reopen func(t *testing.T) store.Store) {
	t.Run("SurvivesReopen", func(t *testing.T) {
		s := open(t)
		putAll(t, s, "durable/1", "kept", "durable/2", "gone")
		update(t, s, func(tx store.Tx) error { return tx.Delete("durable/2") })
		_ = s.Update(context.Background(), func(tx store.Tx) error {
			if err := tx.Put("durable/3", []byte("rolled back")); err != nil {
				return err
			}
			return errSentinel
		})
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s2 := reopen(t)
		defer s2.Close()
		mustGet(t, s2, "durable/1", "kept")
		mustMiss(t, s2, "durable/2")
		mustMiss(t, s2, "durable/3")
		if got := viewScan(t, s2, "durable/", ""); got != "durable/1=kept" {
			t.Fatalf("Scan after reopen: %q", got)
		}
		putAll(t, s2, "durable/4", "later")
		mustGet(t, s2, "durable/4", "later")
	})
}
