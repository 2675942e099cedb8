package iam

import (
	"errors"
	"strings"
	"testing"
)

const acct = "123456789012"

func ctx(kv ...string) Context {
	c := Context{}
	for i := 0; i+1 < len(kv); i += 2 {
		c[strings.ToLower(kv[i])] = append(c[strings.ToLower(kv[i])], kv[i+1])
	}
	return c
}

func stmt(effect, action, resource, extra string) string {
	s := `{"Version":"2012-10-17","Statement":[{"Effect":"` + effect + `","Action":` + action + `,"Resource":` + resource
	if extra != "" {
		s += "," + extra
	}
	return s + "}]}"
}

func cond(c string) string { return stmt("Allow", `"s:A"`, `"*"`, `"Condition":`+c) }

// TestRules has one row per rule of the policy language.
func TestRules(t *testing.T) {
	user := &Principal{ARN: "arn:aws:iam::" + acct + ":user/app", Account: acct}
	session := &Principal{ARN: "arn:aws:sts::" + acct + ":assumed-role/analyst/s1", Account: acct}
	wg := "arn:aws:redshift-serverless:us-east-1:" + acct + ":workgroup/abc"
	cases := []struct {
		name     string
		policy   string
		action   string
		resource string
		p        *Principal
		c        Context
		want     Decision
	}{
		{"exact action", stmt("Allow", `"redshift-serverless:GetWorkgroup"`, `"*"`, ""), "redshift-serverless:GetWorkgroup", wg, nil, nil, DecisionAllow},
		{"action case-insensitive", stmt("Allow", `"Redshift-Serverless:getworkgroup"`, `"*"`, ""), "redshift-serverless:GetWorkgroup", wg, nil, nil, DecisionAllow},
		{"action star", stmt("Allow", `"redshift-serverless:Get*"`, `"*"`, ""), "redshift-serverless:GetNamespace", wg, nil, nil, DecisionAllow},
		{"action star no match", stmt("Allow", `"redshift-serverless:Get*"`, `"*"`, ""), "redshift-serverless:CreateNamespace", wg, nil, nil, DecisionImplicitDeny},
		{"action question mark", stmt("Allow", `"s:Get?"`, `"*"`, ""), "s:GetX", wg, nil, nil, DecisionAllow},
		{"action question mark one char", stmt("Allow", `"s:Get?"`, `"*"`, ""), "s:GetXY", wg, nil, nil, DecisionImplicitDeny},
		{"action all", stmt("Allow", `"*"`, `"*"`, ""), "sts:AssumeRole", "*", nil, nil, DecisionAllow},
		{"action list", stmt("Allow", `["a:X","s:A"]`, `"*"`, ""), "s:A", "*", nil, nil, DecisionAllow},
		{"NotAction excludes", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"s:Delete*","Resource":"*"}]}`, "s:DeleteX", "*", nil, nil, DecisionImplicitDeny},
		{"NotAction includes others", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"s:Delete*","Resource":"*"}]}`, "s:GetX", "*", nil, nil, DecisionAllow},
		{"resource star in path", stmt("Allow", `"s:A"`, `"arn:aws:redshift-serverless:*:`+acct+`:workgroup/*"`, ""), "s:A", wg, nil, nil, DecisionAllow},
		{"resource case-sensitive", stmt("Allow", `"s:A"`, `"arn:aws:redshift-serverless:us-east-1:`+acct+`:WORKGROUP/*"`, ""), "s:A", wg, nil, nil, DecisionImplicitDeny},
		{"resource question mark", stmt("Allow", `"s:A"`, `"arn:aws:redshift-serverless:us-east-1:`+acct+`:workgroup/ab?"`, ""), "s:A", wg, nil, nil, DecisionAllow},
		{"NotResource", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s:A","NotResource":"arn:aws:redshift-serverless:*:*:workgroup/abc"}]}`, "s:A", wg, nil, nil, DecisionImplicitDeny},
		{"NotResource other", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s:A","NotResource":"arn:aws:redshift-serverless:*:*:workgroup/x"}]}`, "s:A", wg, nil, nil, DecisionAllow},
		{"explicit deny over allow", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"s:A","Resource":"*"}]}`, "s:A", "*", nil, nil, DecisionExplicitDeny},
		{"default deny", stmt("Allow", `"s:B"`, `"*"`, ""), "s:A", "*", nil, nil, DecisionImplicitDeny},
		{"principal account root matches user", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:root"},"Action":"sts:AssumeRole"}]}`, "sts:AssumeRole", "*", user, nil, DecisionAllow},
		{"principal account id", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + acct + `"},"Action":"sts:AssumeRole"}]}`, "sts:AssumeRole", "*", user, nil, DecisionAllow},
		{"principal other account", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"210987654321"},"Action":"sts:AssumeRole"}]}`, "sts:AssumeRole", "*", user, nil, DecisionImplicitDeny},
		{"principal exact user", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::` + acct + `:user/app"]},"Action":"sts:AssumeRole"}]}`, "sts:AssumeRole", "*", user, nil, DecisionAllow},
		{"principal role matches session", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:role/analyst"},"Action":"s:A","Resource":"*"}]}`, "s:A", "*", session, nil, DecisionAllow},
		{"principal star", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s:A"}]}`, "s:A", "*", user, nil, DecisionAllow},
		{"principal service kind differs", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"redshift.amazonaws.com"},"Action":"s:A"}]}`, "s:A", "*", user, nil, DecisionImplicitDeny},
		{"NotPrincipal", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::` + acct + `:user/app"},"Action":"s:A","Resource":"*"}]}`, "s:A", "*", session, nil, DecisionExplicitDeny},
		{"NotPrincipal spares", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::` + acct + `:user/app"},"Action":"s:A","Resource":"*"}]}`, "s:A", "*", user, nil, DecisionImplicitDeny},
		{"variable in resource", stmt("Allow", `"s:A"`, `"arn:aws:s3:::bucket/${aws:username}/*"`, ""), "s:A", "arn:aws:s3:::bucket/app/x", nil, ctx("aws:username", "app"), DecisionAllow},
		{"variable other user", stmt("Allow", `"s:A"`, `"arn:aws:s3:::bucket/${aws:username}/*"`, ""), "s:A", "arn:aws:s3:::bucket/bob/x", nil, ctx("aws:username", "app"), DecisionImplicitDeny},
		{"variable missing key", stmt("Allow", `"s:A"`, `"arn:aws:s3:::bucket/${aws:username}"`, ""), "s:A", "arn:aws:s3:::bucket/", nil, nil, DecisionImplicitDeny},
		{"variable default", stmt("Allow", `"s:A"`, `"arn:aws:s3:::bucket/${aws:username, 'nobody'}"`, ""), "s:A", "arn:aws:s3:::bucket/nobody", nil, nil, DecisionAllow},
		{"variable star escape literal", stmt("Allow", `"s:A"`, `"arn:aws:s3:::b/${*}"`, ""), "s:A", "arn:aws:s3:::b/*", nil, nil, DecisionAllow},
		{"variable star escape not wildcard", stmt("Allow", `"s:A"`, `"arn:aws:s3:::b/${*}"`, ""), "s:A", "arn:aws:s3:::b/x", nil, nil, DecisionImplicitDeny},
		{"variable identitystore user in condition", cond(`{"StringEquals":{"aws:userid":"${identitystore:UserId}"}}`), "s:A", "*", nil, ctx("aws:userid", "u-1", "identitystore:UserId", "u-1"), DecisionAllow},
		{"version 2008 no variables", `{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":"s:A","Resource":"arn:aws:s3:::b/${aws:username}"}]}`, "s:A", "arn:aws:s3:::b/${aws:username}", nil, ctx("aws:username", "app"), DecisionAllow},

		{"StringEquals", cond(`{"StringEquals":{"k":"v"}}`), "s:A", "*", nil, ctx("k", "v"), DecisionAllow},
		{"StringEquals miss", cond(`{"StringEquals":{"k":"v"}}`), "s:A", "*", nil, ctx("k", "V"), DecisionImplicitDeny},
		{"StringEquals key case-insensitive", cond(`{"StringEquals":{"AWS:UserName":"v"}}`), "s:A", "*", nil, ctx("aws:username", "v"), DecisionAllow},
		{"StringEquals missing key", cond(`{"StringEquals":{"k":"v"}}`), "s:A", "*", nil, nil, DecisionImplicitDeny},
		{"StringNotEquals", cond(`{"StringNotEquals":{"k":["a","b"]}}`), "s:A", "*", nil, ctx("k", "c"), DecisionAllow},
		{"StringNotEquals miss", cond(`{"StringNotEquals":{"k":["a","b"]}}`), "s:A", "*", nil, ctx("k", "b"), DecisionImplicitDeny},
		{"StringNotEquals missing key is true", cond(`{"StringNotEquals":{"k":"a"}}`), "s:A", "*", nil, nil, DecisionAllow},
		{"StringEqualsIgnoreCase", cond(`{"StringEqualsIgnoreCase":{"k":"VaL"}}`), "s:A", "*", nil, ctx("k", "val"), DecisionAllow},
		{"StringNotEqualsIgnoreCase", cond(`{"StringNotEqualsIgnoreCase":{"k":"VaL"}}`), "s:A", "*", nil, ctx("k", "val"), DecisionImplicitDeny},
		{"StringLike", cond(`{"StringLike":{"k":"ab*"}}`), "s:A", "*", nil, ctx("k", "abc"), DecisionAllow},
		{"StringLike miss", cond(`{"StringLike":{"k":"ab?"}}`), "s:A", "*", nil, ctx("k", "abcd"), DecisionImplicitDeny},
		{"StringNotLike", cond(`{"StringNotLike":{"k":"ab*"}}`), "s:A", "*", nil, ctx("k", "xyz"), DecisionAllow},
		{"NumericEquals", cond(`{"NumericEquals":{"k":10}}`), "s:A", "*", nil, ctx("k", "10.0"), DecisionAllow},
		{"NumericNotEquals", cond(`{"NumericNotEquals":{"k":"10"}}`), "s:A", "*", nil, ctx("k", "10"), DecisionImplicitDeny},
		{"NumericLessThan", cond(`{"NumericLessThan":{"k":"10"}}`), "s:A", "*", nil, ctx("k", "9"), DecisionAllow},
		{"NumericLessThan miss", cond(`{"NumericLessThan":{"k":"10"}}`), "s:A", "*", nil, ctx("k", "10"), DecisionImplicitDeny},
		{"NumericLessThanEquals", cond(`{"NumericLessThanEquals":{"k":"10"}}`), "s:A", "*", nil, ctx("k", "10"), DecisionAllow},
		{"NumericGreaterThan", cond(`{"NumericGreaterThan":{"k":"10"}}`), "s:A", "*", nil, ctx("k", "11"), DecisionAllow},
		{"NumericGreaterThanEquals", cond(`{"NumericGreaterThanEquals":{"k":"10"}}`), "s:A", "*", nil, ctx("k", "9"), DecisionImplicitDeny},
		{"Numeric not a number", cond(`{"NumericEquals":{"k":"10"}}`), "s:A", "*", nil, ctx("k", "ten"), DecisionImplicitDeny},
		{"DateLessThan", cond(`{"DateLessThan":{"aws:CurrentTime":"2027-01-01T00:00:00Z"}}`), "s:A", "*", nil, ctx("aws:CurrentTime", "2026-11-24T01:00:00Z"), DecisionAllow},
		{"DateLessThan miss", cond(`{"DateLessThan":{"aws:CurrentTime":"2026-01-01T00:00:00Z"}}`), "s:A", "*", nil, ctx("aws:CurrentTime", "2026-11-24T01:00:00Z"), DecisionImplicitDeny},
		{"DateGreaterThan epoch", cond(`{"DateGreaterThan":{"aws:EpochTime":"1700000000"}}`), "s:A", "*", nil, ctx("aws:EpochTime", "1795000000"), DecisionAllow},
		{"DateEquals", cond(`{"DateEquals":{"k":"2026-11-24T00:00:00Z"}}`), "s:A", "*", nil, ctx("k", "1795478400"), DecisionAllow},
		{"DateNotEquals", cond(`{"DateNotEquals":{"k":"2026-11-24T00:00:00Z"}}`), "s:A", "*", nil, ctx("k", "2026-11-24T00:00:00Z"), DecisionImplicitDeny},
		{"DateLessThanEquals", cond(`{"DateLessThanEquals":{"k":"2026-11-24T00:00:00Z"}}`), "s:A", "*", nil, ctx("k", "2026-11-24T00:00:00Z"), DecisionAllow},
		{"DateGreaterThanEquals", cond(`{"DateGreaterThanEquals":{"k":"2026-11-24T00:00:00Z"}}`), "s:A", "*", nil, ctx("k", "2026-11-23T00:00:00Z"), DecisionImplicitDeny},
		{"Bool", cond(`{"Bool":{"aws:SecureTransport":"true"}}`), "s:A", "*", nil, ctx("aws:SecureTransport", "true"), DecisionAllow},
		{"Bool json bool", cond(`{"Bool":{"aws:SecureTransport":false}}`), "s:A", "*", nil, ctx("aws:SecureTransport", "true"), DecisionImplicitDeny},
		{"BinaryEquals", cond(`{"BinaryEquals":{"k":"aGVsbG8="}}`), "s:A", "*", nil, ctx("k", "aGVsbG8="), DecisionAllow},
		{"IpAddress cidr", cond(`{"IpAddress":{"aws:SourceIp":"127.0.0.0/8"}}`), "s:A", "*", nil, ctx("aws:SourceIp", "127.0.0.1"), DecisionAllow},
		{"IpAddress single", cond(`{"IpAddress":{"aws:SourceIp":"10.0.0.1"}}`), "s:A", "*", nil, ctx("aws:SourceIp", "10.0.0.2"), DecisionImplicitDeny},
		{"IpAddress v6", cond(`{"IpAddress":{"aws:SourceIp":"::1/128"}}`), "s:A", "*", nil, ctx("aws:SourceIp", "::1"), DecisionAllow},
		{"NotIpAddress", cond(`{"NotIpAddress":{"aws:SourceIp":"127.0.0.0/8"}}`), "s:A", "*", nil, ctx("aws:SourceIp", "127.0.0.1"), DecisionImplicitDeny},
		{"ArnEquals", cond(`{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::` + acct + `:role/analyst"}}`), "s:A", "*", nil, ctx("aws:PrincipalArn", "arn:aws:iam::"+acct+":role/analyst"), DecisionAllow},
		{"ArnLike per segment", cond(`{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/*"}}`), "s:A", "*", nil, ctx("aws:PrincipalArn", "arn:aws:iam::"+acct+":role/analyst"), DecisionAllow},
		{"ArnLike star does not cross segments", cond(`{"ArnLike":{"k":"arn:aws:iam::*"}}`), "s:A", "*", nil, ctx("k", "arn:aws:iam::"+acct+":role/analyst"), DecisionImplicitDeny},
		{"ArnNotEquals", cond(`{"ArnNotEquals":{"k":"arn:aws:iam::1:role/a"}}`), "s:A", "*", nil, ctx("k", "arn:aws:iam::1:role/a"), DecisionImplicitDeny},
		{"ArnNotLike", cond(`{"ArnNotLike":{"k":"arn:aws:iam::*:role/b*"}}`), "s:A", "*", nil, ctx("k", "arn:aws:iam::1:role/a"), DecisionAllow},
		{"Null true when absent", cond(`{"Null":{"k":"true"}}`), "s:A", "*", nil, nil, DecisionAllow},
		{"Null false when present", cond(`{"Null":{"k":"false"}}`), "s:A", "*", nil, ctx("k", "x"), DecisionAllow},
		{"Null true but present", cond(`{"Null":{"k":"true"}}`), "s:A", "*", nil, ctx("k", "x"), DecisionImplicitDeny},
		{"IfExists absent", cond(`{"StringEqualsIfExists":{"k":"v"}}`), "s:A", "*", nil, nil, DecisionAllow},
		{"IfExists present mismatch", cond(`{"StringEqualsIfExists":{"k":"v"}}`), "s:A", "*", nil, ctx("k", "w"), DecisionImplicitDeny},
		{"NumericIfExists absent", cond(`{"NumericLessThanIfExists":{"k":"1"}}`), "s:A", "*", nil, nil, DecisionAllow},
		{"ForAnyValue one matches", cond(`{"ForAnyValue:StringEquals":{"g":["analysts"]}}`), "s:A", "*", nil, ctx("g", "engineers", "g", "analysts"), DecisionAllow},
		{"ForAnyValue none", cond(`{"ForAnyValue:StringEquals":{"g":["analysts"]}}`), "s:A", "*", nil, ctx("g", "engineers"), DecisionImplicitDeny},
		{"ForAnyValue missing key", cond(`{"ForAnyValue:StringEquals":{"g":["analysts"]}}`), "s:A", "*", nil, nil, DecisionImplicitDeny},
		{"ForAllValues all match", cond(`{"ForAllValues:StringLike":{"g":["a*","e*"]}}`), "s:A", "*", nil, ctx("g", "engineers", "g", "analysts"), DecisionAllow},
		{"ForAllValues one fails", cond(`{"ForAllValues:StringEquals":{"g":["analysts"]}}`), "s:A", "*", nil, ctx("g", "engineers", "g", "analysts"), DecisionImplicitDeny},
		{"ForAllValues missing key is true", cond(`{"ForAllValues:StringEquals":{"g":["analysts"]}}`), "s:A", "*", nil, nil, DecisionAllow},
		{"ForAllValues negated", cond(`{"ForAllValues:StringNotEquals":{"g":["admins"]}}`), "s:A", "*", nil, ctx("g", "a", "g", "b"), DecisionAllow},
		{"ForAnyValue negated", cond(`{"ForAnyValue:StringNotEquals":{"g":["a"]}}`), "s:A", "*", nil, ctx("g", "a", "g", "b"), DecisionAllow},
		{"conditions AND", cond(`{"StringEquals":{"a":"1","b":"2"}}`), "s:A", "*", nil, ctx("a", "1", "b", "3"), DecisionImplicitDeny},
		{"values OR", cond(`{"StringEquals":{"a":["1","2"]}}`), "s:A", "*", nil, ctx("a", "2"), DecisionAllow},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kind := KindIdentity
			if strings.Contains(tc.policy, `Principal":`) {
				kind = KindResource
			}
			pol, err := ParsePolicy([]byte(tc.policy), kind)
			if err != nil {
				t.Fatal(err)
			}
			got := pol.Evaluate(&Request{Action: tc.action, Resource: tc.resource, Principal: tc.p, Context: tc.c})
			if got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDecideSets(t *testing.T) {
	allowAll := MustParsePolicy(stmt("Allow", `"*"`, `"*"`, ""))
	allowGet := MustParsePolicy(stmt("Allow", `"s:Get*"`, `"*"`, ""))
	denyGet := MustParsePolicy(stmt("Deny", `"s:GetX"`, `"*"`, ""))
	resAllow := MustParse(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:user/u"},"Action":"s:*","Resource":"*"}]}`, KindResource)
	req := &Request{Action: "s:GetX", Resource: "*", Principal: &Principal{ARN: "arn:aws:iam::1:user/u", Account: "1"}}
	put := &Request{Action: "s:PutX", Resource: "*", Principal: req.Principal}
	cases := []struct {
		name string
		sets PolicySets
		r    *Request
		want Result
	}{
		{"identity allows", PolicySets{Identity: []*Policy{allowAll}}, req, Result{Decision: DecisionAllow}},
		{"nothing allows", PolicySets{}, req, Result{DecisionImplicitDeny, "identity-based policy"}},
		{"explicit deny in identity", PolicySets{Identity: []*Policy{allowAll, denyGet}}, req, Result{DecisionExplicitDeny, "identity-based policy"}},
		{"session intersects", PolicySets{Identity: []*Policy{allowAll}, Session: []*Policy{allowGet}, HasSession: true}, put, Result{DecisionImplicitDeny, "session policy"}},
		{"session allows", PolicySets{Identity: []*Policy{allowAll}, Session: []*Policy{allowGet}, HasSession: true}, req, Result{Decision: DecisionAllow}},
		{"session explicit deny", PolicySets{Identity: []*Policy{allowAll}, Session: []*Policy{denyGet}, HasSession: true}, req, Result{DecisionExplicitDeny, "session policy"}},
		{"empty session denies", PolicySets{Identity: []*Policy{allowAll}, HasSession: true}, req, Result{DecisionImplicitDeny, "session policy"}},
		{"resource policy suffices", PolicySets{Resource: []*Policy{resAllow}}, req, Result{Decision: DecisionAllow}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := DecideDetailed(tc.sets, tc.r); got != tc.want {
				t.Fatalf("got %+v want %+v", got, tc.want)
			}
		})
	}
}

func TestDenyMessage(t *testing.T) {
	arn, act, res := "arn:aws:iam::123456789012:user/app", "redshift-serverless:CreateWorkgroup", "arn:aws:redshift-serverless:us-east-1:123456789012:workgroup/*"
	cases := map[Result]string{
		{DecisionImplicitDeny, "identity-based policy"}: "User: " + arn + " is not authorized to perform: " + act + " on resource: " + res + " because no identity-based policy allows the " + act + " action",
		{DecisionExplicitDeny, "identity-based policy"}: "User: " + arn + " is not authorized to perform: " + act + " on resource: " + res + " with an explicit deny in an identity-based policy",
		{DecisionImplicitDeny, "session policy"}:        "User: " + arn + " is not authorized to perform: " + act + " on resource: " + res + " because no session policy allows the " + act + " action",
		{DecisionExplicitDeny, "session policy"}:        "User: " + arn + " is not authorized to perform: " + act + " on resource: " + res + " with an explicit deny in a session policy",
		{DecisionExplicitDeny, "resource-based policy"}: "User: " + arn + " is not authorized to perform: " + act + " on resource: " + res + " with an explicit deny in a resource-based policy",
	}
	for r, want := range cases {
		if got := DenyMessage(arn, act, res, r); got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	cases := map[string]string{
		"not json":          `{`,
		"bad version":       `{"Version":"2020-01-01","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`,
		"bad effect":        `{"Version":"2012-10-17","Statement":[{"Effect":"Maybe","Action":"*","Resource":"*"}]}`,
		"action and not":    `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","NotAction":"s:A","Resource":"*"}]}`,
		"no action":         `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Resource":"*"}]}`,
		"no resource":       `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s:A"}]}`,
		"unknown operator":  `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s:A","Resource":"*","Condition":{"StringSortOf":{"k":"v"}}}]}`,
		"unknown set op":    `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s:A","Resource":"*","Condition":{"ForSome:StringEquals":{"k":"v"}}}]}`,
		"no statement":      `{"Version":"2012-10-17"}`,
		"action no service": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"GetThing","Resource":"*"}]}`,
		"unknown element":   `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s:A","Resource":"*","Extra":1}]}`,
		"object condition":  `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s:A","Resource":"*","Condition":{"StringEquals":{"k":{"x":1}}}}]}`,
	}
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := ParsePolicy([]byte(doc), KindIdentity); !errors.Is(err, ErrMalformedPolicy) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestGlobIsLinear(t *testing.T) {
	pat := strings.Repeat("a*", 30) + "b"
	s := strings.Repeat("a", 5000)
	if glob(pat, s) {
		t.Fatal("matched")
	}
	if !glob("a*b*c", "axxbyyc") || glob("a*b*c", "axxbyy") {
		t.Fatal("basic glob")
	}
}

