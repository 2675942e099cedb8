package e2e

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/idcgate/idcgate/internal/testserver"
)

func TestMetricsAndHealth(t *testing.T) {
	t.Parallel()
	srv, _ := gatewayWorld(t, nil)
	ctx := context.Background()
	alice := srv.IdentitySession(t, "alice", testserver.AnalystRoleArn)
	tok := mustToken(t, srv, alice, "demo", "wg-two")
	getToken(t, srv, srv.Admin, "demo") // refused: not identity-enhanced
	c, err := connectGateway(t, srv, aws.ToString(tok.Token), "options='-c workgroup=demo'")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	connectGateway(t, srv, "bad", "")

	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	body := metricsText(t, srv.URL)
	for _, want := range []string{
		`idcgate_api_requests_total{error_code="",operation="GetIdentityCenterAuthToken",service="redshift-serverless"} 1`,
		`idcgate_api_requests_total{error_code="AccessDeniedException",operation="GetIdentityCenterAuthToken",service="redshift-serverless"} 1`,
		`idcgate_identity_center_tokens_issued_total{workgroups="2"} 1`,
		`idcgate_gateway_logins_total{result="ok"} 1`,
		`idcgate_gateway_logins_total{result="refused"} 1`,
		`idcgate_gateway_active_connections 1`,
		`idcgate_api_request_duration_seconds_bucket{operation="AssumeRole",service="sts"`,
		`idcgate_store_transaction_duration_seconds_count{kind="update"}`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// Every record in the audit file was made durable by a group commit
	// that the sync metrics saw (none is written while /metrics answers).
	recs := auditRecords(t, srv.DataDir)
	if got := seriesIn(t, body, "idcgate_audit_group_records_sum"); got != float64(len(recs)) {
		t.Errorf("audit_group_records_sum %v, the file holds %d records", got, len(recs))
	}
	groups := seriesIn(t, body, "idcgate_audit_sync_duration_seconds_count")
	if groups < 1 || groups > float64(len(recs)) || seriesIn(t, body, "idcgate_audit_group_records_count") != groups {
		t.Errorf("audit syncs %v for %d records", groups, len(recs))
	}
	if code, body := get("/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("/healthz %d %q", code, body)
	}
	if code, _ := get("/readyz"); code != 200 {
		t.Fatalf("/readyz %d", code)
	}
	srv.Instance.Store.Close()
	if code, _ := get("/readyz"); code != 503 {
		t.Fatalf("/readyz with the store closed: %d", code)
	}
}
