package serverless

import (
	"context"
	"errors"
	"testing"

	"github.com/idcgate/idcgate/internal/validation"
)

func TestParseARN(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		arn  string
		want ParsedARN
		ok   bool
	}{
		{"arn:aws:redshift-serverless:us-east-1:123456789012:workgroup/abc", ParsedARN{Scope{"123456789012", "us-east-1"}, "workgroup", "abc"}, true},
		{"arn:aws-cn:redshift-serverless:cn-north-1:123456789012:namespace/x/y", ParsedARN{Scope{"123456789012", "cn-north-1"}, "namespace", "x/y"}, true},
		{"arn:aws:redshift:us-east-1:123456789012:workgroup/abc", ParsedARN{}, false},
		{"arn:aws:redshift-serverless:us-east-1:12345:workgroup/abc", ParsedARN{}, false},
		{"arn:aws:redshift-serverless::123456789012:workgroup/abc", ParsedARN{}, false},
		{"arn:aws:redshift-serverless:us-east-1:123456789012:workgroup", ParsedARN{}, false},
		{"arn:aws:redshift-serverless:us-east-1:123456789012:workgroup/", ParsedARN{}, false},
		{"demo", ParsedARN{}, false},
		{"", ParsedARN{}, false},
	} {
		t.Run(tc.arn, func(t *testing.T) {
			got, err := ParseARN("resourceArn", tc.arn)
			if tc.ok != (err == nil) || got != tc.want {
				t.Fatalf("ParseARN = %+v, %v", got, err)
			}
			if err != nil && !errors.Is(err, validation.ErrInvalid) {
				t.Fatalf("not a validation error: %v", err)
			}
		})
	}
}

// TestRetagBoundToID: a tag change found the resource by its ARN; if the
// name was deleted and made again in between, the new resource (another
// id, another ARN) is not touched.
func TestRetagBoundToID(t *testing.T) {
	t.Parallel()
	s, _, _ := newService(0)
	ctx := context.Background()
	ns, err := s.CreateNamespace(ctx, scope, CreateNamespaceInput{NamespaceName: p("tagged"), Tags: []Tag{{"a", "1"}}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.ResourceByARN(ctx, scope, ns.NamespaceArn)
	if err != nil || res.Kind != KindNamespace || res.Name != "tagged" || len(res.Tags) != 1 {
		t.Fatalf("ResourceByARN = %+v %v", res, err)
	}
	if tags, err := s.TagResource(ctx, scope, res, []Tag{{"b", "2"}, {"a", "3"}}); err != nil || len(tags) != 2 || tags[0] != (Tag{"a", "3"}) {
		t.Fatalf("TagResource = %v %v", tags, err)
	}
	if tags, err := s.UntagResource(ctx, scope, res, []string{"a", "b"}); err != nil || len(tags) != 0 {
		t.Fatalf("UntagResource = %v %v", tags, err)
	}
	if _, err := s.DeleteNamespace(ctx, scope, ns.NamespaceId, DeleteNamespaceInput{NamespaceName: p("tagged")}); err != nil {
		t.Fatal(err)
	}
	again, err := s.CreateNamespace(ctx, scope, CreateNamespaceInput{NamespaceName: p("tagged")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.TagResource(ctx, scope, res, []Tag{{"c", "3"}})
	var ae *Error
	if !errors.As(err, &ae) || !errors.Is(err, ErrNotFound) || ae.ResourceName != ns.NamespaceArn {
		t.Fatalf("tagging the old id: %v", err)
	}
	if got, _ := s.GetNamespace(ctx, scope, "tagged"); got.NamespaceId != again.NamespaceId || len(got.Tags) != 0 {
		t.Fatalf("the new namespace was changed: %+v", got)
	}
	if _, err := s.ResourceByARN(ctx, scope, ns.NamespaceArn); !errors.Is(err, ErrNotFound) {
		t.Fatalf("old ARN: %v", err)
	}
}
