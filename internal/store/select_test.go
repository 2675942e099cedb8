package store_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/testkit"
)

// seeded is a new store holding the pairs kv (key, value, key, value, …).
func seeded(t *testing.T, kv ...string) store.Store {
	t.Helper()
	db := testkit.Store(t)
	err := db.Update(context.Background(), func(tx store.Tx) error {
		for i := 0; i+1 < len(kv); i += 2 {
			if err := tx.Put(kv[i], []byte(kv[i+1])); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// TestSelect: the records under the prefix that pick keeps, decoded, in key
// order; a record that is not its type's JSON is an error naming its key.
func TestSelect(t *testing.T) {
	t.Parallel()
	type rec struct{ N int }
	ctx := context.Background()
	db := seeded(t, "p/a", `{"N":1}`, "p/b", `{"N":2}`, "p/c", `{"N":3}`, "q/d", `{"N":4}`)
	var keys []string
	var vals []rec
	err := db.View(ctx, func(r store.Reader) error {
		var err error
		keys, vals, err = store.Select(r, "p/", func(v rec) bool { return v.N != 2 })
		return err
	})
	if err != nil || !slices.Equal(keys, []string{"p/a", "p/c"}) || !slices.Equal(vals, []rec{{1}, {3}}) {
		t.Fatalf("Select = %v %v %v", keys, vals, err)
	}
	if err := db.Update(ctx, func(tx store.Tx) error { return tx.Put("p/x", []byte("not json")) }); err != nil {
		t.Fatal(err)
	}
	err = db.View(ctx, func(r store.Reader) error {
		_, _, err := store.Select(r, "p/", func(rec) bool { return true })
		return err
	})
	if err == nil {
		t.Fatal("a record that is not JSON was selected")
	}
}

// TestKeys: the first keys under the prefix, in order, at most limit of
// them, none from the first that while refuses.
func TestKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := seeded(t, "p/1", "", "p/2", "", "p/3", "", "p/4", "", "q/1", "")
	cases := []struct {
		name  string
		limit int
		while func(string) bool
		want  []string
	}{
		{"all", 10, nil, []string{"p/1", "p/2", "p/3", "p/4"}},
		{"limit", 2, nil, []string{"p/1", "p/2"}},
		{"limit 0", 0, nil, nil},
		{"while", 10, func(k string) bool { return k < "p/3" }, []string{"p/1", "p/2"}},
		{"while refuses the first", 10, func(string) bool { return false }, nil},
		{"limit before while", 1, func(k string) bool { return k < "p/3" }, []string{"p/1"}},
		// Only the first refusal ends it: a later key while would take is not reached.
		{"stops at the first refusal", 10, func(k string) bool { return k != "p/2" }, []string{"p/1"}},
	}
	for _, c := range cases {
		got, err := store.Read(ctx, db, func(r store.Reader) ([]string, error) { return store.Keys(r, "p/", c.limit, c.while) })
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%s: Keys = %q, %v; want %q", c.name, got, err, c.want)
		}
	}
}

// TestDropSelected: the records pick keeps go, by drop or (nil drop) by
// deleting their keys, and nothing else; drop sees each key with its value;
// a drop error stops it and rolls the transaction back.
func TestDropSelected(t *testing.T) {
	t.Parallel()
	type rec struct{ N int }
	errDrop := errors.New("drop failed")
	cases := []struct {
		name     string
		pick     func(rec) bool
		drop     func(tx store.Tx, seen *[]string) func(string, rec) error
		wantErr  error
		wantSeen []string
		wantLeft []string
	}{
		{"nil drop deletes the picks", func(v rec) bool { return v.N != 2 }, nil,
			nil, nil, []string{"p/b", "q/d"}},
		{"picks none", func(rec) bool { return false }, nil,
			nil, nil, []string{"p/a", "p/b", "p/c", "q/d"}},
		{"drop sees key and value", func(v rec) bool { return v.N >= 2 },
			func(tx store.Tx, seen *[]string) func(string, rec) error {
				return func(k string, v rec) error {
					*seen = append(*seen, k+"="+string(rune('0'+v.N)))
					return tx.Put("gone/"+k, nil)
				}
			},
			nil, []string{"p/b=2", "p/c=3"}, []string{"gone/p/b", "gone/p/c", "p/a", "p/b", "p/c", "q/d"}},
		{"a drop error stops it", func(rec) bool { return true },
			func(tx store.Tx, seen *[]string) func(string, rec) error {
				return func(k string, _ rec) error {
					*seen = append(*seen, k)
					if err := tx.Delete(k); err != nil {
						return err
					}
					return errDrop
				}
			},
			errDrop, []string{"p/a"}, []string{"p/a", "p/b", "p/c", "q/d"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := seeded(t, "p/a", `{"N":1}`, "p/b", `{"N":2}`, "p/c", `{"N":3}`, "q/d", `{"N":4}`)
			var seen []string
			err := db.Update(ctx, func(tx store.Tx) error {
				seen = nil
				var drop func(string, rec) error
				if c.drop != nil {
					drop = c.drop(tx, &seen)
				}
				return store.DropSelected(tx, "p/", c.pick, drop)
			})
			if !errors.Is(err, c.wantErr) || !slices.Equal(seen, c.wantSeen) {
				t.Fatalf("DropSelected = %v, saw %q; want %v, %q", err, seen, c.wantErr, c.wantSeen)
			}
			left, err := store.Read(ctx, db, func(r store.Reader) ([]string, error) { return store.Keys(r, "", 100, nil) })
			if err != nil || !slices.Equal(left, c.wantLeft) {
				t.Fatalf("left %q, %v; want %q", left, err, c.wantLeft)
			}
		})
	}
	db := seeded(t, "p/x", "not json")
	err := db.Update(context.Background(), func(tx store.Tx) error {
		return store.DropSelected(tx, "p/", func(rec) bool { return true }, nil)
	})
	if err == nil {
		t.Fatal("a record that is not JSON was dropped")
	}
}

// TestViewJSON: the decoded value at a key; ErrNotFound for a missing key;
// an error naming the key for a value that is not the type's JSON.
func TestViewJSON(t *testing.T) {
	t.Parallel()
	type rec struct{ N int }
	db := seeded(t, "k/good", `{"N":7}`, "k/bad", "not json")
	cases := []struct {
		key     string
		want    rec
		wantErr func(error) bool
	}{
		{"k/good", rec{7}, func(err error) bool { return err == nil }},
		{"k/missing", rec{}, func(err error) bool { return errors.Is(err, store.ErrNotFound) }},
		{"k/bad", rec{}, func(err error) bool {
			return err != nil && !errors.Is(err, store.ErrNotFound) && strings.Contains(err.Error(), `"k/bad"`)
		}},
	}
	for _, c := range cases {
		got, err := store.ViewJSON[rec](context.Background(), db, c.key)
		if got != c.want || !c.wantErr(err) {
			t.Errorf("ViewJSON(%q) = %v, %v", c.key, got, err)
		}
	}
}

// TestRead: what read returns, value and error alike, leaves the View.
func TestRead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := seeded(t, "k", "v")
	got, err := store.Read(ctx, db, func(r store.Reader) ([]byte, error) { return r.Get("k") })
	if err != nil || string(got) != "v" {
		t.Fatalf("Read = %q, %v", got, err)
	}
	_, err = store.Read(ctx, db, func(r store.Reader) ([]byte, error) { return r.Get("none") })
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Read of a missing key = %v", err)
	}
}
