package sigv4

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

var (
	testNow   = time.Date(2026, 11, 24, 0, 30, 0, 0, time.UTC)
	testCreds = aws.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
	sessCreds = aws.Credentials{AccessKeyID: "ASIAEXAMPLESESSION01", SecretAccessKey: "sessionsecret", SessionToken: "tok-123"}
)

type fakeSource map[string]Credential

func (f fakeSource) LookupCredential(_ context.Context, id, _ string) (Credential, error) {
	c, ok := f[id]
	if !ok {
		return Credential{}, ErrUnknownAccessKey
	}
	return c, nil
}

func verifier() *Verifier {
	return &Verifier{
		Credentials: fakeSource{
			testCreds.AccessKeyID:  {AccessKeyID: testCreds.AccessKeyID, SecretAccessKey: testCreds.SecretAccessKey, Principal: "app"},
			sessCreds.AccessKeyID:  {AccessKeyID: sessCreds.AccessKeyID, SecretAccessKey: sessCreds.SecretAccessKey, SessionToken: sessCreds.SessionToken, Expiration: testNow.Add(time.Hour)},
			"ASIAEXPIREDSESSION01": {AccessKeyID: "ASIAEXPIREDSESSION01", SecretAccessKey: "s", SessionToken: "t", Expiration: testNow.Add(-time.Second)},
		},
		Region: "us-east-1",
		Clock:  func() time.Time { return testNow },
	}
}

func jsonRequest(t *testing.T, body string) *http.Request {
	t.Helper()
	r, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:7439/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	r.Header.Set("X-Amz-Target", "RedshiftServerless.GetWorkgroup")
	r.ContentLength = int64(len(body))
	return r
}

func sign(t *testing.T, r *http.Request, body string, creds aws.Credentials, service, region string, at time.Time) {
	t.Helper()
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, hex.EncodeToString(sum[:]), service, region, at); err != nil {
		t.Fatal(err)
	}
}

// serverSide turns a client request into what net/http hands a server.
func serverSide(r *http.Request) *http.Request {
	s := r.Clone(context.Background())
	s.Host = r.URL.Host
	s.RequestURI = r.URL.RequestURI()
	if r.ContentLength > 0 {
		s.Header.Set("Content-Length", itoa(r.ContentLength))
	}
	return s
}

func itoa(n int64) string { return formatInt(n) }

