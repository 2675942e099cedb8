package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/redshiftserverless"

	"github.com/idcgate/idcgate/internal/testserver"
)

// snapshot lists every namespace and workgroup name with its status.
func snapshot(t *testing.T, c *redshiftserverless.Client) string {
	t.Helper()
	ctx := context.Background()
	ns, err := c.ListNamespaces(ctx, &redshiftserverless.ListNamespacesInput{})
	if err != nil {
		t.Fatal(err)
	}
	wg, err := c.ListWorkgroups(ctx, &redshiftserverless.ListWorkgroupsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, n := range ns.Namespaces {
		fmt.Fprintf(&b, "ns %s %s\n", aws.ToString(n.NamespaceName), n.Status)
	}
	for _, w := range wg.Workgroups {
		fmt.Fprintf(&b, "wg %s %s %d\n", aws.ToString(w.WorkgroupName), w.Status, aws.ToInt32(w.BaseCapacity))
	}
	return b.String()
}

// TestBadInput sends correctly signed requests with bad bodies: each gets an
// AWS-shaped 4xx, the server keeps serving, and the store is unchanged.
func TestBadInput(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	c := srv.Serverless(srv.Admin)
	before := snapshot(t, c)
	huge := append([]byte(`{"namespaceName":"`), bytes.Repeat([]byte("a"), 1<<20+10)...)
	huge = append(huge, `"}`...)

	cases := []struct {
		name, op string
		body     []byte
		code     string
		status   int
	}{
		{"not json", "CreateNamespace", []byte("namespaceName=x"), "SerializationException", 400},
		{"json array", "CreateWorkgroup", []byte(`[{"workgroupName":"x"}]`), "SerializationException", 400},
		{"truncated json", "CreateNamespace", []byte(`{"namespaceName":"abc`), "SerializationException", 400},
		{"wrong type string for list", "CreateNamespace", []byte(`{"namespaceName":"abc","iamRoles":"arn"}`), "SerializationException", 400},
		{"wrong type number for string", "CreateWorkgroup", []byte(`{"workgroupName":5,"namespaceName":"demo"}`), "SerializationException", 400},
		{"wrong type string for number", "UpdateWorkgroup", []byte(`{"workgroupName":"demo","baseCapacity":"64"}`), "SerializationException", 400},
		{"empty body", "CreateNamespace", nil, "ValidationException", 400},
		{"empty object", "DeleteWorkgroup", []byte(`{}`), "ValidationException", 400},
		{"null member", "DeleteNamespace", []byte(`{"namespaceName":null}`), "ValidationException", 400},
		{"unknown operation", "DropEverything", []byte(`{}`), "UnknownOperationException", 400},
		{"huge body", "CreateNamespace", huge, "RequestEntityTooLargeException", 413},
		{"binary garbage", "CreateNamespace", []byte{0xff, 0x00, 0xfe, '{'}, "SerializationException", 400},
		{"deeply nested", "CreateNamespace", []byte(strings.Repeat(`{"a":`, 100000) + strings.Repeat("}", 100000)), "SerializationException", 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := srv.CallServerless(t, srv.Admin, tc.op, tc.body)
			if resp.Status != tc.status || resp.Header.Get("X-Amzn-ErrorType") != tc.code {
				t.Fatalf("status %d type %q body %.300s; want %d %s", resp.Status, resp.Header.Get("X-Amzn-ErrorType"), resp.Body, tc.status, tc.code)
			}
			m := resp.JSON(t)
			if m["__type"] != tc.code || m["message"] == "" {
				t.Fatalf("body %.300s", resp.Body)
			}
			if strings.Contains(string(resp.Body), "goroutine") || strings.Contains(string(resp.Body), ".go:") {
				t.Fatalf("stack trace leaked: %s", resp.Body)
			}
		})
	}

	t.Run("wrong target service", func(t *testing.T) {
		req := srv.ServerlessRequest(t, "GetNamespace", []byte(`{}`))
		req.Header.Set("X-Amz-Target", "DynamoDB_20120810.ListTables")
		testserver.Sign(t, req, []byte(`{}`), srv.Admin, "redshift-serverless", "us-east-1", time.Now())
		resp := testserver.Do(t, req)
		if resp.Status != 400 || resp.JSON(t)["__type"] != "UnknownOperationException" {
			t.Fatalf("%d %s", resp.Status, resp.Body)
		}
	})
	t.Run("GET on an API path", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/nothing-here", nil)
		resp := testserver.Do(t, req)
		if resp.Status < 400 || resp.Status >= 500 {
			t.Fatalf("%d %s", resp.Status, resp.Body)
		}
	})

	if after := snapshot(t, c); after != before {
		t.Fatalf("bad input changed the store:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}
