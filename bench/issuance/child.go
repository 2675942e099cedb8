package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/idcgate/idcgate/internal/app"
	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/testserver"
)

// The servers under test run in child processes of the load generator (the
// same binary, re-executed with -child), so that their allocations, RSS and
// goroutines are their own and not mixed with the client's, and so that a
// CPU profile shows only the server.

// stats is what a child reports about itself at /stats on its stats port.
type stats struct {
	Mallocs    uint64  `json:"mallocs"`
	Goroutines int     `json:"goroutines"`
	RSSMiB     float64 `json:"rssMiB"`
	AnonMiB    float64 `json:"anonMiB"` // resident anonymous memory: heap, stacks, runtime
	FileMiB    float64 `json:"fileMiB"` // resident file pages: the store's memory map, page cache
	HeapMiB    float64 `json:"heapMiB"`
	CPUSeconds float64 `json:"cpuSeconds"` // user + system, the whole process

	// Only at /stats?window=1: the anonymous memory sampled every
	// sampleEvery since the last such call, without forcing a collection
	// (what the process holds as it runs, not just after a GC).
	PeakAnonMiB   float64 `json:"peakAnonMiB,omitempty"`
	MedianAnonMiB float64 `json:"medianAnonMiB,omitempty"`
	AnonSamples   int     `json:"anonSamples,omitempty"`

	// The parent's reading of the idcgate child's /metrics (not from the
	// child's stats; only for targets with a metrics URL).
	audit *auditSyncs
}

// sampleEvery is how often the child's sampler reads its anonymous memory.
const sampleEvery = 250 * time.Millisecond

// anonWindow is what the sampler has seen since the window was last read.
type anonWindow struct {
	mu      sync.Mutex
	samples []float64
}

// sample reads RssAnon every sampleEvery, forever.
func (a *anonWindow) sample() {
	for range time.Tick(sampleEvery) {
		anon, _ := rssParts()
		a.mu.Lock()
		a.samples = append(a.samples, anon)
		a.mu.Unlock()
	}
}

// take returns the window's largest and median sample and their number,
// and starts a new window.
func (a *anonWindow) take() (peak, median float64, n int) {
	a.mu.Lock()
	s := a.samples
	a.samples = make([]float64, 0, cap(s))
	a.mu.Unlock()
	if len(s) == 0 {
		return 0, 0, 0
	}
	return slices.Max(s), medianOf(s), len(s)
}

func readStats() stats {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	anon, file := rssParts()
	return stats{Mallocs: ms.Mallocs, Goroutines: runtime.NumGoroutine(), RSSMiB: rssMiB(), AnonMiB: anon, FileMiB: file,
		HeapMiB: float64(ms.HeapAlloc) / (1 << 20), CPUSeconds: cpuSeconds()}
}

// cpuSeconds is the CPU time this process has used.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

// rssMiB is this process's resident set, from /proc.
func rssMiB() float64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.Atoi(f[1])
	return float64(pages*os.Getpagesize()) / (1 << 20)
}

// rssParts splits the resident set (/proc/self/status) into anonymous
// memory, which a leak grows, and file pages (bbolt maps its file: the pages
// of a growing audit trail count here), which the kernel reclaims at will.
func rssParts() (anon, file float64) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "RssAnon:":
			anon = kb / 1024
		case "RssFile:", "RssShmem:":
			file += kb / 1024
		}
	}
	return anon, file
}

// auditRetention is -audit-retention, handed down to the idcgate child.
var auditRetention time.Duration

// workgroupNames are the 20 workgroups the idcgate child serves: the
// example's demo and 19 more on their own namespaces.
func workgroupNames() []string {
	names := []string{"demo"}
	for i := 1; i < 20; i++ {
		names = append(names, fmt.Sprintf("bench-%02d", i))
	}
	return names
}

// heapProfileRate is the heap profile's sampling rate (bytes between
// samples) with -heapprofile: the live heap is a few MiB, which Go's default
// of 512 KiB would describe in a few dozen samples. (The profile's
// buckets live outside the heap and add a little anonymous memory, flat once
// every allocating stack has been seen.)
const heapProfileRate = 64 << 10

