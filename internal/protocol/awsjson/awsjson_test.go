package awsjson

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/idcgate/idcgate/internal/awserror"
	"github.com/idcgate/idcgate/internal/protocol"
)

type input struct {
	Names []string `json:"workgroupNames"`
	Max   *int32   `json:"maxResults"`
}

func TestDecode(t *testing.T) {
	cases := []struct {
		name, body string
		ok         bool
	}{
		{"empty body is empty object", "", true},
		{"object", `{"workgroupNames":["a"],"extra":1}`, true},
		{"not json", `hello`, false},
		{"array", `[1]`, false},
		{"wrong type list", `{"workgroupNames":"x"}`, false},
		{"wrong type number", `{"maxResults":"7"}`, false},
		{"overflow", `{"maxResults":99999999999}`, false},
		{"two objects", `{} {}`, false},
		{"truncated", `{"workgroupNames":[`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var in input
			err := Decode([]byte(tc.body), &in)
			if tc.ok != (err == nil) {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, protocol.ErrSerialization) {
				t.Fatalf("err %v is not a serialization error", err)
			}
		})
	}
}

func TestWriteErrorAndTime(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteError(rec, &awserror.APIError{Code: "ResourceNotFoundException", Status: 400, Message: "m", ResourceName: "demo"})
	if rec.Code != 400 || rec.Header().Get("X-Amzn-ErrorType") != "ResourceNotFoundException" {
		t.Fatalf("status %d header %q", rec.Code, rec.Header().Get("X-Amzn-ErrorType"))
	}
	var body map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if body["__type"] != "ResourceNotFoundException" || body["message"] != "m" || body["resourceName"] != "demo" {
		t.Fatalf("body %v", body)
	}
	b, _ := json.Marshal(struct {
		T *Time `json:"t"`
	}{Timestamp(time.Date(2026, 11, 23, 10, 0, 0, 5e8, time.FixedZone("x", 3600)))})
	if string(b) != `{"t":"2026-11-23T09:00:00Z"}` {
		t.Fatalf("time = %s", b)
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"workgroupNames":["demo"]}`, `{"maxResults":5}`, ``, `[`, `{"a":{"b":[1,2,{"c":null}]}}`, "\xff\xfe"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var in input
		if err := Decode(b, &in); err != nil && !errors.Is(err, protocol.ErrSerialization) {
			t.Fatalf("non-serialization error %v", err)
		}
	})
}

func TestAppendTimeMatchesEncodingJSON(t *testing.T) {
	for _, at := range []time.Time{time.Unix(0, 0), time.Date(2026, 11, 23, 10, 0, 0, 999, time.FixedZone("y", -7200))} {
		want, _ := json.Marshal(at.UTC().Format(TimeFormat)) // independent of AppendTime, which MarshalJSON uses
		if got := AppendTime(nil, at); string(got) != string(want) {
			t.Errorf("AppendTime(%v) = %s, want %s", at, got, want)
		}
	}
}

func TestEpoch(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		t    time.Time
		want string
	}{
		{time.Unix(1765152000, 0), "1765152000"},
		{time.Unix(1765152000, 250_000_000), "1765152000.25"},
		{time.Unix(1765152000, 999_999), "1765152000"}, // below a millisecond
	} {
		b, err := json.Marshal(EpochOf(tc.t))
		if err != nil || string(b) != tc.want {
			t.Errorf("EpochOf(%v) = %s %v, want %s", tc.t, b, err, tc.want)
		}
	}
	if EpochOf(time.Time{}) != nil {
		t.Error("the zero time is not left out")
	}
}

// TestWriteErrorMembers: an error's further members (identitystore's
// ResourceType, ResourceId, Reason) are in its body, escaped, in name order.
func TestWriteErrorMembers(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteError(rec, &awserror.APIError{Code: "ResourceNotFoundException", Status: 400, Message: "USER not found.",
		Members: map[string]string{"ResourceType": "USER", "ResourceId": `a"b`}})
	want := `{"__type":"ResourceNotFoundException","message":"USER not found.","ResourceId":"a\"b","ResourceType":"USER"}`
	if got := rec.Body.String(); got != want || rec.Header().Get("Content-Length") != itoa(len(want)) {
		t.Fatalf("body %s (length %s), want %s", got, rec.Header().Get("Content-Length"), want)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }
