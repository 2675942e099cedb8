package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The wrk run replays one pre-signed request from wrk, a C load generator
// that costs the machine almost nothing per request, so the server's own
// capacity shows: the SDK-signing loops put the client's signing on the
// same two cores and squeeze every ratio toward 1. A SigV4 signature stays
// valid for 15 minutes and idcgate, like AWS, keeps no nonce, so the same
// signed request can be sent again and again; each run signs anew.

// wrkResult is one wrk run.
type wrkResult struct {
	rps        float64
	p50, p99   time.Duration
	non2xx     int
	socketErrs string
	serverCPU  time.Duration // server-process CPU per request
	allocs     float64       // server-process heap allocations per request
	clientCPU  time.Duration // wrk's own CPU per request
	machine    float64       // cores busy on the whole machine (/proc/stat), of runtime.NumCPU()
	cores      float64       // server-process CPU seconds per second of the run
}

// wrkScript writes the Lua script that makes wrk send t's request, signed
// now, with every header the signature covers.
func wrkScript(dir string, t *target) (string, error) {
	req, err := t.request()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("wrk.method = \"POST\"\n")
	fmt.Fprintf(&b, "wrk.body = %s\n", luaString(string(t.body)))
	for k, vs := range req.Header {
		fmt.Fprintf(&b, "wrk.headers[%s] = %s\n", luaString(k), luaString(strings.Join(vs, ",")))
	}
	path := filepath.Join(dir, "wrk-"+strconv.FormatInt(time.Now().UnixNano(), 36)+".lua")
	return path, os.WriteFile(path, []byte(b.String()), 0o600)
}

// luaString quotes s as a Lua string literal (decimal escapes for every
// byte that is not plain printable ASCII).
func luaString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c < 0x7f && c != '"' && c != '\\' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "\\%03d", c)
	}
	b.WriteByte('"')
	return b.String()
}

var (
	wrkRPS     = regexp.MustCompile(`(?m)^Requests/sec:\s+([0-9.]+)`)
	wrkNon2xx  = regexp.MustCompile(`(?m)^\s*Non-2xx or 3xx responses:\s+(\d+)`)
	wrkSockErr = regexp.MustCompile(`(?m)^\s*Socket errors:\s*(.*)$`)
	wrkPct     = regexp.MustCompile(`(?m)^\s+(50|99)(?:\.000)?%\s+([0-9.]+)(us|ms|s)\s*$`)
)

// parseWrk reads wrk's --latency report.
func parseWrk(out string) (wrkResult, error) {
	var r wrkResult
	m := wrkRPS.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("wrk: no Requests/sec in its report:\n%s", out)
	}
	r.rps, _ = strconv.ParseFloat(m[1], 64)
	if m := wrkNon2xx.FindStringSubmatch(out); m != nil {
		r.non2xx, _ = strconv.Atoi(m[1])
	}
	if m := wrkSockErr.FindStringSubmatch(out); m != nil {
		r.socketErrs = strings.TrimSpace(m[1])
	}
	for _, m := range wrkPct.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[m[3]]
		d := time.Duration(v * float64(unit))
		if m[1] == "50" {
			r.p50 = d
		} else {
			r.p99 = d
		}
	}
	return r, nil
}

// wrkRun drives t with wrk (two threads, conns connections) for d.
func wrkRun(dir string, t *target, conns int, d time.Duration) (wrkResult, error) {
	script, err := wrkScript(dir, t)
	if err != nil {
		return wrkResult{}, err
	}
	defer os.Remove(script)
	before, err := t.serverStats()
	if err != nil {
		return wrkResult{}, err
	}
	busyBefore, _ := machineBusy()
	started := time.Now()
	var out bytes.Buffer
	cmd := exec.Command("wrk", "-t2", "-c"+strconv.Itoa(conns), "-d"+strconv.Itoa(int(d.Seconds()))+"s", "--latency", "-s", script, t.url)
	cmd.Stdout, cmd.Stderr = &out, io.Discard
	if err := cmd.Run(); err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %v\n%s", err, out.String())
	}
	busyAfter, _ := machineBusy()
	elapsed := time.Since(started)
	after, err := t.serverStats()
	if err != nil {
		return wrkResult{}, err
	}
	r, err := parseWrk(out.String())
	if err != nil {
		return r, err
	}
	if r.non2xx > 0 {
		return r, fmt.Errorf("%s: %d answers were not 2xx (a stale signature, throttling?)", t.name, r.non2xx)
	}
	cpu := after.CPUSeconds - before.CPUSeconds
	if n := r.rps * d.Seconds(); n > 0 {
		r.serverCPU = time.Duration(cpu / n * float64(time.Second))
		r.allocs = float64(after.Mallocs-before.Mallocs) / n
		r.clientCPU = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()) / time.Duration(n)
	}
	r.cores = cpu / d.Seconds()
	r.machine = (busyAfter - busyBefore) / elapsed.Seconds()
	return r, nil
}

