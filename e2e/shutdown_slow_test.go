//go:build slow

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/redshiftserverless"
	"github.com/aws/smithy-go/middleware"
	"github.com/jackc/pgx/v5"
	bbolt "go.etcd.io/bbolt"

	"github.com/idcgate/idcgate/internal/app"
	"github.com/idcgate/idcgate/internal/audit"
	"github.com/idcgate/idcgate/internal/audit/query"
	"github.com/idcgate/idcgate/internal/masterkey"
	"github.com/idcgate/idcgate/internal/pgtest"
	"github.com/idcgate/idcgate/internal/testserver"
)

// TestSIGTERMDrains: on SIGTERM new connections are refused at once, an
// in-flight request completes, an open gateway session may finish its work
// (within the bounded wait), the audit log drains, the store closes
// cleanly, and the process exits 0; on each store.
func TestSIGTERMDrains(t *testing.T) {
	t.Parallel()
	pg := pgtest.Start(t)
	pg.CreateDatabase(t, "dev")
	pg.Exec(t, "dev", `CREATE ROLE "AWSIDC:analysts" NOLOGIN`)
	t.Run("embedded store", func(t *testing.T) { sigtermDrains(t, pg, nil) })
	t.Run("postgres store", func(t *testing.T) {
		pg.CreateDatabase(t, "idcgate")
		sigtermDrains(t, pg, map[string]string{"IDCGATE_STORE": pg.DSN("idcgate"), masterkey.EnvVar: fixedMasterKey})
	})
}

var opsPGAddrRe = regexp.MustCompile(`pg_addr=(127\.0\.0\.1:[0-9]+)`)

