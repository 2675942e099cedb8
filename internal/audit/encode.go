package audit

import (
	"encoding/json"
	"slices"
	"time"
	"unicode/utf8"
)

// encode is json.Marshal(r), byte for byte, without reflection: every
// record passes through it before the response. Anything the hand-written
// appender does not cover (a time not in UTC or outside years 0-9999, a
// requestParameters value other than a string, bool, null, array or
// object, such as a number) is left to encoding/json for the whole record,
// so bytes and errors stay encoding/json's. TestEncodeEqualsMarshal proves
// the equality.
func encode(r *Record) ([]byte, error) {
	b, ok := appendRecord(make([]byte, 0, 512), r)
	if !ok {
		return json.Marshal(r)
	}
	return b, nil
}

func appendRecord(b []byte, r *Record) ([]byte, bool) {
	b = append(b, `{"eventVersion":`...)
	b = appendString(b, r.EventVersion)
	b = append(b, `,"eventID":`...)
	b = appendString(b, r.EventID)
	b = append(b, `,"eventTime":`...)
	var ok bool
	if b, ok = appendTime(b, r.EventTime); !ok {
		return nil, false
	}
	b = append(b, `,"eventSource":`...)
	b = appendString(b, r.EventSource)
	b = append(b, `,"eventName":`...)
	b = appendString(b, r.EventName)
	b = append(b, `,"eventType":`...)
	b = appendString(b, r.EventType)
	b = append(b, `,"awsRegion":`...)
	b = appendString(b, r.AWSRegion)
	b = append(b, `,"sourceIPAddress":`...)
	b = appendString(b, r.SourceIPAddress)
	if r.UserAgent != "" {
		b = append(b, `,"userAgent":`...)
		b = appendString(b, r.UserAgent)
	}
	b = append(b, `,"userIdentity":`...)
	b = appendIdentity(b, &r.UserIdentity)
	if len(r.RequestParameters) > 0 {
		b = append(b, `,"requestParameters":`...)
		if b, ok = appendObject(b, r.RequestParameters); !ok {
			return nil, false
		}
	}
	if r.ErrorCode != "" {
		b = append(b, `,"errorCode":`...)
		b = appendString(b, r.ErrorCode)
	}
	if len(r.AdditionalEventData) > 0 {
		b = append(b, `,"additionalEventData":`...)
		if b, ok = appendObject(b, r.AdditionalEventData); !ok {
			return nil, false
		}
	}
	if r.ErrorMessage != "" {
		b = append(b, `,"errorMessage":`...)
		b = appendString(b, r.ErrorMessage)
	}
	b = append(b, `,"requestID":`...)
	b = appendString(b, r.RequestID)
	if r.ReadOnly {
		b = append(b, `,"readOnly":true`...)
	} else {
		b = append(b, `,"readOnly":false`...)
	}
	if r.RecipientAccountID != "" {
		b = append(b, `,"recipientAccountId":`...)
		b = appendString(b, r.RecipientAccountID)
	}
	return append(b, '}'), true
}

func appendIdentity(b []byte, id *Identity) []byte {
	b = append(b, `{"type":`...)
	b = appendString(b, id.Type)
	for _, f := range [...]struct{ name, v string }{
		{`,"principalId":`, id.PrincipalID},
		{`,"arn":`, id.ARN},
		{`,"accountId":`, id.AccountID},
		{`,"accessKeyId":`, id.AccessKeyID},
		{`,"userName":`, id.UserName},
	} {
		if f.v != "" {
			b = append(b, f.name...)
			b = appendString(b, f.v)
		}
	}
	if o := id.OnBehalfOf; o != nil {
		b = append(b, `,"onBehalfOf":{"userId":`...)
		b = appendString(b, o.UserID)
		if o.IdentityStoreArn != "" {
			b = append(b, `,"identityStoreArn":`...)
			b = appendString(b, o.IdentityStoreArn)
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

// appendTime is time.Time's MarshalJSON for a UTC time in years 0-9999.
func appendTime(b []byte, t time.Time) ([]byte, bool) {
	if t.Location() != time.UTC {
		return nil, false
	}
	if y := t.Year(); y < 0 || y > 9999 {
		return nil, false
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"'), true
}

// appendObject encodes m with sorted keys, as encoding/json does.
func appendObject(b []byte, m map[string]any) ([]byte, bool) {
	if m == nil {
		return append(b, "null"...), true
	}
	var arr [8]string
	keys := arr[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		var ok bool
		if b, ok = appendValue(b, m[k]); !ok {
			return nil, false
		}
	}
	return append(b, '}'), true
}

func appendValue(b []byte, v any) ([]byte, bool) {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...), true
	case string:
		return appendString(b, v), true
	case bool:
		if v {
			return append(b, "true"...), true
		}
		return append(b, "false"...), true
	case map[string]any:
		return appendObject(b, v)
	case []any:
		if v == nil {
			return append(b, "null"...), true
		}
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			var ok bool
			if b, ok = appendValue(b, e); !ok {
				return nil, false
			}
		}
		return append(b, ']'), true
	}
	return nil, false
}

const hexDigits = "0123456789abcdef"

// appendString is encoding/json's string encoder (HTML-safe escapes,
// invalid UTF-8 as U+FFFD, U+2028 and U+2029 escaped).
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
