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
	b = append(b, `{"eventVersion":`...)
	b = jsonenc.AppendString(b, r.EventVersion)
	b = append(b, `,"eventID":`...)
	b = jsonenc.AppendString(b, r.EventID)
	b = append(b, `,"eventTime":`...)
	var ok bool
	if b, ok = appendTime(b, r.EventTime); !ok {
		return nil, false
	}
	b = append(b, `,"eventSource":`...)
	b = jsonenc.AppendString(b, r.EventSource)
	b = append(b, `,"eventName":`...)
	b = jsonenc.AppendString(b, r.EventName)
	b = append(b, `,"eventType":`...)
	b = jsonenc.AppendString(b, r.EventType)
	b = append(b, `,"awsRegion":`...)
	b = jsonenc.AppendString(b, r.AWSRegion)
	b = append(b, `,"sourceIPAddress":`...)
	b = jsonenc.AppendString(b, r.SourceIPAddress)
	if r.UserAgent != "" {
		b = append(b, `,"userAgent":`...)
		b = jsonenc.AppendString(b, r.UserAgent)
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
		b = jsonenc.AppendString(b, r.ErrorCode)
	}
	if len(r.AdditionalEventData) > 0 {
		b = append(b, `,"additionalEventData":`...)
		if b, ok = appendObject(b, r.AdditionalEventData); !ok {
			return nil, false
		}
	}
	if r.ErrorMessage != "" {
		b = append(b, `,"errorMessage":`...)
		b = jsonenc.AppendString(b, r.ErrorMessage)
	}
	b = append(b, `,"requestID":`...)
	b = jsonenc.AppendString(b, r.RequestID)
	if r.ReadOnly {
		b = append(b, `,"readOnly":true`...)
	} else {
		b = append(b, `,"readOnly":false`...)
	}
	if r.RecipientAccountID != "" {
		b = append(b, `,"recipientAccountId":`...)
		b = jsonenc.AppendString(b, r.RecipientAccountID)
	}
	return append(b, '}'), true
}

func appendIdentity(b []byte, id *Identity) []byte {
	b = append(b, `{"type":`...)
	b = jsonenc.AppendString(b, id.Type)
	for _, f := range [...]struct{ name, v string }{
		{`,"principalId":`, id.PrincipalID},
		{`,"arn":`, id.ARN},
		{`,"accountId":`, id.AccountID},
		{`,"accessKeyId":`, id.AccessKeyID},
		{`,"userName":`, id.UserName},
	} {
		if f.v != "" {
			b = append(b, f.name...)
			b = jsonenc.AppendString(b, f.v)
		}
	}
	if o := id.OnBehalfOf; o != nil {
		b = append(b, `,"onBehalfOf":{"userId":`...)
		b = jsonenc.AppendString(b, o.UserID)
		if o.IdentityStoreArn != "" {
			b = append(b, `,"identityStoreArn":`...)
			b = jsonenc.AppendString(b, o.IdentityStoreArn)
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