func formatInt(n int64) string {
	var b [20]byte
	i := len(b)
	if n == 0 {
		return "0"
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

func TestAcceptsSDKSignatures(t *testing.T) {
	cases := []struct {
		name  string
		build func(t *testing.T) (*http.Request, string)
		creds aws.Credentials
	}{
		{"awsJson POST", func(t *testing.T) (*http.Request, string) {
			b := `{"workgroupName":"demo"}`
			return jsonRequest(t, b), b
		}, testCreds},
		{"awsQuery form", func(t *testing.T) (*http.Request, string) {
			b := "Action=GetCallerIdentity&Version=2011-06-15"
			r, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:7439/", strings.NewReader(b))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.ContentLength = int64(len(b))
			return r, b
		}, testCreds},
		{"GET with odd path and query", func(t *testing.T) (*http.Request, string) {
			r, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:7439/a%20b/%C3%A9t%C3%A9/x?b=2&a=1&a=0&sp=a%20b&star=*&slash=a%2Fb", nil)
			return r, ""
		}, testCreds},
		{"header with inner spaces", func(t *testing.T) (*http.Request, string) {
			r := jsonRequest(t, "{}")
			r.Header.Set("X-Amz-Meta", "  a   b  ")
			return r, "{}"
		}, testCreds},
		{"session token", func(t *testing.T) (*http.Request, string) { return jsonRequest(t, "{}"), "{}" }, sessCreds},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, body := tc.build(t)
			sign(t, r, body, tc.creds, "redshift-serverless", "us-east-1", testNow)
			res, err := verifier().Verify(context.Background(), serverSide(r), []byte(body), "redshift-serverless")
			if err != nil {
				t.Fatal(err)
			}
			if res.Credential.AccessKeyID != tc.creds.AccessKeyID || res.Presigned || !res.SignedAt.Equal(testNow) {
				t.Fatalf("result %+v", res)
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	body := `{"workgroupName":"demo"}`
	good := func(t *testing.T) *http.Request {
		r := jsonRequest(t, body)
		sign(t, r, body, testCreds, "redshift-serverless", "us-east-1", testNow)
		return serverSide(r)
	}
	signedAt := func(at time.Time, region, service string, creds aws.Credentials) func(t *testing.T) (*http.Request, string) {
		return func(t *testing.T) (*http.Request, string) {
			r := jsonRequest(t, body)
			sign(t, r, body, creds, service, region, at)
			return serverSide(r), body
		}
	}
	wrong := testCreds
	wrong.SecretAccessKey = "nope"
	unknown := testCreds
	unknown.AccessKeyID = "AKIAUNKNOWNUNKNOWN01"
	expired := aws.Credentials{AccessKeyID: "ASIAEXPIREDSESSION01", SecretAccessKey: "s", SessionToken: "t"}
	badToken := sessCreds
	badToken.SessionToken = "forged"

	cases := []struct {
		name  string
		build func(t *testing.T) (*http.Request, string)
		kind  error
		msg   string
	}{
		{"wrong secret", signedAt(testNow, "us-east-1", "redshift-serverless", wrong), ErrSignatureMismatch, "The request signature we calculated does not match"},
		{"changed body", func(t *testing.T) (*http.Request, string) { return good(t), `{"workgroupName":"demx"}` }, ErrSignatureMismatch, ""},
		{"changed signed header", func(t *testing.T) (*http.Request, string) {
			r := good(t)
			r.Header.Set("X-Amz-Target", "RedshiftServerless.DeleteWorkgroup")
			return r, body
		}, ErrSignatureMismatch, ""},
		{"changed host", func(t *testing.T) (*http.Request, string) {
			r := good(t)
			r.Host = "evil:7439"
			return r, body
		}, ErrSignatureMismatch, ""},
		{"expired date", signedAt(testNow.Add(-16*time.Minute), "us-east-1", "redshift-serverless", testCreds), ErrSignatureExpired,
			"Signature expired: 20261124T001400Z is now earlier than 20261124T001500Z (20261124T003000Z - 15 min.)"},
		{"future date", signedAt(testNow.Add(16*time.Minute), "us-east-1", "redshift-serverless", testCreds), ErrSignatureExpired, "Signature not yet current: "},
		{"wrong region", signedAt(testNow, "eu-west-1", "redshift-serverless", testCreds), ErrWrongRegion, "Credential should be scoped to a valid region. "},
		{"wrong service", signedAt(testNow, "us-east-1", "sts", testCreds), ErrWrongService, "Credential should be scoped to correct service: 'redshift-serverless'. "},
		{"unknown key", signedAt(testNow, "us-east-1", "redshift-serverless", unknown), ErrUnknownAccessKey, "The security token included in the request is invalid."},
		{"expired credential", signedAt(testNow, "us-east-1", "redshift-serverless", expired), ErrExpiredToken, "The security token included in the request is expired"},
		{"forged session token", signedAt(testNow, "us-east-1", "redshift-serverless", badToken), ErrInvalidClientToken, ""},
		{"token where none expected", func(t *testing.T) (*http.Request, string) {
			c := testCreds
			c.SessionToken = "unexpected"
			return signedAt(testNow, "us-east-1", "redshift-serverless", c)(t)
		}, ErrInvalidClientToken, ""},
		{"session key without token", func(t *testing.T) (*http.Request, string) {
			c := sessCreds
			c.SessionToken = ""
			return signedAt(testNow, "us-east-1", "redshift-serverless", c)(t)
		}, ErrInvalidClientToken, ""},
		{"no auth", func(t *testing.T) (*http.Request, string) { return serverSide(jsonRequest(t, body)), body }, ErrMissingAuth, "Request is missing Authentication Token"},
		{"missing signature", func(t *testing.T) (*http.Request, string) {
			r := good(t)
			a := r.Header.Get("Authorization")
			r.Header.Set("Authorization", a[:strings.Index(a, ", Signature=")])
			return r, body
		}, ErrIncompleteSignature, "Authorization header requires 'Signature' parameter."},
		{"missing date", func(t *testing.T) (*http.Request, string) {
			r := good(t)
			r.Header.Del("X-Amz-Date")
			return r, body
		}, ErrIncompleteSignature, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."},
		{"unsupported algorithm", func(t *testing.T) (*http.Request, string) {
			r := good(t)
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1", 1))
			return r, body
		}, ErrIncompleteSignature, "Unsupported authorization type"},
		{"target not signed", func(t *testing.T) (*http.Request, string) {
			r := jsonRequest(t, body)
			r.Header.Del("X-Amz-Target")
			sign(t, r, body, testCreds, "redshift-serverless", "us-east-1", testNow)
			r.Header.Set("X-Amz-Target", "RedshiftServerless.DeleteWorkgroup")
			return serverSide(r), body
		}, ErrIncompleteSignature, "'X-Amz-Target' must be a 'SignedHeader'"},
		{"host not signed", func(t *testing.T) (*http.Request, string) {
			r := good(t)
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "SignedHeaders=content-length;content-type;host;", "SignedHeaders=content-length;content-type;", 1))
			return r, body
		}, ErrIncompleteSignature, "'Host' must be a 'SignedHeader'"},
		{"scope date mismatch", func(t *testing.T) (*http.Request, string) {
			r := good(t)
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/20261124/", "/20261123/", 1))
			return r, body
		}, ErrScopeDate, "Date in Credential scope does not match"},
		{"wrong content hash header", func(t *testing.T) (*http.Request, string) {
			r := jsonRequest(t, body)
			r.Header.Set("X-Amz-Content-Sha256", strings.Repeat("0", 64))
			sign(t, r, body, testCreds, "redshift-serverless", "us-east-1", testNow)
			return serverSide(r), body
		}, ErrSignatureMismatch, "The provided 'x-amz-content-sha256' header does not match what was computed."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, b := tc.build(t)
			_, err := verifier().Verify(context.Background(), r, []byte(b), "redshift-serverless")
			if !errors.Is(err, tc.kind) {
				t.Fatalf("err = %v, want %v", err, tc.kind)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err %T is not *Error", err)
			}
			if !strings.HasPrefix(e.Message, tc.msg) {
				t.Fatalf("message %q, want prefix %q", e.Message, tc.msg)
			}
			if strings.Contains(e.Message, testCreds.SecretAccessKey) || strings.Contains(e.Message, testCreds.AccessKeyID) {
				t.Fatalf("message leaks a key: %q", e.Message)
			}
		})
	}
}

func presign(t *testing.T, body string, at time.Time, expires string) *http.Request {
	t.Helper()
	r := jsonRequest(t, body)
	r.URL.RawQuery = url.Values{"X-Amz-Expires": {expires}}.Encode()
	sum := sha256.Sum256([]byte(body))
	u, h, err := v4.NewSigner().PresignHTTP(context.Background(), testCreds, r, hex.EncodeToString(sum[:]), "redshift-serverless", "us-east-1", at)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := http.NewRequest(http.MethodPost, u, bytes.NewReader([]byte(body)))
	for k, v := range h {
		if !strings.EqualFold(k, "host") {
			p.Header[k] = v
		}
	}
	p.ContentLength = int64(len(body))
	return serverSide(p)
}

func TestPresigned(t *testing.T) {
	body := `{"workgroupName":"demo"}`
	res, err := verifier().Verify(context.Background(), presign(t, body, testNow.Add(-4*time.Minute), "300"), []byte(body), "redshift-serverless")
	if err != nil || !res.Presigned {
		t.Fatalf("valid presigned: %v %+v", err, res)
	}
	_, err = verifier().Verify(context.Background(), presign(t, body, testNow.Add(-6*time.Minute), "300"), []byte(body), "redshift-serverless")
	if !errors.Is(err, ErrSignatureExpired) || !strings.HasPrefix(err.Error(), "Signature expired: 20261124T002900Z is now earlier than 20261124T003000Z") {
		t.Fatalf("expired presigned: %v", err)
	}
	_, err = verifier().Verify(context.Background(), presign(t, body, testNow, "604801"), []byte(body), "redshift-serverless")
	if !errors.Is(err, ErrIncompleteSignature) {
		t.Fatalf("too long presigned: %v", err)
	}
	r := presign(t, body, testNow, "300")
	q := r.URL.Query()
	q.Set("X-Amz-Signature", strings.Repeat("a", 64))
	r.URL.RawQuery = q.Encode()
	if _, err := verifier().Verify(context.Background(), r, []byte(body), "redshift-serverless"); !errors.Is(err, ErrSignatureMismatch) {
		t.Fatalf("forged presigned signature: %v", err)
	}
}

func FuzzVerify(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261124/us-east-1/redshift-serverless/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc", "20261124T003000Z", "a=b")
	f.Add("AWS4-HMAC-SHA256 Credential=/, SignedHeaders=;;, Signature=", "2026", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a/b/c/d/e")
	f.Add("", "", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA/20261124/us-east-1/redshift-serverless/aws4_request&X-Amz-Date=20261124T003000Z&X-Amz-Expires=-1&X-Amz-SignedHeaders=host&X-Amz-Signature=00")
	f.Fuzz(func(t *testing.T, authz, date, rawQuery string) {
		r, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:7439/", nil)
		if err != nil {
			return
		}
		r.URL.RawQuery = rawQuery
		r.Header.Set("Authorization", authz)
		r.Header.Set("X-Amz-Date", date)
		_, err = verifier().Verify(context.Background(), r, nil, "redshift-serverless")
		if err == nil {
			t.Fatal("unsigned fuzz input verified")
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	body := `{"workgroupNames":["demo"]}`
	r := jsonRequest(&testing.T{}, body)
	sum := sha256.Sum256([]byte(body))
	v4.NewSigner().SignHTTP(context.Background(), testCreds, r, hex.EncodeToString(sum[:]), "redshift-serverless", "us-east-1", testNow)
	sr := serverSide(r)
	v := verifier()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(context.Background(), sr, []byte(body), "redshift-serverless"); err != nil {
			b.Fatal(err)
		}
	}
}

// The signing-key cache follows the server's secret: once a credential's
// secret changes, a request signed with the old one is refused, and one
// signed with the new one is accepted, on the same Verifier.
func TestSigningKeyCacheFollowsTheSecret(t *testing.T) {
	v := verifier()
	src := v.Credentials.(fakeSource)
	body := `{"workgroupName":"demo"}`
	send := func(creds aws.Credentials) error {
		r := jsonRequest(t, body)
		sign(t, r, body, creds, "redshift-serverless", "us-east-1", testNow)
		_, err := v.Verify(context.Background(), serverSide(r), []byte(body), "redshift-serverless")
		return err
	}
	for i := 0; i < 2; i++ {
		if err := send(testCreds); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	rotated := testCreds
	rotated.SecretAccessKey = "rotatedSecretrotatedSecretrotatedSecret00"
	src[testCreds.AccessKeyID] = Credential{AccessKeyID: testCreds.AccessKeyID, SecretAccessKey: rotated.SecretAccessKey, Principal: "app"}
	if err := send(testCreds); !errors.Is(err, ErrSignatureMismatch) {
		t.Fatalf("old secret after rotation: %v", err)
	}
	if err := send(rotated); err != nil {
		t.Fatalf("new secret: %v", err)
	}
}
