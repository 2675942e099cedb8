package awsquery

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/idcgate/idcgate/internal/awserror"
)

func TestParseAndMembers(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	p, err := Parse(r, []byte("Action=AssumeRole&Version=2011-06-15&ProvidedContexts.member.1.ProviderArn=a&ProvidedContexts.member.1.ContextAssertion=b&ProvidedContexts.member.2.ProviderArn=c&DurationSeconds=900"))
	if err != nil {
		t.Fatal(err)
	}
	m := p.Members("ProvidedContexts", "ProviderArn", "ContextAssertion")
	if len(m) != 2 || m[0]["ContextAssertion"] != "b" || m[1]["ProviderArn"] != "c" {
		t.Fatalf("members %v", m)
	}
	if p.Get("DurationSeconds") != "900" {
		t.Fatalf("DurationSeconds %q", p.Get("DurationSeconds"))
	}
	if _, err := Parse(r, []byte("%zz")); err == nil {
		t.Fatal("bad form accepted")
	}
	rec := httptest.NewRecorder()
	WriteError(rec, &awserror.APIError{Code: "AccessDenied", Status: 403, Message: "a < b", Sender: true}, STSNamespace, "rid")
	if rec.Code != 403 || !strings.Contains(rec.Body.String(), "<Type>Sender</Type><Code>AccessDenied</Code><Message>a &lt; b</Message>") {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"Action=GetCallerIdentity&Version=2011-06-15", "a.member.1.b=c", "%", "=&=&", "ProvidedContexts.member.1.ProviderArn=x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		p, err := Parse(r, []byte(body))
		if err != nil {
			return
		}
		p.Members("ProvidedContexts", "ProviderArn", "ContextAssertion")
		p.Get("DurationSeconds")
	})
}