// wrkRounds runs every target at every connection count, rounds times,
// interleaved (each round rotates the order), prints each run and the
// median, and returns the median requests/s per target and level.
func wrkRounds(dir string, targets []*target, conns []int, d time.Duration, rounds int) (map[*target]map[int]wrkResult, error) {
	fmt.Printf("\n%-30s %5s %9s %9s %9s %11s %7s %10s %11s %8s\n", "wrk (one pre-signed request)", "conns", "req/s", "p50", "p99", "srv CPU/req", "cores", "allocs/req", "wrk CPU/req", "machine")
	runs := map[*target]map[int][]wrkResult{}
	for _, t := range targets {
		runs[t] = map[int][]wrkResult{}
	}
	for round := 0; round < rounds; round++ {
		if waitQuietRounds {
			waitQuiet()
		}
		for _, c := range conns {
			for k := range targets {
				t := targets[(k+round)%len(targets)]
				r, err := wrkRun(dir, t, c, d)
				if err != nil {
					return nil, err
				}
				if rounds > 1 {
					printWrkRow(fmt.Sprintf("%s #%d", t.name, round+1), c, r)
				}
				runs[t][c] = append(runs[t][c], r)
			}
		}
	}
	if rounds > 1 {
		fmt.Printf("medians of %d rounds\n", rounds)
	}
	med := map[*target]map[int]wrkResult{}
	for _, c := range conns {
		for _, t := range targets {
			rs := runs[t][c]
			sort.Slice(rs, func(i, j int) bool { return rs[i].rps < rs[j].rps })
			r := rs[(len(rs)-1)/2]
			if med[t] == nil {
				med[t] = map[int]wrkResult{}
			}
			med[t][c] = r
			printWrkRow(t.name, c, r)
		}
	}
	return med, nil
}

func printWrkRow(name string, conns int, r wrkResult) {
	fmt.Printf("%-30s %5d %9.0f %9s %9s %11s %7.2f %10.0f %11s %8.2f", name, conns, r.rps,
		r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond), r.serverCPU.Round(time.Microsecond), r.cores, r.allocs,
		r.clientCPU.Round(time.Microsecond), r.machine)
	if r.socketErrs != "" {
		fmt.Printf("  (socket errors: %s)", r.socketErrs)
	}
	fmt.Println()
}

// machineBusy is the CPU seconds every core of the machine has been busy
// since boot (/proc/stat's first line: all but idle and iowait, and not
// guest time, which user time already holds), so a run
// shows whether the machine, not only the server, was saturated.
func machineBusy() (float64, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return parseBusy(line)
}

func parseBusy(cpuLine string) (float64, error) {
	f := strings.Fields(cpuLine)
	if len(f) < 6 || f[0] != "cpu" {
		return 0, fmt.Errorf("/proc/stat: unexpected first line %q", cpuLine)
	}
	var busy float64
	for i, v := range f[1:] {
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/stat: %q: %v", cpuLine, err)
		}
		if i != 3 && i != 4 && i < 8 { // not idle, iowait, guest, guest_nice
			busy += n
		}
	}
	return busy / clockTicks, nil
}

// clockTicks is USER_HZ, which is 100 on every Linux architecture Go runs
// on (the kernel fixes the ABI's unit; sysconf(_SC_CLK_TCK) reports it).
const clockTicks = 100

// waitQuietRounds (-quiet) makes every wrk round wait for a quiet machine.
var waitQuietRounds bool

// waitQuiet waits, up to ten minutes, until the machine is quiet: under
// 0.35 cores busy over 3 s (the servers idle between runs) and no go build
// or test running, so that no round measures someone else's work. The
// 1-minute load average would count this tool's own previous round.
func waitQuiet() {
	deadline := time.Now().Add(10 * time.Minute)
	for {
		b0, err := machineBusy()
		time.Sleep(3 * time.Second)
		b1, err1 := machineBusy()
		busy := (b1 - b0) / 3
		out, _ := exec.Command("pgrep", "-fa", `go (test|build)|\.test `).Output()
		others := strings.TrimSpace(string(out))
		if err == nil && err1 == nil && busy < 0.35 && others == "" {
			return
		}
		if time.Now().After(deadline) {
			fmt.Printf("(the machine did not become quiet in 10 minutes: %.2f cores busy; measuring anyway)\n", busy)
			return
		}
		fmt.Printf("(waiting for a quiet machine: %.2f cores busy; go builds/tests: %q)\n", busy, others)
		time.Sleep(10 * time.Second)
	}
}
