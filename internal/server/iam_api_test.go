package server

import (
	"errors"
	"net/http"
	"net/url"
	"testing"

	"github.com/idcgate/idcgate/internal/apierror"
	"github.com/idcgate/idcgate/internal/protocol/awsquery"
	"github.com/idcgate/idcgate/internal/validation"
)

func TestPolicyEscape(t *testing.T) {
	for _, doc := range []string{
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`,
		"{\n  \"a b\": \"+/~é\"\n}",
	} {
		got := policyEscape(doc)
		back, err := url.QueryUnescape(got)
		if err != nil || back != doc {
			t.Errorf("%q → %q → %q, %v", doc, got, back, err)
		}
		for _, c := range got {
			if c == '+' || c == ' ' || c == '"' || c == ':' || c == '/' {
				t.Errorf("%q left %q unescaped", got, c)
			}
		}
	}
	if got := policyEscape(`{"a":"b c"}`); got != "%7B%22a%22%3A%22b%20c%22%7D" {
		t.Errorf("escape = %s", got)
	}
}

func TestIAMSigningRegion(t *testing.T) {
	for _, tc := range []struct {
		own, auth, want string
	}{
		{"us-east-1", "AWS4-HMAC-SHA256 Credential=AKIA/20261207/us-east-1/iam/aws4_request, …", "us-east-1"},
		{"eu-west-1", "AWS4-HMAC-SHA256 Credential=AKIA/20261207/us-east-1/iam/aws4_request, …", "us-east-1"},
		{"eu-west-1", "AWS4-HMAC-SHA256 Credential=AKIA/20261207/eu-west-1/iam/aws4_request, …", "eu-west-1"},
		{"eu-west-1", "AWS4-HMAC-SHA256 Credential=AKIA/20261207/ap-south-1/iam/aws4_request, …", "us-east-1"},
		{"eu-west-1", "AWS4-HMAC-SHA256 Credential=AKIA/20261207/eu-west-1/sts/aws4_request, …", "us-east-1"},
	} {
		r := &http.Request{Header: http.Header{"Authorization": {tc.auth}}, URL: &url.URL{}}
		if got := iamSigningRegion(r, tc.own); got != tc.want {
			t.Errorf("own %s, %s: %s, want %s", tc.own, tc.auth, got, tc.want)
		}
	}
}

// TestNoPermissionsBoundary: CreateRole and CreateUser refuse a
// permissions boundary, naming what they would have created; without one
// they go on.
func TestNoPermissionsBoundary(t *testing.T) {
	t.Parallel()
	for _, op := range []struct {
		op   string
		kind string
		h    queryHandler
	}{{"CreateRole", "role", (*Server).iamCreateRole}, {"CreateUser", "user", (*Server).iamCreateUser}} {
		params := awsquery.Params{"PermissionsBoundary": {"arn:aws:iam::aws:policy/ReadOnlyAccess"}}
		_, err := op.h(&Server{}, &call{op: op.op}, params)
		var ae *apierror.Error
		want := "PermissionsBoundary: idcgate has no managed policies, so arn:aws:iam::aws:policy/ReadOnlyAccess cannot be a permissions boundary; create the " + op.kind + " without one."
		if !errors.Is(err, validation.ErrInvalid) || !errors.As(err, &ae) || ae.Message != want {
			t.Errorf("%s: %v, want ValidationError %q", op.op, err, want)
		}
	}
	if err := noPermissionsBoundary("role", awsquery.Params{"RoleName": {"r"}}); err != nil {
		t.Errorf("no boundary: %v", err)
	}
}
