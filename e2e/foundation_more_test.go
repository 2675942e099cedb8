package e2e

import (
	"context"
	"encoding/base64"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/redshiftserverless"

	"github.com/idcgate/idcgate/internal/testserver"
)

// fmClock is a server clock tests can move; requests signed at its time
// stay within SigV4's skew window whatever the offset.
type fmClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *fmClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *fmClock) advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// fmCall signs a Redshift Serverless call at the server clock's time.
func fmCall(t *testing.T, srv *testserver.Server, clk *fmClock, creds aws.Credentials, op, body string) *testserver.RawResponse {
	t.Helper()
	req := srv.ServerlessRequest(t, op, []byte(body))
	testserver.Sign(t, req, []byte(body), creds, "redshift-serverless", testserver.Region, clk.now())
	return testserver.Do(t, req)
}

// fmWantValidation checks a raw response is AWS's ValidationException with msg.
func fmWantValidation(t *testing.T, resp *testserver.RawResponse, msg string) {
	t.Helper()
	m := resp.JSON(t)
	if resp.Status != 400 || resp.Header.Get("X-Amzn-ErrorType") != "ValidationException" || m["__type"] != "ValidationException" || m["message"] != msg {
		t.Fatalf("got %d %q %s; want 400 ValidationException %q", resp.Status, resp.Header.Get("X-Amzn-ErrorType"), resp.Body, msg)
	}
}

// TestNextTokenOpaque: a nextToken shows nothing of what it holds, and a
// tampered, foreign-operation or expired one is AWS's ValidationException.
func TestNextTokenOpaque(t *testing.T) {
	clk := &fmClock{}
	srv := testserver.Start(t, testserver.Options{Now: clk.now, Edit: fastTransitions(0)})
	c := srv.Serverless(srv.Admin)
	ctx := context.Background()
	for _, n := range []string{"opaque-a", "opaque-b"} {
		if _, err := c.CreateNamespace(ctx, &redshiftserverless.CreateNamespaceInput{NamespaceName: aws.String(n)}); err != nil {
			t.Fatal(err)
		}
	}
	first, err := c.ListNamespaces(ctx, &redshiftserverless.ListNamespacesInput{MaxResults: aws.Int32(1)})
	if err != nil || first.NextToken == nil {
		t.Fatalf("first page: %v", err)
	}
	tok := *first.NextToken
	name := aws.ToString(first.Namespaces[0].NamespaceName)
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	for _, s := range []string{testserver.Account, testserver.Region, "ListNamespaces", name, "rs/", "/ns/"} {
		if strings.Contains(tok, s) || strings.Contains(string(raw), s) {
			t.Errorf("nextToken reveals %q: %s", s, tok)
		}
	}
	// The genuine token pages on.
	second, err := c.ListNamespaces(ctx, &redshiftserverless.ListNamespacesInput{MaxResults: aws.Int32(1), NextToken: &tok})
	if err != nil || len(second.Namespaces) != 1 || aws.ToString(second.Namespaces[0].NamespaceName) == name {
		t.Fatalf("second page: %v %+v", err, second)
	}

	const invalid = "Invalid nextToken provided."
	tampered := []byte(tok)
	tampered[len(tampered)/2] ^= 1
	if tampered[len(tampered)/2] == '-' || tampered[len(tampered)/2] == '_' {
		tampered[len(tampered)/2] = 'A'
	}
	cases := map[string]struct{ op, body string }{
		"tampered":          {"ListNamespaces", `{"nextToken":"` + string(tampered) + `"}`},
		"truncated":         {"ListNamespaces", `{"nextToken":"` + tok[:len(tok)-4] + `"}`},
		"foreign operation": {"ListWorkgroups", `{"nextToken":"` + tok + `"}`},
		"not a token":       {"ListNamespaces", `{"nextToken":"eyJvIjoiTGlzdE5hbWVzcGFjZXMifQ"}`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			fmWantValidation(t, fmCall(t, srv, clk, srv.Admin, tc.op, tc.body), invalid)
		})
	}
	t.Run("expired", func(t *testing.T) {
		clk.advance(25 * time.Hour) // page tokens live 24 hours
		fmWantValidation(t, fmCall(t, srv, clk, srv.Admin, "ListNamespaces", `{"nextToken":"`+tok+`"}`), invalid)
	})
}
