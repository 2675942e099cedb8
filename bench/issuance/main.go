// Command issuance load-tests GetIdentityCenterAuthToken on an in-process
// idcgate, and a bare net/http server answering a fixed body of the same
// size, in one run on this machine, and prints throughput, latency
// percentiles, allocations per request and the ratios.
//
//	go run ./bench/issuance [-duration 10s] [-concurrency 1,8,32] [-soak 0]
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/idcgate/idcgate/internal/app"
	"github.com/idcgate/idcgate/internal/client"
	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/testserver"
)

type result struct {
	n              int
	rps            float64
	p50, p99, p999 time.Duration
	allocsPerReq   float64
	errors         int
}

// target sends one signed request.
type target struct {
	url   string
	creds aws.Credentials
	body  []byte
	c     *http.Client
}

func (t *target) do() error {
	req, _ := http.NewRequest(http.MethodPost, t.url, bytes.NewReader(t.body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "RedshiftServerless.GetIdentityCenterAuthToken")
	sum := sha256.Sum256(t.body)
	if err := v4.NewSigner().SignHTTP(context.Background(), t.creds, req, hex.EncodeToString(sum[:]), "redshift-serverless", "us-east-1", time.Now()); err != nil {
		return err
	}
	resp, err := t.c.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// run drives t with conc workers for d; rate > 0 paces the total rate.
func run(t *target, conc int, d time.Duration, rate float64) result {
	var lat []time.Duration
	var mu sync.Mutex
	var errs atomic.Int64
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	var tick <-chan time.Time
	if rate > 0 {
		tk := time.NewTicker(time.Duration(float64(time.Second) / rate))
		defer tk.Stop()
		tick = tk.C
	}
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for time.Now().Before(deadline) {
				if tick != nil {
					<-tick
				}
				s := time.Now()
				if err := t.do(); err != nil {
					errs.Add(1)
					continue
				}
				mine = append(mine, time.Since(s))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	runtime.ReadMemStats(&ms1)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	r := result{n: len(lat), errors: int(errs.Load())}
	if len(lat) == 0 {
		return r
	}
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	r.rps = float64(len(lat)) / d.Seconds()
	r.p50, r.p99, r.p999 = pct(0.50), pct(0.99), pct(0.999)
	r.allocsPerReq = float64(ms1.Mallocs-ms0.Mallocs) / float64(len(lat))
	return r
}

func main() {
	dur := flag.Duration("duration", 10*time.Second, "length of each measurement")
	concs := flag.String("concurrency", "1,8,32", "concurrency levels")
	soak := flag.Duration("soak", 0, "soak mode: run this long at 8 workers, printing RSS and goroutines every 30s")
	flag.Parse()

	dir, _ := os.MkdirTemp("", "idcgate-issuance-")
	defer os.RemoveAll(dir)
	cfg, err := config.Load(testserver.ExampleConfig())
	must(err)
	cfg.DataDir, cfg.Listen = filepath.Join(dir, "data"), "127.0.0.1:0"
	cfg.Gateway.Disabled = true
	cfg.ApplyDefaults()
	cfg.Throttle.PerPrincipal = &config.RateLimit{}
	names := []string{"demo"}
	for i := 1; i < 20; i++ {
		ns := fmt.Sprintf("bench-%02d", i)
		cfg.Accounts[0].Namespaces = append(cfg.Accounts[0].Namespaces, config.Namespace{Name: ns, RedshiftIdcApplication: "demo-idc"})
		cfg.Accounts[0].Workgroups = append(cfg.Accounts[0].Workgroups, config.Workgroup{Name: ns, Namespace: ns, BaseCapacity: 8})
		names = append(names, ns)
	}
	must(cfg.Validate())
	a, err := app.Open(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), app.Options{})
	must(err)
	ctx, cancel := context.WithCancel(context.Background())
	go a.Serve(ctx)
	defer cancel()

	url := "http://" + a.Addr()
	creds := session(url, a)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	one := &target{url: url + "/", creds: creds, body: []byte(`{"workgroupNames":["demo"]}`), c: client}
	twenty := &target{url: url + "/", creds: creds, body: []byte(`{"workgroupNames":["` + strings.Join(names, `","`) + `"]}`), c: client}

	// The bare baseline answers a body of the same size as a 1-workgroup token answer.
	sample := httpBody(one)
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("Content-Length", strconv.Itoa(len(sample)))
		w.Write(sample)
	}))
	defer bare.Close()
	base := &target{url: bare.URL + "/", creds: creds, body: one.body, c: client}

	if *soak > 0 {
		soakRun(one, *soak)
		return
	}
	fmt.Printf("GetIdentityCenterAuthToken vs a bare net/http server; %d cores, GOMAXPROCS %d, %s per run\n", runtime.NumCPU(), runtime.GOMAXPROCS(0), *dur)
	fmt.Printf("%-26s %5s %10s %9s %9s %9s %12s\n", "target", "conc", "req/s", "p50", "p99", "p99.9", "allocs/req")
	var peak1, peakBare, peak20 float64
	for _, cs := range strings.Split(*concs, ",") {
		c, _ := strconv.Atoi(cs)
		for _, x := range []struct {
			name string
			t    *target
			peak *float64
		}{{"bare net/http", base, &peakBare}, {"issue, 1 workgroup", one, &peak1}, {"issue, 20 workgroups", twenty, &peak20}} {
			r := run(x.t, c, *dur, 0)
			fmt.Printf("%-26s %5d %10.0f %9s %9s %9s %12.0f", x.name, c, r.rps, r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond), r.p999.Round(time.Microsecond), r.allocsPerReq)
			if r.errors > 0 {
				fmt.Printf("  (%d errors)", r.errors)
			}
			fmt.Println()
			*x.peak = max(*x.peak, r.rps)
		}
	}
	half := run(one, 32, *dur, peak1/2)
	fmt.Printf("\nat half of peak (%.0f req/s, 1 workgroup): p99 %s, p99.9 %s\n", peak1/2, half.p99.Round(time.Microsecond), half.p999.Round(time.Microsecond))
	fmt.Printf("issuance / bare peak throughput: %.2f (target >= 0.60)\n", peak1/peakBare)
	fmt.Printf("p99 at half of peak: %s (target <= 5ms)\n", half.p99.Round(time.Microsecond))
	fmt.Printf("20 workgroups cost / 1 workgroup: %.2f (target <= 1.30)\n", peak1/peak20)
}

