package iam

import (
	"bytes"
	"encoding/base64"
	"math/big"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Request is one authorization question.
type Request struct {
	Action    string
	Resource  string
	Principal *Principal
	Context   Context
}

// Principal is the caller as policies see it.
type Principal struct {
	ARN     string
	Account string
	Type    string // "AWS" (default), "Service", "Federated"
}

// Context holds condition keys; keys are case-insensitive.
type Context map[string][]string

// Set replaces key's values.
func (c Context) Set(key string, values ...string) { c[strings.ToLower(key)] = values }

// Get returns key's values.
func (c Context) Get(key string) ([]string, bool) {
	v, ok := c[strings.ToLower(key)]
	return v, ok
}

// Decision is an evaluation outcome.
type Decision int

const (
	DecisionImplicitDeny Decision = iota
	DecisionAllow
	DecisionExplicitDeny
)

func (d Decision) String() string {
	return [...]string{"ImplicitDeny", "Allow", "ExplicitDeny"}[d]
}

// Evaluate evaluates one policy.
func (p *Policy) Evaluate(req *Request) Decision {
	out := DecisionImplicitDeny
	for i := range p.statements {
		s := &p.statements[i]
		if !s.matches(req, p.variables) {
			continue
		}
		if !s.allow {
			return DecisionExplicitDeny
		}
		out = DecisionAllow
	}
	return out
}

// EvaluateAll combines a set of policies.
func EvaluateAll(policies []*Policy, req *Request) Decision {
	out := DecisionImplicitDeny
	for _, p := range policies {
		switch p.Evaluate(req) {
		case DecisionExplicitDeny:
			return DecisionExplicitDeny
		case DecisionAllow:
			out = DecisionAllow
		}
	}
	return out
}

// PolicySets are the policies that apply to one request.
type PolicySets struct {
	Identity, Resource, Session []*Policy
	HasSession                  bool
}

// Result is a decision and, for denials, the kind of policy responsible.
type Result struct {
	Decision Decision
	DenyIn   string
}

const (
	inIdentity = "identity-based policy"
	inResource = "resource-based policy"
	inSession  = "session policy"
)

// Decide returns the decision only.
func Decide(sets PolicySets, req *Request) Decision { return DecideDetailed(sets, req).Decision }

// DecideDetailed applies AWS's evaluation logic within one account.
func DecideDetailed(sets PolicySets, req *Request) Result {
	id := EvaluateAll(sets.Identity, req)
	res := EvaluateAll(sets.Resource, req)
	sess := DecisionAllow
	if sets.HasSession {
		sess = EvaluateAll(sets.Session, req)
	}
	switch {
	case id == DecisionExplicitDeny:
		return Result{DecisionExplicitDeny, inIdentity}
	case res == DecisionExplicitDeny:
		return Result{DecisionExplicitDeny, inResource}
	case sess == DecisionExplicitDeny:
		return Result{DecisionExplicitDeny, inSession}
	case res == DecisionAllow:
		// A resource policy naming the principal grants on its own.
		return Result{Decision: DecisionAllow}
	case id != DecisionAllow:
		return Result{DecisionImplicitDeny, inIdentity}
	case sess != DecisionAllow:
		return Result{DecisionImplicitDeny, inSession}
	}
	return Result{Decision: DecisionAllow}
}

// NotAuthorized is AWS's AccessDenied text, built here alone: "User:
// <principal> is not authorized to perform: <action>[ on resource:
// <resource>]<why>". why brings its own separator (" because …",
// " with an explicit deny in …", ": …"); resource may be empty.
func NotAuthorized(principalARN, action, resource, why string) string {
	msg := "User: " + principalARN + " is not authorized to perform: " + action
	if resource != "" {
		msg += " on resource: " + resource
	}
	return msg + why
}

// DenyMessage is AWS's AccessDenied text for a decision that did not allow.
func DenyMessage(principalARN, action, resource string, r Result) string {
	in := r.DenyIn
	if in == "" {
		in = inIdentity
	}
	if r.Decision == DecisionExplicitDeny {
		article := "a"
		if in == inIdentity {
			article = "an"
		}
		return NotAuthorized(principalARN, action, resource, " with an explicit deny in "+article+" "+in)
	}
	return NotAuthorized(principalARN, action, resource, " because no "+in+" allows the "+action+" action")
}

func (s *statement) matches(req *Request, vars bool) bool {
	if anyMatch(s.actions, func(pat string) bool { return globFold(pat, req.Action) }) == s.notAction {
		return false
	}
	if s.hasResource {
		hit := anyMatch(s.resources, func(pat string) bool {
			pat, ok := substitute(pat, req.Context, vars, true)
			return ok && glob(pat, req.Resource)
		})
		if hit == s.notResource {
			return false
		}
	}
	if s.hasPrincipal {
		hit := req.Principal != nil && anyPrincipal(s.principals, req.Principal)
		if hit == s.notPrincipal {
			return false
		}
	}
	for i := range s.conditions {
		if !s.conditions[i].eval(req.Context, vars) {
			return false
		}
	}
	return true
}

func anyMatch(list []string, f func(string) bool) bool {
	for _, x := range list {
		if f(x) {
			return true
		}
	}
	return false
}

func anyPrincipal(specs []principalSpec, p *Principal) bool {
	kind := p.Type
	if kind == "" {
		kind = "AWS"
	}
	for _, sp := range specs {
		if sp.kind == "*" || (sp.kind == kind && principalMatches(sp.value, p)) {
			return true
		}
	}
	return false
}

func principalMatches(spec string, p *Principal) bool {
	switch {
	case spec == "*":
		return true
	case spec == p.ARN:
		return true
	case spec == p.Account || spec == "arn:aws:iam::"+p.Account+":root":
		return p.Account != ""
	}
	// A role ARN names every session of the role.
	if strings.HasPrefix(p.ARN, "arn:aws:sts::") {
		rest := strings.TrimPrefix(p.ARN, "arn:aws:sts::")
		acct, res, ok := strings.Cut(rest, ":assumed-role/")
		if ok {
			role, _, _ := strings.Cut(res, "/")
			if spec == "arn:aws:iam::"+acct+":role/"+role {
				return true
			}
			// Roles with paths: match on the last segment of the spec.
			if strings.HasPrefix(spec, "arn:aws:iam::"+acct+":role/") && strings.HasSuffix(spec, "/"+role) {
				return true
			}
		}
	}
	return false
}

// substitute replaces policy variables. forGlob escapes the results of
// ${*} and ${?} so they match literally.
func substitute(s string, ctx Context, vars, forGlob bool) (string, bool) {
	if !vars || !strings.Contains(s, "${") {
		return s, true
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), true
		}
		j := strings.Index(s[i:], "}")
		if j < 0 {
			b.WriteString(s)
			return b.String(), true
		}
		b.WriteString(s[:i])
		expr := s[i+2 : i+j]
		s = s[i+j+1:]
		switch expr {
		case "*", "?", "$":
			if forGlob && expr != "$" {
				b.WriteString("\x00" + expr)
			} else {
				b.WriteString(expr)
			}
			continue
		}
		key, def, hasDef := strings.Cut(expr, ",")
		key = strings.TrimSpace(key)
		vals, ok := ctx.Get(key)
		switch {
		case ok && len(vals) == 1:
			b.WriteString(vals[0])
		case hasDef:
			d := strings.TrimSpace(def)
			if len(d) >= 2 && d[0] == '\'' && d[len(d)-1] == '\'' {
				d = d[1 : len(d)-1]
			}
			b.WriteString(d)
		default:
			return "", false
		}
	}
}

