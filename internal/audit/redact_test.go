package audit

import (
	"fmt"
	"testing"
)

func TestRedact(t *testing.T) {
	in := map[string]any{
		"workgroupNames": []any{"demo"},
		"clientSecret":   "s3cret",
		"nested":         map[string]any{"assertion": "jwt", "roleArn": "arn:aws:iam::1:role/r"},
		"SessionToken":   "x",
		"password":       "p",
		"rules":          []any{map[string]any{"operation": "X", "clientSecret": "s"}, []any{map[string]any{"refreshToken": "r"}}, "plain"},
	}
	out := Redact(in)
	for k, want := range map[string]any{"clientSecret": hidden, "SessionToken": hidden, "password": hidden} {
		if out[k] != want {
			t.Errorf("%s = %v", k, out[k])
		}
	}
	n := out["nested"].(map[string]any)
	if n["assertion"] != hidden || n["roleArn"] != "arn:aws:iam::1:role/r" {
		t.Errorf("nested %v", n)
	}
	rules := out["rules"].([]any)
	if r0 := rules[0].(map[string]any); r0["clientSecret"] != hidden || r0["operation"] != "X" {
		t.Errorf("map inside an array not redacted: %v", r0)
	}
	if r1 := rules[1].([]any)[0].(map[string]any); r1["refreshToken"] != hidden {
		t.Errorf("map inside nested arrays not redacted: %v", r1)
	}
	if rules[2] != "plain" {
		t.Errorf("array scalar changed: %v", rules[2])
	}
	if in["rules"].([]any)[0].(map[string]any)["clientSecret"] != "s" {
		t.Error("Redact changed its input")
	}
	if fmt.Sprint(out["workgroupNames"]) != "[demo]" {
		t.Errorf("workgroupNames %v", out["workgroupNames"])
	}
	if Redact(nil) != nil {
		t.Error("Redact(nil)")
	}
}

const hidden = "HIDDEN_DUE_TO_SECURITY_REASONS"
