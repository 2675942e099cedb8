package dataapi

import (
	"os"
	"testing"

	"github.com/idcgate/idcgate/internal/pgtest"
)

// TestMain: the benchmarks' PostgreSQL servers are copies of one template
// cluster, and what an interrupted run left behind is removed.
func TestMain(m *testing.M) { os.Exit(pgtest.Run(m, 0)) }
