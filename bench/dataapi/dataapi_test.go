// Package dataapi benchmarks idcgate's Redshift Data API against the same
// queries through pgx directly, in one run (docs/PERFORMANCE.md):
//
//	go test -run '^$' -bench . -benchtime 500x ./bench/dataapi/
//
// BenchmarkRoundTrip: ExecuteStatement → DescribeStatement until FINISHED →
// GetStatementResult for a one-row query, p50/p99, beside pgx's QueryRow of
// the same query on an open connection. BenchmarkLargeResult: a
// 100,000-row result, with the server's heap sampled while it is stored,
// to show it is streamed to the store in pages, never held whole.
package dataapi

import (
	"context"
	"fmt"
	"runtime"
	"runtime/metrics"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/redshiftdata"
	"github.com/aws/aws-sdk-go-v2/service/redshiftdata/types"
	"github.com/jackc/pgx/v5"

	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/pgtest"
	"github.com/idcgate/idcgate/internal/testserver"
)

// world starts PostgreSQL with a 100,000-row table the analysts read, and
// idcgate (in this process) in front of it.
func world(b *testing.B) (*testserver.Server, *pgtest.Server, *redshiftdata.Client) {
	b.Helper()
	pg := pgtest.Start(b)
	pg.CreateDatabase(b, "dev")
	pg.Exec(b, "dev",
		`CREATE ROLE "AWSIDC:analysts" NOLOGIN`,
		`CREATE TABLE big AS SELECT g AS id, 'row ' || g AS label, g * 0.5 AS half FROM generate_series(1, 100000) g`,
		`GRANT SELECT ON big TO "AWSIDC:analysts"`)
	srv := testserver.Start(b, testserver.Options{Edit: func(c *config.Config) {
		c.PGUpstream = pg.TLSDSN("dev")
		c.Serverless.TransitionDelay = &config.Duration{}
		c.Throttle.PerPrincipal = &config.RateLimit{}
	}})
	srv.TrustUpstreamCA(b, pg)
	alice := redshiftdata.NewFromConfig(srv.Config(srv.IdentitySession(b, "alice", testserver.AnalystRoleArn)))
	return srv, pg, alice
}

