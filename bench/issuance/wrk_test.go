package main

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// wrk 4.1's --latency report, as it printed it here (and a run with errors).
const wrkReport = `Running 1s test @ http://127.0.0.1:18777/
  2 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     9.94ms    5.98ms  45.56ms   71.75%
    Req/Sec   203.90     39.95   272.00     60.00%
  Latency Distribution
     50%    8.74ms
     75%   12.96ms
     90%   18.22ms
     99%   27.52ms
  408 requests in 1.01s, 1.66MB read
Requests/sec:    403.71
Transfer/sec:      1.64MB
`

func TestParseWrk(t *testing.T) {
	r, err := parseWrk(wrkReport)
	if err != nil {
		t.Fatal(err)
	}
	if r.rps != 403.71 || r.p50 != 8740*time.Microsecond || r.p99 != 27520*time.Microsecond || r.non2xx != 0 || r.socketErrs != "" {
		t.Fatalf("parsed %+v", r)
	}
	bad := strings.Replace(wrkReport, "Requests/sec:", "  Socket errors: connect 0, read 2, write 0, timeout 1\n  Non-2xx or 3xx responses: 17\nRequests/sec:", 1)
	bad = strings.Replace(bad, "99%   27.52ms", "99%    1.20s", 1)
	r, err = parseWrk(bad)
	if err != nil || r.non2xx != 17 || r.socketErrs != "connect 0, read 2, write 0, timeout 1" || r.p99 != 1200*time.Millisecond {
		t.Fatalf("parsed %+v, %v", r, err)
	}
	if _, err := parseWrk("wrk: unable to connect"); err == nil {
		t.Fatal("a report without Requests/sec parsed")
	}
}

// The Lua literal gives back every byte (read by Lua's rules: a backslash
// and up to three decimal digits is that byte).
func TestLuaString(t *testing.T) {
	in := "{\"workgroupNames\":[\"demo\"]}\\\n\t\x00é\x7f9"
	got := luaString(in)
	if got[0] != '"' || got[len(got)-1] != '"' {
		t.Fatalf("%q is not quoted", got)
	}
	var back []byte
	body := got[1 : len(got)-1]
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c == '"' || c < 0x20 || c >= 0x7f {
			t.Fatalf("%q left byte %q unescaped", got, c)
		}
		if c != '\\' {
			back = append(back, c)
			continue
		}
		n, err := strconv.Atoi(body[i+1 : i+4])
		if err != nil {
			t.Fatalf("%q: escape at %d is not three digits", got, i)
		}
		back = append(back, byte(n))
		i += 3
	}
	if string(back) != in {
		t.Fatalf("%q reads back as %q", in, back)
	}
}

func TestParseBusy(t *testing.T) {
	// user nice system idle iowait irq softirq steal guest guest_nice
	got, err := parseBusy("cpu  1000 20 300 5000 400 10 30 40 77 88")
	if err != nil || got != 14 { // (1000+20+300+10+30+40) / 100
		t.Fatalf("parseBusy = %v, %v; want 14", got, err)
	}
	for _, bad := range []string{"", "cpu0 1 2 3 4 5 6", "cpu 1 2 x 4 5 6"} {
		if _, err := parseBusy(bad); err == nil {
			t.Errorf("parseBusy(%q): no error", bad)
		}
	}
}
