package e2e

import (
	"flag"
	"os"
	"testing"
)

// TestMain runs the parallel tests eight at a time unless -parallel says
// otherwise: they spend most of their time waiting (fsync of the audit
// record, PostgreSQL, the network), so the default of one per CPU leaves a
// two-core machine idle.
func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		flag.Set("test.parallel", "8")
	}
	os.Exit(m.Run())
}
