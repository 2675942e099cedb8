// Command issuance load-tests GetIdentityCenterAuthToken against a bare
// net/http server that answers a fixed body of the same size (the practical
// limit of this machine), in one run, and prints throughput, latency
// percentiles, server allocations per request, the ratios and whether the
// targets are met.
//
//	go run ./bench/issuance [-duration 10s] [-concurrency 1,8,32] [-rate 0]
//	                        [-cpuprofile server.pprof] [-soak 10m]
//
// Both servers run as child processes (this binary re-executed), so their
// allocations, memory and CPU profile are theirs alone; the load generator
// signs every request afresh with the AWS SDK's SigV4 signer.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/idcgate/idcgate/internal/client"
	"github.com/idcgate/idcgate/internal/testserver"
)

// Targets of issue 8.
const (
	targetThroughputRatio = 0.60 // issuance ≥ 0.6 × bare
	targetP99             = 5 * time.Millisecond
	targetCost20          = 1.30 // 20 workgroups cost ≤ 1.3 × one
	targetSoakDrift       = 0.10 // RSS flat within ±10 %
)

func main() {
	dur := flag.Duration("duration", 10*time.Second, "length of each measurement")
	concs := flag.String("concurrency", "1,8,32", "closed-loop concurrency levels")
	rate := flag.Float64("rate", 0, "fixed-rate run in requests/s (0: half of the measured 1-workgroup peak)")
	soak := flag.Duration("soak", 0, "soak mode: run this long at 8 workers, printing the server's RSS and goroutines every 30s")
	cpuProfile := flag.String("cpuprofile", "", "write the idcgate server's CPU profile of the whole run to this file")
	allocProfile := flag.String("allocprofile", "", "write the idcgate server's allocation profile of the whole run to this file")
	only := flag.String("only", "", "run only this target (one or twenty): closed loops at each -concurrency, or with -rate the open loop alone; no ratios (for a profile of that path alone)")
	flag.DurationVar(&auditRetention, "audit-retention", 0, "the idcgate child's audit.retention (0: the default, 90 days); a soak at full load reaches its steady state only with a short one")
	child := flag.String("child", "", "internal: run as the server child of this kind (idcgate or bare)")
	childDir := flag.String("child-dir", "", "internal")
	childBody := flag.String("child-body", "", "internal")
	flag.Parse()

	if *child != "" {
		if err := runChild(*child, *childDir, *childBody, *cpuProfile, *allocProfile); err != nil {
			fmt.Fprintln(os.Stderr, "issuance child:", err)
			os.Exit(1)
		}
		return
	}
	levels, err := parseLevels(*concs)
	must(err)
	must(bench(*dur, levels, *rate, *soak, *only, *cpuProfile, *allocProfile))
}

