package e2e

import (
	"os"
	"testing"

	"github.com/idcgate/idcgate/internal/pgtest"
)

// TestMain runs eight parallel tests at a time: they wait on fsync of the
// audit record, PostgreSQL and the network far more than they compute.
func TestMain(m *testing.M) { os.Exit(pgtest.Run(m, 8)) }
