package store_test

import (
	"context"
	"slices"
	"testing"

	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/testkit"
)

// TestSelect: the records under the prefix that pick keeps, decoded, in key
// order; a record that is not its type's JSON is an error naming its key.
func TestSelect(t *testing.T) {
	t.Parallel()
	db := testkit.Store(t)
	type rec struct{ N int }
	ctx := context.Background()
	err := db.Update(ctx, func(tx store.Tx) error {
		for k, n := range map[string]int{"p/a": 1, "p/b": 2, "p/c": 3, "q/d": 4} {
			if err := store.PutJSON(tx, k, rec{n}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	var vals []rec
	err = db.View(ctx, func(r store.Reader) error {
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
