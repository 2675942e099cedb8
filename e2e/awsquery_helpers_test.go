package e2e

import (
	"encoding/xml"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/idcgate/idcgate/internal/testserver"
)

// queryError is an awsQuery error document (STS, IAM, Redshift).
type queryError struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Error   struct {
		Type, Code, Message string
	}
	RequestID string `xml:"RequestId"`
}

// signedQuery sends an awsQuery form body to srv as the SDK would (form
// content type with charset), signed with creds for service in region at.
func signedQuery(t *testing.T, srv *testserver.Server, creds aws.Credentials, service, region string, at time.Time, body string) *testserver.RawResponse {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	testserver.Sign(t, req, []byte(body), creds, service, region, at)
	return testserver.Do(t, req)
}