func parseLevels(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-concurrency: %q is not a positive number", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func bench(dur time.Duration, levels []int, rate float64, soak time.Duration, only, cpuProfile, allocProfile string) error {
	dir, err := os.MkdirTemp("", "idcgate-issuance-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 512}}

	for _, p := range []*string{&cpuProfile, &allocProfile} {
		if *p != "" {
			if *p, err = filepath.Abs(*p); err != nil {
				return err
			}
		}
	}
	idc, err := startChild("idcgate", dir, "", cpuProfile, allocProfile)
	if err != nil {
		return err
	}
	defer idc.stop()
	creds, err := session(idc.url, filepath.Join(dir, "data", "credentials"))
	if err != nil {
		return err
	}
	names := workgroupNames()
	one := &target{name: "issue, 1 workgroup", url: idc.url + "/", stats: idc.stats, creds: creds, body: []byte(`{"workgroupNames":["demo"]}`), c: hc}
	twenty := &target{name: "issue, 20 workgroups", url: idc.url + "/", stats: idc.stats, creds: creds, body: []byte(`{"workgroupNames":["` + strings.Join(names, `","`) + `"]}`), c: hc}

	if soak > 0 {
		return soakRun(one, soak)
	}
	if only != "" {
		t := map[string]*target{"one": one, "twenty": twenty}[only]
		if t == nil {
			return fmt.Errorf("-only: %q is neither one nor twenty", only)
		}
		closedLoop(t, 8, time.Second)
		if rate > 0 {
			printRow(t.name+" (open)", fmt.Sprintf("%.0f", rate), openLoop(t, rate, dur, 256))
			return nil
		}
		for _, c := range levels {
			printRow(t.name, strconv.Itoa(c), closedLoop(t, c, dur))
		}
		return nil
	}

	// The bare server answers the body of a real 1-workgroup answer.
	sample, err := one.do()
	if err != nil {
		return err
	}
	bodyFile := filepath.Join(dir, "bare-body.json")
	if err := os.WriteFile(bodyFile, sample, 0o600); err != nil {
		return err
	}
	bareChild, err := startChild("bare", dir, bodyFile, "", "")
	if err != nil {
		return err
	}
	defer bareChild.stop()
	bare := &target{name: "bare net/http", url: bareChild.url + "/", stats: bareChild.stats, creds: creds, body: one.body, c: hc}

	for _, t := range []*target{bare, one, twenty} { // warm connections, caches and the JIT-free but lazy paths
		closedLoop(t, 8, time.Second)
	}

	fmt.Printf("GetIdentityCenterAuthToken vs a bare net/http server; %d cores, GOMAXPROCS %d, %s per run, answer %d bytes\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), dur, len(sample))
	fmt.Printf("%-22s %5s %9s %9s %9s %9s %13s %11s\n", "closed loop", "conc", "req/s", "p50", "p99", "p99.9", "srv allocs/req", "srv CPU/req")
	peak := map[*target]float64{}
	for _, c := range levels {
		for _, t := range []*target{bare, one, twenty} {
			r := closedLoop(t, c, dur)
			printRow(t.name, strconv.Itoa(c), r)
			peak[t] = max(peak[t], r.rps)
		}
	}

	if rate <= 0 {
		rate = peak[one] / 2
	}
	fmt.Printf("\n%-22s %5s %9s %9s %9s %9s %13s %11s\n", "fixed rate (open loop)", "rate", "achieved", "p50", "p99", "p99.9", "srv allocs/req", "srv CPU/req")
	var half1 result
	for _, t := range []*target{one, twenty} {
		r := openLoop(t, rate, dur, 256)
		printRow(t.name, fmt.Sprintf("%.0f", rate), r)
		if t == one {
			half1 = r
		}
	}

	ratio := peak[one] / peak[bare]
	cost20 := peak[one] / peak[twenty]
	fmt.Println()
	verdict("issuance / bare peak throughput", fmt.Sprintf("%.2f", ratio), fmt.Sprintf(">= %.2f", targetThroughputRatio), ratio >= targetThroughputRatio)
	verdict(fmt.Sprintf("p99 at %.0f req/s (half of peak)", rate), half1.p99.Round(time.Microsecond).String(), "<= "+targetP99.String(), half1.errors == 0 && half1.p99 <= targetP99)
	verdict("20 workgroups cost / 1 workgroup", fmt.Sprintf("%.2f", cost20), fmt.Sprintf("<= %.2f", targetCost20), cost20 <= targetCost20)
	if cpuProfile != "" {
		fmt.Printf("\nserver CPU profile: %s (go tool pprof -top %s)\n", cpuProfile, cpuProfile)
	}
	return nil
}

func printRow(name, level string, r result) {
	fmt.Printf("%-22s %5s %9.0f %9s %9s %9s %13.0f %11s", name, level, r.rps,
		r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond), r.p999.Round(time.Microsecond), r.serverAllocs, r.serverCPU.Round(time.Microsecond))
	if r.errors > 0 {
		fmt.Printf("  (%d errors; first: %v)", r.errors, r.firstErr)
	}
	fmt.Println()
}

func verdict(what, got, target string, met bool) {
	word := "NOT MET"
	if met {
		word = "met"
	}
	fmt.Printf("%-40s %10s  (target %s)  %s\n", what+":", got, target, word)
}

// soakRun loads one target at 8 workers for d and prints the server's
// memory and goroutines every 30 s. After a one-minute warm-up the
// anonymous resident memory (heap, stacks, runtime) must stay within ±10 %
// of its first settled value, and the goroutines must not grow. File pages
// are shown but not judged: they are the store's memory map, which grows
// with the audit trail on disk and is page cache the kernel reclaims.
func soakRun(t *target, d time.Duration) error {
	const window = 30 * time.Second
	fmt.Println("soak: 8 workers, 1 workgroup; every 30s the server's requests, heap, resident memory (anonymous + file pages), goroutines")
	end := time.Now().Add(d)
	var base, lo, hi float64
	var g0, gMax int
	// The second window at the earliest; with -audit-retention, not before
	// the store has held records for one retention (until then it only
	// grows, by design).
	warm := 1 + int((auditRetention+window-1)/window)
	for i := 0; time.Now().Before(end); i++ {
		r := closedLoop(t, 8, min(window, time.Until(end)))
		s, err := t.serverStats()
		if err != nil {
			return err
		}
		fmt.Printf("%s  %7d req  %5d err  heap %6.1f MiB  rss %6.1f MiB = anon %6.1f + file %6.1f  goroutines %d\n",
			time.Now().Format("15:04:05"), r.ok, r.errors, s.HeapMiB, s.RSSMiB, s.AnonMiB, s.FileMiB, s.Goroutines)
		switch {
		case i == warm: // caches and pools have settled, and the store holds a retention's worth
			base, lo, hi, g0, gMax = s.AnonMiB, s.AnonMiB, s.AnonMiB, s.Goroutines, s.Goroutines
		case i > warm:
			lo, hi, gMax = min(lo, s.AnonMiB), max(hi, s.AnonMiB), max(gMax, s.Goroutines)
		}
	}
	if base == 0 {
		return fmt.Errorf("soak: run at least %s to judge memory", time.Duration(warm+2)*window)
	}
	drift := max(hi/base-1, 1-lo/base)
	verdict("anonymous memory drift after warm-up", fmt.Sprintf("%.1f%%", drift*100), fmt.Sprintf("<= ±%.0f%%", targetSoakDrift*100), drift <= targetSoakDrift)
	verdict("goroutines after warm-up", fmt.Sprintf("%d → max %d", g0, gMax), "no growth", gMax <= g0+2)
	return nil
}

// childProc is a server child process.
type childProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	url   string
	stats string
}

