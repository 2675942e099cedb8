package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/idcgate/idcgate/internal/testserver"
)

// metricsText is the /metrics text of the server at base (answered 200).
func metricsText(t *testing.T, base string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	r := testserver.Do(t, req)
	if r.Status != 200 {
		t.Fatalf("/metrics: %d", r.Status)
	}
	return string(r.Body)
}

// grepLines is the lines of s that contain sub (a /metrics text's series
// of one family, for a count or a failure message).
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
