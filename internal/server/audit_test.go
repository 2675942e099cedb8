package server

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/idcgate/idcgate/internal/audit"
	"github.com/idcgate/idcgate/internal/auth"
)

// TestRedactedParametersEqualsDecodeAndRedact: the direct build of the
// SDK's body gives what decoding and redacting give, for bodies the fast
// path takes and bodies it must leave to the general one.
func TestRedactedParametersEqualsDecodeAndRedact(t *testing.T) {
	bodies := []string{
		`{"workgroupNames":["demo"]}`,
		`{"workgroupNames":["demo","demo","wg-01"]}`,
		" {\n \"workgroupNames\" : [ \"abc\" ,\t\"def\" ] } \r\n",
		`{"workgroupNames":["a-b-c","x01","zzz","aaa","bbb","ccc","ddd","eee","fff","ggg","hhh","iii","jjj","kkk","lll","mmm","nnn","ooo","ppp","qqq"]}`,
		`{"workgroupNames":["a-b-c","x01","zzz","aaa","bbb","ccc","ddd","eee","fff","ggg","hhh","iii","jjj","kkk","lll","mmm","nnn","ooo","ppp","qqq","rrr"]}`,
		`{"workgroupNames":["de\u006do"]}`,
		`{"workgroupNames":["Demo"]}`,
		`{"workgroupNames":["demo"],"token":"secret"}`,
		`{"token":"secret","workgroupNames":["demo"]}`,
		`{"workgroupNames":[]}`,
		`{"workgroupNames":"demo"}`,
		`{"workgroupNames":["demo"]}x`,
		`{"workgroupNames":["demo"]`,
		`{"password":"p","nested":{"clientSecret":"s","list":[{"refreshToken":"r"}]}}`,
		`{}`, `[]`, `null`, ``, `{"workgroupNames":null}`,
	}
	// Query-protocol services (STS, Redshift) read the body as a form.
	for _, rt := range []routed{{service: serviceServerless}, {service: serviceOIDC}, {service: serviceAdmin}, {service: serviceSTS}, {service: serviceRedshift}} {
		for _, b := range bodies {
			r := httptest.NewRequest(http.MethodPost, "/", nil)
			got := redactedParameters(r, rt, []byte(b))
			want := audit.Redact(requestParameters(r, rt, []byte(b)))
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s %q: got %#v, want %#v", rt.service, b, got, want)
			}
		}
	}
}

// A record keeps a bounded amount of what the client chose: the user agent
// cut to 1 KiB on a character boundary, and no parameters from a large
// body when the call failed authentication (anyone can send one). An
// authenticated call keeps its parameters.
func TestAuditRecordBoundsClientText(t *testing.T) {
	t.Parallel()
	s := New(Deps{Region: "us-east-1"})
	big := `{"workgroupName":"` + strings.Repeat("w", 8000) + `"}`
	rt := routed{service: serviceServerless, op: "GetWorkgroup"}
	root := &auth.Principal{ARN: "arn:aws:iam::123456789012:root", Account: "123456789012", Kind: auth.KindRoot}
	cases := []struct {
		name       string
		ua, body   string
		p          *auth.Principal
		wantParams bool
	}{
		{"long user agent", strings.Repeat("é", 4000), `{"workgroupName":"w"}`, nil, true},
		{"unauthenticated large body", "ua", big, nil, false},
		{"authenticated large body", "ua", big, root, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", nil)
			r.Header.Set("User-Agent", tc.ua)
			rec := s.auditRecord(r, rt, "req", []byte(tc.body), tc.p, nil)
			if len(rec.UserAgent) > 1024 || !utf8.ValidString(rec.UserAgent) || !strings.HasPrefix(tc.ua, rec.UserAgent) {
				t.Errorf("userAgent of %d bytes kept as %d bytes (valid UTF-8: %v)", len(tc.ua), len(rec.UserAgent), utf8.ValidString(rec.UserAgent))
			}
			if got := rec.RequestParameters != nil; got != tc.wantParams {
				t.Errorf("requestParameters kept: %v, want %v", got, tc.wantParams)
			}
			if !tc.wantParams && rec.AdditionalEventData["requestParametersOmitted"] == nil {
				t.Errorf("omitted parameters not marked: %v", rec.AdditionalEventData)
			}
		})
	}
}
