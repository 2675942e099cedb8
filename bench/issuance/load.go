package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// target is one server under load: every request is signed afresh with the
// SDK's SigV4 signer, so the server's verification cost is real.
type target struct {
	name  string
	url   string
	stats string // the child's stats URL
	// metrics is the idcgate child's /metrics (empty for the bare server):
	// each run also reports its audit group commits.
	metrics string
	creds   aws.Credentials
	body    []byte
	c       *http.Client
}

func (t *target) request() (*http.Request, error) {
	req, err := http.NewRequest(http.MethodPost, t.url, bytes.NewReader(t.body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "RedshiftServerless.GetIdentityCenterAuthToken")
	sum := sha256.Sum256(t.body)
	err = v4.NewSigner().SignHTTP(context.Background(), t.creds, req, hex.EncodeToString(sum[:]), "redshift-serverless", "us-east-1", time.Now())
	return req, err
}

// do sends one request and returns the answer's body.
func (t *target) do() ([]byte, error) {
	req, err := t.request()
	if err != nil {
		return nil, err
	}
	resp, err := t.c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: status %d: %.200s", t.name, resp.StatusCode, b)
	}
	return b, nil
}

func (t *target) serverStats() (stats, error) { return t.getStats("") }

// windowStats is serverStats that also ends the child's sampling window
// (and, with -heapprofile, has it write that window's heap profile).
func (t *target) windowStats() (stats, error) { return t.getStats("?window=1") }

func (t *target) getStats(query string) (stats, error) {
	var s stats
	resp, err := t.c.Get(t.stats + query)
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return s, fmt.Errorf("child stats: status %d: %.200s", resp.StatusCode, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return s, err
	}
	if t.metrics != "" {
		a, err := scrapeAuditSyncs(t.c, t.metrics)
		if err != nil {
			return s, err
		}
		s.audit = &a
	}
	return s, nil
}

// result is one measurement.
type result struct {
	ok, errors     int
	rps            float64 // successful requests per second
	p50, p99, p999 time.Duration
	serverAllocs   float64       // server-process allocations per successful request
	serverCPU      time.Duration // server-process CPU time per successful request
	audit          *auditSyncs   // the server's audit group commits in the run (idcgate only)
	firstErr       error
}

// recorder collects latencies from many goroutines.
type recorder struct {
	mu       sync.Mutex
	lat      []time.Duration
	errors   atomic.Int64
	firstErr atomic.Value
}

func (r *recorder) add(mine []time.Duration) {
	r.mu.Lock()
	r.lat = append(r.lat, mine...)
	r.mu.Unlock()
}

func (r *recorder) fail(err error) {
	r.errors.Add(1)
	r.firstErr.CompareAndSwap(nil, err)
}

func (r *recorder) result(t *target, d time.Duration, before stats) result {
	after, err := t.serverStats()
	sort.Slice(r.lat, func(i, j int) bool { return r.lat[i] < r.lat[j] })
	res := result{ok: len(r.lat), errors: int(r.errors.Load())}
	if e, _ := r.firstErr.Load().(error); e != nil {
		res.firstErr = e
	}
	if len(r.lat) == 0 {
		return res
	}
	pct := func(p float64) time.Duration { return r.lat[min(len(r.lat)-1, int(p*float64(len(r.lat))))] }
	res.rps = float64(len(r.lat)) / d.Seconds()
	res.p50, res.p99, res.p999 = pct(0.50), pct(0.99), pct(0.999)
	if err == nil {
		res.serverAllocs = float64(after.Mallocs-before.Mallocs) / float64(len(r.lat))
		res.serverCPU = time.Duration((after.CPUSeconds - before.CPUSeconds) / float64(len(r.lat)) * float64(time.Second))
		if after.audit != nil && before.audit != nil {
			a := after.audit.since(*before.audit)
			res.audit = &a
		}
	}
	return res
}

// closedLoop drives t with conc workers, each sending its next request as
// soon as the last one is answered, for d.
func closedLoop(t *target, conc int, d time.Duration) result {
	before, _ := t.serverStats()
	var rec recorder
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]time.Duration, 0, 4096)
			for time.Now().Before(deadline) {
				s := time.Now()
				if _, err := t.do(); err != nil {
					rec.fail(err)
					continue
				}
				mine = append(mine, time.Since(s))
			}
			rec.add(mine)
		}()
	}
	wg.Wait()
	return rec.result(t, d, before)
}

// openLoop sends requests on a fixed schedule of rate per second for d,
// whether or not earlier ones have been answered, and times each from its
// scheduled start: a stalled server shows up in the percentiles instead of
// silently lowering the offered rate (no coordinated omission). maxInFlight
// bounds the senders; a request that finds none free still counts from its
// scheduled time.
func openLoop(t *target, rate float64, d time.Duration, maxInFlight int) result {
	before, _ := t.serverStats()
	var rec recorder
	n := int(rate * d.Seconds())
	interval := time.Duration(float64(time.Second) / rate)
	sched := make(chan time.Time, n)
	var wg sync.WaitGroup
	for w := 0; w < maxInFlight; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]time.Duration, 0, 1024)
			for at := range sched {
				if wait := time.Until(at); wait > 0 {
					time.Sleep(wait)
				}
				if _, err := t.do(); err != nil {
					rec.fail(err)
					continue
				}
				mine = append(mine, time.Since(at))
			}
			rec.add(mine)
		}()
	}
	start := time.Now().Add(10 * time.Millisecond)
	for i := 0; i < n; i++ {
		sched <- start.Add(time.Duration(i) * interval)
	}
	close(sched)
	wg.Wait()
	// The achieved rate is over the scheduled window plus any overrun.
	return rec.result(t, max(d, time.Since(start)), before)
}
