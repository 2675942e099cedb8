// Package awserror is the one place where domain errors become AWS wire
// errors. It walks an ordered table with errors.Is, so wrapped errors map
// correctly, and picks the code, HTTP status and fault per protocol. An error
// that matches no row is an InternalServerException whose message says
// nothing of the cause; the caller logs the cause with the request id.
package awserror

import (
	"errors"

	"github.com/idcgate/idcgate/internal/apierror"
	"github.com/idcgate/idcgate/internal/auth"
	"github.com/idcgate/idcgate/internal/dataapi"
	"github.com/idcgate/idcgate/internal/faults"
	"github.com/idcgate/idcgate/internal/iamstore"
	"github.com/idcgate/idcgate/internal/identitystore"
	"github.com/idcgate/idcgate/internal/issuer"
	"github.com/idcgate/idcgate/internal/keyring"
	"github.com/idcgate/idcgate/internal/oidc"
	"github.com/idcgate/idcgate/internal/protocol"
	"github.com/idcgate/idcgate/internal/redshiftidc"
	"github.com/idcgate/idcgate/internal/serverless"
	"github.com/idcgate/idcgate/internal/sigv4"
	"github.com/idcgate/idcgate/internal/ssoadmin"
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
	// Members are further members of a JSON error body, by their wire names
	// (apierror.Error.Members).
	Members map[string]string
	// Internal marks the fallback row: the cause must be logged, not sent.
	Internal bool
}

// row is one entry of the table: a sentinel and how each protocol renders it.
// Every field is named at its use, so a row reads as the AWS error it is.
type row struct {
	// Sentinel is matched with errors.Is, so a wrapped error maps too.
	Sentinel error
	answer
}

// answer is one error's wire form in each protocol.
type answer struct {
	// Code and Status: awsJson1_1, and restJson1 unless RESTCode is set.
	Code   string
	Status int
	// QueryCode and QueryStatus: awsQuery (STS, Redshift).
	QueryCode   string
	QueryStatus int
	// RESTCode and RESTStatus: restJson1 (SSO-OIDC) when it differs from Code.
	RESTCode   string
	RESTStatus int
	// OAuth is the restJson1 OAuth "error" member (invalid_grant, …).
	OAuth string
	// Message is sent when the error carries no public message of its own.
	Message string
}

// saying is a with another default message: for the codes several
// sentinels share, each with its own words.
func (a answer) saying(message string) answer {
	a.Message = message
	return a
}

// The answers more than one row gives; a row that differs only in its
// message says so with saying.
var (
	invalidSignature = answer{
		Code: "InvalidSignatureException", Status: 400,
		QueryCode: "SignatureDoesNotMatch", QueryStatus: 403}
	invalidClientToken = answer{
		Code: "UnrecognizedClientException", Status: 400,
		QueryCode: "InvalidClientTokenId", QueryStatus: 403,
		Message: "The security token included in the request is invalid."}
	accessDenied = answer{
		Code: "AccessDeniedException", Status: 400,
		QueryCode: "AccessDenied", QueryStatus: 403,
		OAuth:   "access_denied",
		Message: "You do not have sufficient access to perform this action."}
	expiredToken = answer{
		Code: "ExpiredTokenException", Status: 400,
		QueryCode: "ExpiredTokenException", QueryStatus: 400}
	invalidParameterValue = answer{
		Code: "ValidationException", Status: 400,
		QueryCode: "InvalidParameterValue", QueryStatus: 400}
	malformedPolicy = answer{
		Code: "MalformedPolicyDocumentException", Status: 400,
		QueryCode: "MalformedPolicyDocument", QueryStatus: 400,
		Message: "The policy document is malformed."}
	// internalFailure is also the answer for an error no row matches.
	internalFailure = answer{
		Code: "InternalServerException", Status: 500,
		QueryCode: "InternalFailure", QueryStatus: 500,
		OAuth:   "server_error",
		Message: "The request processing has failed because of an unknown error, exception or failure."}
)

