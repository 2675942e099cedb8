// Package audittest holds the helpers the audit rooms' tests share: a real
// Log and reading the trail back (the store is testkit.Store's).
package audittest

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/idcgate/idcgate/internal/audit"
	"github.com/idcgate/idcgate/internal/audit/journal"
	"github.com/idcgate/idcgate/internal/audit/query"
	"github.com/idcgate/idcgate/internal/audit/trail"
	"github.com/idcgate/idcgate/internal/store"
)

// OpenLog opens a Log over st writing a new file, closed when the test
// ends; it returns the file's path.
func OpenLog(t *testing.T, st store.Store) (*trail.Log, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.log")
	l, err := trail.Open(path, st, trail.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, path
}

// WriteN writes n token records with request ids prefix0 … prefix<n-1>.
func WriteN(t *testing.T, l *trail.Log, prefix string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if err := l.Write(context.Background(), &audit.Record{EventTime: time.Now(), EventName: "GetIdentityCenterAuthToken", RequestID: fmt.Sprint(prefix, i)}); err != nil {
			t.Fatal(err)
		}
	}
}

// ReqIDs is the requestID of each event.
func ReqIDs(t *testing.T, events []json.RawMessage) []string {
	t.Helper()
	var out []string
	for _, e := range events {
		var r audit.Record
		if err := json.Unmarshal(e, &r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r.RequestID)
	}
	return out
}

// FileRecords is every record of the trail file at path, in file order; a
// file that cannot be read ends the test.
func FileRecords(t *testing.T, path string) []audit.Record {
	t.Helper()
	recs, err := audit.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// FileReqIDs is the requestID of each record in the trail file at path,
// in file order.
func FileReqIDs(t *testing.T, path string) []string {
	t.Helper()
	var out []string
	for _, r := range FileRecords(t, path) {
		out = append(out, r.RequestID)
	}
	return out
}

// MustLookup is query.Lookup's records, failing the test on an error.
func MustLookup(t *testing.T, st store.Store, f query.Filter) []json.RawMessage {
	t.Helper()
	out, _, err := query.Lookup(context.Background(), st, f)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// MustPending is journal.Pending, failing the test on an error.
func MustPending(t *testing.T, st store.Store) []audit.Record {
	t.Helper()
	p, err := journal.Pending(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
