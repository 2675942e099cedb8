package audit

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/idcgate/idcgate/internal/store/bolt"
)

// Concurrent writers share commits; every Write that returned is in the
// file and in the store, once each, and the file is private.
func TestWriteConcurrentDurableInBoth(t *testing.T) {
	dir := t.TempDir()
	st, err := bolt.Open(filepath.Join(dir, "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	path := filepath.Join(dir, "audit", "audit.log")
	var observed struct {
		sync.Mutex
		groups, records int
	}
	l, err := Open(path, st, Options{ObserveCommit: func(d time.Duration, records int) {
		observed.Lock()
		defer observed.Unlock()
		if d <= 0 || records < 1 {
			t.Errorf("group commit observed as %v, %d records", d, records)
		}
		observed.groups++
		observed.records += records
	}})
	if err != nil {
		t.Fatal(err)
	}
	const writers, each = 16, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				r := &Record{EventTime: time.Now(), EventSource: "redshift-serverless.amazonaws.com", EventName: fmt.Sprintf("Op%d", w), RequestID: fmt.Sprintf("%d-%d", w, i)}
				errs <- l.Write(context.Background(), r)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	recs, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range recs {
		if seen[r.RequestID] || r.EventVersion != "1.09" || r.EventType != "AwsApiCall" || r.EventID == "" {
			t.Fatalf("record %+v (seen before: %v)", r, seen[r.RequestID])
		}
		seen[r.RequestID] = true
	}
	if len(seen) != writers*each {
		t.Fatalf("file holds %d records, want %d", len(seen), writers*each)
	}
	observed.Lock()
	if observed.records != writers*each || observed.groups < 1 || observed.groups > writers*each {
		t.Errorf("observed %d group commits of %d records in all, want %d records", observed.groups, observed.records, writers*each)
	}
	observed.Unlock()
	stored, _, err := Lookup(context.Background(), st, Filter{})
	if err != nil || len(stored) != writers*each {
		t.Fatalf("store holds %d records (%v), want %d", len(stored), err, writers*each)
	}
	only, _, _ := Lookup(context.Background(), st, Filter{EventName: "Op3"})
	if len(only) != each {
		t.Fatalf("EventName filter: %d records", len(only))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Write(context.Background(), &Record{}); err == nil {
		t.Fatal("Write after Close succeeded")
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("audit file mode %v %v", fi.Mode(), err)
	}
}

// A store that fails makes the Write fail: a record is never reported
// durable when it is not.
func TestWriteFailsWhenStoreFails(t *testing.T) {
	dir := t.TempDir()
	st, err := bolt.Open(filepath.Join(dir, "db"))
	if err != nil {
		t.Fatal(err)
	}
	l, err := Open(filepath.Join(dir, "audit.log"), st, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	st.Close()
	if err := l.Write(context.Background(), &Record{EventTime: time.Now()}); err == nil {
		t.Fatal("Write succeeded with a closed store")
	}
}

func TestRedact(t *testing.T) {
	in := map[string]any{
		"workgroupNames": []any{"demo"},
		"clientSecret":   "s3cret",
		"nested":         map[string]any{"assertion": "jwt", "roleArn": "arn:aws:iam::1:role/r"},
		"SessionToken":   "x",
		"password":       "p",
		"rules":          []any{map[string]any{"operation": "X", "clientSecret": "s"}, []any{map[string]any{"refreshToken": "r"}}, "plain"},
	}
	out := Redact(in)
	for k, want := range map[string]any{"clientSecret": hidden, "SessionToken": hidden, "password": hidden} {
		if out[k] != want {
			t.Errorf("%s = %v", k, out[k])
		}
	}
	n := out["nested"].(map[string]any)
	if n["assertion"] != hidden || n["roleArn"] != "arn:aws:iam::1:role/r" {
		t.Errorf("nested %v", n)
	}
	rules := out["rules"].([]any)
	if r0 := rules[0].(map[string]any); r0["clientSecret"] != hidden || r0["operation"] != "X" {
		t.Errorf("map inside an array not redacted: %v", r0)
	}
	if r1 := rules[1].([]any)[0].(map[string]any); r1["refreshToken"] != hidden {
		t.Errorf("map inside nested arrays not redacted: %v", r1)
	}
	if rules[2] != "plain" {
		t.Errorf("array scalar changed: %v", rules[2])
	}
	if in["rules"].([]any)[0].(map[string]any)["clientSecret"] != "s" {
		t.Error("Redact changed its input")
	}
	if fmt.Sprint(out["workgroupNames"]) != "[demo]" {
		t.Errorf("workgroupNames %v", out["workgroupNames"])
	}
	if Redact(nil) != nil {
		t.Error("Redact(nil)")
	}
}

const hidden = "HIDDEN_DUE_TO_SECURITY_REASONS"
