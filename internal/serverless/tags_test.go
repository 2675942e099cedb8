package serverless

import (
	"fmt"
	"strings"
	"testing"

	"github.com/idcgate/idcgate/internal/iam"
	"github.com/idcgate/idcgate/internal/validation"
)

// TestTagConditionKeys: the tag keys a request or a resource contributes,
// evaluated by the real policy evaluator, one row per rule.
func TestTagConditionKeys(t *testing.T) {
	const wg = "arn:aws:redshift-serverless:us-east-1:123456789012:workgroup/*"
	allow := func(cond string) *iam.Policy {
		return iam.MustParsePolicy(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"redshift-serverless:*","Resource":"*","Condition":` + cond + `}]}`)
	}
	analytics := []Tag{{Key: "team", Value: "analytics"}}
	cases := []struct {
		name     string
		policy   *iam.Policy
		request  []Tag // as aws:RequestTag/… and aws:TagKeys
		resource []Tag // as aws:ResourceTag/…
		want     iam.Decision
	}{
		{"request tag equals", allow(`{"StringEquals":{"aws:RequestTag/team":"analytics"}}`), analytics, nil, iam.DecisionAllow},
		{"request tag other value", allow(`{"StringEquals":{"aws:RequestTag/team":"analytics"}}`), []Tag{{Key: "team", Value: "finance"}}, nil, iam.DecisionImplicitDeny},
		{"request tag missing", allow(`{"StringEquals":{"aws:RequestTag/team":"analytics"}}`), nil, nil, iam.DecisionImplicitDeny},
		{"request tag key case-insensitive", allow(`{"StringEquals":{"aws:RequestTag/Team":"analytics"}}`), analytics, nil, iam.DecisionAllow},
		{"request tag value case-sensitive", allow(`{"StringEquals":{"aws:RequestTag/team":"Analytics"}}`), analytics, nil, iam.DecisionImplicitDeny},
		{"tag keys all allowed", allow(`{"ForAllValues:StringEquals":{"aws:TagKeys":["team","env"]}}`), []Tag{{Key: "team"}, {Key: "env"}}, nil, iam.DecisionAllow},
		{"tag keys one not allowed", allow(`{"ForAllValues:StringEquals":{"aws:TagKeys":["team"]}}`), []Tag{{Key: "team"}, {Key: "owner"}}, nil, iam.DecisionImplicitDeny},
		{"tag keys any required", allow(`{"ForAnyValue:StringEquals":{"aws:TagKeys":["team"]}}`), []Tag{{Key: "env"}, {Key: "team"}}, nil, iam.DecisionAllow},
		{"tag keys absent without tags", allow(`{"Null":{"aws:TagKeys":"true"}}`), nil, nil, iam.DecisionAllow},
		{"tag keys present with tags", allow(`{"Null":{"aws:TagKeys":"true"}}`), analytics, nil, iam.DecisionImplicitDeny},
		{"resource tag equals", allow(`{"StringEquals":{"aws:ResourceTag/team":"analytics"}}`), nil, analytics, iam.DecisionAllow},
		{"resource tag other value", allow(`{"StringEquals":{"aws:ResourceTag/team":"analytics"}}`), nil, []Tag{{Key: "team", Value: "finance"}}, iam.DecisionImplicitDeny},
		{"resource tag is not a request tag", allow(`{"StringEquals":{"aws:RequestTag/team":"analytics"}}`), nil, analytics, iam.DecisionImplicitDeny},
		{"request tag is not a resource tag", allow(`{"StringEquals":{"aws:ResourceTag/team":"analytics"}}`), analytics, nil, iam.DecisionImplicitDeny},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := RequestTagContext(tc.request)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range ResourceTagContext(tc.resource) {
				c[k] = v
			}
			got := iam.EvaluateAll([]*iam.Policy{tc.policy}, &iam.Request{Action: "redshift-serverless:CreateWorkgroup", Resource: wg, Context: c})
			if got != tc.want {
				t.Fatalf("decision %v, want %v (context %v)", got, tc.want, c)
			}
		})
	}
}

// TestRequestTagsRefusedBeforeAuthorization: keys that would share one
// condition key (equal ignoring case) are a ValidationException, so no
// policy is ever evaluated with two values for aws:RequestTag/team.
func TestRequestTagsRefusedBeforeAuthorization(t *testing.T) {
	for name, tags := range map[string][]Tag{
		"same key twice":      {{Key: "team", Value: "analytics"}, {Key: "team", Value: "finance"}},
		"keys differ in case": {{Key: "team", Value: "analytics"}, {Key: "Team", Value: "finance"}},
		"key too long":        {{Key: string(make([]byte, 129)), Value: "x"}},
		"empty key":           {{Key: "", Value: "x"}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := RequestTagContext(tags); !isErr(err, validation.ErrInvalid) {
				t.Fatalf("err = %v, want a ValidationException", err)
			}
		})
	}
	_, err := RequestTagContext([]Tag{{Key: "team", Value: "analytics"}, {Key: "Team", Value: "finance"}})
	wantErr(t, err, validation.ErrInvalid, "1 validation error detected: Value 'Team' at 'tags.2.member.key' failed to satisfy constraint: Member must not repeat an earlier tag key (keys are compared ignoring case)")
}

// TestTagCharacters: tag keys and values follow AWS's tag pattern (letters,
// digits, spaces and _ . : / = + - @), so control characters and invalid
// UTF-8 are refused before anything is authorized or stored; the list is
// bounded before the per-tag checks run.
func TestTagCharacters(t *testing.T) {
	t.Parallel()
	many := make([]Tag, maxTagList+1)
	for i := range many {
		many[i] = Tag{Key: fmt.Sprint("k", i), Value: "v"}
	}
	cases := []struct {
		name string
		tags []Tag
		want string // "" when accepted
	}{
		{"AWS's characters", []Tag{{Key: "cost-center:team/a=b+c@d_e.f", Value: "Équipe données 42"}}, ""},
		{"empty value", []Tag{{Key: "team", Value: ""}}, ""},
		{"newline in key", []Tag{{Key: "team\n", Value: "a"}}, "at 'tags.1.member.key' failed to satisfy constraint: Member must satisfy regular expression pattern: " + tagPattern},
		{"NUL in value", []Tag{{Key: "team", Value: "a\x00b"}}, "at 'tags.1.member.value' failed to satisfy constraint: Member must satisfy regular expression pattern: " + tagPattern},
		{"escape in value", []Tag{{Key: "team", Value: "\x1b[31mred"}}, "at 'tags.1.member.value' failed to satisfy constraint"},
		{"invalid UTF-8 key", []Tag{{Key: "te\xffam", Value: "a"}}, "at 'tags.1.member.key' failed to satisfy constraint: Member must satisfy regular expression pattern"},
		{"value too long", []Tag{{Key: "team", Value: strings.Repeat("v", 257)}}, "at 'tags.1.member.value' failed to satisfy constraint: Member must have length less than or equal to 256"},
		{"over 200 tags", many, "1 validation error detected: Value '201' at 'tags' failed to satisfy constraint: Member must have length less than or equal to 200"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := RequestTagContext(tc.tags)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (!isErr(err, validation.ErrInvalid) || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("err = %v\nwant a ValidationException with %q", err, tc.want)
			}
		})
	}
}
