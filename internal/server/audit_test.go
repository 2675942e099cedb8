package server

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/idcgate/idcgate/internal/audit"
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
