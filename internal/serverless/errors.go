package serverless

import (
	"errors"
	"fmt"

	"github.com/idcgate/idcgate/internal/apierror"
)

// Sentinel errors of the domain; the wire table maps each to an AWS error.
var (
	ErrNotFound               = errors.New("resource not found")
	ErrConflict               = errors.New("conflict")
	ErrInsufficientCapacity   = errors.New("insufficient capacity")
	ErrTooManyTags            = errors.New("too many tags")
	ErrIdcApplicationNotFound = errors.New("redshift idc application not found")
	// ErrIpv6CidrBlockNotFound: dual-stack asked for on a subnet without IPv6.
	ErrIpv6CidrBlockNotFound = errors.New("ipv6 cidr block not found")
)

// Error is a domain error with a message safe to send and, for not-found
// and tag errors, the resource's name.
type Error = apierror.Error

func errorf(kind error, resource, format string, args ...any) error {
	return &Error{Kind: kind, ResourceName: resource, Message: fmt.Sprintf(format, args...)}
}

func namespaceNotFound(name string) error {
	return errorf(ErrNotFound, name, "Namespace %s not found.", name)
}

func workgroupNotFound(name string) error {
	return errorf(ErrNotFound, name, "Workgroup %s not found.", name)
}
