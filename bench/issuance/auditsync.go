package main

import (
	"bufio"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// auditSyncs is the idcgate child's audit group commits so far, read from
// its /metrics: what every answer waits for (SPEC 8: the record is durable
// before the response), so a run's tail can be set against its disk's.
type auditSyncs struct {
	le      []float64 // bucket upper bounds of the sync duration, ascending
	cum     []float64 // cumulative counts per bucket
	groups  float64
	records float64
}

// scrapeAuditSyncs reads the audit histograms from a Prometheus text body
// at url.
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
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			continue
		}
		switch {
		case strings.HasPrefix(name, `idcgate_audit_sync_duration_seconds_bucket{le="`):
			bound := strings.TrimSuffix(strings.TrimPrefix(name, `idcgate_audit_sync_duration_seconds_bucket{le="`), `"}`)
			le, err := strconv.ParseFloat(bound, 64) // "+Inf" parses as +Inf
			if err != nil {
				return a, fmt.Errorf("bucket %q: %v", name, err)
			}
			a.le, a.cum = append(a.le, le), append(a.cum, v)
		case name == "idcgate_audit_sync_duration_seconds_count":
			a.groups = v
		case name == "idcgate_audit_group_records_sum":
			a.records = v
		}
	}
	if err := sc.Err(); err != nil {
		return a, err
	}
	if len(a.le) == 0 {
		return a, fmt.Errorf("%s has no idcgate_audit_sync_duration_seconds", url)
	}
	return a, nil
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
	bound := func(q float64) string {
		b := a.atMost(q)
		if math.IsInf(b, 1) {
			return "> " + time.Duration(a.le[len(a.le)-2]*float64(time.Second)).String()
		}
		return "<= " + time.Duration(b*float64(time.Second)).String()
	}
	return fmt.Sprintf("audit: %.0f group commits of %.1f records; write+sync p50 %s, p99 %s, p99.9 %s",
		a.groups, a.records/a.groups, bound(0.5), bound(0.99), bound(0.999))
}
