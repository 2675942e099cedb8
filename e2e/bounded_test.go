package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/redshift"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/middleware"

	"github.com/idcgate/idcgate/internal/audit"
	"github.com/idcgate/idcgate/internal/testserver"
)

// bdRecords is srv's audit file by request id.
func bdRecords(t *testing.T, srv *testserver.Server) map[string][]audit.Record {
	t.Helper()
	recs := auditRecords(t, srv.DataDir)
	out := map[string][]audit.Record{}
	for _, r := range recs {
		out[r.RequestID] = append(out[r.RequestID], r)
	}
	return out
}

// bdRequestID is the request id of an SDK call, failed or not.
func bdRequestID(t *testing.T, md middleware.Metadata, err error) string {
	t.Helper()
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.ServiceRequestID()
	}
	if err != nil {
		t.Fatal(err)
	}
	id, ok := awsmiddleware.GetRequestIDMetadata(md)
	if !ok {
		t.Fatal("no request id")
	}
	return id
}

// bdQueryGET sends an awsQuery call in its query-string form (GET
// /?Action=…), SigV4-signed with creds for service.
func bdQueryGET(t *testing.T, srv *testserver.Server, creds aws.Credentials, service string, q url.Values) *testserver.RawResponse {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	testserver.Sign(t, req, nil, creds, service, testserver.Region, time.Now())
	return testserver.Do(t, req)
}

// Every protocol form of an operation records the same requestParameters:
// an awsQuery call sent as GET /?Action=… (the query-string form) is
// recorded as the SDK's POST form is (issue 18, item 4).
func TestAuditQueryFormRecordsParameters(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	ctx := context.Background()
	const appArn = "arn:aws:redshift:us-east-1:123456789012:redshiftidcapplication:no-such-app"

	cases := []struct {
		name    string
		service string
		creds   aws.Credentials
		post    func() (middleware.Metadata, error)
		query   url.Values
		want    map[string]any
	}{
		{"sts AssumeRole", "sts", srv.App, func() (middleware.Metadata, error) {
			out, err := srv.STS(srv.App).AssumeRole(ctx, &sts.AssumeRoleInput{
				RoleArn: aws.String(testserver.AnalystRoleArn), RoleSessionName: aws.String("queryform"), DurationSeconds: aws.Int32(900)})
			if out != nil {
				return out.ResultMetadata, err
			}
			return middleware.Metadata{}, err
		}, url.Values{"Action": {"AssumeRole"}, "Version": {"2011-06-15"}, "RoleArn": {testserver.AnalystRoleArn},
			"RoleSessionName": {"queryform"}, "DurationSeconds": {"900"}},
			map[string]any{"RoleArn": testserver.AnalystRoleArn, "RoleSessionName": "queryform", "DurationSeconds": "900"}},
		{"redshift DescribeRedshiftIdcApplications", "redshift", srv.Admin, func() (middleware.Metadata, error) {
			out, err := srv.Redshift(srv.Admin).DescribeRedshiftIdcApplications(ctx,
				&redshift.DescribeRedshiftIdcApplicationsInput{RedshiftIdcApplicationArn: aws.String(appArn), MaxRecords: aws.Int32(20)})
			if out != nil {
				return out.ResultMetadata, err
			}
			return middleware.Metadata{}, err
		}, url.Values{"Action": {"DescribeRedshiftIdcApplications"}, "Version": {"2012-12-01"},
			"RedshiftIdcApplicationArn": {appArn}, "MaxRecords": {"20"}},
			map[string]any{"RedshiftIdcApplicationArn": appArn, "MaxRecords": "20"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			md, err := tc.post()
			postID := bdRequestID(t, md, err)
			resp := bdQueryGET(t, srv, tc.creds, tc.service, tc.query)
			getID := resp.Header.Get("X-Amzn-Requestid")
			if getID == "" || resp.Status >= 500 {
				t.Fatalf("GET form: %d %s", resp.Status, resp.Body)
			}
			recs := bdRecords(t, srv)
			if len(recs[postID]) != 1 || len(recs[getID]) != 1 {
				t.Fatalf("records: POST %d, GET %d; want one each", len(recs[postID]), len(recs[getID]))
			}
			post, get := recs[postID][0], recs[getID][0]
			if !reflect.DeepEqual(post.RequestParameters, tc.want) {
				t.Errorf("POST form requestParameters %v, want %v", post.RequestParameters, tc.want)
			}
			if !reflect.DeepEqual(get.RequestParameters, post.RequestParameters) {
				t.Errorf("GET form requestParameters %v, POST form %v", get.RequestParameters, post.RequestParameters)
			}
			if get.EventName != post.EventName || get.ErrorCode != post.ErrorCode {
				t.Errorf("GET form %s %q, POST form %s %q", get.EventName, get.ErrorCode, post.EventName, post.ErrorCode)
			}
			// Presigned, the query also holds SigV4's X-Amz-* parameters:
			// the signature's, not the call's, so not recorded.
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/?"+tc.query.Encode(), nil)
			u, h := testserver.Presign(t, req, nil, tc.creds, tc.service, testserver.Region, time.Now(), 5*time.Minute)
			req, _ = http.NewRequest(http.MethodGet, u, nil)
			req.Header = h.Clone()
			presigned := testserver.Do(t, req)
			preID := presigned.Header.Get("X-Amzn-Requestid")
			if recs := bdRecords(t, srv)[preID]; presigned.Status >= 500 || len(recs) != 1 || !reflect.DeepEqual(recs[0].RequestParameters, post.RequestParameters) {
				// (the body is left out: a success holds session credentials)
				t.Errorf("presigned GET form: status %d, records %+v; want requestParameters %v", presigned.Status, recs, post.RequestParameters)
			}
		})
	}
}