func (c *condition) eval(ctx Context, vars bool) bool {
	vals, present := ctx.Get(c.key)
	if c.op == "null" {
		want := len(c.values) > 0 && strings.EqualFold(c.values[0], "true")
		return want == (!present || len(vals) == 0)
	}
	if !present || len(vals) == 0 {
		switch {
		case c.ifExist:
			return true
		case c.set == "forallvalues":
			return true
		case c.set == "foranyvalue":
			return false
		}
		return negated(c.op)
	}
	policy := make([]string, 0, len(c.values))
	for _, v := range c.values {
		if sv, ok := substitute(v, ctx, vars, strings.HasSuffix(c.op, "like")); ok {
			policy = append(policy, sv)
		}
	}
	base, neg := positive(c.op)
	matchOne := func(v string) bool {
		for _, pv := range policy {
			if compare(base, pv, v) {
				return true
			}
		}
		return false
	}
	switch c.set {
	case "forallvalues":
		for _, v := range vals {
			if matchOne(v) == neg {
				return false
			}
		}
		return true
	case "foranyvalue":
		for _, v := range vals {
			if matchOne(v) != neg {
				return true
			}
		}
		return false
	default:
		// A plain operator on a multi-valued key: any value may match a
		// positive operator; no value may match a negated one.
		for _, v := range vals {
			if matchOne(v) {
				return !neg
			}
		}
		return neg
	}
}