func FuzzParseEvaluate(f *testing.F) {
	f.Add(stmt("Allow", `"s:*"`, `"arn:aws:s3:::${aws:username}/*"`, `"Condition":{"ForAllValues:StringLike":{"k":["a*"]},"IpAddressIfExists":{"aws:SourceIp":"10.0.0.0/8"}}`), "s:A", "arn:aws:s3:::u/x", "a")
	f.Add(`{"Statement":{"Effect":"Deny","NotAction":"*","NotResource":"*","Principal":"*"}}`, "x", "y", "z")
	f.Fuzz(func(t *testing.T, doc, action, resource, value string) {
		var p *Policy
		for _, kind := range []Kind{KindIdentity, KindTrust, KindResource} {
			if parsed, err := ParsePolicy([]byte(doc), kind); err == nil {
				p = parsed
				break
			}
		}
		if p == nil {
			return
		}
		c := Context{}
		c.Set("k", value)
		c.Set("aws:username", value)
		c.Set("aws:SourceIp", value)
		p.Evaluate(&Request{Action: action, Resource: resource, Context: c, Principal: &Principal{ARN: value, Account: value}})
	})
}

func BenchmarkEvaluate(b *testing.B) {
	p := MustParsePolicy(stmt("Allow", `["redshift-serverless:Get*","redshift-serverless:List*"]`, `"arn:aws:redshift-serverless:*:123456789012:workgroup/*"`, `"Condition":{"StringEquals":{"identitystore:UserId":"${identitystore:UserId}"}}`))
	req := &Request{Action: "redshift-serverless:GetIdentityCenterAuthToken", Resource: "arn:aws:redshift-serverless:us-east-1:123456789012:workgroup/abc", Context: Context{"identitystore:userid": {"u-1"}}}
	b.ReportAllocs()
	for b.Loop() {
		p.Evaluate(req)
	}
}

