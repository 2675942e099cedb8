package issuer

import (
	"errors"
	"strings"
	"testing"

	"github.com/idcgate/idcgate/internal/validation"
)

// ParseInput's answers, exactly: check 3 of BEHAVIOUR 4.2.
func TestParseInput(t *testing.T) {
	long := strings.Repeat("a", 65)
	cases := []struct {
		name, body string
		want       []string
		msg        string
	}{
		{"one", `{"workgroupNames":["demo"]}`, []string{"demo"}, ""},
		{"duplicates count once", `{"workgroupNames":["demo","b-1","demo"]}`, []string{"demo", "b-1"}, ""},
		{"unknown members ignored", `{"x":{"y":[1,2,{"z":null}]},"workgroupNames":["demo"],"n":1.5e3,"t":true}`, []string{"demo"}, ""},
		{"empty body", ``, nil, "1 validation error detected: Value null at 'workgroupNames' failed to satisfy constraint: Member must not be null"},
		{"not an object", `["demo"]`, nil, "1 validation error detected: The request body must be a JSON object."},
		{"null", `null`, nil, "1 validation error detected: The request body must be a JSON object."},
		{"broken", `{"workgroupNames":["demo"]`, nil, "1 validation error detected: The request body must be a JSON object."},
		{"trailing data", `{"workgroupNames":["demo"]} {}`, nil, "1 validation error detected: The request body must be a JSON object."},
		{"member case matters", `{"WorkgroupNames":["demo"]}`, nil, "1 validation error detected: Value null at 'workgroupNames' failed to satisfy constraint: Member must not be null"},
		{"null member", `{"workgroupNames":null}`, nil, "1 validation error detected: Value null at 'workgroupNames' failed to satisfy constraint: Member must not be null"},
		{"wrong type", `{"workgroupNames":"demo"}`, nil, `1 validation error detected: Value '"demo"' at 'workgroupNames' failed to satisfy constraint: Member must be a list of strings`},
		{"no names", `{"workgroupNames":[]}`, nil, "1 validation error detected: Value '[]' at 'workgroupNames' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"short and upper", `{"workgroupNames":["ab","Demo"]}`, nil, "2 validation errors detected: Value 'ab' at 'workgroupNames.1.member' failed to satisfy constraint: Member must have length greater than or equal to 3; Value 'Demo' at 'workgroupNames.2.member' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-z0-9-]+"},
		{"long", `{"workgroupNames":["` + long + `"]}`, nil, "1 validation error detected: Value '" + long + "' at 'workgroupNames.1.member' failed to satisfy constraint: Member must have length less than or equal to 64"},
		{"escaped name decoded first", `{"workgroupNames":["d\u0065mo"]}`, []string{"demo"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseInput([]byte(tc.body))
			if tc.msg != "" {
				var ve *validation.Error
				if !errors.As(err, &ve) || err.Error() != tc.msg {
					t.Fatalf("err = %v\nwant  %s", err, tc.msg)
				}
				return
			}
			if err != nil || strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("ParseInput = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// The fast path answers only what the general path answers, exactly.
func TestPlainInputAgreesWithGeneral(t *testing.T) {
	twenty := strings.Repeat(`"abc",`, 19) + `"abd"`
	bodies := []string{
		`{"workgroupNames":["demo"]}`, ` { "workgroupNames" : [ "demo" , "b-1" ] } `, "{\n\t\"workgroupNames\":\r[\"a-b\"]}\n",
		`{"workgroupNames":["demo","demo"]}`, `{"workgroupNames":[` + twenty + `]}`, `{"workgroupNames":[` + twenty + `,"abc"]}`,
		`{"workgroupNames":[]}`, `{"workgroupNames":["ab"]}`, `{"workgroupNames":["Demo"]}`, `{"workgroupNames":["d\u0065mo"]}`,
		`{"workgroupNames":["demo"],"x":1}`, `{"x":1,"workgroupNames":["demo"]}`, `{"workgroupNames":["demo"]}{}`,
		`{"workgroupNames":["demo"]`, `{"workgroupNames":["demo",]}`, `{"workgroupNames":["demo" "x"]}`, `{"workgroupNames":["demo`,
		`{"workgroupNamesX":["demo"]}`, `{"workgroupNames":"demo"}`, `{"workgroupNames":null}`, ``, `{}`, `[]`,
		`{"workgroupNames":["` + strings.Repeat("a", 64) + `"]}`, `{"workgroupNames":["` + strings.Repeat("a", 65) + `"]}`,
		"{\"workgroupNames\":[\"de\x00mo\"]}", "{\"workgroupNames\":[\"demo\"]}\x00", "\xef\xbb\xbf{\"workgroupNames\":[\"demo\"]}",
	}
	fast := 0
	for _, b := range bodies {
		got, ok := plainInput([]byte(b))
		want, err := parseInputGeneral([]byte(b))
		if !ok {
			continue
		}
		fast++
		if err != nil || strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%q: fast path %q, general %q (%v)", b, got, want, err)
		}
	}
	if fast < 5 {
		t.Fatalf("the fast path took only %d bodies", fast)
	}
}

func FuzzPlainInput(f *testing.F) {
	f.Add([]byte(`{"workgroupNames":["demo","b-1"]}`))
	f.Add([]byte(` {"workgroupNames" :[ "demo"]} `))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, ok := plainInput(body)
		if !ok {
			return
		}
		want, err := parseInputGeneral(body)
		if err != nil || strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("%q: fast path %q, general %q (%v)", body, got, want, err)
		}
	})
}

func BenchmarkParseInput20(b *testing.B) {
	var names []string
	for i := 0; i < 20; i++ {
		names = append(names, `"bench-`+string(rune('a'+i))+`x"`)
	}
	body := []byte(`{"workgroupNames":[` + strings.Join(names, ",") + `]}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseInput(body); err != nil {
			b.Fatal(err)
		}
	}
}