// runChild serves kind ("idcgate" or "bare") until its stdin closes or it
// gets SIGTERM, printing "ready <api addr> <stats addr>" once it listens.
// With heapProfile, every /stats?window=1 also writes a heap profile (after
// a collection) to that file, which the parent keeps or discards.
func runChild(kind, dir, bareBodyFile, cpuProfile, allocProfile, heapProfile string) error {
	if heapProfile != "" {
		runtime.MemProfileRate = heapProfileRate
	}
	statsLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	var anon anonWindow
	go anon.sample()
	go http.Serve(statsLn, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The window's samples first, before the collection below lowers
		// what is resident.
		var peak, median float64
		var n int
		window := r.URL.Query().Get("window") != ""
		if window {
			peak, median, n = anon.take()
		}
		// Collect and hand freed pages back to the OS, so that resident
		// memory is what the process holds, not what the allocator has not
		// yet returned: this sample is what is live at this instant.
		debug.FreeOSMemory()
		s := readStats()
		s.PeakAnonMiB, s.MedianAnonMiB, s.AnonSamples = peak, median, n
		if window && heapProfile != "" {
			if err := writeHeapProfile(heapProfile); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
		}
		json.NewEncoder(w).Encode(s)
	}))

	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer cancel()
	go func() { io.Copy(io.Discard, os.Stdin); cancel() }()

	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}

	if allocProfile != "" {
		defer func() {
			if f, err := os.Create(allocProfile); err == nil {
				pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
		}()
	}

	var addr string
	done := make(chan error, 1)
	switch kind {
	case "idcgate":
		a, err := openIdcgate(ctx, dir)
		if err != nil {
			return err
		}
		addr = a.Addr()
		go func() { done <- a.Serve(ctx) }()
	case "bare":
		body, err := os.ReadFile(bareBodyFile)
		if err != nil {
			return err
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		addr = ln.Addr().String()
		srv := &http.Server{Handler: bareHandler(body)}
		go func() { <-ctx.Done(); srv.Close() }()
		go func() { srv.Serve(ln); done <- nil }()
	default:
		return fmt.Errorf("unknown child kind %q", kind)
	}
	fmt.Printf("ready %s %s\n", addr, statsLn.Addr())
	<-ctx.Done()
	return <-done
}

// writeHeapProfile writes the in-use heap, as of a collection run now, to
// file.
func writeHeapProfile(file string) error {
	runtime.GC() // publishes the profile up to this instant
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// bareHandler is the practical limit of net/http here: it reads the request
// and answers a fixed body of the size of a real answer, with the same
// headers, and does nothing else.
func bareHandler(body []byte) http.Handler {
	n := strconv.Itoa(len(body))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		h := w.Header()
		h.Set("Content-Type", "application/x-amz-json-1.1")
		h.Set("Content-Length", n)
		h.Set("X-Amzn-Requestid", "00000000-0000-0000-0000-000000000000")
		w.Write(body)
	})
}

// openIdcgate starts the example deployment with 20 workgroups, audit on
// (durable, as in production), logs discarded and throttling off.
func openIdcgate(ctx context.Context, dir string) (*app.App, error) {
	cfg, err := config.Load(testserver.ExampleConfig())
	if err != nil {
		return nil, err
	}
	cfg.DataDir, cfg.Listen = filepath.Join(dir, "data"), "127.0.0.1:0"
	cfg.Gateway.Disabled = true
	cfg.ApplyDefaults()
	cfg.Throttle.PerPrincipal = &config.RateLimit{}
	if auditRetention > 0 {
		cfg.Audit.Retention = &config.Duration{Duration: auditRetention}
	}
	for _, name := range workgroupNames()[1:] {
		cfg.Accounts[0].Namespaces = append(cfg.Accounts[0].Namespaces, config.Namespace{Name: name, RedshiftIdcApplication: "demo-idc"})
		cfg.Accounts[0].Workgroups = append(cfg.Accounts[0].Workgroups, config.Workgroup{Name: name, Namespace: name, BaseCapacity: 8})
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return app.Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), app.Options{})
}
