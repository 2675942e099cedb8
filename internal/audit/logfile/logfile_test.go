package logfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Open cuts a partial last line (a write a crash cut short, which no Write
// acknowledged) and keeps every whole line; Append adds after them.
func TestOpenCutsPartialLastLine(t *testing.T) {
	long := strings.Repeat("x", 5000) // past one 4 KiB read from the end
	for _, tc := range []struct {
		name, before, after string
	}{
		{"empty", "", ""},
		{"whole lines", "{\"a\":1}\n{\"b\":2}\n", "{\"a\":1}\n{\"b\":2}\n"},
		{"partial line", "{\"a\":1}\n{\"eventID\":\"half", "{\"a\":1}\n"},
		{"only a partial line", "{\"half", ""},
		{"long partial line", "{\"a\":1}\n" + long, "{\"a\":1}\n"},
		{"long whole line", long + "\n" + long, long + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "audit", "audit.log")
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(tc.before), 0o600); err != nil {
				t.Fatal(err)
			}
			f, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if f.Size() != int64(len(tc.after)) {
				t.Fatalf("Size = %d, want %d", f.Size(), len(tc.after))
			}
			if err := f.Append([]byte("{\"c\":3}\n")); err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if want := tc.after + "{\"c\":3}\n"; string(raw) != want || f.Size() != int64(len(want)) {
				t.Fatalf("file %q (Size %d), want %q", raw, f.Size(), want)
			}
		})
	}
}

// A new file and its directory are private.
func TestOpenPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit", "audit.log")
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for p, want := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != want {
			t.Fatalf("%s: mode %v (%v), want %v", p, fi.Mode().Perm(), err, want)
		}
	}
	if f.Inode() == 0 {
		t.Error("Inode = 0")
	}
}
