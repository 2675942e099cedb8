package auth

import (
	"strconv"
	"time"

	"github.com/idcgate/idcgate/internal/apierror"
	"github.com/idcgate/idcgate/internal/iam"
)

// Request describes the HTTP request an authorization is made for; it feeds
// the global condition keys.
type Request struct {
	Region          string
	SourceIP        string
	SecureTransport bool
	Now             time.Time
}

// SetConditions sets the global condition keys the request itself gives
// (region, time, transport, source address), whoever makes it: a signed
// caller's (Conditions) or a web identity's, which has no principal.
func (req Request) SetConditions(c iam.Context) {
	req.setConditions(func(key, value string) { c[key] = []string{value} })
}

// setConditions hands each of the request's keys, already in the lower
// case iam.Context keeps them by, to set.
func (req Request) setConditions(set func(key, value string)) {
	set("aws:requestedregion", req.Region)
	set("aws:currenttime", req.Now.UTC().Format(time.RFC3339))
	set("aws:epochtime", strconv.FormatInt(req.Now.Unix(), 10))
	set("aws:securetransport", strconv.FormatBool(req.SecureTransport))
	if req.SourceIP != "" {
		set("aws:sourceip", req.SourceIP)
	}
}

// Conditions returns the condition keys for p making req (aws:… keys plus
// the session's own keys), merged with extra service-specific keys.
func Conditions(p *Principal, req Request, extra iam.Context) iam.Context {
	// Every authorized request builds these, so the keys are written in
	// the lower case iam.Context.Set keeps them by (no ToLower per key) and
	// the values share one backing array, each slice capped at its length.
	n := len(p.Context) + len(extra)
	c := make(iam.Context, 11+n)
	vals := make([]string, 0, 11)
	set := func(key, value string) {
		vals = append(vals, value)
		c[key] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	set("aws:principalarn", principalArnForCondition(p))
	set("aws:principalaccount", p.Account)
	set("aws:principaltype", principalTypeForCondition(p.Kind))
	set("aws:userid", p.UserID)
	if p.Kind == KindUser {
		set("aws:username", p.Name)
	}
	req.setConditions(set)
	if (p.Kind == KindAssumedRole || p.UserSession) && !p.IssuedAt.IsZero() {
		set("aws:tokenissuetime", p.IssuedAt.UTC().Format(time.RFC3339))
	}
	if n == 0 {
		return c
	}
	total := 0
	for _, vs := range p.Context {
		total += len(vs)
	}
	for _, vs := range extra {
		total += len(vs)
	}
	copied := make([]string, 0, total)
	for _, from := range []iam.Context{p.Context, extra} {
		for k, vs := range from {
			i := len(copied)
			copied = append(copied, vs...)
			c[k] = copied[i:len(copied):len(copied)]
		}
	}
	return c
}

// aws:PrincipalArn of a role session is the role's ARN (AWS documents this).
func principalArnForCondition(p *Principal) string {
	if p.Kind == KindAssumedRole && p.RoleARN != "" {
		return p.RoleARN
	}
	return p.ARN
}

func principalTypeForCondition(k Kind) string {
	switch k {
	case KindRoot:
		return "Account"
	case KindUser:
		return "User"
	default:
		return "AssumedRole"
	}
}

// Authorize decides whether p may perform action on resource. The account
// root may do everything in its own account. Otherwise the principal's
// identity policies, intersected with its session policies, must allow and
// nothing may deny. A refusal is an ErrAccessDenied with AWS's message.
func Authorize(p *Principal, action, resource string, req Request, extra iam.Context) error {
	return AuthorizeAll(p, action, []string{resource}, req, extra)
}

// AuthorizeAll authorizes action on every resource, in order, building the
// condition keys once; the first refusal is returned.
func AuthorizeAll(p *Principal, action string, resources []string, req Request, extra iam.Context) error {
	var ireq *iam.Request
	for _, resource := range resources {
		if p.Kind == KindRoot && resourceInAccount(resource, p.Account) {
			continue
		}
		if ireq == nil {
			ireq = &iam.Request{Action: action, Principal: p.IAMPrincipal(), Context: Conditions(p, req, extra)}
		}
		ireq.Resource = resource
		res := iam.DecideDetailed(iam.PolicySets{Identity: p.Identity, Session: p.Session, HasSession: p.HasSession}, ireq)
		if res.Decision != iam.DecisionAllow {
			kind := ErrAccessDenied
			if res.Decision == iam.DecisionExplicitDeny {
				kind = errExplicitDeny
			}
			return &apierror.Error{Kind: kind, Message: iam.DenyMessage(p.ARN, action, resource, res)}
		}
	}
	return nil
}

// resourceInAccount reports whether an ARN (or "*") belongs to account.
// "*" (actions without a resource) counts as in-account.
func resourceInAccount(resource, account string) bool {
	if resource == "*" {
		return true
	}
	// arn:partition:service:region:account:resource
	n := 0
	start := 0
	for i := 0; i < len(resource); i++ {
		if resource[i] == ':' {
			n++
			if n == 4 {
				start = i + 1
			} else if n == 5 {
				acct := resource[start:i]
				return acct == account || acct == ""
			}
		}
	}
	return false
}