// run executes sql and polls until it is final.
// warmWorld is world's alice, her first statement run (the role sync and
// the pool's first connection), and a direct pgx connection to the
// upstream's dev database, closed when the benchmark ends.
func warmWorld(b *testing.B) (*redshiftdata.Client, *pgx.Conn) {
	b.Helper()
	_, pg, alice := world(b)
	ctx := context.Background()
	direct, err := pgx.Connect(ctx, pg.DSN("dev"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { direct.Close(ctx) })
	run(b, alice, "select 1", 0)
	return alice, direct
}

func run(b *testing.B, c *redshiftdata.Client, sql string, poll time.Duration) string {
	ctx := context.Background()
	out, err := c.ExecuteStatement(ctx, &redshiftdata.ExecuteStatementInput{Sql: &sql, WorkgroupName: aws.String("demo"), Database: aws.String("dev")})
	if err != nil {
		b.Fatal(err)
	}
	for {
		d, err := c.DescribeStatement(ctx, &redshiftdata.DescribeStatementInput{Id: out.Id})
		if err != nil {
			b.Fatal(err)
		}
		switch d.Status {
		case types.StatusStringFinished:
			return aws.ToString(out.Id)
		case types.StatusStringFailed, types.StatusStringAborted:
			b.Fatalf("%s: %s %s", sql, d.Status, aws.ToString(d.Error))
		}
		if poll > 0 {
			time.Sleep(poll)
		}
	}
}

func percentile(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

func BenchmarkRoundTrip(b *testing.B) {
	alice, direct := warmWorld(b)
	ctx := context.Background()
	api := make([]time.Duration, 0, b.N)
	viaPgx := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		id := run(b, alice, "select 1", 0)
		res, err := alice.GetStatementResult(ctx, &redshiftdata.GetStatementResultInput{Id: &id})
		if err != nil || len(res.Records) != 1 {
			b.Fatalf("result: %v", err)
		}
		api = append(api, time.Since(t0))

		t0 = time.Now()
		var one int
		if err := direct.QueryRow(ctx, "select 1").Scan(&one); err != nil {
			b.Fatal(err)
		}
		viaPgx = append(viaPgx, time.Since(t0))
	}
	b.StopTimer()
	b.ReportMetric(float64(percentile(api, 0.5).Microseconds()), "api-p50-µs")
	b.ReportMetric(float64(percentile(api, 0.99).Microseconds()), "api-p99-µs")
	b.ReportMetric(float64(percentile(viaPgx, 0.5).Microseconds()), "pgx-p50-µs")
	b.ReportMetric(float64(percentile(viaPgx, 0.99).Microseconds()), "pgx-p99-µs")
	fmt.Printf("one-row round trip over %d runs: Data API p50 %s p99 %s; pgx direct p50 %s p99 %s\n",
		b.N, percentile(api, 0.5), percentile(api, 0.99), percentile(viaPgx, 0.5), percentile(viaPgx, 0.99))
}

// heapSampler records the largest heap in use (garbage included, up to
// the GC's goal) and the largest live heap (what the last GC kept: the
// memory the process needs) while it runs.
type heapSampler struct {
	peak atomic.Uint64
	live atomic.Uint64
	stop chan struct{}
	wg   sync.WaitGroup
}

func sampleHeap() *heapSampler {
	h := &heapSampler{stop: make(chan struct{})}
	h.wg.Go(func() {
		var m runtime.MemStats
		sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > h.peak.Load() {
				h.peak.Store(m.HeapInuse)
			}
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > h.live.Load() {
				h.live.Store(v)
			}
			select {
			case <-h.stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	})
	return h
}

// Stop ends the sampling and returns the peaks: in use, and live.
func (h *heapSampler) Stop() (uint64, uint64) {
	close(h.stop)
	h.wg.Wait()
	return h.peak.Load(), h.live.Load()
}

func heapNow() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

func BenchmarkLargeResult(b *testing.B) {
	alice, direct := warmWorld(b)
	// The same 100,000 rows, narrow and about four times as wide: the
	// server's heap growth should not follow the result's size.
	for _, tc := range []struct{ name, sql string }{
		{"narrow", "select id, label, half from big order by id"},
		{"wide", "select id, label, half, repeat(md5(id::text), 8) AS wide from big order by id"},
	} {
		b.Run(tc.name, func(b *testing.B) { largeResult(b, alice, direct, tc.sql) })
	}
}

func largeResult(b *testing.B, alice *redshiftdata.Client, direct *pgx.Conn, sql string) {
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		base := heapNow()
		h := sampleHeap()
		t0 := time.Now()
		id := run(b, alice, sql, time.Millisecond)
		stored := time.Since(t0)
		storePeak, storeLive := h.Stop()

		d, err := alice.DescribeStatement(ctx, &redshiftdata.DescribeStatementInput{Id: &id})
		if err != nil {
			b.Fatal(err)
		}
		h = sampleHeap()
		t0 = time.Now()
		rows, pages := 0, 0
		p := redshiftdata.NewGetStatementResultPaginator(alice, &redshiftdata.GetStatementResultInput{Id: &id})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				b.Fatal(err)
			}
			rows += len(page.Records)
			pages++
		}
		fetched := time.Since(t0)
		fetchPeak, _ := h.Stop()
		if rows != 100000 {
			b.Fatalf("%d rows", rows)
		}

		t0 = time.Now()
		r, err := direct.Query(ctx, sql)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for r.Next() {
			n++
		}
		r.Close()
		viaPgx := time.Since(t0)

		b.ReportMetric(float64(d.ResultSize)/(1<<20), "result-MiB")
		b.ReportMetric(float64(storeLive)/(1<<20), "store-live-heap-peak-MiB")
		b.ReportMetric(float64(storePeak-min(base, storePeak))/(1<<20), "store-heap-growth-MiB")
		b.ReportMetric(float64(fetchPeak-min(base, fetchPeak))/(1<<20), "fetch-heap-growth-MiB")
		fmt.Printf("100,000 rows: stored in %s (%d pages, %.1f MiB of result), fetched in %s; pgx direct %s (%d rows)\n"+
			"  heap in use: %.1f MiB before, peak %.1f MiB while the server stored the result (live heap peak %.1f MiB), peak %.1f MiB while the client paged through it\n",
			stored, pages, float64(d.ResultSize)/(1<<20), fetched, viaPgx, n,
			float64(base)/(1<<20), float64(storePeak)/(1<<20), float64(storeLive)/(1<<20), float64(fetchPeak)/(1<<20))
	}
}