// bdJunk is one request whose operation name cannot name an operation.
type bdJunk struct {
	name    string
	build   func(t *testing.T, srv *testserver.Server) *http.Request
	service string // signing name when signed
	body    []byte
}

func bdJunkRequests() []bdJunk {
	query := func(form string) func(t *testing.T, srv *testserver.Server) *http.Request {
		return func(t *testing.T, srv *testserver.Server) *http.Request {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/", strings.NewReader(form))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
			return req
		}
	}
	get := func(q string) func(t *testing.T, srv *testserver.Server) *http.Request {
		return func(t *testing.T, srv *testserver.Server) *http.Request {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/?"+q, nil)
			return req
		}
	}
	target := func(tg string) func(t *testing.T, srv *testserver.Server) *http.Request {
		return func(t *testing.T, srv *testserver.Server) *http.Request {
			req := srv.ServerlessRequest(t, "x", []byte(`{}`))
			req.Header.Set("X-Amz-Target", tg)
			return req
		}
	}
	return []bdJunk{
		{"sts Action invalid UTF-8", query("Action=Get%FFCallerIdentity&Version=2011-06-15"), "sts", []byte("Action=Get%FFCallerIdentity&Version=2011-06-15")},
		{"redshift Action invalid UTF-8", query("Action=%C3%28&Version=2012-12-01"), "redshift", []byte("Action=%C3%28&Version=2012-12-01")},
		{"sts Action with a control character", query("Action=Assume%00Role&Version=2011-06-15"), "sts", []byte("Action=Assume%00Role&Version=2011-06-15")},
		{"sts GET Action invalid UTF-8", get("Action=%FE%FF&Version=2011-06-15"), "sts", nil},
		{"redshift GET Action with spaces", get("Action=Describe+Redshift&Version=2012-12-01"), "redshift", nil},
		{"serverless target invalid UTF-8", target("RedshiftServerless.List\xffNamespaces"), "redshift-serverless", []byte(`{}`)},
		{"serverless target with dots", target("RedshiftServerless.Get.Workgroup"), "redshift-serverless", []byte(`{}`)},
		{"serverless target too long", target("RedshiftServerless." + strings.Repeat("A", 200)), "redshift-serverless", []byte(`{}`)},
		{"admin target invalid UTF-8", target("Idcgate.\xc3\x28"), "idcgate", []byte(`{}`)},
		{"admin target with a space", target("Idcgate.Get Faults"), "idcgate", []byte(`{}`)},
	}
}

