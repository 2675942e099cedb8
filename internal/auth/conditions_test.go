package auth

import (
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/idcgate/idcgate/internal/iam"
)

// conditionsBySet is Conditions written plainly with iam.Context.Set, as
// it was before it was made cheap: the reference the fast one must equal.
func conditionsBySet(p *Principal, req Request, extra iam.Context) iam.Context {
	c := iam.Context{}
	c.Set("aws:PrincipalArn", principalArnForCondition(p))
	c.Set("aws:PrincipalAccount", p.Account)
	c.Set("aws:PrincipalType", principalTypeForCondition(p.Kind))
	c.Set("aws:userid", p.UserID)
	if p.Kind == KindUser {
		c.Set("aws:username", p.Name)
	}
	c.Set("aws:RequestedRegion", req.Region)
	c.Set("aws:CurrentTime", req.Now.UTC().Format(time.RFC3339))
	c.Set("aws:EpochTime", strconv.FormatInt(req.Now.Unix(), 10))
	c.Set("aws:SecureTransport", strconv.FormatBool(req.SecureTransport))
	if req.SourceIP != "" {
		c.Set("aws:SourceIp", req.SourceIP)
	}
	if (p.Kind == KindAssumedRole || p.UserSession) && !p.IssuedAt.IsZero() {
		c.Set("aws:TokenIssueTime", p.IssuedAt.UTC().Format(time.RFC3339))
	}
	for k, vs := range p.Context {
		c[k] = append([]string(nil), vs...)
	}
	for k, vs := range extra {
		c[k] = append([]string(nil), vs...)
	}
	return c
}

func TestConditionsEqualsSetBuiltContext(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 8, 1, 2, 3, 0, time.FixedZone("x", 3600))
	issued := now.Add(-time.Hour)
	cases := map[string]struct {
		p     *Principal
		req   Request
		extra iam.Context
	}{
		"root": {p: &Principal{Kind: KindRoot, ARN: "arn:aws:iam::123456789012:root", Account: "123456789012", UserID: "123456789012"},
			req: Request{Region: "us-east-1", Now: now}},
		"user over TLS from an address": {p: &Principal{Kind: KindUser, ARN: "arn:aws:iam::123456789012:user/u", Name: "u", Account: "123456789012", UserID: "AIDA1"},
			req: Request{Region: "eu-west-1", SourceIP: "192.0.2.1", SecureTransport: true, Now: now}},
		"user session": {p: &Principal{Kind: KindUser, UserSession: true, IssuedAt: issued, ARN: "arn:aws:iam::123456789012:user/u", Name: "u", Account: "123456789012", UserID: "AIDA1"},
			req: Request{Region: "eu-west-1", Now: now}},
		"role session with session keys and extra keys": {
			p: &Principal{Kind: KindAssumedRole, RoleARN: "arn:aws:iam::123456789012:role/r", ARN: "arn:aws:sts::123456789012:assumed-role/r/s",
				Account: "123456789012", UserID: "AROA1:s", IssuedAt: issued,
				Context: iam.Context{"identitystore:userid": {"u-1"}, "x:many": {"a", "b", "c"}, "x:none": {}}},
			req:   Request{Region: "us-west-2", SourceIP: "2001:db8::1", Now: now},
			extra: iam.Context{"redshift-serverless:workgroup": {"demo"}, "x:many": {"override"}}},
		"session keys overriding a global key": {
			p:   &Principal{Kind: KindAssumedRole, ARN: "arn:aws:sts::1:assumed-role/r/s", Context: iam.Context{"aws:sourceip": {"10.0.0.1"}}},
			req: Request{Region: "us-east-1", SourceIP: "192.0.2.9", Now: now}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, want := Conditions(tc.p, tc.req, tc.extra), conditionsBySet(tc.p, tc.req, tc.extra)
			if len(got) != len(want) {
				t.Fatalf("Conditions has %d keys, want %d:\n got %v\nwant %v", len(got), len(want), got, want)
			}
			for k, w := range want {
				g, ok := got[k]
				if !ok || len(g) != len(w) || (len(w) > 0 && !reflect.DeepEqual(g, w)) {
					t.Errorf("%s = %q (present %v), want %q", k, g, ok, w)
				}
			}
			// No value shares room with another: appending to one leaves
			// every other as it was.
			for k := range got {
				_ = append(got[k], "appended")
			}
			for k, w := range want {
				if g := got[k]; len(w) > 0 && !reflect.DeepEqual(g, w) {
					t.Errorf("after appends, %s = %q, want %q", k, g, w)
				}
			}
		})
	}
}