func sigtermDrains(t *testing.T, pg *pgtest.Server, env map[string]string) {
	ctx := context.Background()
	e := map[string]string{"IDCGATE_PG_UPSTREAM": pg.TLSDSN("dev")}
	for k, v := range env {
		e[k] = v
	}
	dir := filepath.Join(t.TempDir(), "data")
	p := testserver.StartProcess(t, testserver.Options{DataDir: dir, Env: e})
	p.TrustUpstreamCA(t, pg)
	exited := make(chan error, 1)
	m := opsPGAddrRe.FindStringSubmatch(p.Logs())
	if m == nil {
		t.Fatalf("no gateway address in the log:\n%s", p.Logs())
	}
	pgHost, pgPort, _ := net.SplitHostPort(m[1])
	apiAddr := strings.TrimPrefix(p.URL, "http://")

	// A gateway session, open across the signal.
	alice := p.IdentitySession(t, "alice", testserver.AnalystRoleArn)
	out := mustToken(t, p.Server, alice, "demo")
	sess, err := pgx.Connect(ctx, fmt.Sprintf("host=%s port=%s user=alice dbname=dev sslmode=require password=%s", pgHost, pgPort, aws.ToString(out.Token)))
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close(ctx)

	// An HTTP request in flight: the handler is running (it asked for the
	// body: 100 Continue), the body is not sent yet.
	body := []byte(`{"workgroupName":"demo"}`)
	req := p.ServerlessRequest(t, "GetWorkgroup", body)
	testserver.Sign(t, req, body, p.Admin, "redshift-serverless", testserver.Region, time.Now())
	req.Header.Set("Expect", "100-continue")
	var wire bytes.Buffer
	if err := req.Write(&wire); err != nil {
		t.Fatal(err)
	}
	head, rest, ok := bytes.Cut(wire.Bytes(), []byte("\r\n\r\n"))
	if !ok || !bytes.Equal(rest, body) {
		t.Fatalf("request bytes %q", wire.Bytes())
	}
	inflight, err := net.Dial("tcp", apiAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer inflight.Close()
	inflight.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := inflight.Write(append(head, "\r\n\r\n"...)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(inflight)
	if cont, err := http.ReadResponse(br, req); err != nil || cont.StatusCode != http.StatusContinue {
		t.Fatalf("want 100 Continue from the running handler: %v %v", cont, err)
	}

	storeConns := func() int {
		t.Helper()
		conn, err := pgx.Connect(ctx, pg.DSN("postgres"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = 'idcgate'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if env != nil && storeConns() == 0 {
		t.Fatal("idcgate holds no store connection before SIGTERM: not on the PostgreSQL store")
	}

	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	go func() { exited <- p.Wait() }()
	eventually(t, 5*time.Second, "new connections refused", func() (bool, error) {
		api, errAPI := net.DialTimeout("tcp", apiAddr, time.Second)
		gw, errGW := net.DialTimeout("tcp", m[1], time.Second)
		for _, c := range []net.Conn{api, gw} {
			if c != nil {
				c.Close()
			}
		}
		return errAPI != nil && errGW != nil, nil
	})

	// The in-flight request completes.
	if _, err := inflight.Write(body); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		t.Fatal(err)
	}
	respBody, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(respBody), `"workgroupName":"demo"`) {
		t.Fatalf("in-flight request: %d %s", resp.StatusCode, respBody)
	}
	inflightID := resp.Header.Get("X-Amzn-Requestid")

	// The gateway session still works, and the process waits for it.
	var who string
	if err := sess.QueryRow(ctx, "SELECT current_user").Scan(&who); err != nil || who != "AWSIDC:alice" {
		t.Fatalf("gateway session after SIGTERM: %q %v", who, err)
	}
	select {
	case err := <-exited:
		t.Fatalf("exited (%v) while a gateway session was open", err)
	default:
	}
	sess.Close(ctx)
	closed := time.Now()
	if err := receiveWithin(t, exited, 20*time.Second, "no exit after the last session ended"); err != nil {
		t.Fatalf("exit: %v", err)
	}
	if d := time.Since(closed); d > 5*time.Second {
		t.Fatalf("exit %v after the last session ended: it waited out the grace instead", d)
	}
	if p.Cmd.ProcessState.ExitCode() != 0 {
		t.Fatalf("exit code %d", p.Cmd.ProcessState.ExitCode())
	}
	if !strings.Contains(p.Logs(), `msg=stopped`) {
		t.Fatalf("no clean stop in the log:\n%s", p.Logs())
	}

	// The in-flight request's record was drained to the file.
	recs := auditRecords(t, dir)
	found := false
	for _, r := range recs {
		found = found || r.RequestID == inflightID
	}
	if !found {
		t.Fatal("the in-flight request's audit record is not in the file")
	}
	if env == nil {
		// bbolt: the lock is free and the file is consistent as left.
		db, err := bbolt.Open(filepath.Join(dir, app.StoreFileName), 0o600, &bbolt.Options{Timeout: time.Second, ReadOnly: true})
		if err != nil {
			t.Fatalf("store file after SIGTERM: %v", err)
		}
		defer db.Close()
		err = db.View(func(tx *bbolt.Tx) error {
			var errs []error
			for err := range tx.Check() {
				errs = append(errs, err)
			}
			if len(errs) > 0 {
				return errors.Join(errs...)
			}
			if tx.Bucket([]byte("kv")) == nil {
				return errors.New("no kv bucket")
			}
			return nil
		})
		if err != nil {
			t.Fatalf("store file check: %v", err)
		}
		return
	}
	// PostgreSQL: the pool is closed, no connection of idcgate's is left.
	eventually(t, 5*time.Second, "idcgate's store connections gone", func() (bool, error) {
		return storeConns() == 0, nil
	})
}

// TestSIGKILLUnderLoad: under concurrent creates of namespaces and
// workgroups and token issues, every call that got a 200 before a SIGKILL
// is present after restart, and has exactly its one audit record, in the
// file and in the store; on each store.
func TestSIGKILLUnderLoad(t *testing.T) {
	t.Parallel()
	t.Run("embedded store", func(t *testing.T) { sigkillUnderLoad(t, nil) })
	t.Run("postgres store", func(t *testing.T) {
		pg := pgtest.Start(t)
		pg.CreateDatabase(t, "idcgate")
		sigkillUnderLoad(t, map[string]string{"IDCGATE_STORE": pg.DSN("idcgate"), masterkey.EnvVar: fixedMasterKey})
	})
}

// opsAcked is a call that was answered 200.
type opsAcked struct{ op, name, reqID string }

func sigkillUnderLoad(t *testing.T, env map[string]string) {
	dir := t.TempDir() + "/data"
	p := testserver.StartProcess(t, testserver.Options{DataDir: dir, Env: env})
	alice := p.IdentitySession(t, "alice", testserver.AnalystRoleArn)
	c := p.Serverless(p.Admin)
	tc := p.Serverless(alice)
	var mu sync.Mutex
	var acked []opsAcked
	workgroups := 0
	ack := func(op, name string, md middleware.Metadata) {
		id, _ := opsRequestID(md)
		mu.Lock()
		defer mu.Unlock()
		acked = append(acked, opsAcked{op, name, id})
		if op == "CreateWorkgroup" {
			workgroups++
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil && i < 100; i++ {
				name := fmt.Sprintf("load-%d-%03d", w, i)
				if out, err := c.CreateNamespace(ctx, &redshiftserverless.CreateNamespaceInput{NamespaceName: aws.String(name)}); err == nil {
					ack("CreateNamespace", name, out.ResultMetadata)
				} else {
					continue
				}
				if out, err := c.CreateWorkgroup(ctx, &redshiftserverless.CreateWorkgroupInput{WorkgroupName: aws.String(name + "-wg"),
					NamespaceName: aws.String(name), BaseCapacity: aws.Int32(8)}); err == nil {
					ack("CreateWorkgroup", name+"-wg", out.ResultMetadata)
				}
				if out, err := tc.GetIdentityCenterAuthToken(ctx, &redshiftserverless.GetIdentityCenterAuthTokenInput{WorkgroupNames: []string{"demo"}}); err == nil {
					ack("GetIdentityCenterAuthToken", "demo", out.ResultMetadata)
				}
			}
		}()
	}
	eventually(t, 30*time.Second, "some load", func() (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		return workgroups >= 10, nil
	})
	p.Kill()
	cancel()
	wg.Wait()

	p2 := testserver.StartProcess(t, testserver.Options{DataDir: dir, Env: env})
	c2 := p2.Serverless(p2.Admin)
	counts := map[string]int{}
	for _, a := range acked {
		counts[a.op]++
		var err error
		switch a.op {
		case "CreateNamespace":
			_, err = c2.GetNamespace(context.Background(), &redshiftserverless.GetNamespaceInput{NamespaceName: aws.String(a.name)})
		case "CreateWorkgroup":
			_, err = c2.GetWorkgroup(context.Background(), &redshiftserverless.GetWorkgroupInput{WorkgroupName: aws.String(a.name)})
		}
		if err != nil {
			t.Fatalf("%s %s acknowledged before SIGKILL is gone: %v", a.op, a.name, err)
		}
	}
	recs := auditRecords(t, dir)
	inFile := map[string][]audit.Record{}
	for _, r := range recs {
		inFile[r.RequestID] = append(inFile[r.RequestID], r)
	}
	inStore := map[string][]audit.Record{}
	for _, r := range opsLookupAll(t, p2.Server) {
		inStore[r.RequestID] = append(inStore[r.RequestID], r)
	}
	for _, a := range acked {
		for where, m := range map[string]map[string][]audit.Record{"file": inFile, "store": inStore} {
			got := m[a.reqID]
			if len(got) != 1 {
				t.Fatalf("%s %s (%s) answered 200: %d records in the %s", a.op, a.name, a.reqID, len(got), where)
			}
			if r := got[0]; r.EventName != a.op || r.ErrorCode != "" {
				t.Fatalf("%s %s: %s record %s %q", a.op, a.name, where, r.EventName, r.ErrorCode)
			}
		}
	}
	if counts["CreateWorkgroup"] < 10 || counts["GetIdentityCenterAuthToken"] == 0 {
		t.Fatalf("load too light to mean anything: %v", counts)
	}
	t.Logf("acknowledged before SIGKILL, all present and audited once: %v", counts)
}

// opsLookupAll reads the whole audit trail through LookupEvents.
func opsLookupAll(t *testing.T, srv *testserver.Server) []audit.Record {
	t.Helper()
	var out []audit.Record
	after := ""
	for {
		body, _ := json.Marshal(map[string]any{"after": after, "maxResults": query.MaxLookup})
		r := srv.CallAdmin(t, srv.Admin, "LookupEvents", body)
		if r.Status != 200 {
			t.Fatalf("LookupEvents: %d %s", r.Status, r.Body)
		}
		var page struct {
			Events []audit.Record `json:"events"`
			Cursor string         `json:"cursor"`
		}
		if err := json.Unmarshal(r.Body, &page); err != nil {
			t.Fatal(err)
		}
		out = append(out, page.Events...)
		if len(page.Events) < query.MaxLookup {
			return out
		}
		after = page.Cursor
	}
}
