package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/idcgate/idcgate/internal/testserver"
)

// TestTokenInspectAndKeysCLI drives `idcgate token inspect` and
// `idcgate keys` as an administrator would.
func TestTokenInspectAndKeysCLI(t *testing.T) {
	p := testserver.StartProcess(t, testserver.Options{})
	bin, _ := testserver.Binary()
	alice := p.IdentitySession(t, "alice", testserver.AnalystRoleArn)
	out, err := getToken(t, p.Server, alice, "demo")
	if err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) map[string]any {
		t.Helper()
		cmd := exec.Command(bin, append(args, "--endpoint", p.URL)...)
		cmd.Env = append(os.Environ(), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(p.DataDir, "credentials"), "AWS_PROFILE=default",
			"AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_SESSION_TOKEN=")
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, b)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%v: not JSON: %s", args, b)
		}
		return m
	}
	ins := run("token", "inspect", aws.ToString(out.Token))
	claims := ins["claims"].(map[string]any)
	if ins["valid"] != true || claims["userName"] != "alice" || ins["header"].(map[string]any)["a"] != "123456789012" {
		t.Fatalf("inspect %v", ins)
	}
	if k := run("keys", "rotate", "--workgroup", "demo"); k["latestVersion"].(float64) != 2 {
		t.Fatalf("rotate %v", k)
	}
	if k := run("keys", "retire", "--workgroup", "demo", "--min-version", "2"); k["minDecryptVersion"].(float64) != 2 {
		t.Fatalf("retire %v", k)
	}
	if ins := run("token", "inspect", aws.ToString(out.Token)); ins["valid"] != false || ins["problem"] == "" {
		t.Fatalf("inspect after retirement %v", ins)
	}
}