// An operation name that cannot be one (invalid UTF-8, control characters,
// punctuation, too long) is refused as AWS refuses an unknown operation,
// signed or not, before anything counts or records it: no audit record, no
// metric series of its own, no panic (issue 18, item 9).
func TestInvalidOperationNamesRefused(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	var ids []string
	for _, tc := range bdJunkRequests() {
		for _, signed := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s signed=%v", tc.name, signed), func(t *testing.T) {
				req := tc.build(t, srv)
				if signed {
					testserver.Sign(t, req, tc.body, srv.Admin, tc.service, testserver.Region, time.Now())
				}
				resp := testserver.Do(t, req)
				ids = append(ids, resp.Header.Get("X-Amzn-Requestid"))
				if !utf8.Valid(resp.Body) {
					t.Errorf("answer is not valid UTF-8: %q", resp.Body)
				}
				if resp.Status != 400 {
					t.Fatalf("status %d %s, want 400", resp.Status, resp.Body)
				}
				if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/xml") {
					if !strings.Contains(string(resp.Body), "<Code>InvalidAction</Code>") || !strings.Contains(string(resp.Body), "<Type>Sender</Type>") {
						t.Fatalf("awsQuery answer %s, want InvalidAction", resp.Body)
					}
					return
				}
				if got := resp.Header.Get("X-Amzn-ErrorType"); got != "UnknownOperationException" || resp.JSON(t)["__type"] != got {
					t.Fatalf("awsJson answer %q %s, want UnknownOperationException", got, resp.Body)
				}
			})
		}
	}
	recs := bdRecords(t, srv)
	for _, id := range ids {
		if len(recs[id]) != 0 {
			t.Errorf("request %s has an audit record: %+v", id, recs[id])
		}
	}
	for _, rs := range recs {
		for _, r := range rs {
			if !utf8.ValidString(r.EventName) || r.EventName == "" {
				t.Errorf("record with eventName %q", r.EventName)
			}
		}
	}
	body := metricsText(t, srv.URL)
	if !utf8.ValidString(body) {
		t.Error("/metrics is not valid UTF-8")
	}
	// Every refusal was counted, under the one bounded label.
	var counted float64
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "idcgate_api_requests_total{") && strings.Contains(line, `operation="unknown"`) {
			var v float64
			fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v)
			counted += v
		}
	}
	if counted != float64(len(ids)) {
		t.Errorf("%v refusals counted under operation=\"unknown\", want %d:\n%s", counted, len(ids), grepLines(body, "idcgate_api_requests_total"))
	}
}

// bdSeries counts the samples of the idcgate_ families in a /metrics text.
func bdSeries(body string) int {
	n := 0
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, "idcgate_") {
			n++
		}
	}
	return n
}

