package query_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/idcgate/idcgate/internal/audit"
	"github.com/idcgate/idcgate/internal/audit/audittest"
	"github.com/idcgate/idcgate/internal/audit/query"
	"github.com/idcgate/idcgate/internal/testkit"
)

// Without --follow, tail shows the latest N records (matching the filter),
// oldest first, and a cursor after which only newer records come.
func TestLookupLatest(t *testing.T) {
	st := testkit.Store(t)
	l, _ := audittest.OpenLog(t, st)
	ctx := context.Background()
	for i := 0; i < 130; i++ {
		user := "bob"
		if i%2 == 0 {
			user = "alice"
		}
		r := &audit.Record{EventTime: time.Now(), EventName: "GetWorkgroup", RequestID: fmt.Sprint(i),
			UserIdentity: audit.Identity{Type: "AssumedRole", ARN: "arn:aws:sts::123456789012:assumed-role/analyst/" + user}}
		if err := l.Write(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	got, cursor, err := query.Lookup(ctx, st, query.Filter{Latest: true, Max: 50})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{}
	for i := 80; i < 130; i++ {
		want = append(want, fmt.Sprint(i))
	}
	if g := audittest.ReqIDs(t, got); !slices.Equal(g, want) {
		t.Fatalf("latest 50 = %v", g)
	}
	alice, aliceCursor, _ := query.Lookup(ctx, st, query.Filter{Latest: true, Max: 3, UserName: "alice"})
	if g := audittest.ReqIDs(t, alice); !slices.Equal(g, []string{"124", "126", "128"}) || aliceCursor != cursor {
		t.Fatalf("latest 3 of alice = %v (cursor %q, want the trail's newest %q)", g, aliceCursor, cursor)
	}
	if after, _, _ := query.Lookup(ctx, st, query.Filter{After: cursor}); len(after) != 0 {
		t.Fatalf("%d records after the latest cursor", len(after))
	}
	l.Write(ctx, &audit.Record{EventTime: time.Now(), RequestID: "new"})
	if after, _, _ := query.Lookup(ctx, st, query.Filter{After: cursor}); !slices.Equal(audittest.ReqIDs(t, after), []string{"new"}) {
		t.Fatalf("after the cursor: %v", audittest.ReqIDs(t, after))
	}
	if empty, c, err := query.Lookup(ctx, testkit.Store(t), query.Filter{Latest: true}); err != nil || len(empty) != 0 || c != "" {
		t.Fatalf("empty trail: %d records, cursor %q, %v", len(empty), c, err)
	}
}
