//go:build slow

package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idcgate/idcgate/internal/app"
	"github.com/idcgate/idcgate/internal/testserver"
)

// bdFloodRequest is request i of the flood: unsigned, unknown or junk
// operations in every protocol form, other services' targets, made-up
// paths, unsigned calls of known operations; every one with its own user
// agent and names.
func bdFloodRequest(base string, i int) *http.Request {
	op := fmt.Sprintf("Flood%dOp", i)
	var req *http.Request
	form := func(f string) *http.Request {
		r, _ := http.NewRequest(http.MethodPost, base+"/", strings.NewReader(f))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return r
	}
	target := func(tg, body string) *http.Request {
		r, _ := http.NewRequest(http.MethodPost, base+"/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-amz-json-1.1")
		r.Header.Set("X-Amz-Target", tg)
		return r
	}
	switch i % 12 {
	case 0:
		req = target("RedshiftServerless."+op, `{}`)
	case 1:
		req = target("Idcgate."+op, `{}`)
	case 2:
		req = form("Action=" + op + "&Version=2011-06-15")
	case 3:
		req = form("Action=" + op + "&Version=2012-12-01")
	case 4:
		req, _ = http.NewRequest(http.MethodGet, base+"/?Action="+op+"&Version=2011-06-15", nil)
	case 5:
		req = target("DynamoDB_20120810."+op, `{}`)
	case 6:
		req = form(fmt.Sprintf("Action=%%FF%%FE%d&Version=2011-06-15", i))
	case 7:
		req = target(fmt.Sprintf("RedshiftServerless.\xff%d", i), `{}`)
	case 8:
		req, _ = http.NewRequest(http.MethodGet, base+"/"+op+"/x", nil)
	case 9:
		req = target("RedshiftServerless.ListWorkgroups", fmt.Sprintf(`{"nextToken":"%s"}`, strings.Repeat("n", i%5000)))
	case 10:
		req = form(fmt.Sprintf("Action=AssumeRole&Version=2011-06-15&RoleArn=arn:aws:iam::123456789012:role/r%d&RoleSessionName=s", i))
	case 11:
		req, _ = http.NewRequest(http.MethodPost, base+"/token?aws_iam=t", strings.NewReader(fmt.Sprintf(`{"clientId":"c%d"}`, i)))
	}
	req.Header.Set("User-Agent", fmt.Sprintf("flood-%d-%s", i, strings.Repeat("u", i%2000)))
	return req
}

func bdState(t *testing.T, p *testserver.Process, pprof string) bdProcState {
	t.Helper()
	var s bdProcState
	// The heap profile's text form ends with runtime.MemStats read after
	// the GC that gc=1 asks for.
	resp, err := http.Get("http://" + pprof + "/debug/pprof/heap?gc=1&debug=1")
	if err != nil {
		t.Fatal(err)
	}
	prof, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if _, err := fmt.Sscanf(bdAfter(string(prof), "\n# HeapAlloc = "), "%d", &s.heap); err != nil {
		t.Fatalf("no HeapAlloc in the heap profile: %v", err)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Cmd.Process.Pid))
	if err == nil {
		var kb uint64
		fmt.Sscanf(strings.TrimSpace(bdAfter(string(status), "\nVmRSS:")), "%d", &kb)
		s.rss = kb << 10
	}
	m := metricsText(t, p.URL)
	s.metricsBytes, s.series = len(m), bdSeries(m)
	for _, f := range []struct {
		name  string
		bytes *int64
	}{{"audit.log", &s.auditBytes}, {app.StoreFileName, &s.storeBytes}} {
		fi, err := os.Stat(filepath.Join(p.DataDir, f.name))
		if err != nil {
			t.Fatal(err)
		}
		*f.bytes = fi.Size()
	}
	recs := auditRecords(t, p.DataDir)
	s.auditRecords = int64(len(recs))
	return s
}

func bdAfter(s, marker string) string {
	if i := strings.Index(s, marker); i >= 0 {
		return s[i+len(marker):]
	}
	return ""
}

// A flood of 20,000 unsigned, unknown and junk requests (loopback, a fixed
// count) leaves the server flat: Go heap after GC within 8 MiB of where it
// was, resident memory within 64 MiB, /metrics within 4 KiB and no new
// series, the audit file and the store within what the unauthenticated
// token bucket lets through (100 at once, 5 a second).
func TestBoundedResourcesUnderFlood(t *testing.T) {
	t.Parallel()
	pprof := freeLoopbackAddr(t)
	p := testserver.StartProcess(t, testserver.Options{Env: map[string]string{"IDCGATE_PPROF_LISTEN": pprof}})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	send := func(from, to int) {
		const workers = 8
		errs := make(chan error, workers)
		for w := 0; w < workers; w++ {
			go func() {
				for i := from + w; i < to; i += workers {
					resp, err := client.Do(bdFloodRequest(p.URL, i))
					if err != nil {
						errs <- err
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode < 400 || resp.StatusCode >= 500 {
						errs <- fmt.Errorf("request %d: status %d", i, resp.StatusCode)
						return
					}
				}
				errs <- nil
			}()
		}
		for w := 0; w < workers; w++ {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
	}
	// A warm-up makes every bounded series and pool the flood will use.
	send(0, 600)
	before := bdState(t, p, pprof)
	const flood = 20000
	start := time.Now()
	send(600, 600+flood)
	elapsed := time.Since(start)
	after := bdState(t, p, pprof)
	t.Logf("%d requests in %v; before %+v; after %+v", flood, elapsed, before, after)

	if d := int64(after.heap) - int64(before.heap); d > 8<<20 {
		t.Errorf("Go heap after GC grew by %d bytes (from %d)", d, before.heap)
	}
	if d := int64(after.rss) - int64(before.rss); before.rss > 0 && d > 64<<20 {
		t.Errorf("resident memory grew by %d bytes (from %d)", d, before.rss)
	}
	if after.series > before.series || after.metricsBytes-before.metricsBytes > 4<<10 {
		t.Errorf("/metrics grew from %d series, %d bytes to %d series, %d bytes", before.series, before.metricsBytes, after.series, after.metricsBytes)
	}
	records := after.auditRecords - before.auditRecords
	if limit := int64(100 + 5*elapsed.Seconds() + 1); records > limit {
		t.Errorf("%d audit records from the flood, want at most %d", records, limit)
	}
	if d := after.auditBytes - before.auditBytes; d > (records+1)*4<<10 {
		t.Errorf("audit file grew by %d bytes for %d records", d, records)
	}
	if d := after.storeBytes - before.storeBytes; d > 4<<20 {
		t.Errorf("store file grew by %d bytes", d)
	}
}

// bdProcState is what the flood must leave flat.
type bdProcState struct {
	heap, rss                uint64 // Go heap after a GC; resident set
	metricsBytes, series     int
	auditBytes, auditRecords int64
	storeBytes               int64
}
