// Package validation collects input-constraint violations and renders them the
// way AWS services do ("2 validation errors detected: Value 'X' at 'name'
// failed to satisfy constraint: Member must ...; Value ...").
//
// Domain packages describe their inputs' constraints with a Collector; the wire
// layer maps ErrInvalid to each protocol's validation error.
package validation

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/idcgate/idcgate/internal/apierror"
)

// ErrInvalid is the kind of every validation error.
var ErrInvalid = errors.New("validation failed")

// Error is a failed validation with its AWS-form message (Kind ErrInvalid).
type Error = apierror.Error

// Newf returns an *Error with a free-form message, for rules that do not fit
// the "Value ... at ... failed to satisfy constraint" form.
func Newf(format string, args ...any) error {
	return apierror.New(ErrInvalid, format, args...)
}

// Collector accumulates violations in the order they are found.
type Collector struct {
	violations []string
}

// Add records a violation of constraint by value at path. value is rendered
// as AWS does: strings quoted, nil as null, lists as [a, b].
func (c *Collector) Add(path string, value any, constraint string) {
	c.violations = append(c.violations,
		fmt.Sprintf("Value %s at '%s' failed to satisfy constraint: %s", render(value), path, constraint))
}

// Required records a violation when present is false.
func (c *Collector) Required(path string, present bool) bool {
	if !present {
		c.Add(path, nil, "Member must not be null")
	}
	return present
}

// Length checks min <= len(s) <= max (runes); max < 0 means no upper bound.
func (c *Collector) Length(path, s string, min, max int) bool {
	return c.length(path, s, s, min, max)
}

// SecretLength is Length for a member that is a credential (a token, an
// assertion, a password): the message shows '***', never the value, which
// would otherwise reach the caller's logs and the audit trail.
func (c *Collector) SecretLength(path, s string, min, max int) bool {
	return c.length(path, s, hidden{}, min, max)
}

// length checks s's length; a violation's message shows shown.
func (c *Collector) length(path, s string, shown any, min, max int) bool {
	n := len([]rune(s))
	switch {
	case n < min:
		c.Add(path, shown, fmt.Sprintf("Member must have length greater than or equal to %d", min))
		return false
	case max >= 0 && n > max:
		c.Add(path, shown, fmt.Sprintf("Member must have length less than or equal to %d", max))
		return false
	}
	return true
}

// hidden stands for a secret value in a message.
type hidden struct{}

func (hidden) String() string { return "***" }

// Pattern checks that s matches re in full; the constraint shows pattern as
// written in the service model.
func (c *Collector) Pattern(path, s string, re *regexp.Regexp, pattern string) bool {
	if !re.MatchString(s) {
		c.Add(path, s, "Member must satisfy regular expression pattern: "+pattern)
		return false
	}
	return true
}

// LengthAndPattern checks a string member's length and then, only if that
// holds, its pattern (a member gets one complaint, the first, as AWS
// reports it).
func (c *Collector) LengthAndPattern(path, s string, min, max int, re *regexp.Regexp, pattern string) bool {
	return c.Length(path, s, min, max) && c.Pattern(path, s, re, pattern)
}

// Range checks min <= v <= max.
func (c *Collector) Range(path string, v, min, max int64) bool {
	switch {
	case v < min:
		c.Add(path, v, fmt.Sprintf("Member must have value greater than or equal to %d", min))
		return false
	case v > max:
		c.Add(path, v, fmt.Sprintf("Member must have value less than or equal to %d", max))
		return false
	}
	return true
}

// Items checks min <= len(list) <= max.
func (c *Collector) Items(path string, list []string, min, max int) bool {
	switch {
	case len(list) < min:
		c.Add(path, list, fmt.Sprintf("Member must have length greater than or equal to %d", min))
		return false
	case max >= 0 && len(list) > max:
		c.Add(path, list, fmt.Sprintf("Member must have length less than or equal to %d", max))
		return false
	}
	return true
}

// OneOf checks that s is one of allowed.
func (c *Collector) OneOf(path, s string, allowed ...string) bool {
	for _, a := range allowed {
		if s == a {
			return true
		}
	}
	c.Add(path, s, "Member must satisfy enum value set: ["+strings.Join(allowed, ", ")+"]")
	return false
}

// Err returns nil when nothing was recorded, else an *Error.
func (c *Collector) Err() error {
	switch n := len(c.violations); n {
	case 0:
		return nil
	case 1:
		return &Error{Kind: ErrInvalid, Message: "1 validation error detected: " + c.violations[0]}
	default:
		return &Error{Kind: ErrInvalid, Message: fmt.Sprintf("%d validation errors detected: %s", n, strings.Join(c.violations, "; "))}
	}
}

func render(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return "'" + x + "'"
	case []string:
		return "'[" + strings.Join(x, ", ") + "]'"
	default:
		return fmt.Sprintf("'%v'", x)
	}
}
