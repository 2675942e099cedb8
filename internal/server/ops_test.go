package server

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/idcgate/idcgate/internal/apierror"
	"github.com/idcgate/idcgate/internal/auth"
	"github.com/idcgate/idcgate/internal/dataapi"
	"github.com/idcgate/idcgate/internal/metrics"
	"github.com/idcgate/idcgate/internal/protocol"
	"github.com/idcgate/idcgate/internal/sigv4"
	"github.com/idcgate/idcgate/internal/testkit"
	"github.com/idcgate/idcgate/internal/throttle"
)

// TestKnownOpsCoverEveryTable: every service's table has a handler and is
// knownOps' entry, and every operation it serves is a name routing lets
// through (validOpName), so none is unreachable or counted and recorded
// as "unknown"; the services whose operations were once listed by hand
// serve exactly those.
func TestKnownOpsCoverEveryTable(t *testing.T) {
	t.Parallel()
	tables := map[string][]string{
		serviceServerless:    serverlessOps.names(),
		serviceSTS:           stsOps.names(),
		serviceDataAPI:       dataAPIOps.names(),
		serviceSSOAdmin:      ssoAdminOps.names(),
		serviceRedshift:      redshiftOps.names(),
		serviceIAM:           iamOps.names(),
		serviceIdentityStore: identityStoreOps.names(),
		serviceOIDC:          oidcOps.names(),
		serviceAdmin:         adminOps.names(),
	}
	if len(tables) != len(knownOps) {
		t.Errorf("%d tables, knownOps has %d services", len(tables), len(knownOps))
	}
	if len(serviceHandlers) != len(knownOps) {
		t.Errorf("%d services have a handler, knownOps has %d", len(serviceHandlers), len(knownOps))
	}
	for service, names := range tables {
		if serviceHandlers[service] == nil {
			t.Errorf("%s has operations and no handler", service)
		}
		// knownOps is read off the tables, so only the routing rule can
		// leave a served name out.
		for _, name := range names {
			if !validOpName(name) {
				t.Errorf("%s serves %q, which routing refuses as no operation name", service, name)
			}
		}
		if !maps.Equal(knownOps[service], setOf(names...)) {
			t.Errorf("%s: knownOps is not the table's operations", service)
		}
	}
	want := map[string][]string{
		serviceSTS:      {"AssumeRole", "GetCallerIdentity", "GetSessionToken", "AssumeRoleWithWebIdentity", "GetAccessKeyInfo"},
		serviceRedshift: {"CreateRedshiftIdcApplication", "ModifyRedshiftIdcApplication", "DescribeRedshiftIdcApplications", "DeleteRedshiftIdcApplication"},
		serviceOIDC:     {"CreateToken", "CreateTokenWithIAM", "RegisterClient", "StartDeviceAuthorization"},
		serviceAdmin: {"IssueTestToken", "SetUserPassword", "SetFaults", "GetFaults", "LookupEvents", "GetUpstreamCA", "GetLoginCandidates", "InspectToken",
			"RotateWorkgroupKey", "RetireWorkgroupKeys", "DescribeWorkgroupKeys"},
		serviceIAM: {"CreateRole", "GetRole", "ListRoles", "UpdateAssumeRolePolicy", "DeleteRole",
			"PutRolePolicy", "GetRolePolicy", "ListRolePolicies", "DeleteRolePolicy",
			"PutUserPolicy", "GetUserPolicy", "ListUserPolicies", "DeleteUserPolicy",
			"CreateUser", "GetUser", "ListUsers", "DeleteUser",
			"CreateAccessKey", "ListAccessKeys", "DeleteAccessKey",
			"ListAttachedRolePolicies", "ListInstanceProfilesForRole", "ListRoleTags", "ListUserTags",
			"CreateOpenIDConnectProvider", "GetOpenIDConnectProvider", "ListOpenIDConnectProviders", "DeleteOpenIDConnectProvider",
			"AddClientIDToOpenIDConnectProvider", "RemoveClientIDFromOpenIDConnectProvider", "UpdateOpenIDConnectProviderThumbprint",
			"TagOpenIDConnectProvider", "UntagOpenIDConnectProvider", "ListOpenIDConnectProviderTags"},
	}
	for service, names := range want {
		got := tables[service]
		slices.Sort(got)
		slices.Sort(names)
		if !slices.Equal(got, names) {
			t.Errorf("%s serves %v, want %v", service, got, names)
		}
	}
}

