// Package awserror is the one place where domain errors become AWS wire
// errors. It walks an ordered table with errors.Is, so wrapped errors map
// correctly, and picks the code, HTTP status and fault per protocol. An error
// that matches no row is an InternalServerException whose message says
// nothing of the cause; the caller logs the cause with the request id.
package awserror

import (
	"errors"
	"net/http"

	"github.com/idcgate/idcgate/internal/auth"
	"github.com/idcgate/idcgate/internal/faults"
	"github.com/idcgate/idcgate/internal/issuer"
	"github.com/idcgate/idcgate/internal/keyring"
	"github.com/idcgate/idcgate/internal/oidc"
	"github.com/idcgate/idcgate/internal/protocol"
	"github.com/idcgate/idcgate/internal/redshiftidc"
	"github.com/idcgate/idcgate/internal/serverless"
	"github.com/idcgate/idcgate/internal/sigv4"
	"github.com/idcgate/idcgate/internal/sts"
	"github.com/idcgate/idcgate/internal/throttle"
	"github.com/idcgate/idcgate/internal/validation"
)

// APIError is an error as it goes on the wire.
type APIError struct {
	Code    string
	Status  int
	Message string
	// Sender is true for client faults (awsQuery <Type>Sender</Type>).
	Sender bool
	// ResourceName is set for ResourceNotFoundException and TooManyTagsException.
	ResourceName string
	// OAuth is the "error" member of restJson1 OAuth errors (invalid_grant, …).
	OAuth string
	// Internal marks the fallback row: the cause must be logged, not sent.
	Internal bool
}

// wire is one protocol's rendering of a row.
type wire struct {
	Code   string
	Status int
}

type row struct {
	kind  error
	json  wire // awsJson1_1, and restJson1 unless rest is set
	query wire // awsQuery
	// message is used when the error carries no public message of its own.
	message string
	rest    wire   // restJson1 (SSO-OIDC) when it differs from json
	oauth   string // restJson1 OAuth "error" member
}

