package sigv4

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// checkCoverageByMap is step 5 as it was written first (a map of the
// signed names, each header name lower-cased): the reference the
// allocation-free checkCoverage must agree with.
func checkCoverageByMap(r *http.Request, ai authInfo) error {
	signed := map[string]bool{}
	for i, h := range ai.signedHeaders {
		if h == "" || h != strings.ToLower(h) || (i > 0 && ai.signedHeaders[i-1] >= h) {
			return fail(ErrIncompleteSignature, "SignedHeaders must be lower-case header names, sorted and separated by ';'.")
		}
		signed[h] = true
	}
	if !signed["host"] {
		return fail(ErrIncompleteSignature, "'Host' must be a 'SignedHeader' in the AWS Authorization.")
	}
	for name := range r.Header {
		lower := strings.ToLower(name)
		mustSign := strings.HasPrefix(lower, "x-amz-") || lower == "content-type"
		if ai.presigned && (lower == "x-amz-content-sha256") {
			mustSign = false
		}
		if !ai.presigned && lower == "x-amz-security-token" {
			mustSign = true
		}
		if mustSign && !signed[lower] {
			return fail(ErrIncompleteSignature, "'%s' must be a 'SignedHeader' in the AWS Authorization.", printable(canonicalName(name)))
		}
	}
	return nil
}

var unsignedName = regexp.MustCompile(`^'([^']*)' must be a 'SignedHeader'`)

func TestCheckCoverageAgreesWithTheMapForm(t *testing.T) {
	t.Parallel()
	headerSets := [][]string{
		nil,
		{"X-Amz-Date"},
		{"X-Amz-Date", "Content-Type", "X-Amz-Target"},
		{"X-Amz-Security-Token"},
		{"X-Amz-Content-Sha256"},
		{"x-amz-lower", "CONTENT-TYPE"},
		{"X-Amz-", "X-Amz", "Content-Typ", "Content-Type-X", "Accept"},
		{"User-Agent", "Authorization", "Content-Length"},
	}
	signedSets := [][]string{
		{"host"},
		{"content-type", "host", "x-amz-date"},
		{"content-type", "host", "x-amz-date", "x-amz-target"},
		{"host", "x-amz-security-token"},
		{"host", "x-amz-content-sha256", "x-amz-date"},
		{"content-type", "x-amz-date"},     // no host
		{"Host"},                           // not lower-case
		{"x-amz-date", "host"},             // not sorted
		{"host", "host"},                   // repeated
		{"", "host"},                       // empty name
		{"content-type", "host", "x-amz-"}, // the bare prefix
	}
	for _, hs := range headerSets {
		for _, ss := range signedSets {
			for _, presigned := range []bool{false, true} {
				r := &http.Request{Header: http.Header{}}
				for _, h := range hs {
					r.Header[h] = []string{"v"}
				}
				ai := authInfo{signedHeaders: ss, presigned: presigned}
				// Which of several unsigned headers is named depends on
				// the map's order, in both forms: compare the message with
				// the name left out, and check the name is one that must
				// be signed.
				got, want := checkCoverage(r, ai), checkCoverageByMap(r, ai)
				if m := unsignedName.FindStringSubmatch(fmt.Sprint(got)); m != nil && m[1] != "Host" && checkCoverageByMap(&http.Request{Header: http.Header{m[1]: {"v"}}}, ai) == nil {
					t.Errorf("headers %q, signed %q, presigned %v: %v names a header that need not be signed", hs, ss, presigned, got)
				}
				if unsignedName.ReplaceAllString(fmt.Sprint(got), "?") != unsignedName.ReplaceAllString(fmt.Sprint(want), "?") {
					t.Errorf("headers %q, signed %q, presigned %v: %v, want %v", hs, ss, presigned, got, want)
				}
			}
		}
	}
}
