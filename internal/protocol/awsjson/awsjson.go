// Package awsjson is the awsJson1_1 codec: it decodes request bodies into
// input structs, and writes responses and errors the way AWS JSON services
// do (Content-Type application/x-amz-json-1.1, X-Amzn-ErrorType, __type).
package awsjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/idcgate/idcgate/internal/awserror"
	"github.com/idcgate/idcgate/internal/protocol"
)

// ContentType is the awsJson1_1 media type.
const ContentType = "application/x-amz-json-1.1"

// TimeFormat is how timestamps are written: ISO-8601 in UTC, as the service
// models of Redshift Serverless declare (the SDKs reject epoch numbers).
const TimeFormat = "2006-01-02T15:04:05Z"

// Time is a timestamp that encodes as an ISO-8601 string.
type Time time.Time

// MarshalJSON writes the ISO-8601 form.
func (t Time) MarshalJSON() ([]byte, error) {
	return AppendTime(nil, time.Time(t)), nil
}

// Timestamp returns a pointer to t as a Time, or nil for the zero time.
func Timestamp(t time.Time) *Time {
	if t.IsZero() {
		return nil
	}
	v := Time(t)
	return &v
}

// Decode parses body into v. An empty body is an empty object (the SDKs send
// "{}" for inputs without members). Anything that is not a single JSON
// object, or whose members have the wrong JSON type, is a
// SerializationException; unknown members are ignored as AWS does.
func Decode(body []byte, v any) error {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		trimmed = []byte("{}")
	}
	if trimmed[0] != '{' {
		return protocol.Errorf(protocol.ErrSerialization, "The request body must be a JSON object.")
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return protocol.Errorf(protocol.ErrSerialization,
				fmt.Sprintf("Unexpected value type for member '%s': expected %s.", te.Field, jsonKind(te.Type.Kind().String())))
		}
		return protocol.Errorf(protocol.ErrSerialization, "The request body is not valid JSON.")
	}
	if dec.More() {
		return protocol.Errorf(protocol.ErrSerialization, "The request body must hold exactly one JSON object.")
	}
	return nil
}

func jsonKind(goKind string) string {
	switch goKind {
	case "slice", "array":
		return "a list"
	case "struct", "map":
		return "an object"
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "ptr":
		return "a value of another type"
	default:
		return "a number"
	}
}

// WriteResponse writes a 200 response with v as JSON.
func WriteResponse(w http.ResponseWriter, v any) {
	var b []byte
	var err error
	if a, ok := v.(Appender); ok {
		b = a.AppendJSON(make([]byte, 0, 1024))
	} else {
		b, err = json.Marshal(v)
	}
	if err != nil {
		// Output structs are ours; failing to encode one is a bug.
		WriteError(w, awserror.From(err, protocol.AWSJSON))
		return
	}
	h := w.Header()
	h.Set("Content-Type", ContentType)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// Appender is implemented by outputs on a hot path that encode themselves
// (without reflection, and without the copy and re-scan encoding/json
// gives a MarshalJSON result); their tests prove the bytes equal
// encoding/json's.
type Appender interface {
	AppendJSON(b []byte) []byte
}

// AppendTime appends t as a JSON string in TimeFormat, in UTC.
func AppendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, TimeFormat)
	return append(b, '"')
}

// Epoch is a timestamp as the JSON protocols send one by default (the
// shapes not marked iso8601: Data API, identitystore, sso-admin): epoch
// seconds, a JSON number, milliseconds as its fraction.
type Epoch time.Time

// MarshalJSON encodes t as epoch seconds.
func (t Epoch) MarshalJSON() ([]byte, error) {
	ms := time.Time(t).UnixMilli()
	return strconv.AppendFloat(nil, float64(ms)/1000, 'f', -1, 64), nil
}

// EpochOf is t as an Epoch, nil for the zero time (the member left out).
func EpochOf(t time.Time) *Epoch {
	if t.IsZero() {
		return nil
	}
	e := Epoch(t)
	return &e
}

// errorBody is the JSON error document.
type errorBody struct {
	Type         string `json:"__type"`
	Message      string `json:"message"`
	ResourceName string `json:"resourceName,omitempty"`
}

// WriteError writes e with its status, X-Amzn-ErrorType and JSON body.
func WriteError(w http.ResponseWriter, e *awserror.APIError) {
	b, _ := json.Marshal(errorBody{Type: e.Code, Message: e.Message, ResourceName: e.ResourceName})
	if len(e.Members) > 0 {
		b = appendMembers(b, e.Members)
	}
	h := w.Header()
	h.Set("Content-Type", ContentType)
	h.Set("X-Amzn-ErrorType", e.Code)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(e.Status)
	w.Write(b)
}

// appendMembers adds an error's further members (identitystore's
// ResourceType, ResourceId, Reason) to its encoded body, in name order.
func appendMembers(body []byte, members map[string]string) []byte {
	names := make([]string, 0, len(members))
	for k := range members {
		names = append(names, k)
	}
	sort.Strings(names)
	b := body[:len(body)-1] // the closing brace
	for _, k := range names {
		kb, _ := json.Marshal(k)
		vb, _ := json.Marshal(members[k])
		b = append(append(append(append(b, ','), kb...), ':'), vb...)
	}
	return append(b, '}')
}
