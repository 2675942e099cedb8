package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/redshiftserverless"

	"github.com/idcgate/idcgate/internal/app"
	"github.com/idcgate/idcgate/internal/masterkey"
	"github.com/idcgate/idcgate/internal/testserver"
)

// TestSIGKILLKeepsResources runs the real binary, creates resources, kills it
// with SIGKILL, starts it again on the same data dir: the resources and the
// administrator keys are still there.
func TestSIGKILLKeepsResources(t *testing.T) {
	t.Parallel()
	dataDir := filepath.Join(t.TempDir(), "data")
	p := testserver.StartProcess(t, testserver.Options{DataDir: dataDir})
	ctx := context.Background()
	c := p.Serverless(p.Admin)
	created, err := c.CreateNamespace(ctx, &redshiftserverless.CreateNamespaceInput{NamespaceName: aws.String("durable")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateWorkgroup(ctx, &redshiftserverless.CreateWorkgroupInput{WorkgroupName: aws.String("durable-wg"), NamespaceName: aws.String("durable"), BaseCapacity: aws.Int32(8)}); err != nil {
		t.Fatal(err)
	}
	admin := p.Admin
	p.Kill()

	for _, f := range []struct {
		name string
		mode os.FileMode
	}{{"credentials", 0o600}, {"master.key", 0o600}, {"idcgate.db", 0o600}, {".", 0o700}} {
		fi, err := os.Stat(filepath.Join(dataDir, f.name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != f.mode {
			t.Fatalf("%s mode %v, want %v", f.name, fi.Mode().Perm(), f.mode)
		}
	}

	p2 := testserver.StartProcess(t, testserver.Options{DataDir: dataDir})
	if p2.Admin != admin {
		t.Fatalf("administrator key changed across restart: %s → %s", admin.AccessKeyID, p2.Admin.AccessKeyID)
	}
	c2 := p2.Serverless(admin)
	got, err := c2.GetNamespace(ctx, &redshiftserverless.GetNamespaceInput{NamespaceName: aws.String("durable")})
	if err != nil {
		t.Fatalf("namespace lost after SIGKILL: %v", err)
	}
	if aws.ToString(got.Namespace.NamespaceArn) != aws.ToString(created.Namespace.NamespaceArn) {
		t.Fatalf("ARN changed: %s → %s", aws.ToString(created.Namespace.NamespaceArn), aws.ToString(got.Namespace.NamespaceArn))
	}
	if _, err := c2.GetWorkgroup(ctx, &redshiftserverless.GetWorkgroupInput{WorkgroupName: aws.String("durable-wg")}); err != nil {
		t.Fatalf("workgroup lost after SIGKILL: %v", err)
	}
}

// opsServeFails runs `idcgate serve` that must refuse to start, and
// returns its output (exit code 1 checked).
func opsServeFails(t *testing.T, dataDir string, env map[string]string) string {
	t.Helper()
	return serveFails(t, env, "--data-dir", dataDir, "--listen", "127.0.0.1:0", "--pg-listen", "127.0.0.1:0")
}

// opsWantMismatch checks the refusal is one clear line.
func opsWantMismatch(t *testing.T, out string) {
	t.Helper()
	var errLines []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.HasPrefix(l, "idcgate ") {
			errLines = append(errLines, l)
		}
	}
	if len(errLines) != 1 || !strings.HasPrefix(errLines[0], "idcgate serve: master key does not match the store's key check value") {
		t.Fatalf("refusal:\n%s", out)
	}
}

// opsSecretForms are the ways a secret could leak into storage: raw bytes,
// every base64 alphabet, hex.
func opsSecretForms(name string, raw []byte) map[string][]byte {
	return map[string][]byte{
		name + " (raw)":        raw,
		name + " (base64)":     []byte(base64.StdEncoding.EncodeToString(raw)),
		name + " (base64 raw)": []byte(base64.RawStdEncoding.EncodeToString(raw)),
		name + " (base64url)":  []byte(base64.RawURLEncoding.EncodeToString(raw)),
		name + " (hex)":        []byte(hex.EncodeToString(raw)),
	}
}

// A restart with another master key is refused at start, with one clear
// line and exit code 1, and changes nothing: the right key starts again.
// Neither the master key nor a derived administrator secret is in the
// store file.
func TestMasterKeyCheckEmbedded(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	p := testserver.StartProcess(t, testserver.Options{DataDir: dir})
	ctx := context.Background()
	alice := p.IdentitySession(t, "alice", testserver.AnalystRoleArn)
	c := p.Serverless(p.Admin)
	if _, err := c.CreateNamespace(ctx, &redshiftserverless.CreateNamespaceInput{NamespaceName: aws.String("keyed")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateWorkgroup(ctx, &redshiftserverless.CreateWorkgroupInput{WorkgroupName: aws.String("keyed-wg"), NamespaceName: aws.String("keyed"), BaseCapacity: aws.Int32(8)}); err != nil {
		t.Fatal(err)
	}
	mustToken(t, p.Server, alice, "demo")
	if r := p.CallAdmin(t, p.Admin, "RotateWorkgroupKey", []byte(`{"workgroupName":"demo"}`)); r.Status != 200 {
		t.Fatalf("rotate: %s", r.Body)
	}
	admin := p.Admin
	p.Cmd.Process.Signal(syscall.SIGTERM)
	if err := p.Wait(); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}

	mkText, err := os.ReadFile(filepath.Join(dir, masterkey.FileName))
	if err != nil {
		t.Fatal(err)
	}
	mkRaw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(mkText)))
	if err != nil || len(mkRaw) != masterkey.Size {
		t.Fatalf("master key file: %v", err)
	}
	db, err := os.ReadFile(filepath.Join(dir, app.StoreFileName))
	if err != nil {
		t.Fatal(err)
	}
	leaks := opsSecretForms("master key", mkRaw)
	leaks["administrator secret key"] = []byte(admin.SecretAccessKey)
	leaks["app secret key"] = []byte(testserver.AppSecretKey)
	for name, s := range leaks {
		if bytes.Contains(db, s) {
			t.Errorf("%s is in the store file", name)
		}
	}

	other, _ := masterkey.Generate(rand.Reader)
	opsWantMismatch(t, opsServeFails(t, dir, map[string]string{masterkey.EnvVar: other}))

	p2 := testserver.StartProcess(t, testserver.Options{DataDir: dir})
	if p2.Admin != admin {
		t.Fatal("administrator key changed")
	}
	if _, err := p2.Serverless(admin).GetWorkgroup(ctx, &redshiftserverless.GetWorkgroupInput{WorkgroupName: aws.String("keyed-wg")}); err != nil {
		t.Fatalf("after the refused start: %v", err)
	}
}
