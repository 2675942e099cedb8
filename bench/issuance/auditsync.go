package main

import (
	"fmt"
	"math"
	"net/http"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// auditSyncs is the idcgate child's audit group commits so far, read from
// its /metrics: what every answer waits for (BEHAVIOUR 11.3: the record is durable
// before the response), so a run's tail can be set against its disk's.
type auditSyncs struct {
	le      []float64 // bucket upper bounds of the sync duration, ascending
	cum     []float64 // cumulative counts per bucket
	groups  float64
	records float64
}

// scrapeAuditSyncs reads the audit histograms from the Prometheus text at
// url, with the Prometheus project's own parser.
func scrapeAuditSyncs(c *http.Client, url string) (auditSyncs, error) {
	var a auditSyncs
	resp, err := c.Get(url)
	if err != nil {
		return a, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return a, fmt.Errorf("%s: status %d", url, resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return a, fmt.Errorf("%s: %w", url, err)
	}
	sync, records := histogram(families, "idcgate_audit_sync_duration_seconds"), histogram(families, "idcgate_audit_group_records")
	if sync == nil || records == nil {
		return a, fmt.Errorf("%s has no idcgate_audit_sync_duration_seconds or idcgate_audit_group_records histogram", url)
	}
	for _, b := range sync.GetBucket() {
		a.le, a.cum = append(a.le, b.GetUpperBound()), append(a.cum, float64(b.GetCumulativeCount()))
	}
	a.groups, a.records = float64(sync.GetSampleCount()), records.GetSampleSum()
	return a, nil
}

// histogram is the first series of the histogram family name, or nil.
func histogram(families map[string]*dto.MetricFamily, name string) *dto.Histogram {
	if f := families[name]; f != nil && len(f.GetMetric()) > 0 {
		return f.GetMetric()[0].GetHistogram()
	}
	return nil
}

// since is what happened between before and a.
func (a auditSyncs) since(before auditSyncs) auditSyncs {
	d := auditSyncs{le: a.le, cum: make([]float64, len(a.cum)), groups: a.groups - before.groups, records: a.records - before.records}
	for i := range a.cum {
		d.cum[i] = a.cum[i]
		if i < len(before.cum) {
			d.cum[i] -= before.cum[i]
		}
	}
	return d
}

// atMost is the smallest bucket bound under which at least q of the syncs
// took (+Inf when only the last bucket holds them).
func (a auditSyncs) atMost(q float64) float64 {
	for i, c := range a.cum {
		if c >= q*a.groups {
			return a.le[i]
		}
	}
	return math.Inf(1)
}

func (a auditSyncs) String() string {
	if a.groups == 0 {
		return "no audit group commits"
	}
	largest := 0.0 // the largest finite bound
	for _, le := range a.le {
		if !math.IsInf(le, 1) {
			largest = le
		}
	}
	bound := func(q float64) string {
		b := a.atMost(q)
		if math.IsInf(b, 1) {
			return "> " + time.Duration(largest*float64(time.Second)).String()
		}
		return "<= " + time.Duration(b*float64(time.Second)).String()
	}
	return fmt.Sprintf("audit: %.0f group commits of %.1f records; write+sync p50 %s, p99 %s, p99.9 %s",
		a.groups, a.records/a.groups, bound(0.5), bound(0.99), bound(0.999))
}