func startChild(kind, dir, bodyFile, cpuProfile, allocProfile string) (*childProc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{"-child", kind, "-child-dir", dir, "-child-body", bodyFile}
	if cpuProfile != "" {
		args = append(args, "-cpuprofile", cpuProfile)
	}
	if allocProfile != "" {
		args = append(args, "-allocprofile", allocProfile)
	}
	if auditRetention > 0 {
		args = append(args, "-audit-retention", auditRetention.String())
	}
	cmd := exec.Command(self, args...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	f := strings.Fields(line)
	if err != nil || len(f) != 3 || f[0] != "ready" {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("%s child did not start (%q, %v)", kind, line, err)
	}
	return &childProc{cmd: cmd, stdin: stdin, url: "http://" + f[1], stats: "http://" + f[2] + "/stats"}, nil
}

// stop closes the child's stdin (it shuts down, writing its profile) and
// waits for it.
func (c *childProc) stop() {
	c.stdin.Close()
	done := make(chan struct{})
	go func() { c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		c.cmd.Process.Kill()
		<-done
	}
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "issuance:", err)
		os.Exit(1)
	}
}

// session runs the identity flow for alice over the API: the built-in IdP
// (with the administrator keys the child wrote), then CreateTokenWithIAM
// and AssumeRole as the example's app user.
func session(url, credentialsFile string) (aws.Credentials, error) {
	ctx := context.Background()
	admin, err := client.New(ctx, client.Options{Endpoint: url, Region: testserver.Region, CredentialsFile: credentialsFile, Profile: "default"})
	if err != nil {
		return aws.Credentials{}, err
	}
	jwt, err := admin.IssueTestToken(ctx, "alice", "idcgate-demo", 10*time.Minute)
	if err != nil {
		return aws.Credentials{}, err
	}
	appc, err := client.New(ctx, client.Options{Endpoint: url, Region: testserver.Region, Static: &aws.Credentials{AccessKeyID: testserver.AppKeyID, SecretAccessKey: testserver.AppSecretKey}})
	if err != nil {
		return aws.Credentials{}, err
	}
	s, err := appc.IdentitySession(ctx, jwt, testserver.ApplicationArn, testserver.AnalystRoleArn, "alice", 12*time.Hour)
	if err != nil {
		return aws.Credentials{}, err
	}
	return s.Credentials, nil
}
