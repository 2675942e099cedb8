package pgtest

import (
	"flag"
	"strconv"
	"testing"
)

// Run runs a package's tests with n parallel tests at a time unless
// -parallel says otherwise, for TestMain. Tests that drive a real
// PostgreSQL spend most of their time waiting on it (and on fsync and the
// network), so the default of one per CPU leaves a two-core machine idle.
func Run(m *testing.M, n int) int {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		flag.Set("test.parallel", strconv.Itoa(n))
	}
	return m.Run()
}
