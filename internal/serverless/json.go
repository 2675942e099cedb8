package serverless

import (
	"encoding/json"
	"regexp"
)

var accountRe = regexp.MustCompile(`^[0-9]{12}$`)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
