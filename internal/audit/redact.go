package audit

import "strings"

// sensitive member names (lower-case substrings) never recorded.
var sensitive = []string{"password", "token", "assertion", "secret", "credential"}

// Hidden replaces a secret value in requestParameters, as CloudTrail does.
const Hidden = "HIDDEN_DUE_TO_SECURITY_REASONS"

// Redact returns params without secret members, at any depth (maps inside
// arrays too), for requestParameters.
func Redact(params map[string]any) map[string]any {
	if params == nil {
		return nil
	}
	out := make(map[string]any, len(params))
	for k, v := range params {
		lk := strings.ToLower(k)
		hidden := false
		for _, s := range sensitive {
			if strings.Contains(lk, s) {
				hidden = true
			}
		}
		if hidden {
			out[k] = Hidden
			continue
		}
		out[k] = redactValue(v)
	}
	return out
}

func redactValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return Redact(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = redactValue(e)
		}
		return out
	}
	return v
}
