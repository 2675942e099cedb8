package iam

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrMalformedPolicy wraps every parse failure.
var ErrMalformedPolicy = errors.New("malformed policy document")

// PolicyError is a refused policy document: IAM's message, and the
// statement (from 1) it concerns, 0 for the document as a whole.
type PolicyError struct {
	Message   string
	Statement int
}

func (e *PolicyError) Error() string { return ErrMalformedPolicy.Error() + ": " + e.Detail() }

func (e *PolicyError) Unwrap() error { return ErrMalformedPolicy }

// Detail is IAM's message (Message, which AWS answers alone) and the
// statement it concerns, for configuration errors.
func (e *PolicyError) Detail() string {
	if e.Statement > 0 {
		return fmt.Sprintf("%s (statement %d)", e.Message, e.Statement)
	}
	return e.Message
}

func malformed(format string, args ...any) error {
	return &PolicyError{Message: fmt.Sprintf(format, args...)}
}

// Policy is a parsed policy document.
type Policy struct {
	doc        []byte
	variables  bool
	statements []statement
}

type statement struct {
	sid          string
	allow        bool
	actions      []string
	notAction    bool
	resources    []string
	notResource  bool
	hasResource  bool
	principals   []principalSpec
	notPrincipal bool
	hasPrincipal bool
	conditions   []condition
}

type principalSpec struct {
	kind  string // AWS, Service, Federated, * (anyone)
	value string
}

type condition struct {
	op      string // base operator, lower-case, without IfExists
	set     string // "", "foranyvalue", "forallvalues"
	ifExist bool
	key     string
	values  []string
}

// Document returns the original document.
func (p *Policy) Document() []byte { return p.doc }

// AWSPrincipals lists the values of the document's "AWS" principals
// (ARNs, account ids), in statement order, so that whoever stores the
// policy can check what they name (IAM refuses a trust policy naming a user
// or role that does not exist).
func (p *Policy) AWSPrincipals() []string { return p.principals("AWS") }

// FederatedPrincipals lists the values of the document's "Federated"
// principals, in statement order (IAM refuses a trust policy naming an
// OpenID Connect provider of the account that does not exist).
func (p *Policy) FederatedPrincipals() []string { return p.principals("Federated") }

// principals lists the values of the document's principals of a kind, in
// statement order.
func (p *Policy) principals(kind string) []string {
	var out []string
	for _, s := range p.statements {
		for _, pr := range s.principals {
			if pr.kind == kind {
				out = append(out, pr.value)
			}
		}
	}
	return out
}

// Kind is what a policy is attached to. IAM holds each kind to its own
// grammar, and so must we: a policy that AWS refuses to store must not be
// evaluated here, where its meaning is undefined (an Allow with NotPrincipal
// in a trust policy grants the role to every other account).
type Kind int

const (
	// KindIdentity is a user's or role's permission policy: no principal
	// (the policy's holder is the principal), Action and Resource required.
	KindIdentity Kind = iota
	// KindSession is AssumeRole's inline Policy; IAM parses it as an
	// identity policy.
	KindSession
	// KindTrust is a role's trust policy: Principal required, Resource and
	// NotPrincipal prohibited (AWS documents that NotPrincipal cannot be
	// used in role trust policies).
	KindTrust
	// KindResource is any other resource-based policy: Principal or
	// NotPrincipal required, NotPrincipal only with Deny.
	KindResource
)

// MustParsePolicy parses an identity policy or panics (tests, built-in
// policies).
func MustParsePolicy(doc string) *Policy { return MustParse(doc, KindIdentity) }

// MustParse parses a policy of kind or panics.
func MustParse(doc string, kind Kind) *Policy {
	p, err := ParsePolicy([]byte(doc), kind)
	if err != nil {
		panic(err)
	}
	return p
}

