package e2e

import (
	"context"
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/redshiftserverless"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/idcgate/idcgate/internal/clock"
	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/testserver"
)

// opsMetric reads one series ("name{labels}") from /metrics; absent is 0.
func opsMetric(t *testing.T, srv *testserver.Server, series string) float64 {
	t.Helper()
	return seriesIn(t, metricsText(t, srv.URL), series)
}

// seriesIn is one series' value in a Prometheus text body; absent is 0.
func seriesIn(t *testing.T, body, series string) float64 {
	t.Helper()
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	return 0
}

const opsTokensIssued = `idcgate_identity_center_tokens_issued_total{workgroups="1"}`

// opsKeys is the demo workgroup's key state, as an administrator sees it
// (polling through the administrator's own throttling).
func opsKeys(t *testing.T, srv *testserver.Server) string {
	t.Helper()
	var body string
	eventually(t, 10*time.Second, "DescribeWorkgroupKeys", func() (bool, error) {
		r := srv.CallAdmin(t, srv.Admin, "DescribeWorkgroupKeys", []byte(`{"workgroupName":"demo"}`))
		if r.Status == 400 && r.Header.Get("X-Amzn-ErrorType") == "ThrottlingException" {
			return false, nil
		}
		if r.Status != 200 {
			return false, fmt.Errorf("DescribeWorkgroupKeys: %d %s", r.Status, r.Body)
		}
		body = string(r.Body)
		return true, nil
	})
	return body
}

// opsRetrying is a client config whose standard retryer backs off on
// throttling, as the SDK's default does, on the server's clock: each
// backoff moves clk (the server's) on instead of sleeping, so the server's
// buckets refill as if the client had waited and the test does not.
func opsRetrying(srv *testserver.Server, creds aws.Credentials, clk *clock.Offset) aws.Config {
	cfg := srv.Config(creds)
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 10
			o.MaxBackoff = time.Second
			o.Backoff = opsBackoff{clk: clk, jitter: retry.NewExponentialJitterBackoff(o.MaxBackoff)}
		})
	}
	return cfg
}

// opsBackoff is the SDK's jittered backoff, waited on the server's clock.
type opsBackoff struct {
	clk    *clock.Offset
	jitter *retry.ExponentialJitterBackoff
}

func (b opsBackoff) BackoffDelay(attempt int, err error) (time.Duration, error) {
	d, err := b.jitter.BackoffDelay(attempt, err)
	if err != nil {
		return 0, err
	}
	b.clk.Advance(d)
	return 0, nil
}

func TestThrottling(t *testing.T) {
	clk := &clock.Offset{}
	srv := testserver.Start(t, testserver.Options{Clock: clk.Now, Edit: func(c *config.Config) {
		c.Throttle.PerPrincipal = &config.RateLimit{Rate: 5, Burst: 3}
	}})
	ctx := context.Background()
	alice := srv.IdentitySession(t, "alice", testserver.AnalystRoleArn)
	keys := opsKeys(t, srv)
	for i := 0; i < 3; i++ {
		mustToken(t, srv, alice, "demo")
	}
	_, err := getToken(t, srv, alice, "demo")
	wantAPIError(t, err, "ThrottlingException", 400, "Rate exceeded")
	// Nothing happened: no token minted, the keyring untouched.
	if got := opsMetric(t, srv, opsTokensIssued); got != 3 {
		t.Fatalf("tokens issued %v after 3 calls and a throttled one", got)
	}

	// Another principal has its own bucket.
	adm := srv.Serverless(srv.Admin)
	if _, err := adm.GetWorkgroup(ctx, &redshiftserverless.GetWorkgroupInput{WorkgroupName: aws.String("demo")}); err != nil {
		t.Fatalf("admin throttled by alice's bucket: %v", err)
	}
	if opsKeys(t, srv) != keys {
		t.Fatal("a throttled call changed the keyring")
	}
	issued := opsMetric(t, srv, opsTokensIssued)
	// A throttled create creates nothing.
	var throttled error
	for i := 0; i < 10 && throttled == nil; i++ {
		_, throttled = adm.CreateNamespace(ctx, &redshiftserverless.CreateNamespaceInput{NamespaceName: aws.String("throttled-" + strconv.Itoa(i))})
		if throttled != nil {
			wantAPIError(t, throttled, "ThrottlingException", 400, "Rate exceeded")
			name := "throttled-" + strconv.Itoa(i)
			_, err := redshiftserverless.NewFromConfig(opsRetrying(srv, srv.Admin, clk)).GetNamespace(ctx, &redshiftserverless.GetNamespaceInput{NamespaceName: &name})
			if !isNotFound(err) {
				t.Fatalf("throttled CreateNamespace %s: GetNamespace says %v", name, err)
			}
		}
	}
	if throttled == nil {
		t.Fatal("10 quick creates were never throttled")
	}

	// The SDK's standard retryer backs off and gets through.
	c := redshiftserverless.NewFromConfig(opsRetrying(srv, alice, clk))
	for i := 0; i < 3; i++ {
		if _, err := c.GetIdentityCenterAuthToken(ctx, &redshiftserverless.GetIdentityCenterAuthTokenInput{WorkgroupNames: []string{"demo"}}); err != nil {
			t.Fatalf("with retries, call %d: %v", i, err)
		}
	}
	if got := opsMetric(t, srv, opsTokensIssued); got != issued+3 {
		t.Fatalf("tokens issued %v, want %v", got, issued+3)
	}
}

