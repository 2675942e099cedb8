package main

import (
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func auditMetrics(buckets [6]int, groups, records int) string {
	bounds := []string{"0.0005", "0.001", "0.005", "0.01", "0.05", "+Inf"}
	var b strings.Builder
	b.WriteString("# TYPE idcgate_audit_sync_duration_seconds histogram\n")
	for i, le := range bounds {
		fmt.Fprintf(&b, "idcgate_audit_sync_duration_seconds_bucket{le=%q} %d\n", le, buckets[i])
	}
	fmt.Fprintf(&b, "idcgate_audit_sync_duration_seconds_sum 1.5\nidcgate_audit_sync_duration_seconds_count %d\n", groups)
	fmt.Fprintf(&b, "# TYPE idcgate_audit_group_records histogram\nidcgate_audit_group_records_bucket{le=\"+Inf\"} %d\n", groups)
	fmt.Fprintf(&b, "idcgate_audit_group_records_sum %d\nidcgate_audit_group_records_count %d\ngo_goroutines 12\n", records, groups)
	return b.String()
}

// A run's audit commits are the difference of two scrapes, and the
// quantiles are the bucket bounds that cover them.
func TestAuditSyncsOfARun(t *testing.T) {
	body := auditMetrics([6]int{10, 10, 10, 10, 10, 10}, 10, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, body) }))
	defer srv.Close()
	before, err := scrapeAuditSyncs(srv.Client(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	// 1000 more commits of 5 records: 900 under 0.5 ms, 95 more under 5 ms,
	// 3 more under 50 ms, two slower.
	body = auditMetrics([6]int{910, 910, 1005, 1005, 1008, 1010}, 1010, 5010)
	after, err := scrapeAuditSyncs(srv.Client(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	run := after.since(before)
	if run.groups != 1000 || run.records != 5000 {
		t.Fatalf("run: %v groups, %v records", run.groups, run.records)
	}
	for _, c := range []struct{ q, want float64 }{{0.5, 0.0005}, {0.9, 0.0005}, {0.95, 0.005}, {0.99, 0.005}, {0.998, 0.05}, {0.999, math.Inf(1)}} {
		if got := run.atMost(c.q); got != c.want {
			t.Errorf("atMost(%v) = %v, want %v", c.q, got, c.want)
		}
	}
	if got, want := run.String(), "audit: 1000 group commits of 5.0 records; write+sync p50 <= 500µs, p99 <= 5ms, p99.9 > 50ms"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}

	body = "go_goroutines 12\n"
	if _, err := scrapeAuditSyncs(srv.Client(), srv.URL); err == nil {
		t.Error("a body without the audit histogram was read")
	}
}