// TestUnknownOperationMessages: each API answers an operation it does not
// serve with its own UnknownOperation message, the client's name quoted
// printable.
func TestUnknownOperationMessages(t *testing.T) {
	t.Parallel()
	refuse := map[string]func(string) error{
		serviceServerless:    serverlessOps.refuse,
		serviceSTS:           stsOps.refuse,
		serviceDataAPI:       dataAPIOps.refuse,
		serviceSSOAdmin:      ssoAdminOps.refuse,
		serviceRedshift:      redshiftOps.refuse,
		serviceIAM:           iamOps.refuse,
		serviceIdentityStore: identityStoreOps.refuse,
		serviceOIDC:          oidcOps.refuse,
		serviceAdmin:         adminOps.refuse,
	}
	want := map[string]string{
		serviceServerless:    "The operation 'Nope?' is not supported by Redshift Serverless on this endpoint.",
		serviceSTS:           "Could not find operation 'Nope?' for version 2011-06-15.",
		serviceDataAPI:       "The operation 'Nope?' is not supported by the Redshift Data API on this endpoint.",
		serviceSSOAdmin:      "The operation 'Nope?' is not supported by SSO Admin on this endpoint.",
		serviceRedshift:      "Could not find operation 'Nope?' for version 2012-12-01.",
		serviceIAM:           "Could not find operation 'Nope?' for version 2010-05-08.",
		serviceIdentityStore: "The operation 'Nope?' is not supported by the Identity Store on this endpoint.",
		serviceOIDC:          "Unsupported operation.",
		serviceAdmin:         "Unknown idcgate operation 'Nope?'.",
	}
	for service, f := range refuse {
		err := f("Nope\x01")
		var ae *apierror.Error
		if !errors.As(err, &ae) || !errors.Is(err, protocol.ErrUnknownOperation) || ae.Message != want[service] {
			t.Errorf("%s: %v, want UnknownOperation %q", service, err, want[service])
		}
	}
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

// TestTableFirstChecks: an API's own first checks run once the operation
// is found, so an unknown name is still UnknownOperation: the Data API
// without its gateway, SSO Admin without an instance, STS for a
// GetSessionToken session.
func TestTableFirstChecks(t *testing.T) {
	t.Parallel()
	s := &Server{}
	if _, err := dataAPIOps.admit(s, &call{op: "Nope"}); !errors.Is(err, protocol.ErrUnknownOperation) {
		t.Errorf("Data API, unknown operation: %v", err)
	}
	_, err := dataAPIOps.admit(s, &call{op: "ExecuteStatement"})
	var ae *apierror.Error
	if !errors.Is(err, dataapi.ErrDatabaseConnection) || !errors.As(err, &ae) ||
		ae.Message != "The Redshift Data API needs idcgate's gateway and its upstream PostgreSQL (gateway.disabled is set)." {
		t.Errorf("Data API without the gateway: %v", err)
	}
	_, err = ssoAdminOps.admit(s, &call{op: "ListInstances"})
	if !errors.Is(err, protocol.ErrUnknownOperation) || !errors.As(err, &ae) ||
		ae.Message != "The operation 'ListInstances' is not supported by SSO Admin on this endpoint." {
		t.Errorf("SSO Admin without an instance: %v", err)
	}
	session := &auth.Principal{UserSession: true}
	for _, tc := range []struct {
		op      string
		p       *auth.Principal
		refused bool
	}{
		{"GetCallerIdentity", session, false},
		{"AssumeRole", session, false},
		{"GetSessionToken", session, true},
		{"GetAccessKeyInfo", session, true},
		{"AssumeRoleWithWebIdentity", nil, false},
		{"GetSessionToken", &auth.Principal{}, false},
	} {
		_, err := stsOps.admit(s, &call{op: tc.op, principal: tc.p})
		if refused := errors.Is(err, auth.ErrAccessDenied); refused != tc.refused || (!tc.refused && err != nil) {
			t.Errorf("STS %s (session %v): %v", tc.op, tc.p != nil && tc.p.UserSession, err)
		}
	}
}
