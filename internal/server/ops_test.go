package server

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/idcgate/idcgate/internal/auth"
	"github.com/idcgate/idcgate/internal/metrics"
	"github.com/idcgate/idcgate/internal/sigv4"
	"github.com/idcgate/idcgate/internal/testkit"
	"github.com/idcgate/idcgate/internal/throttle"
)

// TestKnownOpsCoverEverySwitch: every operation name a handler switches on
// is in knownOps, so no served operation is counted or recorded as
// "unknown" (a new case without its knownOps entry fails here).
func TestKnownOpsCoverEverySwitch(t *testing.T) {
	t.Parallel()
	handlers := map[string]struct{ file, fn string }{
		serviceSTS:      {"sts_api.go", "serveSTS"},
		serviceRedshift: {"redshift_api.go", "serveRedshift"},
		serviceAdmin:    {"admin_api.go", "serveAdmin"},
		serviceOIDC:     {"oidc_api.go", "serveOIDC"},
	}
	for service, h := range handlers {
		f, err := parser.ParseFile(token.NewFileSet(), h.file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		var cases []string
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Name.Name != h.fn {
				continue
			}
			ast.Inspect(fd, func(n ast.Node) bool {
				sw, ok := n.(*ast.SwitchStmt)
				if !ok || !isOpSelector(sw.Tag) {
					return true
				}
				for _, st := range sw.Body.List {
					for _, e := range st.(*ast.CaseClause).List {
						if lit, ok := e.(*ast.BasicLit); ok {
							name, _ := strconv.Unquote(lit.Value)
							cases = append(cases, name)
						}
					}
				}
				return true
			})
		}
		if len(cases) == 0 {
			t.Fatalf("%s: no switch on c.op found in %s", service, h.file)
		}
		for _, name := range cases {
			if !knownOps[service][name] {
				t.Errorf("%s handles %s, which knownOps does not list", service, name)
			}
		}
		if len(knownOps[service]) != len(setOf(cases...)) {
			t.Errorf("%s: knownOps lists %d operations, the handler serves %d (%v)", service, len(knownOps[service]), len(setOf(cases...)), cases)
		}
	}
	for name := range serverlessOps {
		if !knownOps[serviceServerless][name] {
			t.Errorf("redshift-serverless serves %s, which knownOps does not list", name)
		}
	}
}

func isOpSelector(e ast.Expr) bool {
	sel, ok := e.(*ast.SelectorExpr)
	return ok && sel.Sel.Name == "op"
}

func TestValidOpName(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"GetCallerIdentity": true, "CreateTokenWithIAM": true, "X": true, "Op2": true, strings.Repeat("A", 128): true,
		"": false, "2Op": false, "Get.Workgroup": false, "Get Workgroup": false, "Get\x00": false, "Get\xff": false,
		"Über": false, "Op-1": false, strings.Repeat("A", 129): false,
	} {
		if got := validOpName(name); got != want {
			t.Errorf("validOpName(%q) = %v, want %v", name, got, want)
		}
	}
}

