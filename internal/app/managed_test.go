package app

import (
	"errors"
	"testing"

	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/managedpg"
)

// TestManagedWanted: which starts run the managed upstream, and that a
// missing installation is a note (serve runs on), not an error.
func TestManagedWanted(t *testing.T) {
	t.Parallel()
	found := func() (string, error) { return "/usr/lib/postgresql/15/bin", nil }
	missing := func() (string, error) {
		return managedpg.FindBinDir(nil, nil) // an empty search path
	}
	for _, tc := range []struct {
		name, upstream, store string
		find                  func() (string, error)
		want                  string
		note                  bool
	}{
		{"managed", "managed", "", found, "/usr/lib/postgresql/15/bin", false},
		{"managed without binaries", "managed", "", missing, "", true},
		{"unset: managed", "", "", found, "/usr/lib/postgresql/15/bin", false},
		{"unset without binaries", "", "", missing, "", true},
		{"unset with a shared store", "", "postgres://db/idcgate", found, "", false},
		{"managed with a shared store", "managed", "postgres://db/idcgate", found, "/usr/lib/postgresql/15/bin", false},
		{"none", "none", "", found, "", false},
		{"a DSN", "postgres://u@127.0.0.1/dev?sslmode=require", "", found, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, note := managedWanted(&config.Config{PGUpstream: tc.upstream, Store: tc.store}, tc.find)
			if got != tc.want || (note != nil) != tc.note {
				t.Fatalf("got %q, note %v; want %q, note %v", got, note, tc.want, tc.note)
			}
			if tc.note && !errors.Is(note, managedpg.ErrNoBinaries) {
				t.Fatalf("note %v is not ErrNoBinaries", note)
			}
		})
	}
}
