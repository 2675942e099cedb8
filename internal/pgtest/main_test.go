package pgtest

import (
	"os"
	"testing"
)

// TestMain: the tests' servers are copies of one template cluster, as in
// every package that runs under Run.
func TestMain(m *testing.M) { os.Exit(Run(m, 0)) }