// ParsePolicy parses a policy document and validates it as IAM does for
// its kind. Errors wrap ErrMalformedPolicy and carry IAM's message.
func ParsePolicy(doc []byte, kind Kind) (*Policy, error) {
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil || raw == nil {
		return nil, malformed("Syntax errors in policy.")
	}
	p := &Policy{doc: append([]byte(nil), doc...)}
	for k := range raw {
		switch k {
		case "Version", "Statement", "Id":
		default:
			return nil, malformed("Policy document contains unknown element %q.", k)
		}
	}
	version := "2008-10-17"
	if v, ok := raw["Version"]; ok {
		if err := json.Unmarshal(v, &version); err != nil {
			return nil, malformed("The policy Version must be a string.")
		}
	}
	switch version {
	case "2012-10-17":
		p.variables = true
	case "2008-10-17":
	default:
		return nil, malformed("The policy must contain a valid version string.")
	}
	st, ok := raw["Statement"]
	if !ok {
		return nil, malformed("Policy document must contain a Statement.")
	}
	var list []json.RawMessage
	if bytes.HasPrefix(bytes.TrimSpace(st), []byte("[")) {
		if err := json.Unmarshal(st, &list); err != nil {
			return nil, malformed("Syntax errors in policy.")
		}
	} else {
		list = []json.RawMessage{st}
	}
	if len(list) == 0 {
		return nil, malformed("Policy document must contain at least one Statement.")
	}
	for i, s := range list {
		parsed, err := parseStatement(s)
		if err == nil {
			err = parsed.checkKind(kind)
		}
		if err != nil {
			var pe *PolicyError
			if errors.As(err, &pe) {
				pe.Statement = i + 1
			}
			return nil, err
		}
		p.statements = append(p.statements, parsed)
	}
	return p, nil
}

// checkKind applies the rules that differ by kind, with IAM's messages.
func (s *statement) checkKind(kind Kind) error {
	switch kind {
	case KindIdentity, KindSession:
		if s.hasPrincipal {
			return malformed("Policy document should not specify a principal.")
		}
		if !s.hasResource {
			return malformed("Policy statement must contain resources.")
		}
	case KindTrust:
		switch {
		case s.hasResource && s.notResource:
			return malformed("Has prohibited field NotResource.")
		case s.hasResource:
			return malformed("Has prohibited field Resource.")
		case s.hasPrincipal && s.notPrincipal:
			return malformed("Has prohibited field NotPrincipal.")
		case !s.hasPrincipal:
			return malformed("Missing required field Principal.")
		}
	case KindResource:
		switch {
		case !s.hasPrincipal:
			return malformed("Missing required field Principal.")
		case s.notPrincipal && s.allow:
			return malformed("NotPrincipal must be used with \"Effect\":\"Deny\"; using it with \"Effect\":\"Allow\" is not supported.")
		}
	default:
		return malformed("Unknown policy kind.")
	}
	return nil
}

func parseStatement(b json.RawMessage) (statement, error) {
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil || raw == nil {
		return statement{}, malformed("Each Statement must be an object.")
	}
	var s statement
	for k := range raw {
		switch k {
		case "Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Principal", "NotPrincipal", "Condition":
		default:
			return s, malformed("Statement contains unknown element %q.", k)
		}
	}
	if v, ok := raw["Sid"]; ok {
		if json.Unmarshal(v, &s.sid) != nil {
			return s, malformed("Sid must be a string.")
		}
		for _, c := range []byte(s.sid) {
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
				return s, malformed("Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*")
			}
		}
	}
	var effect string
	json.Unmarshal(raw["Effect"], &effect)
	switch effect {
	case "Allow":
		s.allow = true
	case "Deny":
	default:
		return s, malformed("Effect must be Allow or Deny.")
	}
	var err error
	if s.actions, s.notAction, _, err = exclusive(raw, "Action", "NotAction"); err != nil {
		return s, err
	}
	if len(s.actions) == 0 {
		return s, malformed("Policy statement must contain actions.")
	}
	for _, a := range s.actions {
		if a != "*" && !strings.Contains(a, ":") {
			return s, malformed("Action %q must be of the form service:action.", a)
		}
	}
	if s.resources, s.notResource, s.hasResource, err = exclusive(raw, "Resource", "NotResource"); err != nil {
		return s, err
	}
	if err := parsePrincipals(&s, raw); err != nil {
		return s, err
	}
	if c, ok := raw["Condition"]; ok {
		if s.conditions, err = parseConditions(c); err != nil {
			return s, err
		}
	}
	return s, nil
}

// exclusive reads exactly one of two string-or-list elements.
func exclusive(raw map[string]json.RawMessage, pos, neg string) ([]string, bool, bool, error) {
	pv, pok := raw[pos]
	nv, nok := raw[neg]
	if pok && nok {
		return nil, false, false, malformed("Statement cannot contain both %s and %s.", pos, neg)
	}
	if !pok && !nok {
		return nil, false, false, nil
	}
	v := pv
	if nok {
		v = nv
	}
	list, err := stringOrList(v)
	if err != nil || len(list) == 0 {
		return nil, false, false, malformed("%s must be a string or a non-empty list of strings.", map[bool]string{true: neg, false: pos}[nok])
	}
	return list, nok, true, nil
}