func soakRun(t *target, d time.Duration) {
	end := time.Now().Add(d)
	var ms runtime.MemStats
	fmt.Println("soak: 8 workers; every 30s: requests, heap, RSS, goroutines")
	for time.Now().Before(end) {
		r := run(t, 8, 30*time.Second, 0)
		runtime.ReadMemStats(&ms)
		fmt.Printf("%s  %7d req  heap %6.1f MiB  rss %6.1f MiB  goroutines %d\n", time.Now().Format("15:04:05"), r.n,
			float64(ms.HeapAlloc)/(1<<20), rssMiB(), runtime.NumGoroutine())
	}
}

func rssMiB() float64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	pages, _ := strconv.Atoi(f[1])
	return float64(pages*os.Getpagesize()) / (1 << 20)
}

func httpBody(t *target) []byte {
	req, _ := http.NewRequest(http.MethodPost, t.url, bytes.NewReader(t.body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "RedshiftServerless.GetIdentityCenterAuthToken")
	sum := sha256.Sum256(t.body)
	v4.NewSigner().SignHTTP(context.Background(), t.creds, req, hex.EncodeToString(sum[:]), "redshift-serverless", "us-east-1", time.Now())
	resp, err := t.c.Do(req)
	must(err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return b
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "issuance:", err)
		os.Exit(1)
	}
}

// session runs the identity flow for alice, as the example's app user.
func session(url string, a *app.App) aws.Credentials {
	ctx := context.Background()
	root := a.Registry.Roots()[0]
	admin, err := client.New(ctx, client.Options{Endpoint: url, Region: "us-east-1", Static: &aws.Credentials{AccessKeyID: root.AccessKeyID, SecretAccessKey: root.SecretAccessKey}})
	must(err)
	jwt, err := admin.IssueTestToken(ctx, "alice", "idcgate-demo", 10*time.Minute)
	must(err)
	appc, err := client.New(ctx, client.Options{Endpoint: url, Region: "us-east-1", Static: &aws.Credentials{AccessKeyID: testserver.AppKeyID, SecretAccessKey: testserver.AppSecretKey}})
	must(err)
	s, err := appc.IdentitySession(ctx, jwt, testserver.ApplicationArn, testserver.AnalystRoleArn, "alice", 12*time.Hour)
	must(err)
	return s.Credentials
}
