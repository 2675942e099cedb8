package pgtest

import (
	"flag"
	"strconv"
	"testing"
)

// Run runs a package's tests, for TestMain: its servers are copies of one
// template cluster (scratch.go), removed at the end, and what killed runs
// left behind is removed first. With n > 0, n tests run in parallel
// unless -parallel says otherwise: tests that drive a real PostgreSQL
// spend most of their time waiting on it (and on the network), so the
// default of one per CPU leaves a two-core machine idle.
func Run(m *testing.M, n int) int {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set && n > 0 {
		flag.Set("test.parallel", strconv.Itoa(n))
	}
	sweep()
	template.enabled = true
	defer removeTemplate()
	return m.Run()
}
