package testserver

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// RawResponse is a response read whole.
type RawResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body as a JSON object.
func (r *RawResponse) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("response body is not JSON: %v: %q", err, r.Body)
	}
	return m
}

// ServerlessRequest builds an awsJson1_1 request for op, as the Go SDK sends it.
func (s *Server) ServerlessRequest(t testing.TB, op string, body []byte) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+"/", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "RedshiftServerless."+op)
	return req
}

// Sign signs req with creds for service at signTime, hashing body, as the SDK does.
func Sign(t testing.TB, req *http.Request, body []byte, creds aws.Credentials, service, region string, signTime time.Time) {
	t.Helper()
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), service, region, signTime); err != nil {
		t.Fatal(err)
	}
}

// Presign returns a presigned URL for req valid for expires from signTime,
// with the signed headers the signer chose.
func Presign(t testing.TB, req *http.Request, body []byte, creds aws.Credentials, service, region string, signTime time.Time, expires time.Duration) (string, http.Header) {
	t.Helper()
	q := req.URL.Query()
	q.Set("X-Amz-Expires", itoa(int(expires/time.Second)))
	req.URL.RawQuery = q.Encode()
	sum := sha256.Sum256(body)
	u, h, err := v4.NewSigner().PresignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), service, region, signTime)
	if err != nil {
		t.Fatal(err)
	}
	return u, h
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// Do sends req and reads the whole response.
func Do(t testing.TB, req *http.Request) *RawResponse {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &RawResponse{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// CallServerless signs body for op with creds now and sends it.
func (s *Server) CallServerless(t testing.TB, creds aws.Credentials, op string, body []byte) *RawResponse {
	t.Helper()
	req := s.ServerlessRequest(t, op, body)
	Sign(t, req, body, creds, "redshift-serverless", Region, nowFunc())
	return Do(t, req)
}

var nowFunc = time.Now
