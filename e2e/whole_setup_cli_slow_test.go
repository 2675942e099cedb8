//go:build slow

package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/idcgate/idcgate/internal/pgtest"
)

// TestWholeSetupWithTheCLI runs testdata/whole_setup.sh: the setup
// TestWholeSetupByAPI makes with the Go SDK, made with the AWS CLI, ending
// with psql as alice through the gateway.
func TestWholeSetupWithTheCLI(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"aws", "psql", "python3", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			pgtest.Missing(t, fmt.Errorf("%s not on PATH: %w", tool, err))
		}
	}
	bin := idcgateBinary(t)
	srv := configLessWorld(t)
	host, port, _ := net.SplitHostPort(srv.PGAddr())
	home := t.TempDir() // no profile, cache or config of the machine's user
	cmd := exec.Command("bash", filepath.Join("testdata", "whole_setup.sh"))
	// The machine's AWS settings left out: no profile, region or keys of
	// its own reach the script.
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "AWS_") || strings.HasPrefix(kv, "HOME=") })
	cmd.Env = append(env,
		"HOME="+home, "AWS_CONFIG_FILE="+filepath.Join(home, "config"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_ACCESS_KEY_ID="+srv.Admin.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+srv.Admin.SecretAccessKey,
		"IDCGATE_URL="+srv.URL, "IDCGATE_BIN="+bin, "PGHOST="+host, "PGPORT="+port, "PGSSLMODE=require")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("whole_setup.sh: %v\n%s", err, out)
	}
	if last := lastLine(string(out)); last != "AWSIDC:alice|350" {
		t.Fatalf("psql as alice printed %q, want AWSIDC:alice|350\n%s", last, out)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
