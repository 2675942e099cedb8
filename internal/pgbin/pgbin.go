// Package pgbin finds PostgreSQL's server binaries (initdb, pg_ctl, postgres)
// and runs them: for the managed upstream and for the tests that start their
// own server.
package pgbin

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
)

// DefaultSearch is where FindBinDir looks first: Debian's and Ubuntu's
// versioned directories (initdb is not on PATH there), then the source
// build's default prefix.
var DefaultSearch = []string{"/usr/lib/postgresql/*/bin", "/usr/local/pgsql/bin"}

// ErrNoBinaries: PostgreSQL's server binaries are not installed. Its text
// is the one line `serve` logs, so it says how to get them.
var ErrNoBinaries = errors.New("PostgreSQL's server binaries (initdb, pg_ctl, postgres) are not installed: install them (Debian/Ubuntu: apt-get install postgresql) for the managed upstream, or set pgUpstream to your own server's DSN")

// FindBinDir returns the directory of the newest server binaries matched
// by the glob patterns in search (newest version first), else that of an
// initdb on PATH (lookPath; nil: none), resolved through symlinks, whose
// directory also holds pg_ctl and postgres. Wrapper scripts (Debian's
// /usr/bin/pg_ctl is one) are not taken: they pick a cluster themselves.
func FindBinDir(search []string, lookPath func(string) (string, error)) (string, error) {
	var dirs []string
	for _, pattern := range search {
		matches, _ := filepath.Glob(pattern)
		sort.Slice(matches, func(i, j int) bool { return newer(matches[i], matches[j]) })
		dirs = append(dirs, matches...)
	}
	for _, d := range dirs {
		if hasServerTools(d) {
			return d, nil
		}
	}
	if lookPath != nil {
		if p, err := lookPath("initdb"); err == nil {
			if real, err := filepath.EvalSymlinks(p); err == nil && !isScript(real) && hasServerTools(filepath.Dir(real)) {
				return filepath.Dir(real), nil
			}
		}
	}
	return "", ErrNoBinaries
}

// Find is FindBinDir over DefaultSearch and PATH.
func Find() (string, error) { return FindBinDir(DefaultSearch, exec.LookPath) }

// Command is name run as the OS user runAs (by runuser; "": as this
// process), from "/" (that user may not be able to read the caller's
// working directory), in the C locale.
func Command(runAs, name string, args ...string) *exec.Cmd {
	var cmd *exec.Cmd
	if runAs != "" {
		cmd = exec.Command("runuser", append([]string{"-u", runAs, "--", name}, args...)...)
	} else {
		cmd = exec.Command(name, args...)
	}
	cmd.Dir = "/"
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	return cmd
}

// FreePort is a loopback TCP port that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// newer orders ".../<version>/bin" directories by version, highest first.
func newer(a, b string) bool {
	va, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(a)), 64)
	vb, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(b)), 64)
	if va != vb {
		return va > vb
	}
	return a > b
}

func hasServerTools(dir string) bool {
	for _, tool := range []string{"initdb", "pg_ctl", "postgres"} {
		fi, err := os.Stat(filepath.Join(dir, tool))
		if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

func isScript(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return true
	}
	defer f.Close()
	head := make([]byte, 2)
	n, _ := f.Read(head)
	return n == 2 && string(head) == "#!"
}
