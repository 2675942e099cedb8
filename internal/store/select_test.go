package store_test

import (
	"context"
	"slices"
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
		{"while", 10, func(k string) bool { return k < "p/3" }, []string{"p/1", "p/2"}},
		{"while refuses the first", 10, func(string) bool { return false }, nil},
		{"limit before while", 1, func(k string) bool { return k < "p/3" }, []string{"p/1"}},
		// Only the first refusal ends it: a later key while would take is not reached.
		{"stops at the first refusal", 10, func(k string) bool { return k != "p/2" }, []string{"p/1"}},
	}
	for _, c := range cases {
		var got []string
		err := db.View(ctx, func(r store.Reader) error {
			var err error
			got, err = store.Keys(r, "p/", c.limit, c.while)
			return err
		})
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%s: Keys = %q, %v; want %q", c.name, got, err, c.want)
		}
	}
}
