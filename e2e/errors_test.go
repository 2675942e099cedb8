package e2e

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/redshiftserverless"
	"github.com/aws/aws-sdk-go-v2/service/redshiftserverless/types"

	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/testserver"
)

// TestDocumentedErrors produces every error the SDK model documents for the
// ten namespace and workgroup operations, and checks code, status and message.
func TestDocumentedErrors(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{Edit: func(c *config.Config) {
		c.Serverless.TransitionDelay = &config.Duration{Duration: time.Hour} // states stay put
		c.Serverless.CapacityRPU = 64
	}})
	c := srv.Serverless(srv.Admin)
	ctx := context.Background()
	tags := make([]types.Tag, 51)
	for i := range tags {
		tags[i] = types.Tag{Key: aws.String(fmt.Sprint("k", i)), Value: aws.String("v")}
	}
	if _, err := c.CreateNamespace(ctx, &redshiftserverless.CreateNamespaceInput{NamespaceName: aws.String("errs")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateNamespace(ctx, &redshiftserverless.CreateNamespaceInput{NamespaceName: aws.String("errs-two")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateNamespace(ctx, &redshiftserverless.CreateNamespaceInput{NamespaceName: aws.String("errs-three")}); err != nil {
		t.Fatal(err)
	}
	// "creating" stays CREATING for the hour-long transition.
	if _, err := c.CreateWorkgroup(ctx, &redshiftserverless.CreateWorkgroupInput{WorkgroupName: aws.String("creating"), NamespaceName: aws.String("errs"), BaseCapacity: aws.Int32(8)}); err != nil {
		t.Fatal(err)
	}
	const nullName = "1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null"
	const badName = "1 validation error detected: Value 'Bad_Name' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-z0-9-]+$"

	// resource is the resourceName a ResourceNotFoundException must carry.
	cases := []struct {
		op, code string
		call     func() error
		msg      string
		resource string
	}{
		{"CreateNamespace", "ConflictException", func() error {
			return errOf(c.CreateNamespace(ctx, &redshiftserverless.CreateNamespaceInput{NamespaceName: aws.String("errs")}))
		}, "Namespace with name errs already exists.", ""},
		{"CreateNamespace", "ValidationException", func() error {
			return errOf(c.CreateNamespace(ctx, &redshiftserverless.CreateNamespaceInput{NamespaceName: aws.String("Bad_Name")}))
		}, fmt.Sprintf(badName, "namespaceName"), ""},
		{"CreateNamespace", "TooManyTagsException", func() error {
			_, err := c.CreateNamespace(ctx, &redshiftserverless.CreateNamespaceInput{NamespaceName: aws.String("tagged"), Tags: tags})
			var tm *types.TooManyTagsException
			if errors.As(err, &tm) && aws.ToString(tm.ResourceName) != "tagged" {
				return fmt.Errorf("resourceName %q", aws.ToString(tm.ResourceName))
			}
			return err
		}, "Exceeded the number of tags allowed for resource tagged: 51 tags given, the maximum is 50.", ""},
		{"GetNamespace", "ResourceNotFoundException", func() error {
			return errOf(c.GetNamespace(ctx, &redshiftserverless.GetNamespaceInput{NamespaceName: aws.String("missing")}))
		}, "Namespace missing not found.", "missing"},
		{"GetNamespace", "ValidationException", func() error {
			return errOf(c.GetNamespace(ctx, &redshiftserverless.GetNamespaceInput{NamespaceName: aws.String("Bad_Name")}))
		}, fmt.Sprintf(badName, "namespaceName"), ""},
		{"ListNamespaces", "ValidationException", func() error {
			return errOf(c.ListNamespaces(ctx, &redshiftserverless.ListNamespacesInput{MaxResults: aws.Int32(0)}))
		}, "1 validation error detected: Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1", ""},
		{"UpdateNamespace", "ConflictException", func() error {
			if _, err := c.UpdateNamespace(ctx, &redshiftserverless.UpdateNamespaceInput{NamespaceName: aws.String("errs-two"), KmsKeyId: aws.String("k1")}); err != nil {
				return err
			}
			_, err := c.UpdateNamespace(ctx, &redshiftserverless.UpdateNamespaceInput{NamespaceName: aws.String("errs-two"), KmsKeyId: aws.String("k2")})
			return err
		}, "Namespace errs-two is currently MODIFYING; it must be AVAILABLE for this operation.", ""},
		{"UpdateNamespace", "ResourceNotFoundException", func() error {
			return errOf(c.UpdateNamespace(ctx, &redshiftserverless.UpdateNamespaceInput{NamespaceName: aws.String("missing")}))
		}, "Namespace missing not found.", "missing"},
		{"UpdateNamespace", "ValidationException", func() error {
			return errOf(c.UpdateNamespace(ctx, &redshiftserverless.UpdateNamespaceInput{NamespaceName: aws.String("errs"), DefaultIamRoleArn: aws.String("not-an-arn")}))
		}, "1 validation error detected: Value 'not-an-arn' at 'defaultIamRoleArn' failed to satisfy constraint: Member must satisfy regular expression pattern: ^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", ""},
		{"DeleteNamespace", "ConflictException", func() error {
			return errOf(c.DeleteNamespace(ctx, &redshiftserverless.DeleteNamespaceInput{NamespaceName: aws.String("errs")}))
		}, "Namespace errs has a workgroup (creating); delete the workgroup first.", ""},
		{"DeleteNamespace", "ResourceNotFoundException", func() error {
			return errOf(c.DeleteNamespace(ctx, &redshiftserverless.DeleteNamespaceInput{NamespaceName: aws.String("missing")}))
		}, "Namespace missing not found.", "missing"},
		{"DeleteNamespace", "ValidationException", func() error {
			return rawError(t, srv, "DeleteNamespace", `{}`)
		}, fmt.Sprintf(nullName, "namespaceName"), ""},
		{"CreateWorkgroup", "ConflictException", func() error {
			return errOf(c.CreateWorkgroup(ctx, &redshiftserverless.CreateWorkgroupInput{WorkgroupName: aws.String("demo"), NamespaceName: aws.String("errs-three"), BaseCapacity: aws.Int32(8)}))
		}, "Workgroup with name demo already exists.", ""},
		{"CreateWorkgroup", "InsufficientCapacityException", func() error {
			return errOf(c.CreateWorkgroup(ctx, &redshiftserverless.CreateWorkgroupInput{WorkgroupName: aws.String("huge"), NamespaceName: aws.String("errs-three"), BaseCapacity: aws.Int32(64)}))
		}, "There is not enough capacity for 64 RPUs: 16 of the 64 RPUs available to this account in this region are in use.", ""},
		{"CreateWorkgroup", "ResourceNotFoundException", func() error {
			return errOf(c.CreateWorkgroup(ctx, &redshiftserverless.CreateWorkgroupInput{WorkgroupName: aws.String("orphan"), NamespaceName: aws.String("no-such-ns")}))
		}, "Namespace no-such-ns not found.", "no-such-ns"},
		{"CreateWorkgroup", "TooManyTagsException", func() error {
			return errOf(c.CreateWorkgroup(ctx, &redshiftserverless.CreateWorkgroupInput{WorkgroupName: aws.String("tagged"), NamespaceName: aws.String("errs-three"), Tags: tags}))
		}, "Exceeded the number of tags allowed for resource tagged: 51 tags given, the maximum is 50.", ""},
		{"CreateWorkgroup", "ValidationException", func() error {
			return errOf(c.CreateWorkgroup(ctx, &redshiftserverless.CreateWorkgroupInput{WorkgroupName: aws.String("okname"), NamespaceName: aws.String("errs-three"), BaseCapacity: aws.Int32(4)}))
		}, "1 validation error detected: Value '4' at 'baseCapacity' failed to satisfy constraint: Member must have value greater than or equal to 8", ""},
		{"GetWorkgroup", "ResourceNotFoundException", func() error {
			return errOf(c.GetWorkgroup(ctx, &redshiftserverless.GetWorkgroupInput{WorkgroupName: aws.String("missing")}))
		}, "Workgroup missing not found.", "missing"},
		{"GetWorkgroup", "ValidationException", func() error {
			return errOf(c.GetWorkgroup(ctx, &redshiftserverless.GetWorkgroupInput{WorkgroupName: aws.String("Bad_Name")}))
		}, fmt.Sprintf(badName, "workgroupName"), ""},
		{"ListWorkgroups", "ValidationException", func() error {
			return errOf(c.ListWorkgroups(ctx, &redshiftserverless.ListWorkgroupsInput{NextToken: aws.String("tampered")}))
		}, "Invalid nextToken provided.", ""},
		{"UpdateWorkgroup", "ConflictException", func() error {
			return errOf(c.UpdateWorkgroup(ctx, &redshiftserverless.UpdateWorkgroupInput{WorkgroupName: aws.String("creating"), BaseCapacity: aws.Int32(16)}))
		}, "Workgroup creating is currently CREATING; it must be AVAILABLE for this operation.", ""},
		{"UpdateWorkgroup", "InsufficientCapacityException", func() error {
			return errOf(c.UpdateWorkgroup(ctx, &redshiftserverless.UpdateWorkgroupInput{WorkgroupName: aws.String("demo"), BaseCapacity: aws.Int32(64)}))
		}, "There is not enough capacity for 64 RPUs: 8 of the 64 RPUs available to this account in this region are in use.", ""},
		{"UpdateWorkgroup", "ResourceNotFoundException", func() error {
			return errOf(c.UpdateWorkgroup(ctx, &redshiftserverless.UpdateWorkgroupInput{WorkgroupName: aws.String("missing")}))
		}, "Workgroup missing not found.", "missing"},
		{"UpdateWorkgroup", "ValidationException", func() error {
			return errOf(c.UpdateWorkgroup(ctx, &redshiftserverless.UpdateWorkgroupInput{WorkgroupName: aws.String("demo"), Port: aws.Int32(22)}))
		}, "1 validation error detected: Value '22' at 'port' failed to satisfy constraint: Member must be between 5431 and 5455 or between 8191 and 8215", ""},
		{"DeleteWorkgroup", "ConflictException", func() error {
			return errOf(c.DeleteWorkgroup(ctx, &redshiftserverless.DeleteWorkgroupInput{WorkgroupName: aws.String("creating")}))
		}, "Workgroup creating is currently CREATING; it must be AVAILABLE for this operation.", ""},
		{"DeleteWorkgroup", "ResourceNotFoundException", func() error {
			return errOf(c.DeleteWorkgroup(ctx, &redshiftserverless.DeleteWorkgroupInput{WorkgroupName: aws.String("missing")}))
		}, "Workgroup missing not found.", "missing"},
		{"DeleteWorkgroup", "ValidationException", func() error {
			return rawError(t, srv, "DeleteWorkgroup", `{"workgroupName":null}`)
		}, fmt.Sprintf(nullName, "workgroupName"), ""},
	}
	for _, tc := range cases {
		t.Run(tc.op+"/"+tc.code, func(t *testing.T) {
			err := tc.call()
			wantAPIError(t, err, tc.code, 400, tc.msg)
			if tc.code != "ResourceNotFoundException" {
				return
			}
			var rnf *types.ResourceNotFoundException
			if !errors.As(err, &rnf) || aws.ToString(rnf.ResourceName) != tc.resource {
				t.Fatalf("resourceName of %v, want %q", err, tc.resource)
			}
		})
	}
}

// rawError sends a body the SDK would refuse to build, and turns the
// response into an error with the same shape checks.
func rawError(t *testing.T, srv *testserver.Server, op, body string) error {
	resp := srv.CallServerless(t, srv.Admin, op, []byte(body))
	return &rawAPIError{resp: resp, t: t}
}

// TestInternalServerException makes the store fail under every operation:
// each answers InternalServerException (500) without the cause.
func TestInternalServerException(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	alice := srv.IdentitySession(t, "alice", testserver.AnalystRoleArn)
	srv.Instance.Store.Close()
	t.Run("GetIdentityCenterAuthToken", func(t *testing.T) {
		wantInternal(t, srv.CallServerless(t, alice, "GetIdentityCenterAuthToken", []byte(`{"workgroupNames":["demo"]}`)))
	})
	ops := map[string]string{
		"CreateNamespace": `{"namespaceName":"boom"}`,
		"GetNamespace":    `{"namespaceName":"demo"}`,
		"ListNamespaces":  `{}`,
		"UpdateNamespace": `{"namespaceName":"demo"}`,
		"DeleteNamespace": `{"namespaceName":"demo"}`,
		"CreateWorkgroup": `{"workgroupName":"boom","namespaceName":"demo"}`,
		"GetWorkgroup":    `{"workgroupName":"demo"}`,
		"ListWorkgroups":  `{}`,
		"UpdateWorkgroup": `{"workgroupName":"demo"}`,
		"DeleteWorkgroup": `{"workgroupName":"demo"}`,
	}
	for op, body := range ops {
		t.Run(op, func(t *testing.T) {
			wantInternal(t, srv.CallServerless(t, srv.Admin, op, []byte(body)))
		})
	}
}

// wantInternal checks AWS's InternalServerException shape: 500, the
// X-Amzn-ErrorType header, a request id, and a message that says nothing of
// the cause.
func wantInternal(t *testing.T, resp *testserver.RawResponse) {
	t.Helper()
	m := resp.JSON(t)
	if resp.Status != 500 || m["__type"] != "InternalServerException" ||
		m["message"] != "The request processing has failed because of an unknown error, exception or failure." {
		t.Fatalf("%d %s", resp.Status, resp.Body)
	}
	if h := resp.Header.Get("X-Amzn-ErrorType"); h != "InternalServerException" {
		t.Fatalf("X-Amzn-ErrorType = %q", h)
	}
	if id := resp.Header.Get("x-amzn-RequestId"); !requestIDRe.MatchString(id) {
		t.Fatalf("x-amzn-RequestId = %q", id)
	}
	if len(m) != 2 {
		t.Fatalf("extra members in the error body: %s", resp.Body)
	}
}

var requestIDRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