// Junk operation names are refused as unknown operations when routed: no
// panic (client_golang panics on a label that is not UTF-8), no stack
// trace in the log, and one bounded series for all of them.
func TestJunkOperationNamesRefusedWithoutPanic(t *testing.T) {
	t.Parallel()
	var logs testkit.SyncBuffer
	m := metrics.New(nil)
	s := New(Deps{
		Log:      slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Region:   "us-east-1",
		Verifier: &sigv4.Verifier{Region: "us-east-1"},
		Metrics:  m,
	})
	cases := []struct {
		name, method, target, query, body, code string
	}{
		{"awsQuery Action invalid UTF-8", "POST", "", "", "Action=Get%FFCallerIdentity&Version=2011-06-15", "InvalidAction"},
		{"awsQuery Action invalid UTF-8, unknown version", "POST", "", "", "Action=%C3%28&Version=1999-01-01", "InvalidAction"},
		{"awsQuery GET Action invalid UTF-8", "GET", "", "Action=%FE&Version=2012-12-01", "", "InvalidAction"},
		{"awsQuery Action with NUL", "POST", "", "", "Action=A%00&Version=2011-06-15", "InvalidAction"},
		{"awsJson target invalid UTF-8", "POST", "RedshiftServerless.\xff\xfe", "", "{}", "UnknownOperationException"},
		{"admin target invalid UTF-8", "POST", "Idcgate.\xc3\x28", "", "{}", "UnknownOperationException"},
		{"awsJson target with dots", "POST", "RedshiftServerless.a.b", "", "{}", "UnknownOperationException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, "/?"+tc.query, strings.NewReader(tc.body))
			if tc.target != "" {
				r.Header.Set("X-Amz-Target", tc.target)
			}
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)
			body := w.Body.String()
			if w.Code != http.StatusBadRequest || !strings.Contains(body, tc.code) {
				t.Errorf("%d %s, want 400 %s", w.Code, body, tc.code)
			}
			if !utf8.ValidString(body) {
				t.Errorf("answer is not UTF-8: %q", body)
			}
		})
	}
	if l := logs.String(); strings.Contains(l, "panic") || strings.Contains(l, "goroutine") {
		t.Errorf("the handler panicked:\n%s", l)
	}
	// Each refusal counted once, under operation "unknown": one series per
	// service and code at most, however many names were sent.
	fams, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counted, series := 0.0, 0
	for _, f := range fams {
		if f.GetName() != "idcgate_api_requests_total" {
			continue
		}
		for _, sm := range f.GetMetric() {
			series++
			for _, l := range sm.GetLabel() {
				if l.GetName() == "operation" && l.GetValue() != unknownOp {
					t.Errorf("series with operation %q", l.GetValue())
				}
			}
			counted += sm.GetCounter().GetValue()
		}
	}
	if counted != float64(len(cases)) || series > 4 {
		t.Errorf("%v refusals counted in %d series, want %d in at most 4", counted, series, len(cases))
	}
}

// The audit records of unauthenticated calls come from a token bucket:
// its burst at once, then its rate; each refusal is counted as dropped.
// An unknown operation unauthenticated is never recorded (and takes no
// token); an authenticated call always is.
func TestUnauthenticatedRecordsRateLimited(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := metrics.New(nil)
	s := New(Deps{Clock: func() time.Time { return now }, Metrics: m, UnauthenticatedAudit: throttle.Limit{Rate: 2, Burst: 3}})
	known := routed{service: serviceServerless, op: "ListNamespaces"}
	unknown := routed{service: serviceServerless, op: "MadeUp"}
	count := func(rt routed, p *auth.Principal, n int) int {
		got := 0
		for range n {
			if s.recordable(rt, p) {
				got++
			}
		}
		return got
	}
	if got := count(unknown, nil, 10); got != 0 {
		t.Errorf("%d unauthenticated unknown operations recorded", got)
	}
	if got := count(known, nil, 10); got != 3 {
		t.Errorf("%d of 10 at once recorded, want the burst of 3", got)
	}
	if got := count(known, &auth.Principal{ARN: "arn:aws:iam::123456789012:root"}, 10); got != 10 {
		t.Errorf("%d of 10 authenticated calls recorded", got)
	}
	now = now.Add(time.Second)
	if got := count(known, nil, 10); got != 2 {
		t.Errorf("%d of 10 a second later recorded, want the rate of 2", got)
	}
	if got := counterValue(t, m.AuditDropped); got != 15 {
		t.Errorf("dropped %v, want 15", got)
	}
}

// counterValue reads one counter (client_golang's testutil would need more
// modules).
func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var d dto.Metric
	if err := c.Write(&d); err != nil {
		t.Fatal(err)
	}
	return d.GetCounter().GetValue()
}

// TestUnsignedOps: the operations served without a signature are exactly
// the ones the SDK models send unsigned and this endpoint serves; a new
// entry is a security decision this test makes visible.
func TestUnsignedOps(t *testing.T) {
	t.Parallel()
	want := map[string][]string{
		serviceOIDC: {"CreateToken", "RegisterClient", "StartDeviceAuthorization"},
		serviceSTS:  {"AssumeRoleWithWebIdentity"},
	}
	got := map[string][]string{}
	for svc, ops := range unsignedOps {
		for op, on := range ops {
			if !on {
				continue
			}
			if !knownOps[svc][op] {
				t.Errorf("%s %s is unsigned but not served", svc, op)
			}
			got[svc] = append(got[svc], op)
		}
		slices.Sort(got[svc])
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("unsigned operations %v, want %v", got, want)
	}
}