// STS (awsQuery) answers Throttling, Type Sender, 400, as AWS does; the
// SDK's retryer backs off and succeeds.
func TestThrottlingSTS(t *testing.T) {
	clk := &clock.Offset{}
	srv := testserver.Start(t, testserver.Options{Clock: clk.Now, Edit: func(c *config.Config) {
		c.Throttle.PerPrincipal = &config.RateLimit{Rate: 2, Burst: 3}
	}})
	ctx := context.Background()
	st := sts.NewFromConfig(srv.Config(srv.App))
	for i := 0; i < 3; i++ {
		if _, err := st.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := st.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantAPIError(t, err, "Throttling", 400, "Rate exceeded")

	// The wire form, as an awsQuery client parses it.
	resp := signedQuery(t, srv, srv.App, "sts", testserver.Region, time.Now(), "Action=GetCallerIdentity&Version=2011-06-15")
	var e queryError
	if err := xml.Unmarshal(resp.Body, &e); err != nil || resp.Status != 400 || e.Error.Type != "Sender" || e.Error.Code != "Throttling" ||
		e.Error.Message != "Rate exceeded" || e.RequestID == "" || e.RequestID != resp.Header.Get("X-Amzn-Requestid") {
		t.Fatalf("throttled awsQuery response %d %s (%v)", resp.Status, resp.Body, err)
	}

	retrying := sts.NewFromConfig(opsRetrying(srv, srv.App, clk))
	for i := 0; i < 4; i++ {
		out, err := retrying.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			t.Fatalf("with retries, call %d: %v", i, err)
		}
		if aws.ToString(out.Arn) != "arn:aws:iam::123456789012:user/app" {
			t.Fatalf("GetCallerIdentity %s", aws.ToString(out.Arn))
		}
	}
}

// The global bucket is shared by every principal, and what it refuses
// changes nothing.
func TestThrottlingGlobal(t *testing.T) {
	clk := &clock.Offset{}
	srv := testserver.Start(t, testserver.Options{Clock: clk.Now, Edit: func(c *config.Config) {
		c.Throttle.PerPrincipal = &config.RateLimit{}
		c.Throttle.Global = &config.RateLimit{Rate: 1, Burst: 3}
	}})
	ctx := context.Background()
	adm, app := srv.Serverless(srv.Admin), sts.NewFromConfig(srv.Config(srv.App))
	if _, err := adm.GetWorkgroup(ctx, &redshiftserverless.GetWorkgroupInput{WorkgroupName: aws.String("demo")}); err != nil {
		t.Fatal(err)
	}
	if _, err := app.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.ListWorkgroups(ctx, &redshiftserverless.ListWorkgroupsInput{}); err != nil {
		t.Fatal(err)
	}
	// The bucket is empty for everyone: app's first throttled call, and a
	// create by the administrator.
	var throttledSTS, throttledCreate error
	_, throttledSTS = app.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	_, throttledCreate = adm.CreateNamespace(ctx, &redshiftserverless.CreateNamespaceInput{NamespaceName: aws.String("global-throttled")})
	wantAPIError(t, throttledSTS, "Throttling", 400, "Rate exceeded")
	wantAPIError(t, throttledCreate, "ThrottlingException", 400, "Rate exceeded")

	retrying := redshiftserverless.NewFromConfig(opsRetrying(srv, srv.Admin, clk))
	_, err := retrying.GetNamespace(ctx, &redshiftserverless.GetNamespaceInput{NamespaceName: aws.String("global-throttled")})
	if !isNotFound(err) {
		t.Fatalf("globally throttled create: GetNamespace says %v", err)
	}
	// With backoff, both principals get through at the bucket's rate (on
	// the server's clock, which the backoffs move).
	start := clk.Now()
	for i := 0; i < 3; i++ {
		if _, err := retrying.CreateNamespace(ctx, &redshiftserverless.CreateNamespaceInput{NamespaceName: aws.String("global-" + strconv.Itoa(i))}); err != nil {
			t.Fatalf("create %d with retries: %v", i, err)
		}
		if _, err := sts.NewFromConfig(opsRetrying(srv, srv.App, clk)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
			t.Fatalf("GetCallerIdentity %d with retries: %v", i, err)
		}
	}
	if d := clk.Now().Sub(start); d < 4*time.Second {
		t.Fatalf("7 calls at 1/s took %v: the global bucket did not hold", d)
	}
}
