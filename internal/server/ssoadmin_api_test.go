package server

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/idcgate/idcgate/internal/protocol/awsjson"
	"github.com/idcgate/idcgate/internal/ssoadmin"
)

// TestSSOAdminRouted: SWBExternalService.<Op> is sso-admin (signing name
// sso), and every operation served is one knownOps counts and records.
func TestSSOAdminRouted(t *testing.T) {
	t.Parallel()
	for op := range ssoAdminOps.ops {
		r := httptest.NewRequest("POST", "/", strings.NewReader("{}"))
		r.Header.Set("X-Amz-Target", "SWBExternalService."+op)
		rt, err := route(r, []byte("{}"))
		if err != nil || rt.service != serviceSSOAdmin || rt.op != op || rt.opLabel() != op {
			t.Errorf("%s: %+v %v", op, rt, err)
		}
	}
	if n := len(ssoAdminOps.ops); n != 32 {
		t.Errorf("%d operations served, want the 32 of the subset", n)
	}
	r := httptest.NewRequest("POST", "/", strings.NewReader("{}"))
	r.Header.Set("X-Amz-Target", "SWBExternalService.CreatePermissionSet")
	if rt, err := route(r, []byte("{}")); err != nil || rt.opLabel() != unknownOp {
		t.Errorf("an operation outside the subset: %+v %v", rt, err)
	}
}

// TestSSOAdminWireShapes: timestamps are epoch seconds (numbers), members
// UpperCamel, and the Grant union has exactly its type's member.
func TestSSOAdminWireShapes(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	b, err := json.Marshal(appOut(ssoadmin.Application{ApplicationArn: "a", CreatedDate: at, Status: "ENABLED"}))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"CreatedDate":1796119200`) || !strings.Contains(string(b), `"ApplicationArn":"a"`) || strings.Contains(string(b), `"Description"`) {
		t.Errorf("application: %s", b)
	}
	cases := map[string]string{
		ssoadmin.GrantJWTBearer:         `{"JwtBearer":{"AuthorizedTokenIssuers":[]}}`,
		ssoadmin.GrantRefreshToken:      `{"RefreshToken":{}}`,
		ssoadmin.GrantTokenExchange:     `{"TokenExchange":{}}`,
		ssoadmin.GrantAuthorizationCode: `{"AuthorizationCode":{"RedirectUris":[]}}`,
	}
	for typ, want := range cases {
		got, _ := json.Marshal(ssoadmin.Grant{}.Union(typ))
		if string(got) != want {
			t.Errorf("%s: %s, want %s", typ, got, want)
		}
	}
}

// TestSSOAppInputsReadTheArn: an input about one application reads
// ApplicationArn as its own member, in values and in type errors alike.
func TestSSOAppInputsReadTheArn(t *testing.T) {
	t.Parallel()
	var in scopeInput
	if err := awsjson.Decode([]byte(`{"ApplicationArn":"arn:a","Scope":"s"}`), &in); err != nil || *in.appArn() != "arn:a" || *in.Scope != "s" {
		t.Fatalf("%v %+v", err, in)
	}
	err := awsjson.Decode([]byte(`{"ApplicationArn":5}`), &in)
	if err == nil || !strings.Contains(err.Error(), "Unexpected value type for member 'ApplicationArn': expected a string.") {
		t.Errorf("a number for the ARN: %v", err)
	}
}
