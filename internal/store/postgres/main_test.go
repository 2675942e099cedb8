package postgres

import (
	"os"
	"testing"

	"github.com/idcgate/idcgate/internal/pgtest"
)

// TestMain: the tests' PostgreSQL servers are copies of one template cluster.
func TestMain(m *testing.M) { os.Exit(pgtest.Run(m, 0)) }
