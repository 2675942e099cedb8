package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/testserver"
)

// pprof-listen serves Go's profiling endpoints on their own address only;
// the API listener still refuses /debug/pprof/ without a signature.
func TestPprofListen(t *testing.T) {
	t.Parallel()
	addr := freeLoopbackAddr(t)
	s := testserver.Start(t, testserver.Options{Edit: func(c *config.Config) { c.PprofListen = addr }})

	resp, err := http.Get("http://" + addr + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "goroutine") {
		t.Fatalf("pprof index: %d %.200s", resp.StatusCode, b)
	}
	resp, err = http.Get(s.URL + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Fatal("the API listener serves /debug/pprof/")
	}
	// Off by default: nothing listens on a profiling address.
	plain := testserver.Start(t, testserver.Options{})
	if plain.Instance.Config.PprofListen != "" {
		t.Fatalf("pprof-listen defaults to %q", plain.Instance.Config.PprofListen)
	}
}
