package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/redshiftserverless"
	"github.com/aws/aws-sdk-go-v2/service/redshiftserverless/types"

	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/testserver"
)

var reader = aws.Credentials{AccessKeyID: "AKIAREADERREADER0001", SecretAccessKey: "readerSecretKeyreaderSecretKey0123456789"}

// withIAMUser adds to the first account of the config an IAM user with
// the access key creds and one inline policy, doc.
func withIAMUser(c *config.Config, name string, creds aws.Credentials, policy, doc string) {
	c.Accounts[0].Users = append(c.Accounts[0].Users, config.User{
		Name:       name,
		AccessKeys: []config.AccessKey{{AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey}},
		Policies:   []config.Policy{{Name: policy, Document: config.Document{JSON: []byte(doc)}}},
	})
}

func withReader(c *config.Config) {
	withIAMUser(c, "reader", reader, "get-only", `{
			"Version": "2012-10-17",
			"Statement": [
				{"Effect": "Allow", "Action": "redshift-serverless:Get*", "Resource": "*"},
				{"Effect": "Deny", "Action": "redshift-serverless:GetNamespace", "Resource": "*",
				 "Condition": {"StringEquals": {"aws:username": "reader"}}}
			]}`)
}

func TestIAMUserWithGetOnlyCannotCreate(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{Edit: withReader})
	ctx := context.Background()
	c := srv.Serverless(reader)

	if _, err := c.GetWorkgroup(ctx, &redshiftserverless.GetWorkgroupInput{WorkgroupName: aws.String("demo")}); err != nil {
		t.Fatalf("Get* allowed but GetWorkgroup failed: %v", err)
	}
	_, err := c.CreateNamespace(ctx, &redshiftserverless.CreateNamespaceInput{NamespaceName: aws.String("nope")})
	wantAPIError(t, err, "AccessDeniedException", 400,
		"User: arn:aws:iam::123456789012:user/reader is not authorized to perform: redshift-serverless:CreateNamespace on resource: arn:aws:redshift-serverless:us-east-1:123456789012:namespace/* because no identity-based policy allows the redshift-serverless:CreateNamespace action")
	_, err = c.ListWorkgroups(ctx, &redshiftserverless.ListWorkgroupsInput{})
	wantAPIError(t, err, "AccessDeniedException", 400, "")

	// Explicit deny (conditioned on the policy variable's key) beats the Get* allow.
	wg, err := c.GetWorkgroup(ctx, &redshiftserverless.GetWorkgroupInput{WorkgroupName: aws.String("demo")})
	if err != nil {
		t.Fatal(err)
	}
	_ = wg
	_, err = c.GetNamespace(ctx, &redshiftserverless.GetNamespaceInput{NamespaceName: aws.String("demo")})
	wantAPIError(t, err, "AccessDeniedException", 400, "")

	// A caller who may not act learns nothing about what does not exist.
	_, err = srv.Serverless(srv.App).GetWorkgroup(ctx, &redshiftserverless.GetWorkgroupInput{WorkgroupName: aws.String("missing")})
	wantAPIError(t, err, "AccessDeniedException", 400, "")

	// Nothing was created.
	_, err = srv.Serverless(srv.Admin).GetNamespace(ctx, &redshiftserverless.GetNamespaceInput{NamespaceName: aws.String("nope")})
	if !isNotFound(err) {
		t.Fatalf("namespace created despite denial: %v", err)
	}
}

var (
	tagger       = aws.Credentials{AccessKeyID: "AKIATAGGERTAGGER0001", SecretAccessKey: "taggerSecretKeytaggerSecretKey0123456789"}
	taggerNoTags = aws.Credentials{AccessKeyID: "AKIATAGGERTAGGER0002", SecretAccessKey: "taggerSecretKeytaggerSecretKey0123456780"}
)

// withTaggers adds "tagger", who may create workgroups (and tag them, as
// tag-on-create needs) only with team=analytics and read only workgroups
// tagged so, and "tagger-no-tagresource", who lacks TagResource.
func withTaggers(c *config.Config) {
	const createIfAnalytics = `{"Effect": "Allow", "Action": %s, "Resource": "*",
		 "Condition": {"StringEquals": {"aws:RequestTag/team": "analytics"}}}`
	doc := func(stmts ...string) string {
		return `{"Version": "2012-10-17", "Statement": [` + strings.Join(stmts, ",") + `]}`
	}
	withIAMUser(c, "tagger", tagger, "analytics-only", doc(
		fmt.Sprintf(createIfAnalytics, `["redshift-serverless:CreateWorkgroup", "redshift-serverless:TagResource"]`),
		`{"Effect": "Allow", "Action": "redshift-serverless:GetWorkgroup", "Resource": "*",
		  "Condition": {"StringEquals": {"aws:ResourceTag/team": "analytics"}}}`))
	withIAMUser(c, "tagger-no-tagresource", taggerNoTags, "create-only", doc(fmt.Sprintf(createIfAnalytics, `"redshift-serverless:CreateWorkgroup"`)))
}

// TestTagConditions: aws:RequestTag/… decides a create, aws:ResourceTag/…
// a read of an existing workgroup.
func TestTagConditions(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{Edit: withTaggers})
	ctx := context.Background()
	admin := srv.Serverless(srv.Admin)
	for _, n := range []string{"tag-ns", "tag-ns-2"} {
		if _, err := admin.CreateNamespace(ctx, &redshiftserverless.CreateNamespaceInput{NamespaceName: aws.String(n)}); err != nil {
			t.Fatal(err)
		}
	}
	c := srv.Serverless(tagger)
	create := func(c *redshiftserverless.Client, name string, tags ...types.Tag) error {
		_, err := c.CreateWorkgroup(ctx, &redshiftserverless.CreateWorkgroupInput{WorkgroupName: aws.String(name), NamespaceName: aws.String("tag-ns"), BaseCapacity: aws.Int32(8), Tags: tags})
		return err
	}
	team := func(v string) types.Tag { return types.Tag{Key: aws.String("team"), Value: aws.String(v)} }
	const denied = "User: arn:aws:iam::123456789012:user/%s is not authorized to perform: redshift-serverless:%s on resource: arn:aws:redshift-serverless:us-east-1:123456789012:workgroup/* because no identity-based policy allows the redshift-serverless:%s action"

	wantAPIError(t, create(c, "tag-none"), "AccessDeniedException", 400, fmt.Sprintf(denied, "tagger", "CreateWorkgroup", "CreateWorkgroup"))
	wantAPIError(t, create(c, "tag-finance", team("finance")), "AccessDeniedException", 400, fmt.Sprintf(denied, "tagger", "CreateWorkgroup", "CreateWorkgroup"))
	// Tag-on-create also needs TagResource.
	wantAPIError(t, create(srv.Serverless(taggerNoTags), "tag-nt", team("analytics")), "AccessDeniedException", 400, fmt.Sprintf(denied, "tagger-no-tagresource", "TagResource", "TagResource"))
	// Keys equal ignoring case would make one condition key two-valued.
	wantAPIError(t, create(c, "tag-dup", team("analytics"), types.Tag{Key: aws.String("Team"), Value: aws.String("finance")}), "ValidationException", 400,
		"1 validation error detected: Value 'Team' at 'tags.2.member.key' failed to satisfy constraint: Member must not repeat an earlier tag key (keys are compared ignoring case)")
	for _, n := range []string{"tag-none", "tag-finance", "tag-nt", "tag-dup"} {
		if _, err := admin.GetWorkgroup(ctx, &redshiftserverless.GetWorkgroupInput{WorkgroupName: aws.String(n)}); !isNotFound(err) {
			t.Fatalf("refused create of %s left a workgroup: %v", n, err)
		}
	}

	if err := create(c, "tag-ok", team("analytics")); err != nil {
		t.Fatalf("create with team=analytics: %v", err)
	}
	// aws:ResourceTag: the analytics workgroup reads, the untagged demo does not.
	if _, err := c.GetWorkgroup(ctx, &redshiftserverless.GetWorkgroupInput{WorkgroupName: aws.String("tag-ok")}); err != nil {
		t.Fatalf("GetWorkgroup on a team=analytics workgroup: %v", err)
	}
	_, err := c.GetWorkgroup(ctx, &redshiftserverless.GetWorkgroupInput{WorkgroupName: aws.String("demo")})
	wantAPIError(t, err, "AccessDeniedException", 400, "")
}
