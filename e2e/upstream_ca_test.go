package e2e

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idcgate/idcgate/internal/app"
	"github.com/idcgate/idcgate/internal/masterkey"
	"github.com/idcgate/idcgate/internal/pgtest"
	"github.com/idcgate/idcgate/internal/testserver"
)

// TestGatewayUpstreamCA: the CA the gateway logs users in upstream with is
// written (certificate only) into the data dir, is what `idcgate upstream
// ca` prints, and outlives a restart; an upstream DSN without TLS stops
// the start with a reason.
func TestGatewayUpstreamCA(t *testing.T) {
	t.Parallel()
	pg := pgtest.Start(t)
	dir := filepath.Join(t.TempDir(), "data")
	env := map[string]string{"IDCGATE_PG_UPSTREAM": pg.TLSDSN("dev"), masterkey.EnvVar: fixedMasterKey}
	p := testserver.StartProcess(t, testserver.Options{DataDir: dir, Env: env})
	path := filepath.Join(dir, app.UpstreamCAFile)
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("%s: %v %v", path, fi.Mode(), err)
	}
	block, rest := pem.Decode(file)
	if block == nil || block.Type != "CERTIFICATE" || len(strings.TrimSpace(string(rest))) != 0 {
		t.Fatalf("%s holds more or other than one certificate:\n%s", path, file)
	}
	if ca, err := x509.ParseCertificate(block.Bytes); err != nil || !ca.IsCA {
		t.Fatalf("not a CA certificate: %v", err)
	}

	bin := idcgateBinary(t)
	cli := func(args ...string) (string, string, int) {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "credentials"), "AWS_PROFILE=default",
			"AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_SESSION_TOKEN=")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, _ := cmd.Output()
		return string(out), stderr.String(), cmd.ProcessState.ExitCode()
	}
	if out, errText, code := cli("upstream", "ca", "--endpoint", p.URL); code != 0 || out != string(file) {
		t.Fatalf("idcgate upstream ca: exit %d, %q, stderr %s; want the file's certificate", code, out, errText)
	}
	p.Stop()
	testserver.StartProcess(t, testserver.Options{DataDir: dir, Env: env}).Stop()
	if again, err := os.ReadFile(path); err != nil || string(again) != string(file) {
		t.Fatalf("the CA changed across a restart (%v)", err)
	}

	for _, dsn := range []string{"postgres://idcgate@127.0.0.1:5432/dev?sslmode=disable", "host=/var/run/postgresql dbname=dev"} {
		_, errText, code := cli("serve", "--config", testserver.ExampleConfig(), "--data-dir", filepath.Join(t.TempDir(), "data"),
			"--listen", "127.0.0.1:0", "--pg-listen", "127.0.0.1:0", "--pg-upstream", dsn)
		if code != 1 || !strings.Contains(errText, "disables TLS") || !strings.Contains(errText, "client certificate") {
			t.Fatalf("serve with upstream %q: exit %d, stderr:\n%s", dsn, code, errText)
		}
	}
}
