// Package restjson is the restJson1 codec for SSO-OIDC: JSON bodies, and
// errors named by X-Amzn-ErrorType with the OAuth body
// {"error": "invalid_grant", "error_description": "…"}.
package restjson

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/idcgate/idcgate/internal/awserror"
	"github.com/idcgate/idcgate/internal/protocol"
)

// WriteResponse writes v as JSON with status 200.
func WriteResponse(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		WriteError(w, awserror.From(err, protocol.RESTJSON))
		return
	}
	write(w, http.StatusOK, b)
}

// WriteError writes e; OAuth errors carry error and error_description.
func WriteError(w http.ResponseWriter, e *awserror.APIError) {
	w.Header().Set("X-Amzn-ErrorType", e.Code)
	var body map[string]string
	if e.OAuth != "" {
		body = map[string]string{"error": e.OAuth, "error_description": e.Message}
	} else {
		body = map[string]string{"message": e.Message}
	}
	b, _ := json.Marshal(body)
	write(w, e.Status, b)
}

func write(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}
