package audit

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// tricky strings: every escape encoding/json writes, invalid UTF-8,
// U+2028/U+2029, multi-byte runes, DEL.
var trickyStrings = []string{
	"", "plain", `quote"back\slash`, "<script>&amp;</script>", "\x00\x01\x1f\x7f",
	"\b\f\n\r\t", "caf\u00e9 \u65e5\u672c \U0001F600", "\u2028line\u2029para",
	"bad\xffutf8\xc3", "\xed\xa0\x80surrogate", "tail\\", "\"", "a\u0080b",
}

func TestEncodeEqualsMarshal(t *testing.T) {
	base := time.Date(2026, 12, 2, 14, 3, 4, 123456789, time.UTC)
	recs := []*Record{
		{},
		{EventVersion: "1.09", EventID: "id", EventTime: base, EventSource: "redshift-serverless.amazonaws.com",
			EventName: "GetIdentityCenterAuthToken", EventType: "AwsApiCall", AWSRegion: "us-east-1",
			SourceIPAddress: "127.0.0.1", UserAgent: "aws-sdk-go-v2/1.30 os/linux",
			UserIdentity: Identity{Type: "AssumedRole", PrincipalID: "AROA:s", ARN: "arn:aws:sts::1:assumed-role/r/s",
				AccountID: "123456789012", AccessKeyID: "ASIA", OnBehalfOf: &OnBehalfOf{UserID: "u", IdentityStoreArn: "arn:is"}},
			RequestParameters: map[string]any{"workgroupNames": []any{"wg1", "wg2"}},
			RequestID:         "req", ReadOnly: true, RecipientAccountID: "123456789012"},
		{EventTime: base.Truncate(time.Second), UserIdentity: Identity{Type: "IAMUser", UserName: "bob", OnBehalfOf: &OnBehalfOf{}},
			RequestParameters: map[string]any{}, AdditionalEventData: map[string]any{"recovered": true, "z": nil, "a": false},
			ErrorCode: "AccessDeniedException", ErrorMessage: "User: arn:x is not authorized <to> & \"so\""},
		{EventTime: base, RequestParameters: map[string]any{"n": map[string]any{"deep": []any{map[string]any{"k": "v"}, nil, []any{}, true}},
			"nilSlice": []any(nil), "nilMap": map[string]any(nil), "b": "x", "a": "y", "c": "", "d": "", "e": "", "f": "", "g": "", "h": "", "i": ""}},
		// fallbacks: numbers, other types, non-UTC and out-of-range times
		{EventTime: base, RequestParameters: map[string]any{"n": 1.5}},
		{EventTime: base, RequestParameters: map[string]any{"n": 1e-7, "m": 1e21}},
		{EventTime: base, RequestParameters: map[string]any{"n": []any{json.Number("12")}}},
		{EventTime: base, RequestParameters: map[string]any{"n": []string{"typed"}}},
		{EventTime: base.In(time.FixedZone("x", 3600))},
		{EventTime: base.Local()},
		{EventTime: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		{EventTime: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)},
		// errors stay encoding/json's
		{EventTime: base, RequestParameters: map[string]any{"n": math.NaN()}},
		{EventTime: base, RequestParameters: map[string]any{"n": make(chan int)}},
	}
	for _, s := range trickyStrings {
		recs = append(recs, &Record{
			EventVersion: s, EventID: s, EventTime: base, EventSource: s, EventName: s, EventType: s, AWSRegion: s,
			SourceIPAddress: s, UserAgent: s, RequestID: s, ErrorCode: s, ErrorMessage: s, RecipientAccountID: s,
			UserIdentity:        Identity{Type: s, PrincipalID: s, ARN: s, AccountID: s, AccessKeyID: s, UserName: s, OnBehalfOf: &OnBehalfOf{UserID: s, IdentityStoreArn: s}},
			RequestParameters:   map[string]any{s: s, s + "k": []any{s, map[string]any{s: s}}},
			AdditionalEventData: map[string]any{s: s},
		})
	}
	for i, r := range recs {
		checkEncode(t, i, r)
	}
}

// TestEncodeRandomStrings compares random byte strings (biased towards the
// bytes that need escapes or form multi-byte sequences).
func TestEncodeRandomStrings(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("aZ09 \"\\<>&\x00\x1f\x7f\x80\xbf\xc3\xe2\x80\xa8\xa9\xed\xf0\x9f\xff\n\t")
	for i := 0; i < 20000; i++ {
		n := rng.IntN(12)
		s := make([]byte, n)
		for j := range s {
			if rng.IntN(4) == 0 {
				s[j] = byte(rng.IntN(256))
			} else {
				s[j] = alphabet[rng.IntN(len(alphabet))]
			}
		}
		str := string(s)
		checkEncode(t, i, &Record{EventName: str, UserIdentity: Identity{ARN: str}, RequestParameters: map[string]any{str: []any{str}}})
	}
}

func checkEncode(t *testing.T, i int, r *Record) {
	t.Helper()
	want, werr := json.Marshal(r)
	got, gerr := encode(r)
	if (werr == nil) != (gerr == nil) || (werr != nil && werr.Error() != gerr.Error()) {
		t.Fatalf("record %d: error %v, encoding/json %v", i, gerr, werr)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("record %d:\n got %s\nwant %s", i, got, want)
	}
}

func TestEncodeFastPathTaken(t *testing.T) {
	r := &Record{EventTime: time.Now().UTC(), RequestParameters: map[string]any{"workgroupNames": []any{"a"}}}
	if _, ok := appendRecord(nil, r); !ok {
		t.Fatal("a plain record fell back to encoding/json")
	}
	if n := testing.AllocsPerRun(100, func() { encode(r) }); n > 1 {
		t.Fatalf("encode allocates %v times, want 1", n)
	}
}
