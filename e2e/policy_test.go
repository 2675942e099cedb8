package e2e

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/redshiftserverless"

	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/testserver"
)

var reader = aws.Credentials{AccessKeyID: "AKIAREADERREADER0001", SecretAccessKey: "readerSecretKeyreaderSecretKey0123456789"}

func withReader(c *config.Config) {
	c.Accounts[0].Users = append(c.Accounts[0].Users, config.User{
		Name:       "reader",
		AccessKeys: []config.AccessKey{{AccessKeyID: reader.AccessKeyID, SecretAccessKey: reader.SecretAccessKey}},
		Policies: []config.Policy{{Name: "get-only", Document: config.Document{JSON: []byte(`{
			"Version": "2012-10-17",
			"Statement": [
				{"Effect": "Allow", "Action": "redshift-serverless:Get*", "Resource": "*"},
				{"Effect": "Deny", "Action": "redshift-serverless:GetNamespace", "Resource": "*",
				 "Condition": {"StringEquals": {"aws:username": "reader"}}}
			]}`)}}},
	})
}

func TestIAMUserWithGetOnlyCannotCreate(t *testing.T) {
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
