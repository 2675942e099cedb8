package gateway

import (
	"os"
	"testing"

	"github.com/idcgate/idcgate/internal/pgtest"
)

// TestMain runs eight parallel tests at a time: most wait on PostgreSQL.
func TestMain(m *testing.M) { os.Exit(pgtest.Run(m, 8)) }
