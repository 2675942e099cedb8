package server

import (
	"net/http"
	"net/url"
	"testing"
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
