package e2e

import (
	"context"
	"encoding/xml"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/redshiftserverless"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/idcgate/idcgate/internal/protocol/awsquery"
	"github.com/idcgate/idcgate/internal/testserver"
)

// TestSignatureRefusals sends CreateNamespace requests whose signature is
// wrong in one way each; every one is refused with AWS's error and the
// namespace is never created.
func TestSignatureRefusals(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	admin := srv.Serverless(srv.Admin)
	before := snapshot(t, admin)
	body := []byte(`{"namespaceName":"sigtest"}`)
	now := time.Now()
	wrongSecret := srv.Admin
	wrongSecret.SecretAccessKey += "-wrong"
	unknown := srv.Admin
	unknown.AccessKeyID = "AKIAZZZZZZZZZZZZZZZZ"

	// signed builds CreateNamespace of body, signed as given.
	signed := func(creds aws.Credentials, service, region string, at time.Time) func(t *testing.T) *http.Request {
		return func(t *testing.T) *http.Request {
			r := srv.ServerlessRequest(t, "CreateNamespace", body)
			testserver.Sign(t, r, body, creds, service, region, at)
			return r
		}
	}
	cases := []struct {
		name   string
		build  func(t *testing.T) *http.Request
		code   string
		status int
		msg    string // prefix
	}{
		{"wrong secret", signed(wrongSecret, "redshift-serverless", "us-east-1", now), "InvalidSignatureException", 400, "The request signature we calculated does not match the signature you provided."},
		{"changed body", func(t *testing.T) *http.Request {
			r := srv.ServerlessRequest(t, "CreateNamespace", []byte(`{"namespaceName":"sigtesu"}`))
			testserver.Sign(t, r, body, srv.Admin, "redshift-serverless", "us-east-1", now)
			return r
		}, "InvalidSignatureException", 400, "The request signature we calculated does not match"},
		{"changed signed header", func(t *testing.T) *http.Request {
			r := srv.ServerlessRequest(t, "GetNamespace", body)
			testserver.Sign(t, r, body, srv.Admin, "redshift-serverless", "us-east-1", now)
			r.Header.Set("X-Amz-Target", "RedshiftServerless.CreateNamespace")
			return r
		}, "InvalidSignatureException", 400, "The request signature we calculated does not match"},
		{"expired date", signed(srv.Admin, "redshift-serverless", "us-east-1", now.Add(-20*time.Minute)), "InvalidSignatureException", 400, "Signature expired: "},
		{"date in the future", signed(srv.Admin, "redshift-serverless", "us-east-1", now.Add(20*time.Minute)), "InvalidSignatureException", 400, "Signature not yet current: "},
		{"wrong region", signed(srv.Admin, "redshift-serverless", "eu-west-1", now), "InvalidSignatureException", 400, "Credential should be scoped to a valid region"},
		{"wrong service", signed(srv.Admin, "redshift", "us-east-1", now), "InvalidSignatureException", 400, "Credential should be scoped to correct service: 'redshift-serverless'"},
		{"no authorization", func(t *testing.T) *http.Request {
			return srv.ServerlessRequest(t, "CreateNamespace", body)
		}, "MissingAuthenticationTokenException", 400, ""},
		{"authorization without signature", func(t *testing.T) *http.Request {
			r := signed(srv.Admin, "redshift-serverless", "us-east-1", now)(t)
			a := r.Header.Get("Authorization")
			r.Header.Set("Authorization", a[:strings.Index(a, ", Signature=")])
			return r
		}, "IncompleteSignatureException", 400, ""},
		{"missing x-amz-date", func(t *testing.T) *http.Request {
			r := signed(srv.Admin, "redshift-serverless", "us-east-1", now)(t)
			r.Header.Del("X-Amz-Date")
			return r
		}, "IncompleteSignatureException", 400, ""},
		{"unknown access key", signed(unknown, "redshift-serverless", "us-east-1", now), "UnrecognizedClientException", 400, "The security token included in the request is invalid."},
		{"presigned past expiry", func(t *testing.T) *http.Request {
			r := srv.ServerlessRequest(t, "CreateNamespace", body)
			u, h := testserver.Presign(t, r, body, srv.Admin, "redshift-serverless", "us-east-1", now.Add(-10*time.Minute), 5*time.Minute)
			p := srv.ServerlessRequest(t, "CreateNamespace", body)
			p.URL, _ = p.URL.Parse(u)
			p.Header = h.Clone()
			return p
		}, "InvalidSignatureException", 400, "Signature expired"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := testserver.Do(t, tc.build(t))
			if resp.Status != tc.status || resp.Header.Get("X-Amzn-ErrorType") != tc.code {
				t.Fatalf("status %d type %q body %s; want %d %s", resp.Status, resp.Header.Get("X-Amzn-ErrorType"), resp.Body, tc.status, tc.code)
			}
			m := resp.JSON(t)
			if m["__type"] != tc.code || !strings.HasPrefix(m["message"].(string), tc.msg) {
				t.Fatalf("body %s; want __type %s message starting %q", resp.Body, tc.code, tc.msg)
			}
			if resp.Header.Get("x-amzn-RequestId") == "" {
				t.Fatal("no request id")
			}
		})
	}
	// Nothing changed: the lists are as before, and no name any refused
	// request asked for exists (the "changed body" case asked for sigtesu).
	if after := snapshot(t, admin); after != before {
		t.Fatalf("refused requests changed the store:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	for _, name := range []string{"sigtest", "sigtesu"} {
		_, err := admin.GetNamespace(context.Background(), &redshiftserverless.GetNamespaceInput{NamespaceName: aws.String(name)})
		if !isNotFound(err) {
			t.Fatalf("a refused request changed the store: GetNamespace %s = %v", name, err)
		}
	}

	t.Run("presigned within expiry", func(t *testing.T) {
		r := srv.ServerlessRequest(t, "CreateNamespace", body)
		u, h := testserver.Presign(t, r, body, srv.Admin, "redshift-serverless", "us-east-1", time.Now(), 5*time.Minute)
		p := srv.ServerlessRequest(t, "CreateNamespace", body)
		p.URL, _ = p.URL.Parse(u)
		p.Header = h.Clone()
		resp := testserver.Do(t, p)
		if resp.Status != 200 {
			t.Fatalf("presigned request: %d %s", resp.Status, resp.Body)
		}
	})
}