var negations = map[string]string{
	"stringnotequals":           "stringequals",
	"stringnotequalsignorecase": "stringequalsignorecase",
	"stringnotlike":             "stringlike",
	"numericnotequals":          "numericequals",
	"datenotequals":             "dateequals",
	"notipaddress":              "ipaddress",
	"arnnotequals":              "arnequals",
	"arnnotlike":                "arnlike",
}

func negated(op string) bool { _, ok := negations[op]; return ok }

func positive(op string) (string, bool) {
	if p, ok := negations[op]; ok {
		return p, true
	}
	return op, false
}

// compare applies a positive operator to one policy value and one request value.
func compare(op, pv, v string) bool {
	switch op {
	case "stringequals":
		return pv == v
	case "stringequalsignorecase":
		return strings.EqualFold(pv, v)
	case "stringlike":
		return glob(pv, v)
	case "bool":
		return strings.EqualFold(pv, v)
	case "binaryequals":
		a, err1 := base64.StdEncoding.DecodeString(pv)
		b, err2 := base64.StdEncoding.DecodeString(v)
		return err1 == nil && err2 == nil && bytes.Equal(a, b)
	case "ipaddress":
		return ipIn(pv, v)
	case "arnequals":
		return arnMatch(pv, v, false)
	case "arnlike":
		return arnMatch(pv, v, true)
	}
	if strings.HasPrefix(op, "numeric") {
		a, ok1 := new(big.Float).SetString(pv)
		b, ok2 := new(big.Float).SetString(v)
		if !ok1 || !ok2 {
			return false
		}
		return order(strings.TrimPrefix(op, "numeric"), b.Cmp(a))
	}
	if strings.HasPrefix(op, "date") {
		a, ok1 := parseDate(pv)
		b, ok2 := parseDate(v)
		if !ok1 || !ok2 {
			return false
		}
		return order(strings.TrimPrefix(op, "date"), b.Compare(a))
	}
	return false
}

// order reads "request <op> policy" from cmp = compare(request, policy).
func order(op string, cmp int) bool {
	switch op {
	case "equals":
		return cmp == 0
	case "lessthan":
		return cmp < 0
	case "lessthanequals":
		return cmp <= 0
	case "greaterthan":
		return cmp > 0
	case "greaterthanequals":
		return cmp >= 0
	}
	return false
}

func parseDate(s string) (time.Time, bool) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0), true
	}
	for _, f := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04Z07:00", "2006-01-02"} {
		if t, err := time.Parse(f, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func ipIn(cidr, ip string) bool {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	if !strings.Contains(cidr, "/") {
		a, err := netip.ParseAddr(cidr)
		return err == nil && a.Unmap() == addr.Unmap()
	}
	pfx, err := netip.ParsePrefix(cidr)
	return err == nil && pfx.Contains(addr.Unmap())
}

// arnMatch compares the six colon-separated parts one by one; the last part
// (the resource) may itself contain colons.
func arnMatch(pat, v string, like bool) bool {
	pp := strings.SplitN(pat, ":", 6)
	vp := strings.SplitN(v, ":", 6)
	if len(pp) != 6 || len(vp) != 6 {
		return false
	}
	for i := range pp {
		if like {
			if !glob(pp[i], vp[i]) {
				return false
			}
		} else if pp[i] != vp[i] {
			return false
		}
	}
	return true
}

// NamesPrincipal reports whether an Allow statement of p names this exact
// principal (its ARN, or for a role session its role), rather than the whole
// account. In a trust policy that alone grants AssumeRole; a grant to the
// account needs the caller's own identity policy to allow as well.
func (p *Policy) NamesPrincipal(pr *Principal) bool {
	for _, s := range p.statements {
		if !s.allow || s.notPrincipal {
			continue
		}
		for _, sp := range s.principals {
			if sp.kind != "AWS" || sp.value == "*" || sp.value == pr.Account || sp.value == "arn:aws:iam::"+pr.Account+":root" {
				continue
			}
			if principalMatches(sp.value, pr) {
				return true
			}
		}
	}
	return false
}