// TestPolicyKinds holds each kind of policy to IAM's grammar for it, with
// IAM's messages.
func TestPolicyKinds(t *testing.T) {
	t.Parallel()
	const (
		trustOK      = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":["sts:AssumeRole","sts:SetContext"]}]}`
		allowNotPrin = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}`
		denyNotPrin  = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole","Resource":"*"}]}`
		identityOK   = `{"Version":"2012-10-17","Statement":[{"Sid":"Read1","Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
		withPrin     = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}]}`
		withNotPrin  = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"123456789012"},"Action":"s3:GetObject","Resource":"*"}]}`
		noResource   = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject"}]}`
		noAction     = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Resource":"*"}]}`
		trustRes     = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"sts:AssumeRole","Resource":"*"}]}`
		trustNotRes  = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"sts:AssumeRole","NotResource":"*"}]}`
		trustNoPrin  = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}`
		badSid       = `{"Version":"2012-10-17","Statement":[{"Sid":"not ok","Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
		badVersion   = `{"Version":"2012-10-18","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
		bothRes      = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","NotResource":"*"}]}`
		badEffect    = `{"Version":"2012-10-17","Statement":[{"Effect":"allow","Action":"s3:GetObject","Resource":"*"}]}`
		badOperator  = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"StringIsh":{"k":"v"}}}]}`
		unknownTop   = `{"Version":"2012-10-17","Statment":[]}`
	)
	cases := []struct {
		name string
		doc  string
		kind Kind
		want string // "" when the policy is valid
	}{
		{"trust ok", trustOK, KindTrust, ""},
		{"trust Allow with NotPrincipal", allowNotPrin, KindTrust, "Has prohibited field NotPrincipal."},
		{"trust Deny with NotPrincipal", denyNotPrin, KindTrust, "Has prohibited field Resource."},
		{"trust with Resource", trustRes, KindTrust, "Has prohibited field Resource."},
		{"trust with NotResource", trustNotRes, KindTrust, "Has prohibited field NotResource."},
		{"trust without Principal", trustNoPrin, KindTrust, "Missing required field Principal."},
		{"resource Allow with NotPrincipal", allowNotPrin, KindResource, `NotPrincipal must be used with "Effect":"Deny"; using it with "Effect":"Allow" is not supported.`},
		{"resource Deny with NotPrincipal", denyNotPrin, KindResource, ""},
		{"resource without Principal", identityOK, KindResource, "Missing required field Principal."},
		{"identity ok", identityOK, KindIdentity, ""},
		{"identity with Principal", withPrin, KindIdentity, "Policy document should not specify a principal."},
		{"identity with NotPrincipal", withNotPrin, KindIdentity, "Policy document should not specify a principal."},
		{"identity without Resource", noResource, KindIdentity, "Policy statement must contain resources."},
		{"identity without Action", noAction, KindIdentity, "Policy statement must contain actions."},
		{"session ok", identityOK, KindSession, ""},
		{"session with Principal", withPrin, KindSession, "Policy document should not specify a principal."},
		{"session trust policy", trustOK, KindSession, "Policy document should not specify a principal."},
		{"session without Resource", noResource, KindSession, "Policy statement must contain resources."},
		{"Sid not alphanumeric", badSid, KindIdentity, "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*"},
		{"unknown Version", badVersion, KindSession, "The policy must contain a valid version string."},
		{"Resource and NotResource", bothRes, KindIdentity, "Statement cannot contain both Resource and NotResource."},
		{"Effect is case-sensitive", badEffect, KindIdentity, "Effect must be Allow or Deny."},
		{"unknown condition operator", badOperator, KindSession, `Unknown condition operator "StringIsh".`},
		{"unknown top-level element", unknownTop, KindTrust, `Policy document contains unknown element "Statment".`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParsePolicy([]byte(tc.doc), tc.kind)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want == "":
			case !errors.Is(err, ErrMalformedPolicy):
				t.Fatalf("err = %v, want %q", err, tc.want)
			case !strings.Contains(err.Error(), tc.want):
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestAWSPrincipals(t *testing.T) {
	p := MustParse(`{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::123456789012:user/a","123456789012"],"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"},
		{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"},
		{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/r"},"Action":"sts:SetContext"}]}`, KindTrust)
	got := p.AWSPrincipals()
	want := []string{"arn:aws:iam::123456789012:user/a", "123456789012", "arn:aws:iam::123456789012:role/r"}
	if len(got) != len(want) {
		t.Fatalf("AWSPrincipals = %q", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("AWSPrincipals = %q, want %q", got, want)
		}
	}
}
