package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/idcgate/idcgate/internal/testserver"
)

// TestLoginCredentialProcess runs `idcgate login` as the Go SDK's
// credential_process, signed as the example IAM user "app".
func TestLoginCredentialProcess(t *testing.T) {
	p := testserver.StartProcess(t, testserver.Options{})
	bin, _ := testserver.Binary()
	dir := t.TempDir()
	credFile := filepath.Join(dir, "credentials")
	os.WriteFile(credFile, []byte(fmt.Sprintf("[app]\naws_access_key_id = %s\naws_secret_access_key = %s\n", testserver.AppKeyID, testserver.AppSecretKey)), 0o600)
	login := fmt.Sprintf("%s login --user alice --output credential-process --config %s --endpoint %s --profile app --admin-credentials-file %s",
		bin, testserver.ExampleConfig(), p.URL, filepath.Join(p.DataDir, "credentials"))
	cfgFile := filepath.Join(dir, "config")
	os.WriteFile(cfgFile, []byte("[profile tip]\nregion = us-east-1\ncredential_process = "+login+"\n"), 0o600)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", credFile)
	t.Setenv("AWS_CONFIG_FILE", cfgFile)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")

	ctx := context.Background()
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithSharedConfigProfile("tip"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.BaseEndpoint = aws.String(p.URL)
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity through credential_process: %v", err)
	}
	if aws.ToString(id.Arn) != "arn:aws:sts::123456789012:assumed-role/analyst/alice" {
		t.Fatalf("caller %s", aws.ToString(id.Arn))
	}
	creds, _ := cfg.Credentials.Retrieve(ctx)
	if !strings.HasPrefix(creds.AccessKeyID, "ASIA") || !creds.CanExpire || time.Until(creds.Expires) < 50*time.Minute {
		t.Fatalf("credentials %s expire %v", creds.AccessKeyID, creds.Expires)
	}

	t.Run("env output", func(t *testing.T) {
		out, err := exec.Command(bin, strings.Fields(strings.Replace(login, "credential-process", "env", 1))[1:]...).Output()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(out, []byte("export AWS_ACCESS_KEY_ID=ASIA")) || !bytes.Contains(out, []byte("export AWS_SESSION_TOKEN=")) {
			t.Fatalf("output %s", out)
		}
	})

	t.Run("root credentials are refused", func(t *testing.T) {
		args := strings.Fields(strings.Replace(login, "--profile app", "--profile default", 1))[1:]
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(p.DataDir, "credentials"))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Fatalf("exit: %v", err)
		}
		if !strings.Contains(stderr.String(), "AccessDenied") || !strings.Contains(stderr.String(), "Roles may not be assumed by root accounts.") {
			t.Fatalf("stderr %s", stderr.String())
		}
	})

	t.Run("idp token", func(t *testing.T) {
		cmd := exec.Command(bin, "idp", "token", "--user", "bob", "--endpoint", p.URL, "--profile", "default")
		cmd.Env = append(os.Environ(), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(p.DataDir, "credentials"))
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		claims := testserver.IDTokenClaims(t, strings.TrimSpace(string(out)))
		if claims["email"] != "bob@example.com" || claims["iss"] != p.URL+"/idp" {
			b, _ := json.Marshal(claims)
			t.Fatalf("claims %s", b)
		}
		// The app user is not an administrator.
		cmd = exec.Command(bin, "idp", "token", "--user", "bob", "--endpoint", p.URL, "--profile", "app")
		if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "AccessDeniedException") {
			t.Fatalf("app user got an IdP token: %s", out)
		}
	})
}
