// Package protocol holds what every AWS wire protocol shares: the protocol
// names and the request-level errors a codec can raise before any domain
// code runs. Codecs live in subpackages (awsjson, awsquery, …).
package protocol

import (
	"errors"

	"github.com/idcgate/idcgate/internal/apierror"
)

// Protocol is an AWS wire protocol.
type Protocol int

const (
	AWSJSON  Protocol = iota // awsJson1_1 (Redshift Serverless)
	AWSQuery                 // awsQuery (STS, Redshift)
	RESTJSON                 // restJson1 (SSO-OIDC)
)

func (p Protocol) String() string {
	switch p {
	case AWSJSON:
		return "awsJson1_1"
	case AWSQuery:
		return "awsQuery"
	case RESTJSON:
		return "restJson1"
	}
	return "unknown"
}

// Request-level errors.
var (
	ErrSerialization    = errors.New("request could not be deserialized")
	ErrUnknownOperation = errors.New("unknown operation")
	ErrMissingAction    = errors.New("missing action")
	ErrTooLarge         = errors.New("request entity too large")
	ErrNotFoundPath     = errors.New("no such route")
	ErrMethodNotAllowed = errors.New("method not allowed")
)

// Errorf returns an error of kind with a message safe to show the client.
func Errorf(kind error, message string) error { return &apierror.Error{Kind: kind, Message: message} }