// rows is the table; order matters only where sentinels could overlap.
var rows = []row{
	{sigv4.ErrMissingAuth,
		wire{"MissingAuthenticationTokenException", http.StatusBadRequest},
		wire{"MissingAuthenticationToken", http.StatusForbidden},
		"Request is missing Authentication Token", wire{}, ""},
	{sigv4.ErrIncompleteSignature,
		wire{"IncompleteSignatureException", http.StatusBadRequest},
		wire{"IncompleteSignature", http.StatusBadRequest},
		"The request signature does not conform to AWS standards.", wire{}, ""},
	{sigv4.ErrUnknownAccessKey,
		wire{"UnrecognizedClientException", http.StatusBadRequest},
		wire{"InvalidClientTokenId", http.StatusForbidden},
		"The security token included in the request is invalid.", wire{}, ""},
	{sigv4.ErrInvalidClientToken,
		wire{"UnrecognizedClientException", http.StatusBadRequest},
		wire{"InvalidClientTokenId", http.StatusForbidden},
		"The security token included in the request is invalid.", wire{}, ""},
	{sigv4.ErrExpiredToken,
		wire{"ExpiredTokenException", http.StatusBadRequest},
		wire{"ExpiredToken", http.StatusBadRequest},
		"The security token included in the request is expired", wire{}, ""},
	{sigv4.ErrSignatureMismatch,
		wire{"InvalidSignatureException", http.StatusBadRequest},
		wire{"SignatureDoesNotMatch", http.StatusForbidden},
		"The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.", wire{}, ""},
	{sigv4.ErrSignatureExpired,
		wire{"InvalidSignatureException", http.StatusBadRequest},
		wire{"SignatureDoesNotMatch", http.StatusForbidden},
		"Signature expired", wire{}, ""},
	{sigv4.ErrWrongRegion,
		wire{"InvalidSignatureException", http.StatusBadRequest},
		wire{"SignatureDoesNotMatch", http.StatusForbidden},
		"Credential should be scoped to a valid region.", wire{}, ""},
	{sigv4.ErrWrongService,
		wire{"InvalidSignatureException", http.StatusBadRequest},
		wire{"SignatureDoesNotMatch", http.StatusForbidden},
		"Credential should be scoped to correct service.", wire{}, ""},
	{sigv4.ErrScopeDate,
		wire{"InvalidSignatureException", http.StatusBadRequest},
		wire{"SignatureDoesNotMatch", http.StatusForbidden},
		"Date in Credential scope does not match the request date.", wire{}, ""},

	{protocol.ErrTooLarge,
		wire{"RequestEntityTooLargeException", http.StatusRequestEntityTooLarge},
		wire{"RequestEntityTooLarge", http.StatusRequestEntityTooLarge},
		"Request must be smaller than 1048576 bytes.", wire{}, ""},
	{protocol.ErrUnknownOperation,
		wire{"UnknownOperationException", http.StatusBadRequest},
		wire{"InvalidAction", http.StatusBadRequest},
		"The action or operation requested is invalid.", wire{}, ""},
	{protocol.ErrMissingAction,
		wire{"UnknownOperationException", http.StatusBadRequest},
		wire{"MissingAction", http.StatusBadRequest},
		"The request must contain the parameter Action.", wire{}, ""},
	{protocol.ErrNotFoundPath,
		wire{"UnknownOperationException", http.StatusNotFound},
		wire{"InvalidAction", http.StatusNotFound},
		"No such resource.", wire{}, ""},
	{protocol.ErrMethodNotAllowed,
		wire{"UnknownOperationException", http.StatusMethodNotAllowed},
		wire{"InvalidAction", http.StatusMethodNotAllowed},
		"Method not allowed.", wire{}, ""},

	{validation.ErrInvalid,
		wire{"ValidationException", http.StatusBadRequest},
		wire{"ValidationError", http.StatusBadRequest},
		"The input failed to satisfy the constraints specified by an AWS service.",
		wire{"InvalidRequestException", http.StatusBadRequest}, "invalid_request"},
	{auth.ErrAccessDenied,
		wire{"AccessDeniedException", http.StatusBadRequest},
		wire{"AccessDenied", http.StatusForbidden},
		"You do not have sufficient access to perform this action.",
		wire{}, "access_denied"},
	{protocol.ErrSerialization,
		wire{"SerializationException", http.StatusBadRequest},
		wire{"MalformedInput", http.StatusBadRequest},
		"The request could not be deserialized.",
		wire{"InvalidRequestException", http.StatusBadRequest}, "invalid_request"},

	{oidc.ErrInvalidRequest, wire{"InvalidRequestException", http.StatusBadRequest}, wire{"InvalidParameterValue", http.StatusBadRequest},
		"Invalid request.", wire{}, "invalid_request"},
	{oidc.ErrInvalidClient, wire{"InvalidClientException", http.StatusUnauthorized}, wire{"InvalidClientTokenId", http.StatusForbidden},
		"Invalid client.", wire{}, "invalid_client"},
	{oidc.ErrInvalidGrant, wire{"InvalidGrantException", http.StatusBadRequest}, wire{"InvalidParameterValue", http.StatusBadRequest},
		"Invalid grant.", wire{}, "invalid_grant"},
	{oidc.ErrUnauthorizedClient, wire{"UnauthorizedClientException", http.StatusBadRequest}, wire{"AccessDenied", http.StatusForbidden},
		"Unauthorized client.", wire{}, "unauthorized_client"},
	{oidc.ErrUnsupportedGrantType, wire{"UnsupportedGrantTypeException", http.StatusBadRequest}, wire{"InvalidParameterValue", http.StatusBadRequest},
		"Unsupported grant type.", wire{}, "unsupported_grant_type"},
	{oidc.ErrInvalidScope, wire{"InvalidScopeException", http.StatusBadRequest}, wire{"InvalidParameterValue", http.StatusBadRequest},
		"Invalid scope.", wire{}, "invalid_scope"},
	{oidc.ErrExpiredToken, wire{"ExpiredTokenException", http.StatusBadRequest}, wire{"ExpiredTokenException", http.StatusBadRequest},
		"The token has expired.", wire{}, "expired_token"},
	{oidc.ErrIssuerUnavailable, wire{"InternalServerException", http.StatusInternalServerError}, wire{"InternalFailure", http.StatusInternalServerError},
		"The trusted token issuer's keys could not be retrieved.", wire{}, "server_error"},

	{sts.ErrMalformedPolicy, wire{"MalformedPolicyDocumentException", http.StatusBadRequest}, wire{"MalformedPolicyDocument", http.StatusBadRequest},
		"The policy document is malformed.", wire{}, ""},
	{sts.ErrPackedPolicyTooBig, wire{"PackedPolicyTooLargeException", http.StatusBadRequest}, wire{"PackedPolicyTooLarge", http.StatusBadRequest},
		"The session policy is too large.", wire{}, ""},
	{sts.ErrInvalidParameter, wire{"ValidationException", http.StatusBadRequest}, wire{"InvalidParameterValue", http.StatusBadRequest},
		"An invalid or out-of-range value was supplied for the input parameter.", wire{}, ""},
	{sts.ErrExpiredContext, wire{"ExpiredTokenException", http.StatusBadRequest}, wire{"ExpiredTokenException", http.StatusBadRequest},
		"The context assertion has expired.", wire{}, ""},

	{throttle.ErrThrottled, wire{"ThrottlingException", http.StatusBadRequest}, wire{"Throttling", http.StatusBadRequest},
		"Rate exceeded", wire{"SlowDownException", http.StatusBadRequest}, "slow_down"},
	{faults.ErrInjectedInternal, wire{"InternalServerException", http.StatusInternalServerError}, wire{"InternalFailure", http.StatusInternalServerError},
		"The request processing has failed because of an unknown error, exception or failure.", wire{}, "server_error"},
	{issuer.ErrDryRun, wire{"DryRunException", http.StatusBadRequest}, wire{"DryRunOperation", http.StatusPreconditionFailed},
		"Request would have succeeded, but the DryRun flag is set.", wire{}, ""},
	{keyring.ErrBadVersion, wire{"ValidationException", http.StatusBadRequest}, wire{"ValidationError", http.StatusBadRequest},
		"The key version is out of range.", wire{}, ""},

	{redshiftidc.ErrNotFound, wire{"ResourceNotFoundException", http.StatusBadRequest}, wire{"RedshiftIdcApplicationNotExists", http.StatusNotFound},
		"The application you specified doesn't exist.", wire{}, ""},
	{redshiftidc.ErrExists, wire{"ConflictException", http.StatusBadRequest}, wire{"RedshiftIdcApplicationAlreadyExists", http.StatusBadRequest},
		"The application you attempted to add already exists.", wire{}, ""},

	{serverless.ErrNotFound,
		wire{"ResourceNotFoundException", http.StatusBadRequest},
		wire{"ResourceNotFoundFault", http.StatusNotFound},
		"The resource could not be found.", wire{}, ""},
	{serverless.ErrConflict,
		wire{"ConflictException", http.StatusBadRequest},
		wire{"InvalidStateFault", http.StatusBadRequest},
		"The submitted action has conflicts.", wire{}, ""},
	{serverless.ErrInsufficientCapacity,
		wire{"InsufficientCapacityException", http.StatusBadRequest},
		wire{"InsufficientCapacity", http.StatusBadRequest},
		"There is an insufficient capacity to perform the action.", wire{}, ""},
	{serverless.ErrTooManyTags,
		wire{"TooManyTagsException", http.StatusBadRequest},
		wire{"TagLimitExceededFault", http.StatusBadRequest},
		"The request exceeded the number of tags allowed for a resource.", wire{}, ""},
	{serverless.ErrIpv6CidrBlockNotFound,
		wire{"Ipv6CidrBlockNotFoundException", http.StatusBadRequest},
		wire{"Ipv6CidrBlockNotFoundFault", http.StatusBadRequest},
		"There are no subnets in your VPC with associated IPv6 CIDR blocks. To use dual-stack mode, associate an IPv6 CIDR block with each subnet in your VPC.", wire{}, ""},
	{serverless.ErrIdcApplicationNotFound,
		wire{"ValidationException", http.StatusBadRequest},
		wire{"RedshiftIdcApplicationNotExists", http.StatusNotFound},
		"The Redshift IdC application does not exist.", wire{}, ""},
}