// rows is the table; order matters only where sentinels could overlap.
var rows = []row{
	{Sentinel: sigv4.ErrMissingAuth, answer: answer{
		Code: "MissingAuthenticationTokenException", Status: 400,
		QueryCode: "MissingAuthenticationToken", QueryStatus: 403,
		Message: "Request is missing Authentication Token"}},
	{Sentinel: sigv4.ErrIncompleteSignature, answer: answer{
		Code: "IncompleteSignatureException", Status: 400,
		QueryCode: "IncompleteSignature", QueryStatus: 400,
		Message: "The request signature does not conform to AWS standards."}},
	{Sentinel: sigv4.ErrUnknownAccessKey, answer: invalidClientToken},
	{Sentinel: sigv4.ErrInvalidClientToken, answer: invalidClientToken},
	{Sentinel: sigv4.ErrExpiredToken, answer: answer{
		Code: "ExpiredTokenException", Status: 400,
		QueryCode: "ExpiredToken", QueryStatus: 400,
		Message: "The security token included in the request is expired"}},
	{Sentinel: sigv4.ErrSignatureMismatch, answer: invalidSignature.saying(
		"The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")},
	{Sentinel: sigv4.ErrSignatureExpired, answer: invalidSignature.saying(
		"Signature expired")},
	{Sentinel: sigv4.ErrWrongRegion, answer: invalidSignature.saying(
		"Credential should be scoped to a valid region.")},
	{Sentinel: sigv4.ErrWrongService, answer: invalidSignature.saying(
		"Credential should be scoped to correct service.")},
	{Sentinel: sigv4.ErrScopeDate, answer: invalidSignature.saying(
		"Date in Credential scope does not match the request date.")},

	{Sentinel: protocol.ErrTooLarge, answer: answer{
		Code: "RequestEntityTooLargeException", Status: 413,
		QueryCode: "RequestEntityTooLarge", QueryStatus: 413,
		Message: "Request must be smaller than 1048576 bytes."}},
	{Sentinel: protocol.ErrUnknownOperation, answer: answer{
		Code: "UnknownOperationException", Status: 400,
		QueryCode: "InvalidAction", QueryStatus: 400,
		Message: "The action or operation requested is invalid."}},
	{Sentinel: protocol.ErrMissingAction, answer: answer{
		Code: "UnknownOperationException", Status: 400,
		QueryCode: "MissingAction", QueryStatus: 400,
		Message: "The request must contain the parameter Action."}},
	{Sentinel: protocol.ErrNotFoundPath, answer: answer{
		Code: "UnknownOperationException", Status: 404,
		QueryCode: "InvalidAction", QueryStatus: 404,
		Message: "No such resource."}},
	{Sentinel: protocol.ErrMethodNotAllowed, answer: answer{
		Code: "UnknownOperationException", Status: 405,
		QueryCode: "InvalidAction", QueryStatus: 405,
		Message: "Method not allowed."}},

	{Sentinel: validation.ErrInvalid, answer: answer{
		Code: "ValidationException", Status: 400,
		QueryCode: "ValidationError", QueryStatus: 400,
		RESTCode: "InvalidRequestException", RESTStatus: 400,
		OAuth:   "invalid_request",
		Message: "The input failed to satisfy the constraints specified by an AWS service."}},
	{Sentinel: auth.ErrAccessDenied, answer: accessDenied},
	{Sentinel: protocol.ErrSerialization, answer: answer{
		Code: "SerializationException", Status: 400,
		QueryCode: "MalformedInput", QueryStatus: 400,
		RESTCode: "InvalidRequestException", RESTStatus: 400,
		OAuth:   "invalid_request",
		Message: "The request could not be deserialized."}},

	{Sentinel: oidc.ErrInvalidRequest, answer: answer{
		Code: "InvalidRequestException", Status: 400,
		QueryCode: "InvalidParameterValue", QueryStatus: 400,
		OAuth:   "invalid_request",
		Message: "Invalid request."}},
	{Sentinel: oidc.ErrInvalidClient, answer: answer{
		Code: "InvalidClientException", Status: 401,
		QueryCode: "InvalidClientTokenId", QueryStatus: 403,
		OAuth:   "invalid_client",
		Message: "Invalid client."}},
	{Sentinel: oidc.ErrInvalidGrant, answer: answer{
		Code: "InvalidGrantException", Status: 400,
		QueryCode: "InvalidParameterValue", QueryStatus: 400,
		OAuth:   "invalid_grant",
		Message: "Invalid grant."}},
	{Sentinel: oidc.ErrUnauthorizedClient, answer: answer{
		Code: "UnauthorizedClientException", Status: 400,
		QueryCode: "AccessDenied", QueryStatus: 403,
		OAuth:   "unauthorized_client",
		Message: "Unauthorized client."}},
	{Sentinel: oidc.ErrUnsupportedGrantType, answer: answer{
		Code: "UnsupportedGrantTypeException", Status: 400,
		QueryCode: "InvalidParameterValue", QueryStatus: 400,
		OAuth:   "unsupported_grant_type",
		Message: "Unsupported grant type."}},
	{Sentinel: oidc.ErrInvalidScope, answer: answer{
		Code: "InvalidScopeException", Status: 400,
		QueryCode: "InvalidParameterValue", QueryStatus: 400,
		OAuth:   "invalid_scope",
		Message: "Invalid scope."}},
	{Sentinel: oidc.ErrExpiredToken, answer: answer{
		Code: "ExpiredTokenException", Status: 400,
		QueryCode: "ExpiredTokenException", QueryStatus: 400,
		OAuth:   "expired_token",
		Message: "The token has expired."}},
	{Sentinel: oidc.ErrIssuerUnavailable, answer: internalFailure.saying(
		"The trusted token issuer's keys could not be retrieved.")},
	{Sentinel: oidc.ErrAccessDenied, answer: accessDenied},
	{Sentinel: oidc.ErrAuthorizationPending, answer: answer{
		Code: "AuthorizationPendingException", Status: 400,
		QueryCode: "InvalidParameterValue", QueryStatus: 400,
		OAuth:   "authorization_pending",
		Message: "Authorization is pending."}},
	{Sentinel: oidc.ErrSlowDown, answer: answer{
		Code: "SlowDownException", Status: 400,
		QueryCode: "Throttling", QueryStatus: 400,
		OAuth:   "slow_down",
		Message: "Client is polling too fast."}},
	{Sentinel: oidc.ErrInvalidClientMetadata, answer: answer{
		Code: "InvalidClientMetadataException", Status: 400,
		QueryCode: "InvalidParameterValue", QueryStatus: 400,
		OAuth:   "invalid_client_metadata",
		Message: "Invalid client metadata."}},
	{Sentinel: oidc.ErrInvalidRedirectURI, answer: answer{
		Code: "InvalidRedirectUriException", Status: 400,
		QueryCode: "InvalidParameterValue", QueryStatus: 400,
		OAuth:   "invalid_redirect_uri",
		Message: "Invalid redirect URI."}},

	// sso-admin: the model's statuses (404, 409, 402, 403).
	{Sentinel: ssoadmin.ErrNotFound, answer: answer{
		Code: "ResourceNotFoundException", Status: 404,
		QueryCode: "ResourceNotFound", QueryStatus: 404,
		Message: "The specified resource doesn't exist."}},
	{Sentinel: ssoadmin.ErrConflict, answer: answer{
		Code: "ConflictException", Status: 409,
		QueryCode: "Conflict", QueryStatus: 409,
		Message: "The request conflicts with the state of the resource."}},
	{Sentinel: ssoadmin.ErrQuota, answer: answer{
		Code: "ServiceQuotaExceededException", Status: 402,
		QueryCode: "ServiceQuotaExceeded", QueryStatus: 402,
		Message: "The request would cause a service quota to be exceeded."}},
	{Sentinel: ssoadmin.ErrAccessDenied, answer: answer{
		Code: "AccessDeniedException", Status: 403,
		QueryCode: "AccessDenied", QueryStatus: 403,
		Message: "You do not have sufficient access to perform this action."}},

	{Sentinel: sts.ErrMalformedPolicy, answer: malformedPolicy},
	{Sentinel: sts.ErrPackedPolicyTooBig, answer: answer{
		Code: "PackedPolicyTooLargeException", Status: 400,
		QueryCode: "PackedPolicyTooLarge", QueryStatus: 400,
		Message: "The session policy is too large."}},
	{Sentinel: sts.ErrInvalidParameter, answer: invalidParameterValue.saying(
		"An invalid or out-of-range value was supplied for the input parameter.")},
	{Sentinel: sts.ErrExpiredContext, answer: expiredToken.saying("The context assertion has expired.")},
	{Sentinel: sts.ErrInvalidIdentityToken, answer: answer{
		Code: "InvalidIdentityTokenException", Status: 400,
		QueryCode: "InvalidIdentityToken", QueryStatus: 400,
		Message: "The web identity token that was passed could not be validated by Amazon Web Services. Get a new identity token from the identity provider and then retry the request."}},
	{Sentinel: sts.ErrWebIdentityExpired, answer: expiredToken.saying("The web identity token that was passed is expired.")},
	{Sentinel: sts.ErrIDPRejectedClaim, answer: answer{
		Code: "IDPRejectedClaimException", Status: 403,
		QueryCode: "IDPRejectedClaim", QueryStatus: 403,
		Message: "The identity provider (IdP) reported that authentication failed."}},
	{Sentinel: sts.ErrIDPCommunication, answer: answer{
		Code: "IDPCommunicationErrorException", Status: 400,
		QueryCode: "IDPCommunicationError", QueryStatus: 400,
		Message: "The request could not be fulfilled because the identity provider (IDP) that was asked to verify the incoming identity token could not be reached."}},

	{Sentinel: throttle.ErrThrottled, answer: answer{
		Code: "ThrottlingException", Status: 400,
		QueryCode: "Throttling", QueryStatus: 400,
		RESTCode: "SlowDownException", RESTStatus: 400,
		OAuth:   "slow_down",
		Message: "Rate exceeded"}},
	{Sentinel: faults.ErrInjectedInternal, answer: internalFailure},
	{Sentinel: issuer.ErrDryRun, answer: answer{
		Code: "DryRunException", Status: 400,
		QueryCode: "DryRunOperation", QueryStatus: 412,
		Message: "Request would have succeeded, but the DryRun flag is set."}},
	{Sentinel: keyring.ErrBadVersion, answer: answer{
		Code: "ValidationException", Status: 400,
		QueryCode: "ValidationError", QueryStatus: 400,
		Message: "The key version is out of range."}},

	{Sentinel: iamstore.ErrNoSuchEntity, answer: answer{
		Code: "NoSuchEntityException", Status: 404,
		QueryCode: "NoSuchEntity", QueryStatus: 404,
		Message: "The request was rejected because it referenced a resource entity that does not exist."}},
	{Sentinel: iamstore.ErrEntityExists, answer: answer{
		Code: "EntityAlreadyExistsException", Status: 409,
		QueryCode: "EntityAlreadyExists", QueryStatus: 409,
		Message: "The request was rejected because it attempted to create a resource that already exists."}},
	{Sentinel: iamstore.ErrDeleteConflict, answer: answer{
		Code: "DeleteConflictException", Status: 409,
		QueryCode: "DeleteConflict", QueryStatus: 409,
		Message: "The request was rejected because it attempted to delete a resource that has attached subordinate entities."}},
	{Sentinel: iamstore.ErrLimitExceeded, answer: answer{
		Code: "LimitExceededException", Status: 409,
		QueryCode: "LimitExceeded", QueryStatus: 409,
		Message: "The request was rejected because it attempted to create resources beyond the current AWS account limits."}},
	{Sentinel: iamstore.ErrInvalidInput, answer: answer{
		Code: "InvalidInputException", Status: 400,
		QueryCode: "InvalidInput", QueryStatus: 400,
		Message: "The request was rejected because an invalid or out-of-range value was supplied for an input parameter."}},
	{Sentinel: iamstore.ErrMalformedPolicy, answer: malformedPolicy},

	{Sentinel: redshiftidc.ErrNotFound, answer: answer{
		Code: "ResourceNotFoundException", Status: 400,
		QueryCode: "RedshiftIdcApplicationNotExists", QueryStatus: 404,
		Message: "The application you specified doesn't exist."}},
	{Sentinel: redshiftidc.ErrExists, answer: answer{
		Code: "ConflictException", Status: 400,
		QueryCode: "RedshiftIdcApplicationAlreadyExists", QueryStatus: 400,
		Message: "The application you attempted to add already exists."}},
	{Sentinel: redshiftidc.ErrInvalidParameter, answer: invalidParameterValue.saying(
		"The value specified for a parameter is not valid.")},

	{Sentinel: identitystore.ErrNotFound, answer: answer{
		Code: "ResourceNotFoundException", Status: 400,
		QueryCode: "ResourceNotFound", QueryStatus: 404,
		Message: "The resource does not exist."}},
	{Sentinel: identitystore.ErrConflict, answer: answer{
		Code: "ConflictException", Status: 400,
		QueryCode: "Conflict", QueryStatus: 409,
		Message: "The request conflicts with the resource's current state."}},
	{Sentinel: serverless.ErrNotFound, answer: answer{
		Code: "ResourceNotFoundException", Status: 400,
		QueryCode: "ResourceNotFoundFault", QueryStatus: 404,
		Message: "The resource could not be found."}},
	{Sentinel: serverless.ErrConflict, answer: answer{
		Code: "ConflictException", Status: 400,
		QueryCode: "InvalidStateFault", QueryStatus: 400,
		Message: "The submitted action has conflicts."}},
	{Sentinel: serverless.ErrInsufficientCapacity, answer: answer{
		Code: "InsufficientCapacityException", Status: 400,
		QueryCode: "InsufficientCapacity", QueryStatus: 400,
		Message: "There is an insufficient capacity to perform the action."}},
	{Sentinel: serverless.ErrTooManyTags, answer: answer{
		Code: "TooManyTagsException", Status: 400,
		QueryCode: "TagLimitExceededFault", QueryStatus: 400,
		Message: "The request exceeded the number of tags allowed for a resource."}},
	{Sentinel: serverless.ErrInvalidPagination, answer: answer{
		Code: "InvalidPaginationException", Status: 400,
		QueryCode: "InvalidPaginationToken", QueryStatus: 400,
		Message: "The provided pagination token is invalid."}},
	{Sentinel: serverless.ErrIpv6CidrBlockNotFound, answer: answer{
		Code: "Ipv6CidrBlockNotFoundException", Status: 400,
		QueryCode: "Ipv6CidrBlockNotFoundFault", QueryStatus: 400,
		Message: "There are no subnets in your VPC with associated IPv6 CIDR blocks. To use dual-stack mode, associate an IPv6 CIDR block with each subnet in your VPC."}},
	{Sentinel: serverless.ErrIdcApplicationNotFound, answer: answer{
		Code: "ValidationException", Status: 400,
		QueryCode: "RedshiftIdcApplicationNotExists", QueryStatus: 404,
		Message: "The Redshift IdC application does not exist."}},

	{Sentinel: dataapi.ErrNotFound, answer: answer{
		Code: "ResourceNotFoundException", Status: 400,
		QueryCode: "ResourceNotFoundException", QueryStatus: 400,
		Message: "Query does not exist."}},
	{Sentinel: dataapi.ErrActiveStatementsExceeded, answer: answer{
		Code: "ActiveStatementsExceededException", Status: 400,
		QueryCode: "ActiveStatementsExceededException", QueryStatus: 400,
		Message: "Active statements exceeded the allowed quota."}},
	{Sentinel: dataapi.ErrDatabaseConnection, answer: answer{
		Code: "DatabaseConnectionException", Status: 500,
		QueryCode: "DatabaseConnectionException", QueryStatus: 500,
		Message: "Connection to a database failed."}},
}

var internal = row{answer: internalFailure}

// From maps err to its wire form for protocol p.
func From(err error, p protocol.Protocol) *APIError {
	r, ok := lookup(err)
	code, status := r.Code, r.Status
	switch {
	case p == protocol.AWSQuery:
		code, status = r.QueryCode, r.QueryStatus
	case p == protocol.RESTJSON && r.RESTCode != "":
		code, status = r.RESTCode, r.RESTStatus
	}
	out := &APIError{Code: code, Status: status, Message: r.Message, Sender: status < 500, Internal: !ok}
	if p == protocol.RESTJSON {
		out.OAuth = r.OAuth
	}
	if !ok {
		return out
	}
	var ae *apierror.Error
	if errors.As(err, &ae) {
		out.Message = ae.Message
		out.ResourceName = ae.ResourceName
		out.Members = ae.Members
	}
	return out
}

func lookup(err error) (row, bool) {
	for _, r := range rows {
		if errors.Is(err, r.Sentinel) {
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
			out = append(out, r.QueryCode)
		} else {
			out = append(out, r.Code)
		}
	}
	return out
}
