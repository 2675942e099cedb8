// Package apierror is the one error type domain packages return: a
// sentinel kind (what went wrong, for errors.Is and the wire table in
// awserror), a message safe to show the client, for some kinds the name of
// the resource concerned, and optionally a cause that is logged, never sent.
// Packages name it for their callers (type Error = apierror.Error) rather
// than declare their own.
package apierror

import (
	"fmt"
	"strings"
)

// Error is a domain error.
type Error struct {
	// Kind is the sentinel errors.Is matches, and the wire table maps.
	Kind error
	// Message is safe to show the client.
	Message string
	// ResourceName is set for not-found and tag errors.
	ResourceName string
	// Members are further members of the wire error, by their wire names
	// (identitystore's ResourceType, ResourceId, Reason).
	Members map[string]string
	// Cause is for the log: it is never sent, and not unwrapped, so it never
	// decides the wire error.
	Cause error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return e.Message + " (cause: " + e.Cause.Error() + ")"
	}
	return e.Message
}
func (e *Error) Unwrap() error    { return e.Kind }
func (e *Error) Public() string   { return e.Message }
func (e *Error) Resource() string { return e.ResourceName }

// New returns an *Error of kind with a formatted message.
func New(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Printable keeps client-controlled text short and printable before it goes
// into a message.
func Printable(s string) string {
	if len(s) > 128 {
		s = s[:128]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}