func stringOrList(v json.RawMessage) ([]string, error) {
	var one string
	if err := json.Unmarshal(v, &one); err == nil {
		return []string{one}, nil
	}
	var list []string
	if err := json.Unmarshal(v, &list); err != nil {
		return nil, err
	}
	return list, nil
}

func parsePrincipals(s *statement, raw map[string]json.RawMessage) error {
	pv, pok := raw["Principal"]
	nv, nok := raw["NotPrincipal"]
	if pok && nok {
		return malformed("Statement cannot contain both Principal and NotPrincipal.")
	}
	if !pok && !nok {
		return nil
	}
	v := pv
	if nok {
		v = nv
		s.notPrincipal = true
	}
	s.hasPrincipal = true
	var star string
	if json.Unmarshal(v, &star) == nil {
		if star != "*" {
			return malformed("Principal must be \"*\" or an object.")
		}
		s.principals = []principalSpec{{kind: "*"}}
		return nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(v, &m) != nil || len(m) == 0 {
		return malformed("Principal must be \"*\" or an object.")
	}
	kinds := make([]string, 0, len(m))
	for k := range m {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, kind := range kinds {
		switch kind {
		case "AWS", "Service", "Federated", "CanonicalUser":
		default:
			return malformed("Unknown principal type %q.", kind)
		}
		vals, err := stringOrList(m[kind])
		if err != nil || len(vals) == 0 {
			return malformed("Principal %s must be a string or list of strings.", kind)
		}
		for _, val := range vals {
			s.principals = append(s.principals, principalSpec{kind: kind, value: val})
		}
	}
	return nil
}

var operators = map[string]bool{
	"stringequals": true, "stringnotequals": true, "stringequalsignorecase": true, "stringnotequalsignorecase": true,
	"stringlike": true, "stringnotlike": true,
	"numericequals": true, "numericnotequals": true, "numericlessthan": true, "numericlessthanequals": true,
	"numericgreaterthan": true, "numericgreaterthanequals": true,
	"dateequals": true, "datenotequals": true, "datelessthan": true, "datelessthanequals": true,
	"dategreaterthan": true, "dategreaterthanequals": true,
	"bool": true, "binaryequals": true, "ipaddress": true, "notipaddress": true,
	"arnequals": true, "arnlike": true, "arnnotequals": true, "arnnotlike": true, "null": true,
}

func parseConditions(b json.RawMessage) ([]condition, error) {
	var ops map[string]map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&ops); err != nil {
		return nil, malformed("Condition must map operators to objects of keys and values.")
	}
	var out []condition
	for name, keys := range ops {
		c := condition{}
		op := name
		if i := strings.Index(op, ":"); i >= 0 {
			c.set = strings.ToLower(op[:i])
			op = op[i+1:]
			if c.set != "foranyvalue" && c.set != "forallvalues" {
				return nil, malformed("Unknown condition set operator %q.", name)
			}
		}
		lower := strings.ToLower(op)
		if strings.HasSuffix(lower, "ifexists") && lower != "null" {
			c.ifExist = true
			lower = strings.TrimSuffix(lower, "ifexists")
		}
		if !operators[lower] || (lower == "null" && c.ifExist) {
			return nil, malformed("Unknown condition operator %q.", name)
		}
		c.op = lower
		for key, raw := range keys {
			vals, err := conditionValues(raw)
			if err != nil {
				return nil, malformed("Condition %s %s: values must be strings, numbers or booleans.", name, key)
			}
			cc := c
			cc.key = strings.ToLower(key)
			cc.values = vals
			out = append(out, cc)
		}
	}
	return out, nil
}

func conditionValues(raw json.RawMessage) ([]string, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	one := func(x any) (string, error) {
		switch t := x.(type) {
		case string:
			return t, nil
		case json.Number:
			return t.String(), nil
		case bool:
			if t {
				return "true", nil
			}
			return "false", nil
		}
		return "", errors.New("bad value")
	}
	if list, ok := v.([]any); ok {
		out := make([]string, 0, len(list))
		for _, x := range list {
			s, err := one(x)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	s, err := one(v)
	if err != nil {
		return nil, err
	}
	return []string{s}, nil
}
