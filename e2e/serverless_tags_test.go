package e2e

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/redshiftserverless"
	"github.com/aws/aws-sdk-go-v2/service/redshiftserverless/types"

	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/testserver"
)

// tag-user may tag only with team=data (and no other key), untag and list,
// but never untag a resource tagged protected=yes.
var tagUser = aws.Credentials{AccessKeyID: "AKIATAGGER0000000001", SecretAccessKey: "taggerSecretKeytaggerSecretKey0123456789"}

func withTagger(c *config.Config) {
	withIAMUser(c, "tag-user", tagUser, "tagging", `{"Version":"2012-10-17","Statement":[
			{"Effect":"Allow","Action":"redshift-serverless:TagResource","Resource":"*",
			 "Condition":{"StringEquals":{"aws:RequestTag/team":"data"},"ForAllValues:StringEquals":{"aws:TagKeys":["team"]}}},
			{"Effect":"Allow","Action":["redshift-serverless:UntagResource","redshift-serverless:ListTagsForResource"],"Resource":"*"},
			{"Effect":"Deny","Action":"redshift-serverless:UntagResource","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/protected":"yes"}}}]}`)
}

func tags(kv ...string) []types.Tag {
	var out []types.Tag
	for i := 0; i < len(kv); i += 2 {
		out = append(out, types.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return out
}

// demoNamespaceAndWorkgroup are the example config's namespace and
// workgroup "demo", as GetNamespace and GetWorkgroup answer them.
func demoNamespaceAndWorkgroup(t *testing.T, c *redshiftserverless.Client) (*types.Namespace, *types.Workgroup) {
	t.Helper()
	ctx := context.Background()
	ns, err := c.GetNamespace(ctx, &redshiftserverless.GetNamespaceInput{NamespaceName: aws.String("demo")})
	if err != nil {
		t.Fatal(err)
	}
	wg, err := c.GetWorkgroup(ctx, &redshiftserverless.GetWorkgroupInput{WorkgroupName: aws.String("demo")})
	if err != nil {
		t.Fatal(err)
	}
	return ns.Namespace, wg.Workgroup
}

// tagMap is ListTagsForResource's answer as key=value strings, sorted.
func tagMap(t *testing.T, c *redshiftserverless.Client, arn string) []string {
	t.Helper()
	out, err := c.ListTagsForResource(context.Background(), &redshiftserverless.ListTagsForResourceInput{ResourceArn: &arn})
	if err != nil {
		t.Fatal(err)
	}
	kv := namesOf(out.Tags, func(tg types.Tag) string { return aws.ToString(tg.Key) + "=" + aws.ToString(tg.Value) })
	slices.Sort(kv)
	return kv
}

func wantResourceName(t *testing.T, err error, name string) {
	t.Helper()
	var rnf *types.ResourceNotFoundException
	if !errors.As(err, &rnf) || aws.ToString(rnf.ResourceName) != name {
		t.Fatalf("want ResourceNotFoundException naming %q, got %v", name, err)
	}
}

// TestTagging: TagResource, UntagResource and ListTagsForResource on
// namespaces and workgroups by ARN, AWS's limits and errors, and the tag
// condition keys in IAM.
func TestTagging(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{Edit: withTagger})
	ctx := context.Background()
	c := srv.Serverless(srv.Admin)
	ns, wg := demoNamespaceAndWorkgroup(t, c)
	nsArn, wgArn := aws.ToString(ns.NamespaceArn), aws.ToString(wg.WorkgroupArn)

	if got := tagMap(t, c, wgArn); len(got) != 0 {
		t.Fatalf("untagged workgroup: %v", got)
	}
	if _, err := c.TagResource(ctx, &redshiftserverless.TagResourceInput{ResourceArn: &wgArn, Tags: tags("env", "dev", "team", "data")}); err != nil {
		t.Fatal(err)
	}
	// A key it has gets the new value; the namespace is not touched.
	if _, err := c.TagResource(ctx, &redshiftserverless.TagResourceInput{ResourceArn: &wgArn, Tags: tags("env", "prod", "cost", "")}); err != nil {
		t.Fatal(err)
	}
	if got := tagMap(t, c, wgArn); !slices.Equal(got, []string{"cost=", "env=prod", "team=data"}) {
		t.Fatalf("workgroup tags %v", got)
	}
	if got := tagMap(t, c, nsArn); len(got) != 0 {
		t.Fatalf("namespace tags %v", got)
	}
	// Keys it does not have are ignored.
	if _, err := c.UntagResource(ctx, &redshiftserverless.UntagResourceInput{ResourceArn: &wgArn, TagKeys: []string{"cost", "nope"}}); err != nil {
		t.Fatal(err)
	}
	if got := tagMap(t, c, wgArn); !slices.Equal(got, []string{"env=prod", "team=data"}) {
		t.Fatalf("after untag %v", got)
	}

	t.Run("errors", func(t *testing.T) {
		missing := "arn:aws:redshift-serverless:us-east-1:123456789012:workgroup/00000000-0000-4000-8000-000000000000"
		_, err := c.ListTagsForResource(ctx, &redshiftserverless.ListTagsForResourceInput{ResourceArn: &missing})
		wantAPIError(t, err, "ResourceNotFoundException", 400, "Resource "+missing+" not found.")
		wantResourceName(t, err, missing)
		other := "arn:aws:redshift-serverless:us-east-1:210987654321:namespace/" + aws.ToString(ns.NamespaceId)
		// Another account's resource: its root has no say here, as in AWS.
		_, err = c.TagResource(ctx, &redshiftserverless.TagResourceInput{ResourceArn: &other, Tags: tags("a", "b")})
		wantAPIError(t, err, "AccessDeniedException", 400, "")
		snapshotArn := "arn:aws:redshift-serverless:us-east-1:123456789012:snapshot/00000000-0000-4000-8000-000000000000"
		_, err = c.UntagResource(ctx, &redshiftserverless.UntagResourceInput{ResourceArn: &snapshotArn, TagKeys: []string{"a"}})
		wantResourceName(t, err, snapshotArn)
		_, err = c.ListTagsForResource(ctx, &redshiftserverless.ListTagsForResourceInput{ResourceArn: aws.String("demo")})
		wantAPIError(t, err, "ValidationException", 400, "Invalid ARN demo: expected arn:aws:redshift-serverless:<region>:<account>:<resource type>/<id>.")

		_, err = c.TagResource(ctx, &redshiftserverless.TagResourceInput{ResourceArn: &wgArn, Tags: tags("aws:owner", "x")})
		wantAPIError(t, err, "ValidationException", 400,
			"1 validation error detected: Value 'aws:owner' at 'tags.1.member.key' failed to satisfy constraint: Member must not start with the reserved prefix aws:")
		_, err = c.UntagResource(ctx, &redshiftserverless.UntagResourceInput{ResourceArn: &wgArn, TagKeys: []string{"AWS:x"}})
		wantAPIError(t, err, "ValidationException", 400,
			"1 validation error detected: Value 'AWS:x' at 'tagKeys.1.member' failed to satisfy constraint: Member must not start with the reserved prefix aws:")
		_, err = c.TagResource(ctx, &redshiftserverless.TagResourceInput{ResourceArn: &wgArn, Tags: tags("ENV", "x")})
		wantAPIError(t, err, "ValidationException", 400, "Tag key ENV differs only in case from the resource's tag key env; remove that tag first.")
		_, err = c.TagResource(ctx, &redshiftserverless.TagResourceInput{ResourceArn: &wgArn, Tags: tags("bad\x01key", "x")})
		wantAPIError(t, err, "ValidationException", 400, "")
		_, err = c.TagResource(ctx, &redshiftserverless.TagResourceInput{ResourceArn: &wgArn, Tags: tags(string(make([]byte, 129)), "x")})
		wantAPIError(t, err, "ValidationException", 400, "")

		// 2 tags now; 49 more make 51.
		var many []string
		for i := range 49 {
			many = append(many, fmt.Sprintf("k%02d", i), "v")
		}
		_, err = c.TagResource(ctx, &redshiftserverless.TagResourceInput{ResourceArn: &wgArn, Tags: tags(many...)})
		wantAPIError(t, err, "TooManyTagsException", 400, "Exceeded the number of tags allowed for resource "+wgArn+": it would have 51 tags, the maximum is 50.")
		var tmt *types.TooManyTagsException
		if !errors.As(err, &tmt) || aws.ToString(tmt.ResourceName) != wgArn {
			t.Fatalf("TooManyTagsException resourceName: %v", err)
		}
		if got := tagMap(t, c, wgArn); !slices.Equal(got, []string{"env=prod", "team=data"}) {
			t.Fatalf("refused calls changed the tags: %v", got)
		}
		// 48 more make exactly 50.
		if _, err := c.TagResource(ctx, &redshiftserverless.TagResourceInput{ResourceArn: &wgArn, Tags: tags(many[:96]...)}); err != nil {
			t.Fatal(err)
		}
		if got := tagMap(t, c, wgArn); len(got) != 50 {
			t.Fatalf("%d tags", len(got))
		}
	})

	t.Run("condition keys", func(t *testing.T) {
		tc := srv.Serverless(tagUser)
		if _, err := tc.TagResource(ctx, &redshiftserverless.TagResourceInput{ResourceArn: &nsArn, Tags: tags("team", "data")}); err != nil {
			t.Fatalf("team=data: %v", err)
		}
		deny := func(err error, what string) {
			t.Helper()
			wantAPIError(t, err, "AccessDeniedException", 400, "User: arn:aws:iam::123456789012:user/tag-user is not authorized to perform: redshift-serverless:"+what+" on resource: "+nsArn+" because no identity-based policy allows the redshift-serverless:"+what+" action")
		}
		deny(errOf(tc.TagResource(ctx, &redshiftserverless.TagResourceInput{ResourceArn: &nsArn, Tags: tags("team", "ops")})), "TagResource")
		deny(errOf(tc.TagResource(ctx, &redshiftserverless.TagResourceInput{ResourceArn: &nsArn, Tags: tags("team", "data", "extra", "x")})), "TagResource")
		// A resource tagged protected=yes cannot be untagged by tagUser: an
		// explicit deny on aws:ResourceTag/protected.
		if _, err := c.TagResource(ctx, &redshiftserverless.TagResourceInput{ResourceArn: &nsArn, Tags: tags("protected", "yes")}); err != nil {
			t.Fatal(err)
		}
		_, err := tc.UntagResource(ctx, &redshiftserverless.UntagResourceInput{ResourceArn: &nsArn, TagKeys: []string{"team"}})
		wantAPIError(t, err, "AccessDeniedException", 400, "User: arn:aws:iam::123456789012:user/tag-user is not authorized to perform: redshift-serverless:UntagResource on resource: "+nsArn+" with an explicit deny in an identity-based policy")
		if got := tagMap(t, tc, nsArn); !slices.Equal(got, []string{"protected=yes", "team=data"}) {
			t.Fatalf("namespace tags %v", got)
		}
		if _, err := c.UntagResource(ctx, &redshiftserverless.UntagResourceInput{ResourceArn: &nsArn, TagKeys: []string{"protected"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := tc.UntagResource(ctx, &redshiftserverless.UntagResourceInput{ResourceArn: &nsArn, TagKeys: []string{"team"}}); err != nil {
			t.Fatalf("untag once unprotected: %v", err)
		}
	})
}

// TestTerraformApplyDestroy replays what a Terraform apply, a tags change
// and a destroy of aws_redshiftserverless_namespace and _workgroup call.
func TestTerraformApplyDestroy(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{Edit: fastTransitions(50 * time.Millisecond)})
	ctx := context.Background()
	c := srv.Serverless(srv.Admin)

	// apply: create, read back, read the tags.
	ns, err := c.CreateNamespace(ctx, &redshiftserverless.CreateNamespaceInput{NamespaceName: aws.String("tf-ns"), DbName: aws.String("tfdb"),
		Tags: tags("Name", "tf-ns", "env", "dev")})
	if err != nil {
		t.Fatal(err)
	}
	nsArn := aws.ToString(ns.Namespace.NamespaceArn)
	waitNamespace(t, c, "tf-ns", types.NamespaceStatusAvailable)
	if got := tagMap(t, c, nsArn); !slices.Equal(got, []string{"Name=tf-ns", "env=dev"}) {
		t.Fatalf("namespace tags %v", got)
	}
	wg, err := c.CreateWorkgroup(ctx, &redshiftserverless.CreateWorkgroupInput{WorkgroupName: aws.String("tf-wg"), NamespaceName: aws.String("tf-ns"),
		BaseCapacity: aws.Int32(8), Tags: tags("Name", "tf-wg")})
	if err != nil {
		t.Fatal(err)
	}
	wgArn := aws.ToString(wg.Workgroup.WorkgroupArn)
	waitWorkgroup(t, c, "tf-wg", types.WorkgroupStatusAvailable)
	if got := tagMap(t, c, wgArn); !slices.Equal(got, []string{"Name=tf-wg"}) {
		t.Fatalf("workgroup tags %v", got)
	}
	// The provider's reads after create.
	for _, call := range []func() error{
		func() error {
			return errOf(c.ListEndpointAccess(ctx, &redshiftserverless.ListEndpointAccessInput{WorkgroupName: aws.String("tf-wg")}))
		},
		func() error {
			return errOf(c.GetTrack(ctx, &redshiftserverless.GetTrackInput{TrackName: wg.Workgroup.TrackName}))
		},
	} {
		if err := call(); err != nil {
			t.Fatal(err)
		}
	}

	// apply of a tags change: the provider diffs and calls Untag, then Tag.
	if _, err := c.UntagResource(ctx, &redshiftserverless.UntagResourceInput{ResourceArn: &nsArn, TagKeys: []string{"env"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TagResource(ctx, &redshiftserverless.TagResourceInput{ResourceArn: &nsArn, Tags: tags("owner", "data-team")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TagResource(ctx, &redshiftserverless.TagResourceInput{ResourceArn: &wgArn, Tags: tags("Name", "tf-wg-2")}); err != nil {
		t.Fatal(err)
	}
	if got := tagMap(t, c, nsArn); !slices.Equal(got, []string{"Name=tf-ns", "owner=data-team"}) {
		t.Fatalf("namespace tags after update %v", got)
	}
	if got := tagMap(t, c, wgArn); !slices.Equal(got, []string{"Name=tf-wg-2"}) {
		t.Fatalf("workgroup tags after update %v", got)
	}
	// Tagging changes no state: no transition, the resources stay AVAILABLE.
	if got, err := c.GetWorkgroup(ctx, &redshiftserverless.GetWorkgroupInput{WorkgroupName: aws.String("tf-wg")}); err != nil || got.Workgroup.Status != types.WorkgroupStatusAvailable {
		t.Fatalf("workgroup after tagging: %v %v", got, err)
	}

	// destroy.
	if _, err := c.DeleteWorkgroup(ctx, &redshiftserverless.DeleteWorkgroupInput{WorkgroupName: aws.String("tf-wg")}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, "workgroup tf-wg", func() error {
		return errOf(c.GetWorkgroup(ctx, &redshiftserverless.GetWorkgroupInput{WorkgroupName: aws.String("tf-wg")}))
	})
	if _, err := c.DeleteNamespace(ctx, &redshiftserverless.DeleteNamespaceInput{NamespaceName: aws.String("tf-ns")}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, "namespace tf-ns", func() error {
		return errOf(c.GetNamespace(ctx, &redshiftserverless.GetNamespaceInput{NamespaceName: aws.String("tf-ns")}))
	})
	_, err = c.GetNamespace(ctx, &redshiftserverless.GetNamespaceInput{NamespaceName: aws.String("tf-ns")})
	wantResourceName(t, err, "tf-ns")
	_, err = c.ListTagsForResource(ctx, &redshiftserverless.ListTagsForResourceInput{ResourceArn: &wgArn})
	wantResourceName(t, err, wgArn)
}
