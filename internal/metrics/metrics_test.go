package metrics

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/testkit"
)

func TestRequestsAndStoreLatency(t *testing.T) {
	m := New(func() float64 { return 3 })
	m.ObserveRequest("sts", "AssumeRole", "", 2*time.Millisecond)
	m.ObserveRequest("sts", "AssumeRole", "AccessDenied", time.Millisecond)
	m.ObserveRequest("sts", "AssumeRole", "", time.Millisecond)
	var none *Metrics
	none.ObserveRequest("x", "y", "", 0) // a server without metrics
	none.ObserveAuditCommit(time.Millisecond, 1)
	m.ObserveAuditCommit(300*time.Microsecond, 3)
	m.ObserveAuditCommit(2*time.Millisecond, 1)

	db := testkit.Store(t)
	st := Store{Store: db, M: m}
	sentinel := errors.New("refused")
	if err := st.Update(context.Background(), func(tx store.Tx) error { return sentinel }); !errors.Is(err, sentinel) {
		t.Fatalf("Update returned %v, want the function's error", err)
	}
	st.View(context.Background(), func(store.Reader) error { return nil })

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`idcgate_api_requests_total{error_code="",operation="AssumeRole",service="sts"} 2`,
		`idcgate_api_requests_total{error_code="AccessDenied",operation="AssumeRole",service="sts"} 1`,
		`idcgate_api_request_duration_seconds_count{operation="AssumeRole",service="sts"} 3`,
		`idcgate_store_transaction_duration_seconds_count{kind="update"} 1`,
		`idcgate_store_transaction_duration_seconds_count{kind="view"} 1`,
		`idcgate_gateway_active_connections 3`,
		`idcgate_audit_sync_duration_seconds_bucket{le="0.0005"} 1`,
		`idcgate_audit_sync_duration_seconds_bucket{le="0.0025"} 2`,
		`idcgate_audit_group_records_bucket{le="2"} 1`,
		`idcgate_audit_group_records_bucket{le="4"} 2`,
		`idcgate_audit_group_records_sum 4`,
		`go_goroutines`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// A label that is not UTF-8 (client_golang panics on one) is counted as
// "invalid" instead of taking the handler down; the dropped-record counter
// is exported from the start, and a nil Metrics ignores it.
func TestInvalidLabelsAndDroppedRecords(t *testing.T) {
	t.Parallel()
	m := New(nil)
	for _, labels := range [][3]string{{"sts", "Get\xffCaller", ""}, {"\xfe", "AssumeRole", ""}, {"sts", "AssumeRole", "\xc3\x28"}} {
		m.ObserveRequest(labels[0], labels[1], labels[2], time.Millisecond)
	}
	m.AuditUnauthenticatedDropped()
	m.AuditUnauthenticatedDropped()
	var none *Metrics
	none.AuditUnauthenticatedDropped()

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`idcgate_api_requests_total{error_code="invalid",operation="invalid",service="invalid"} 3`,
		`idcgate_audit_unauthenticated_dropped_total 2`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
