package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/idcgate/idcgate/internal/masterkey"
	"github.com/idcgate/idcgate/internal/testserver"
)

// TestTokenInspectAndKeysCLI drives `idcgate token inspect` and
// `idcgate keys` as an administrator would.
func TestTokenInspectAndKeysCLI(t *testing.T) {
	t.Parallel()
	p := testserver.StartProcess(t, testserver.Options{Env: map[string]string{masterkey.EnvVar: fixedMasterKey}})
	alice := p.IdentitySession(t, "alice", testserver.AnalystRoleArn)
	out := mustToken(t, p.Server, alice, "demo")
	// runExit runs the CLI, expects exit code want, and returns its JSON
	// (standard output) and standard error.
	runExit := func(want int, args ...string) (map[string]any, string) {
		t.Helper()
		cmd := adminCmd(t, p, args...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		b, _ := cmd.Output()
		if got := cmd.ProcessState.ExitCode(); got != want {
			t.Fatalf("%v: exit code %d, want %d\n%s%s", args, got, want, b, stderr.String())
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%v: not JSON: %s", args, b)
		}
		return m, stderr.String()
	}
	run := func(args ...string) map[string]any {
		t.Helper()
		m, _ := runExit(0, args...)
		return m
	}
	ins := run("token", "inspect", aws.ToString(out.Token))
	claims := ins["claims"].(map[string]any)
	header := ins["header"].(map[string]any)
	if ins["valid"] != true {
		t.Fatalf("inspect %v", ins)
	}
	// Every claim of BEHAVIOUR 4.3, as the CLI prints it.
	demoArn := workgroupARN(t, p.Server, "demo")
	exp, err := time.Parse(time.RFC3339, claims["expires"].(string))
	if err != nil || !exp.Equal(aws.ToTime(out.ExpirationTime)) {
		t.Fatalf("expires %v (%v), expirationTime %v", claims["expires"], err, out.ExpirationTime)
	}
	iat, err := time.Parse(time.RFC3339, claims["issuedAt"].(string))
	if err != nil || time.Since(iat) > time.Minute || time.Since(iat) < -time.Second || float64(iat.Unix()) != header["iat"] || float64(exp.Unix()) != header["exp"] {
		t.Fatalf("issuedAt %v (%v), header %v", claims["issuedAt"], err, header)
	}
	keys := header["k"].([]any)
	checks := map[string]bool{
		"format version":           fmt.Sprint(header["v"]) == "2",
		"header account":           header["a"] == "123456789012",
		"header region":            header["r"] == "us-east-1",
		"header key":               len(keys) == 1 && strings.HasSuffix(demoArn, "/"+keys[0].(map[string]any)["w"].(string)) && keys[0].(map[string]any)["kv"] == float64(1),
		"account":                  claims["account"] == "123456789012",
		"region":                   claims["region"] == "us-east-1",
		"workgroups":               fmt.Sprint(claims["workgroups"]) == fmt.Sprint([]any{map[string]any{"arn": demoArn, "name": "demo", "identityNamespace": "AWSIDC"}}),
		"Identity Center instance": claims["instanceArn"] == "arn:aws:sso:::instance/ssoins-7223a1b2c3d4e5f6",
		"identity store":           claims["identityStoreArn"] == "arn:aws:identitystore::123456789012:identitystore/d-9067a1b2c3",
		"user id":                  claims["userId"] == userID(t, "alice"),
		"user name":                claims["userName"] == "alice",
		"groups":                   fmt.Sprint(claims["groups"]) == "[analysts]",
		"application":              claims["applicationArn"] == testserver.ApplicationArn,
		"role session":             claims["roleSessionArn"] == "arn:aws:sts::123456789012:assumed-role/analyst/alice",
		"token id":                 claims["tokenId"] != "" && claims["tokenId"] == header["id"],
	}
	for what, ok := range checks {
		if !ok {
			t.Errorf("%s: not as issued in %v", what, ins)
		}
	}
	again := mustToken(t, p.Server, alice, "demo")
	if id := run("token", "inspect", aws.ToString(again.Token))["claims"].(map[string]any)["tokenId"]; id == claims["tokenId"] {
		t.Fatalf("two tokens share the token id %v", id)
	}
	if k := run("keys", "rotate", "--workgroup", "demo"); k["latestVersion"].(float64) != 2 {
		t.Fatalf("rotate %v", k)
	}
	if k := run("keys", "retire", "--workgroup", "demo", "--min-version", "2"); k["minDecryptVersion"].(float64) != 2 {
		t.Fatalf("retire %v", k)
	}
	// A token that does not open still prints its JSON, and exits 1 with
	// the problem on standard error.
	ins, stderr := runExit(1, "token", "inspect", aws.ToString(out.Token))
	if ins["valid"] != false || ins["problem"] == "" {
		t.Fatalf("inspect after retirement %v", ins)
	}
	if !strings.HasPrefix(stderr, "idcgate token: the token does not open: ") || !strings.Contains(stderr, ins["problem"].(string)) {
		t.Fatalf("inspect after retirement: stderr %q", stderr)
	}
}
