package awserror

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/idcgate/idcgate/internal/protocol"
	"github.com/idcgate/idcgate/internal/serverless"
	"github.com/idcgate/idcgate/internal/sigv4"
	"github.com/idcgate/idcgate/internal/validation"
)

// TestEverySentinelMaps proves each row is reachable, wrapped or not, and
// renders a code, status and message in every protocol.
func TestEverySentinelMaps(t *testing.T) {
	for _, r := range rows {
		for _, p := range []protocol.Protocol{protocol.AWSJSON, protocol.AWSQuery} {
			for _, err := range []error{r.Sentinel, fmt.Errorf("context: %w", r.Sentinel)} {
				e := From(err, p)
				if e.Internal || e.Code == "" || e.Status < 400 || e.Message == "" {
					t.Errorf("%v in %s: %+v", r.Sentinel, p, e)
				}
			}
		}
	}
}

func TestMessagesAndFallback(t *testing.T) {
	e := From(&serverless.Error{Kind: serverless.ErrNotFound, Message: "Workgroup x not found.", ResourceName: "x"}, protocol.AWSJSON)
	if e.Code != "ResourceNotFoundException" || e.Status != 400 || e.Message != "Workgroup x not found." || e.ResourceName != "x" {
		t.Fatalf("%+v", e)
	}
	e = From(&sigv4.Error{Kind: sigv4.ErrSignatureMismatch, Message: "m"}, protocol.AWSQuery)
	if e.Code != "SignatureDoesNotMatch" || e.Status != http.StatusForbidden || e.Message != "m" || !e.Sender {
		t.Fatalf("%+v", e)
	}
	e = From(validation.Newf("bad"), protocol.AWSJSON)
	if e.Code != "ValidationException" || e.Message != "bad" {
		t.Fatalf("%+v", e)
	}
	secret := errors.New("disk /var/lib/secret exploded")
	e = From(secret, protocol.AWSJSON)
	if !e.Internal || e.Code != "InternalServerException" || e.Status != 500 || e.Message == secret.Error() {
		t.Fatalf("%+v", e)
	}
	if e := From(secret, protocol.AWSQuery); e.Code != "InternalFailure" || e.Sender {
		t.Fatalf("%+v", e)
	}
}