// queryError is an awsQuery error document.
// TestQuerySignatureRefusals: STS and Redshift (awsQuery) refuse bad
// signatures in their own XML shape, as AWS: Type Sender, HTTP 403.
func TestQuerySignatureRefusals(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	now := time.Now()
	wrongSecret := srv.Admin
	wrongSecret.SecretAccessKey += "-wrong"
	unknown := srv.Admin
	unknown.AccessKeyID = "AKIAZZZZZZZZZZZZZZZZ"
	const mismatch = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	const invalidToken = "The security token included in the request is invalid."
	cases := []struct {
		name, service, body, xmlns string
		creds                      aws.Credentials
		code, msg                  string
	}{
		{"sts wrong secret", "sts", "Action=GetCallerIdentity&Version=2011-06-15", awsquery.STSNamespace, wrongSecret, "SignatureDoesNotMatch", mismatch},
		{"sts unknown access key", "sts", "Action=GetCallerIdentity&Version=2011-06-15", awsquery.STSNamespace, unknown, "InvalidClientTokenId", invalidToken},
		{"redshift wrong secret", "redshift", "Action=DescribeRedshiftIdcApplications&Version=2012-12-01", awsquery.RedshiftNamespace, wrongSecret, "SignatureDoesNotMatch", mismatch},
		{"redshift unknown access key", "redshift", "Action=DescribeRedshiftIdcApplications&Version=2012-12-01", awsquery.RedshiftNamespace, unknown, "InvalidClientTokenId", invalidToken},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := signedQuery(t, srv, tc.creds, tc.service, "us-east-1", now, tc.body)
			var e queryError
			if err := xml.Unmarshal(resp.Body, &e); err != nil {
				t.Fatalf("not an awsQuery error document: %v: %s", err, resp.Body)
			}
			if resp.Status != 403 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/xml") || e.Xmlns != tc.xmlns ||
				e.Error.Type != "Sender" || e.Error.Code != tc.code || e.Error.Message != tc.msg {
				t.Fatalf("got %d %q %+v\nwant 403 text/xml Sender %s %q", resp.Status, resp.Header.Get("Content-Type"), e, tc.code, tc.msg)
			}
			if e.RequestID == "" || e.RequestID != resp.Header.Get("x-amzn-RequestId") {
				t.Fatalf("RequestId %q, header %q", e.RequestID, resp.Header.Get("x-amzn-RequestId"))
			}
		})
	}
	// The SDK reads the same errors by name.
	for creds, code := range map[aws.Credentials]string{wrongSecret: "SignatureDoesNotMatch", unknown: "InvalidClientTokenId"} {
		_, err := srv.STS(creds).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
		wantAPIError(t, err, code, 403, "")
	}
}
