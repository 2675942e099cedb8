package e2e

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/redshiftserverless"
	"github.com/aws/aws-sdk-go-v2/service/redshiftserverless/types"

	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/testserver"
)

var (
	namespaceArnRe = regexp.MustCompile(`^arn:aws:redshift-serverless:us-east-1:123456789012:namespace/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	workgroupArnRe = regexp.MustCompile(`^arn:aws:redshift-serverless:us-east-1:123456789012:workgroup/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
)

func fastTransitions(d time.Duration) func(*config.Config) {
	return func(c *config.Config) { c.Serverless.TransitionDelay = &config.Duration{Duration: d} }
}

func TestNamespaceWorkgroupLifecycle(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{Edit: fastTransitions(150 * time.Millisecond)})
	c := srv.Serverless(srv.Admin)
	ctx := context.Background()
	before := time.Now().Add(-time.Second)

	ns, err := c.CreateNamespace(ctx, &redshiftserverless.CreateNamespaceInput{
		NamespaceName: aws.String("sales"),
		AdminUsername: aws.String("admin"),
		DbName:        aws.String("salesdb"),
		Tags:          []types.Tag{{Key: aws.String("team"), Value: aws.String("data")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	n := ns.Namespace
	if !namespaceArnRe.MatchString(aws.ToString(n.NamespaceArn)) || aws.ToString(n.NamespaceArn) != "arn:aws:redshift-serverless:us-east-1:123456789012:namespace/"+aws.ToString(n.NamespaceId) {
		t.Fatalf("namespace ARN %q id %q", aws.ToString(n.NamespaceArn), aws.ToString(n.NamespaceId))
	}
	if n.Status != types.NamespaceStatusAvailable || aws.ToString(n.DbName) != "salesdb" || aws.ToString(n.AdminUsername) != "admin" {
		t.Fatalf("namespace = %+v", n)
	}
	if n.CreationDate == nil || n.CreationDate.Before(before) || n.CreationDate.After(time.Now().Add(time.Second)) {
		t.Fatalf("creationDate %v", n.CreationDate)
	}

	wg, err := c.CreateWorkgroup(ctx, &redshiftserverless.CreateWorkgroupInput{
		WorkgroupName: aws.String("sales-wg"),
		NamespaceName: aws.String("sales"),
		BaseCapacity:  aws.Int32(32),
	})
	if err != nil {
		t.Fatal(err)
	}
	w := wg.Workgroup
	if w.Status != types.WorkgroupStatusCreating {
		t.Fatalf("new workgroup status %s, want CREATING", w.Status)
	}
	if !workgroupArnRe.MatchString(aws.ToString(w.WorkgroupArn)) || aws.ToInt32(w.BaseCapacity) != 32 || aws.ToString(w.NamespaceName) != "sales" {
		t.Fatalf("workgroup = %+v", w)
	}
	if w.Endpoint == nil || aws.ToString(w.Endpoint.Address) != "sales-wg.123456789012.us-east-1.redshift-serverless.amazonaws.com" || aws.ToInt32(w.Endpoint.Port) != 5439 {
		t.Fatalf("endpoint = %+v", w.Endpoint)
	}
	waitWorkgroup(t, c, "sales-wg", types.WorkgroupStatusAvailable)

	got, err := c.GetWorkgroup(ctx, &redshiftserverless.GetWorkgroupInput{WorkgroupName: aws.String("sales-wg")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(got.Workgroup.WorkgroupArn) != aws.ToString(w.WorkgroupArn) || !got.Workgroup.CreationDate.Equal(*w.CreationDate) {
		t.Fatalf("get = %+v", got.Workgroup)
	}

	up, err := c.UpdateWorkgroup(ctx, &redshiftserverless.UpdateWorkgroupInput{WorkgroupName: aws.String("sales-wg"), BaseCapacity: aws.Int32(64)})
	if err != nil {
		t.Fatal(err)
	}
	if up.Workgroup.Status != types.WorkgroupStatusModifying || aws.ToInt32(up.Workgroup.BaseCapacity) != 64 {
		t.Fatalf("update = %s %d", up.Workgroup.Status, aws.ToInt32(up.Workgroup.BaseCapacity))
	}
	waitWorkgroup(t, c, "sales-wg", types.WorkgroupStatusAvailable)

	un, err := c.UpdateNamespace(ctx, &redshiftserverless.UpdateNamespaceInput{
		NamespaceName: aws.String("sales"), IamRoles: []string{"arn:aws:iam::123456789012:role/analyst"},
		DefaultIamRoleArn: aws.String("arn:aws:iam::123456789012:role/analyst"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(un.Namespace.DefaultIamRoleArn) != "arn:aws:iam::123456789012:role/analyst" {
		t.Fatalf("update namespace = %+v", un.Namespace)
	}
	waitNamespace(t, c, "sales", types.NamespaceStatusAvailable)

	del, err := c.DeleteWorkgroup(ctx, &redshiftserverless.DeleteWorkgroupInput{WorkgroupName: aws.String("sales-wg")})
	if err != nil {
		t.Fatal(err)
	}
	if del.Workgroup.Status != types.WorkgroupStatusDeleting {
		t.Fatalf("delete status %s", del.Workgroup.Status)
	}
	waitGone(t, "workgroup", func() error {
		return errOf(c.GetWorkgroup(ctx, &redshiftserverless.GetWorkgroupInput{WorkgroupName: aws.String("sales-wg")}))
	})
	dn, err := c.DeleteNamespace(ctx, &redshiftserverless.DeleteNamespaceInput{NamespaceName: aws.String("sales")})
	if err != nil {
		t.Fatal(err)
	}
	if dn.Namespace.Status != types.NamespaceStatusDeleting {
		t.Fatalf("delete namespace status %s", dn.Namespace.Status)
	}
	waitGone(t, "namespace", func() error {
		return errOf(c.GetNamespace(ctx, &redshiftserverless.GetNamespaceInput{NamespaceName: aws.String("sales")}))
	})
}

func TestListAcrossPages(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{Edit: fastTransitions(0)})
	c := srv.Serverless(srv.Admin)
	ctx := context.Background()
	want := []string{"demo"}
	wantWG := []string{"demo"}
	for i := 0; i < 6; i++ {
		name := fmt.Sprintf("page-%02d", i)
		if _, err := c.CreateNamespace(ctx, &redshiftserverless.CreateNamespaceInput{NamespaceName: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.CreateWorkgroup(ctx, &redshiftserverless.CreateWorkgroupInput{WorkgroupName: aws.String(name + "-wg"), NamespaceName: aws.String(name), BaseCapacity: aws.Int32(8)}); err != nil {
			t.Fatal(err)
		}
		want = append(want, name)
		wantWG = append(wantWG, name+"-wg")
	}
	sort.Strings(want)
	sort.Strings(wantWG)

	got, pages := pagedNames(t, redshiftserverless.NewListNamespacesPaginator(c, &redshiftserverless.ListNamespacesInput{MaxResults: aws.Int32(2)}),
		func(o *redshiftserverless.ListNamespacesOutput) []types.Namespace {
			if len(o.Namespaces) > 2 {
				t.Fatalf("page of %d > maxResults", len(o.Namespaces))
			}
			return o.Namespaces
		},
		func(n types.Namespace) string { return aws.ToString(n.NamespaceName) })
	if fmt.Sprint(got) != fmt.Sprint(want) || pages != 4 {
		t.Fatalf("namespaces over %d pages = %v, want %v", pages, got, want)
	}

	got, _ = pagedNames(t, redshiftserverless.NewListWorkgroupsPaginator(c, &redshiftserverless.ListWorkgroupsInput{MaxResults: aws.Int32(3)}),
		func(o *redshiftserverless.ListWorkgroupsOutput) []types.Workgroup { return o.Workgroups },
		func(w types.Workgroup) string { return aws.ToString(w.WorkgroupName) })
	if fmt.Sprint(got) != fmt.Sprint(wantWG) {
		t.Fatalf("workgroups = %v, want %v", got, wantWG)
	}

	// A nextToken is opaque and tamper-proof.
	first, err := c.ListNamespaces(ctx, &redshiftserverless.ListNamespacesInput{MaxResults: aws.Int32(1)})
	if err != nil || first.NextToken == nil {
		t.Fatalf("first page: %v", err)
	}
	tok := []byte(*first.NextToken)
	tok[len(tok)/2] ^= 1
	_, err = c.ListNamespaces(ctx, &redshiftserverless.ListNamespacesInput{NextToken: aws.String(string(tok))})
	wantAPIError(t, err, "ValidationException", 400, "")
	// A namespaces token does not page workgroups.
	_, err = c.ListWorkgroups(ctx, &redshiftserverless.ListWorkgroupsInput{NextToken: first.NextToken})
	wantAPIError(t, err, "ValidationException", 400, "")
}

// TestDemoSeeded checks the example config's namespace and workgroup exist,
// AVAILABLE, from the first start.
func TestDemoSeeded(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	c := srv.Serverless(srv.Admin)
	out, err := c.GetWorkgroup(context.Background(), &redshiftserverless.GetWorkgroupInput{WorkgroupName: aws.String("demo")})
	if err != nil {
		t.Fatal(err)
	}
	if out.Workgroup.Status != types.WorkgroupStatusAvailable || aws.ToString(out.Workgroup.NamespaceName) != "demo" {
		t.Fatalf("demo workgroup = %s in %s", out.Workgroup.Status, aws.ToString(out.Workgroup.NamespaceName))
	}
	// The namespace's Identity Center link is input-only: Get does not show it.
	raw := srv.CallServerless(t, srv.Admin, "GetNamespace", []byte(`{"namespaceName":"demo"}`))
	if raw.Status != 200 {
		t.Fatalf("GetNamespace status %d: %s", raw.Status, raw.Body)
	}
	ns := raw.JSON(t)["namespace"].(map[string]any)
	if _, ok := ns["redshiftIdcApplicationArn"]; ok {
		t.Fatal("GetNamespace returns redshiftIdcApplicationArn")
	}
	if _, ok := ns["creationDate"].(string); !ok {
		t.Fatalf("creationDate is not an ISO-8601 string: %#v", ns["creationDate"])
	}
}

func isNotFound(err error) bool {
	var rnf *types.ResourceNotFoundException
	return errors.As(err, &rnf)
}
