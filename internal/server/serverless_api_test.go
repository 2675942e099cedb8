package server

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/idcgate/idcgate/internal/protocol/awsjson"
)

func TestTokenOutputEncodesAsEncodingJSON(t *testing.T) {
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.FixedZone("x", 3600))
	for _, o := range []identityCenterAuthTokenOutput{
		{Token: "IDC2.AbC-_/+=", ExpirationTime: awsjson.Timestamp(at)},
		{Token: "", ExpirationTime: nil},
		{Token: "a\"b\\c<d>&\x01é\u2028", ExpirationTime: awsjson.Timestamp(at.Add(time.Nanosecond))},
	} {
		type plain identityCenterAuthTokenOutput // the same fields without AppendJSON
		want, err := json.Marshal(plain(o))
		if err != nil {
			t.Fatal(err)
		}
		if got := o.AppendJSON(nil); string(got) != string(want) {
			t.Errorf("AppendJSON = %s, encoding/json = %s", got, want)
		}
	}
}
