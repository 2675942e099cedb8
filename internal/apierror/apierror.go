// Package apierror is the one error type domain packages return: a
// sentinel kind (what went wrong, for errors.Is and the wire table in
// awserror), a message safe to show the client, and for some kinds the name
// of the resource concerned.
package apierror

import (
	"fmt"
	"strings"
)

// Error is a domain error.
type Error struct {
	Kind         error
	Message      string
	ResourceName string
}

func (e *Error) Error() string    { return e.Message }
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