var internal = row{
	json:    wire{"InternalServerException", http.StatusInternalServerError},
	query:   wire{"InternalFailure", http.StatusInternalServerError},
	message: "The request processing has failed because of an unknown error, exception or failure.",
}

type publicError interface{ Public() string }
type resourceError interface{ Resource() string }

// From maps err to its wire form for protocol p.
func From(err error, p protocol.Protocol) *APIError {
	r, ok := lookup(err)
	w := r.json
	switch {
	case p == protocol.AWSQuery:
		w = r.query
	case p == protocol.RESTJSON && r.rest.Code != "":
		w = r.rest
	}
	out := &APIError{Code: w.Code, Status: w.Status, Message: r.message, Sender: w.Status < 500, Internal: !ok}
	if p == protocol.RESTJSON {
		out.OAuth = r.oauth
		if !ok {
			out.OAuth = "server_error"
		}
	}
	if !ok {
		return out
	}
	var pe publicError
	if errors.As(err, &pe) {
		out.Message = pe.Public()
	}
	var re resourceError
	if errors.As(err, &re) {
		out.ResourceName = re.Resource()
	}
	return out
}

func lookup(err error) (row, bool) {
	for _, r := range rows {
		if errors.Is(err, r.kind) {
			return r, true
		}
	}
	return internal, false
}

// Codes lists every code the table can produce for protocol p, for tests and docs.
func Codes(p protocol.Protocol) []string {
	var out []string
	for _, r := range append(rows, internal) {
		if p == protocol.AWSQuery {
			out = append(out, r.query.Code)
		} else {
			out = append(out, r.json.Code)
		}
	}
	return out
}
