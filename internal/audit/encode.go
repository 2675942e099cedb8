package audit

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/idcgate/idcgate/internal/jsonenc"
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
	b = field(b, `{"eventVersion":`, r.EventVersion)
	b = field(b, `,"eventID":`, r.EventID)
	b = append(b, `,"eventTime":`...)
	var ok bool
	if b, ok = appendTime(b, r.EventTime); !ok {
		return nil, false
	}
	b = field(b, `,"eventSource":`, r.EventSource)
	b = field(b, `,"eventName":`, r.EventName)
	b = field(b, `,"eventType":`, r.EventType)
	b = field(b, `,"awsRegion":`, r.AWSRegion)
	b = field(b, `,"sourceIPAddress":`, r.SourceIPAddress)
	b = omitEmpty(b, `,"userAgent":`, r.UserAgent)
	b = append(b, `,"userIdentity":`...)
	b = appendIdentity(b, &r.UserIdentity)
	if b, ok = omitEmptyObject(b, `,"requestParameters":`, r.RequestParameters); !ok {
		return nil, false
	}
	b = omitEmpty(b, `,"errorCode":`, r.ErrorCode)
	if b, ok = omitEmptyObject(b, `,"additionalEventData":`, r.AdditionalEventData); !ok {
		return nil, false
	}
	b = omitEmpty(b, `,"errorMessage":`, r.ErrorMessage)
	b = field(b, `,"requestID":`, r.RequestID)
	if r.ReadOnly {
		b = append(b, `,"readOnly":true`...)
	} else {
		b = append(b, `,"readOnly":false`...)
	}
	b = omitEmpty(b, `,"recipientAccountId":`, r.RecipientAccountID)
	return append(b, '}'), true
}

// field appends a member name (with its separator) and a string value.
func field(b []byte, name, v string) []byte {
	b = append(b, name...)
	return jsonenc.AppendString(b, v)
}

// omitEmpty is field for an omitempty string member.
func omitEmpty(b []byte, name, v string) []byte {
	if v == "" {
		return b
	}
	return field(b, name, v)
}

// omitEmptyObject appends an omitempty map member; false as appendObject.
func omitEmptyObject(b []byte, name string, m map[string]any) ([]byte, bool) {
	if len(m) == 0 {
		return b, true
	}
	return appendObject(append(b, name...), m)
}

func appendIdentity(b []byte, id *Identity) []byte {
	b = field(b, `{"type":`, id.Type)
	b = omitEmpty(b, `,"principalId":`, id.PrincipalID)
	b = omitEmpty(b, `,"arn":`, id.ARN)
	b = omitEmpty(b, `,"accountId":`, id.AccountID)
	b = omitEmpty(b, `,"accessKeyId":`, id.AccessKeyID)
	b = omitEmpty(b, `,"userName":`, id.UserName)
	if o := id.OnBehalfOf; o != nil {
		b = field(b, `,"onBehalfOf":{"userId":`, o.UserID)
		b = omitEmpty(b, `,"identityStoreArn":`, o.IdentityStoreArn)
		b = append(b, '}')
	}
	b = omitEmpty(b, `,"identityProvider":`, id.IdentityProvider)
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
		b = jsonenc.AppendString(b, k)
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
		return jsonenc.AppendString(b, v), true
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
