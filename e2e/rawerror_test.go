package e2e

import (
	"fmt"
	"net/http"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/idcgate/idcgate/internal/testserver"
)

// rawAPIError adapts a raw response to the interfaces wantAPIError checks.
type rawAPIError struct {
	resp *testserver.RawResponse
	t    *testing.T
}

func (e *rawAPIError) Error() string { return fmt.Sprintf("%d %s", e.resp.Status, e.resp.Body) }
func (e *rawAPIError) ErrorCode() string {
	s, _ := e.resp.JSON(e.t)["__type"].(string)
	if h := e.resp.Header.Get("X-Amzn-ErrorType"); h != s {
		return "header/body mismatch: " + h + " vs " + s
	}
	return s
}
func (e *rawAPIError) ErrorMessage() string {
	s, _ := e.resp.JSON(e.t)["message"].(string)
	return s
}
func (e *rawAPIError) ErrorFault() smithy.ErrorFault { return smithy.FaultClient }

func (e *rawAPIError) Unwrap() error {
	return &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: e.resp.Status}}, Err: fmt.Errorf("raw")},
		RequestID:     e.resp.Header.Get("x-amzn-RequestId"),
	}
}
