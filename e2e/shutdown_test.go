package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/redshiftserverless"

	"github.com/idcgate/idcgate/internal/audit"
	"github.com/idcgate/idcgate/internal/masterkey"
	"github.com/idcgate/idcgate/internal/pgtest"
	"github.com/idcgate/idcgate/internal/testserver"
)

// TestSIGTERMDrains: an in-flight request completes, new ones are refused,
// and the process exits 0.
func TestSIGTERMDrains(t *testing.T) {
	p := testserver.StartProcess(t, testserver.Options{})
	rules, _ := json.Marshal(map[string]any{"rules": []map[string]any{{"operation": "GetWorkgroup", "latency": int64(2 * time.Second), "rate": 1}}})
	if r := p.CallAdmin(t, p.Admin, "SetFaults", rules); r.Status != 200 {
		t.Fatalf("SetFaults %s", r.Body)
	}
	c := p.Serverless(p.Admin)
	done := make(chan error, 1)
	go func() {
		_, err := c.GetWorkgroup(context.Background(), &redshiftserverless.GetWorkgroupInput{WorkgroupName: aws.String("demo")})
		done <- err
	}()
	time.Sleep(500 * time.Millisecond) // the request is now inside the injected latency
	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "listener closed", func() (bool, error) {
		_, err := c.ListWorkgroups(context.Background(), &redshiftserverless.ListWorkgroupsInput{})
		return err != nil, nil
	})
	if err := <-done; err != nil {
		t.Fatalf("in-flight request: %v", err)
	}
	err := p.Cmd.Wait()
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 0) {
		t.Fatalf("exit: %v", err)
	}
	if p.Cmd.ProcessState.ExitCode() != 0 {
		t.Fatalf("exit code %d", p.Cmd.ProcessState.ExitCode())
	}
}

// TestSIGKILLUnderLoad: every create and token issue that got a 200 before
// a SIGKILL is present, and audited, after restart.
func TestSIGKILLUnderLoad(t *testing.T) {
	t.Run("embedded store", func(t *testing.T) { sigkillUnderLoad(t, nil) })
	t.Run("postgres store", func(t *testing.T) {
		pg := pgtest.Start(t)
		pg.CreateDatabase(t, "idcgate")
		sigkillUnderLoad(t, map[string]string{"IDCGATE_STORE": pg.DSN("idcgate"), masterkey.EnvVar: fixedMasterKey})
	})
}

func sigkillUnderLoad(t *testing.T, env map[string]string) {
	dir := t.TempDir() + "/data"
	p := testserver.StartProcess(t, testserver.Options{DataDir: dir, Env: env})
	alice := p.IdentitySession(t, "alice", testserver.AnalystRoleArn)
	c := p.Serverless(p.Admin)
	var mu sync.Mutex
	var created []string
	var tokens int
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil && i < 200; i++ {
				name := fmt.Sprintf("load-%d-%03d", w, i)
				if _, err := c.CreateNamespace(ctx, &redshiftserverless.CreateNamespaceInput{NamespaceName: aws.String(name)}); err == nil {
					mu.Lock()
					created = append(created, name)
					mu.Unlock()
				}
				if _, err := getToken(t, p.Server, alice, "demo"); err == nil {
					mu.Lock()
					tokens++
					mu.Unlock()
				}
			}
		}()
	}
	eventually(t, 20*time.Second, "some load", func() (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		return len(created) >= 10, nil
	})
	p.Kill()
	cancel()
	wg.Wait()

	p2 := testserver.StartProcess(t, testserver.Options{DataDir: dir, Env: env})
	c2 := p2.Serverless(p2.Admin)
	for _, name := range created {
		if _, err := c2.GetNamespace(context.Background(), &redshiftserverless.GetNamespaceInput{NamespaceName: aws.String(name)}); err != nil {
			t.Fatalf("namespace %s acknowledged before SIGKILL is gone: %v", name, err)
		}
	}
	recs, err := audit.ReadFile(dir + "/audit.log")
	if err != nil {
		t.Fatal(err)
	}
	audited := map[string]bool{}
	issued := 0
	for _, r := range recs {
		if r.EventName == "CreateNamespace" && r.ErrorCode == "" {
			audited[r.RequestParameters["namespaceName"].(string)] = true
		}
		if r.EventName == "GetIdentityCenterAuthToken" && r.ErrorCode == "" {
			issued++
		}
	}
	for _, name := range created {
		if !audited[name] {
			t.Fatalf("create of %s answered 200 but not audited", name)
		}
	}
	if issued < tokens {
		t.Fatalf("%d tokens answered, %d audited", tokens, issued)
	}
	t.Logf("%d creates and %d tokens before SIGKILL, all durable", len(created), tokens)
}
