package app

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idcgate/idcgate/internal/config"
)

// The error of a store that will not open says "store:" once (the backends
// used to prefix it too, giving "store: store: …").
func TestOpenStoreErrorPrefixedOnce(t *testing.T) {
	t.Parallel()
	notADir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notADir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, cfg := range map[string]*config.Config{
		"postgres DSN": {Store: "postgres://%zz"},
		"embedded":     {DataDir: filepath.Join(notADir, "data")},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := openStore(context.Background(), cfg)
			if err == nil {
				t.Fatal("openStore succeeded")
			}
			if n := strings.Count(err.Error(), "store:"); n != 1 {
				t.Errorf("error %q says \"store:\" %d times, want once", err, n)
			}
		})
	}
}
