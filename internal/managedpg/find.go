package managedpg

import (
	"fmt"

	"github.com/idcgate/idcgate/internal/pgbin"
)

// ErrNoBinaries: PostgreSQL's server binaries are not installed (its text
// is the one line `serve` logs).
var ErrNoBinaries = pgbin.ErrNoBinaries

// FindBinDir is pgbin.FindBinDir: the newest server binaries matched by the
// glob patterns in search, else those of an initdb on PATH (lookPath).
func FindBinDir(search []string, lookPath func(string) (string, error)) (string, error) {
	return pgbin.FindBinDir(search, lookPath)
}

// Find is pgbin.Find: FindBinDir over the usual places and PATH.
func Find() (string, error) { return pgbin.Find() }

// errorf says which step of running the managed PostgreSQL failed.
func errorf(what string, err error) error { return fmt.Errorf("managed PostgreSQL: %s: %w", what, err) }