// bdUnsigned sends an unsigned request.
func bdUnsigned(t *testing.T, c *http.Client, method, u, target, contentType, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("User-Agent", "flood/"+target+body)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// Made-up operation names, signed or not, in every protocol form, are one
// metric label ("unknown"): none becomes a series or a record field of its
// own. Unsigned calls of unknown operations are not recorded (CloudTrail
// records no unknown operation); signed ones are recorded as eventName
// "unknown" with the name, bounded, beside it. Unsigned calls of known
// operations are recorded within a token bucket, the rest counted as
// dropped (issue 18, item 1).
func TestUnknownOperationsBounded(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	c := &http.Client{}
	const names = 60
	var unsigned []string
	for i := 0; i < names; i++ {
		op := fmt.Sprintf("MadeUpOp%d", i)
		for _, r := range []*http.Response{
			bdUnsigned(t, c, "POST", srv.URL+"/", "RedshiftServerless."+op, "application/x-amz-json-1.1", `{}`),
			bdUnsigned(t, c, "POST", srv.URL+"/", "Idcgate."+op, "application/x-amz-json-1.1", `{}`),
			bdUnsigned(t, c, "POST", srv.URL+"/", "", "application/x-www-form-urlencoded", "Action="+op+"&Version=2011-06-15"),
			bdUnsigned(t, c, "POST", srv.URL+"/", "", "application/x-www-form-urlencoded", "Action="+op+"&Version=2012-12-01"),
			bdUnsigned(t, c, "GET", srv.URL+"/?Action="+op+"&Version=2011-06-15", "", "", ""),
			bdUnsigned(t, c, "POST", srv.URL+"/", "DynamoDB_20120810."+op, "application/x-amz-json-1.1", `{}`),
			bdUnsigned(t, c, "POST", srv.URL+"/"+op, "", "", ""),
		} {
			if r.StatusCode < 400 || r.StatusCode >= 500 {
				t.Fatalf("%s: %d", op, r.StatusCode)
			}
			unsigned = append(unsigned, r.Header.Get("X-Amzn-Requestid"))
		}
	}
	// Signed made-up operations: refused after the signature, recorded.
	signed := map[string]string{}
	for i := 0; i < 5; i++ {
		op := fmt.Sprintf("SignedMadeUp%d", i)
		r := srv.CallServerless(t, srv.Admin, op, []byte(`{"big":"`+strings.Repeat("x", 4096)+`"}`))
		if r.Header.Get("X-Amzn-ErrorType") != "UnknownOperationException" {
			t.Fatalf("%s: %d %s", op, r.Status, r.Body)
		}
		signed[r.Header.Get("X-Amzn-Requestid")] = op
		q := bdQueryGET(t, srv, srv.Admin, "sts", url.Values{"Action": {op}, "Version": {"2011-06-15"}})
		if q.Status != 400 || !strings.Contains(string(q.Body), "<Code>InvalidAction</Code>") {
			t.Fatalf("%s: %d %s", op, q.Status, q.Body)
		}
		signed[q.Header.Get("X-Amzn-Requestid")] = op
	}
	// Unsigned calls of a known operation, each with its own user agent.
	const knownCalls = 300
	start := time.Now()
	var known []string
	for i := 0; i < knownCalls; i++ {
		r := bdUnsigned(t, c, "POST", srv.URL+"/", "RedshiftServerless.ListNamespaces", "application/x-amz-json-1.1", fmt.Sprintf(`{"maxResults":%d}`, i))
		if r.Header.Get("X-Amzn-ErrorType") != "MissingAuthenticationTokenException" {
			t.Fatalf("unsigned ListNamespaces: %d %s", r.StatusCode, r.Header.Get("X-Amzn-ErrorType"))
		}
		known = append(known, r.Header.Get("X-Amzn-Requestid"))
	}
	elapsed := time.Since(start)

	body := metricsText(t, srv.URL)
	if strings.Contains(body, "MadeUp") {
		t.Errorf("/metrics names a made-up operation:\n%s", grepLines(body, "idcgate_api_requests_total"))
	}
	if n := strings.Count(grepLines(body, "idcgate_api_requests_total{"), "\n") + 1; n > 12 {
		t.Errorf("%d request series after %d made-up names:\n%s", n, names, grepLines(body, "idcgate_api_requests_total{"))
	}
	if !strings.Contains(body, `operation="unknown"`) {
		t.Errorf("/metrics has no operation=\"unknown\" series:\n%s", grepLines(body, "idcgate_api_requests_total"))
	}

	recs := bdRecords(t, srv)
	for _, id := range unsigned {
		if len(recs[id]) != 0 {
			t.Errorf("unsigned made-up operation recorded: %+v", recs[id])
		}
	}
	for id, op := range signed {
		if len(recs[id]) != 1 {
			t.Errorf("signed %s: %d records, want 1", op, len(recs[id]))
			continue
		}
		r := recs[id][0]
		if r.EventName != "unknown" || r.AdditionalEventData["operation"] != op || r.RequestParameters != nil ||
			r.UserIdentity.Type != "Root" || r.ErrorCode == "" {
			t.Errorf("signed %s recorded as %+v", op, r)
		}
	}
	recorded := 0
	for _, id := range known {
		switch n := len(recs[id]); {
		case n > 1:
			t.Errorf("unsigned ListNamespaces %s: %d records", id, n)
		case n == 1:
			recorded++
			if r := recs[id][0]; r.EventName != "ListNamespaces" || r.ErrorCode != "MissingAuthenticationTokenException" || r.UserIdentity.Type != "Unknown" {
				t.Errorf("unsigned ListNamespaces recorded as %+v", r)
			}
		}
	}
	// The bucket: 100 at once, then 5 a second.
	if limit := 100 + int(5*elapsed.Seconds()) + 1; recorded < 100 || recorded > limit {
		t.Errorf("%d of %d unsigned calls recorded in %v, want 100 to %d", recorded, knownCalls, elapsed, limit)
	}
	if dropped := seriesIn(t, body, "idcgate_audit_unauthenticated_dropped_total"); int(dropped) != knownCalls-recorded {
		t.Errorf("idcgate_audit_unauthenticated_dropped_total %v, want %d", dropped, knownCalls-recorded)
	}
}

// A gateway login with a bad token is as unauthenticated as an unsigned
// call: anyone who reaches the gateway port can make one. Every attempt is
// counted; their audit records come from a token bucket (100 at once, 5 a
// second), the rest counted as dropped (issue 18, item 1).
func TestGatewayRefusalsBounded(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	if srv.PGAddr() == "" {
		t.Fatal("no gateway")
	}
	const attempts = 200
	before := bdRecords(t, srv)
	start := time.Now()
	for i := range attempts {
		if c, err := connectGateway(t, srv, fmt.Sprintf("IDC2.bad-%d", i), ""); err == nil {
			c.Close(context.Background())
			t.Fatal("the gateway accepted a bad token")
		}
	}
	elapsed := time.Since(start)
	refused := 0
	for id, rs := range bdRecords(t, srv) {
		if len(before[id]) == 0 && rs[0].EventSource == "gateway.idcgate" {
			refused++
		}
	}
	body := metricsText(t, srv.URL)
	if got := seriesIn(t, body, `idcgate_gateway_logins_total{result="refused"}`); got != attempts {
		t.Errorf("%v refused logins counted, want %d", got, attempts)
	}
	if limit := 100 + int(5*elapsed.Seconds()) + 1; refused < 100 || refused > limit {
		t.Errorf("%d of %d refused logins recorded in %v, want 100 to %d", refused, attempts, elapsed, limit)
	}
	if dropped := seriesIn(t, body, "idcgate_audit_unauthenticated_dropped_total"); int(dropped) != attempts-refused {
		t.Errorf("idcgate_audit_unauthenticated_dropped_total %v, want %d", dropped, attempts-refused)
	}
}
