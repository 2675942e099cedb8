//go:build slow

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/redshiftserverless"
	"github.com/aws/aws-sdk-go-v2/service/redshiftserverless/types"
	"github.com/jackc/pgx/v5"

	"github.com/idcgate/idcgate/internal/authtoken"
	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/faults"
	"github.com/idcgate/idcgate/internal/masterkey"
	"github.com/idcgate/idcgate/internal/pgtest"
	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/testserver"
)

// TestTwoReplicasOnePostgresStore runs two idcgate replicas on one
// PostgreSQL store with a shared master key.
func TestTwoReplicasOnePostgresStore(t *testing.T) {
	t.Parallel()
	pg := pgtest.Start(t)
	pg.CreateDatabase(t, "idcgate")
	pg.CreateDatabase(t, "dev")
	pg.Exec(t, "dev", `CREATE ROLE "AWSIDC:analysts" NOLOGIN`)
	edit := func(c *config.Config) {
		c.Store = pg.DSN("idcgate")
		c.PGUpstream = pg.TLSDSN("dev")
		c.Serverless.TransitionDelay = &config.Duration{Duration: 500 * time.Millisecond}
	}
	env := map[string]string{masterkey.EnvVar: fixedMasterKey}
	a := testserver.Start(t, testserver.Options{Env: env, Edit: edit})
	b := testserver.Start(t, testserver.Options{Env: env, Edit: edit})
	a.TrustUpstreamCA(t, pg) // b's is the same: one CA in the shared store
	ctx := context.Background()
	if a.Admin != b.Admin {
		t.Fatal("replicas disagree on the administrator key")
	}

	// A workgroup created on one is visible, and transitions, on the other.
	ca, cb := a.Serverless(a.Admin), b.Serverless(b.Admin)
	if _, err := ca.CreateNamespace(ctx, &redshiftserverless.CreateNamespaceInput{NamespaceName: aws.String("shared")}); err != nil {
		t.Fatal(err)
	}
	created, err := ca.CreateWorkgroup(ctx, &redshiftserverless.CreateWorkgroupInput{WorkgroupName: aws.String("shared-wg"), NamespaceName: aws.String("shared"), BaseCapacity: aws.Int32(8)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := cb.GetWorkgroup(ctx, &redshiftserverless.GetWorkgroupInput{WorkgroupName: aws.String("shared-wg")})
	if err != nil || aws.ToString(got.Workgroup.WorkgroupArn) != aws.ToString(created.Workgroup.WorkgroupArn) {
		t.Fatalf("replica B: %v", err)
	}
	opsTransitionOnce(t, a, b, "shared-wg")

	// Concurrent creates of one name on both replicas: exactly one wins.
	errs := make(chan error, 2)
	for _, c := range []*redshiftserverless.Client{ca, cb} {
		go func() {
			_, err := c.CreateNamespace(ctx, &redshiftserverless.CreateNamespaceInput{NamespaceName: aws.String("race")})
			errs <- err
		}()
	}
	e1, e2 := <-errs, <-errs
	if (e1 == nil) == (e2 == nil) {
		t.Fatalf("concurrent creates: %v / %v", e1, e2)
	}

	// A token issued by A opens on B's gateway.
	alice := a.IdentitySession(t, "alice", testserver.AnalystRoleArn)
	out := mustToken(t, a, alice, "demo")
	if _, _, err := b.Instance.Issuer.Open(ctx, scope, "demo", aws.ToString(out.Token)); err != nil {
		t.Fatalf("B cannot open A's token: %v", err)
	}
	c, err := connectGateway(t, b, aws.ToString(out.Token), "")
	if err != nil {
		t.Fatalf("A's token on B's gateway: %v", err)
	}
	var who string
	c.QueryRow(ctx, "SELECT current_user").Scan(&who)
	c.Close(ctx)
	if who != "AWSIDC:alice" {
		t.Fatalf("current_user %q", who)
	}

	// Key rotation on A is seen by B.
	if r := a.CallAdmin(t, a.Admin, "RotateWorkgroupKey", []byte(`{"workgroupName":"demo"}`)); r.Status != 200 {
		t.Fatalf("rotate: %s", r.Body)
	}
	// B caches unwrapped keys for a second; within that it switches to v2.
	bAlice := b.IdentitySession(t, "alice", testserver.AnalystRoleArn)
	eventually(t, 5*time.Second, "B issues with the rotated key", func() (bool, error) {
		fromB, err := getToken(t, b, bAlice, "demo")
		if err != nil {
			return false, err
		}
		h, _, _, _ := authtoken.ParseHeader(aws.ToString(fromB.Token))
		return h.Keys[0].KeyVersion == 2, nil
	})
	if _, _, err := a.Instance.Issuer.Open(ctx, scope, "demo", aws.ToString(out.Token)); err != nil {
		t.Fatal(fmt.Errorf("old token after rotation: %w", err))
	}
}

// opsTransitionOnce shows that a workgroup's CREATING → AVAILABLE is not run
// by either replica (so not twice): the store holds one pending transition
// {to, at}; both replicas flip exactly at its time, computing it from the
// clock; no reader writes the record; the audit trail has one create.
func opsTransitionOnce(t *testing.T, a, b *testserver.Server, name string) {
	t.Helper()
	ctx := context.Background()
	key := "rs/" + testserver.Account + "/" + testserver.Region + "/wg/" + name
	read := func() []byte {
		var v []byte
		if err := a.Instance.Store.View(ctx, func(r store.Reader) error {
			var err error
			v, err = r.Get(key)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return v
	}
	before := read()
	var rec struct {
		Status  string
		Pending *struct {
			To string
			At time.Time
		}
	}
	if err := json.Unmarshal(before, &rec); err != nil || rec.Status != "CREATING" || rec.Pending == nil || rec.Pending.To != "AVAILABLE" {
		t.Fatalf("stored workgroup %s: %v", before, err)
	}
	at := rec.Pending.At
	type seen struct{ creating, available int }
	obs := map[*testserver.Server]*seen{a: {}, b: {}}
	eventually(t, 10*time.Second, name+" AVAILABLE on both replicas", func() (bool, error) {
		for _, s := range []*testserver.Server{a, b} {
			t0 := time.Now()
			out, err := s.Serverless(s.Admin).GetWorkgroup(ctx, &redshiftserverless.GetWorkgroupInput{WorkgroupName: aws.String(name)})
			t1 := time.Now()
			if err != nil {
				return false, err
			}
			switch st := out.Workgroup.Status; {
			case t1.Before(at) && st != types.WorkgroupStatusCreating:
				return false, fmt.Errorf("%s is %s before its transition time %v", s.URL, st, at)
			case t0.After(at) && st != types.WorkgroupStatusAvailable:
				return false, fmt.Errorf("%s is %s after its transition time %v", s.URL, st, at)
			case st == types.WorkgroupStatusCreating:
				obs[s].creating++
			case st == types.WorkgroupStatusAvailable:
				obs[s].available++
			}
		}
		return obs[a].available > 0 && obs[b].available > 0, nil
	})
	if obs[a].creating == 0 || obs[b].creating == 0 {
		t.Fatalf("a replica never saw CREATING: %+v %+v", *obs[a], *obs[b])
	}
	if after := read(); !bytes.Equal(after, before) {
		t.Fatalf("a reader rewrote the workgroup record:\n%s\n%s", before, after)
	}
	creates := 0
	for _, r := range opsStoreRecords(t, a) {
		if r.RequestParameters["workgroupName"] == name && r.EventName != "GetWorkgroup" {
			if r.EventName != "CreateWorkgroup" {
				t.Fatalf("%s recorded for %s", r.EventName, name)
			}
			creates++
		}
	}
	if creates != 1 {
		t.Fatalf("%d CreateWorkgroup records for %s", creates, name)
	}
}

// Replicas of one store: the config's fault rules are seeded once and do
// not overwrite rules set through the API; a replica with another master
// key refuses to start; the master key and the administrator secrets
// never enter the database.
func TestReplicasSharedStoreSafety(t *testing.T) {
	t.Parallel()
	pg := pgtest.Start(t)
	pg.CreateDatabase(t, "idcgate")
	edit := func(c *config.Config) {
		c.Store = pg.DSN("idcgate")
		c.Faults = []faults.Rule{{Operation: "ListNamespaces", Error: faults.Internal, Rate: 1}}
		c.Serverless.TransitionDelay = &config.Duration{}
	}
	env := map[string]string{masterkey.EnvVar: fixedMasterKey}
	a := testserver.Start(t, testserver.Options{Env: env, Edit: edit})
	ctx := context.Background()
	ca := a.Serverless(a.Admin)
	_, err := ca.ListNamespaces(ctx, &redshiftserverless.ListNamespacesInput{})
	wantAPIError(t, err, "InternalServerException", 500, "")
	if r := a.CallAdmin(t, a.Admin, "SetFaults", []byte(`{"rules":[]}`)); r.Status != 200 {
		t.Fatalf("SetFaults: %s", r.Body)
	}
	b := testserver.Start(t, testserver.Options{Env: env, Edit: edit})
	for _, s := range []*testserver.Server{b, a} {
		eventually(t, 5*time.Second, "rules cleared through the API on "+s.URL, func() (bool, error) {
			_, err := s.Serverless(s.Admin).ListNamespaces(ctx, &redshiftserverless.ListNamespacesInput{})
			return err == nil, nil
		})
	}

	// Work that stores wrapped keys, sessions, tokens.
	alice := b.IdentitySession(t, "alice", testserver.AnalystRoleArn)
	if _, err := ca.CreateNamespace(ctx, &redshiftserverless.CreateNamespaceInput{NamespaceName: aws.String("safe")}); err != nil {
		t.Fatal(err)
	}
	if _, err := ca.CreateWorkgroup(ctx, &redshiftserverless.CreateWorkgroupInput{WorkgroupName: aws.String("safe-wg"), NamespaceName: aws.String("safe"), BaseCapacity: aws.Int32(8)}); err != nil {
		t.Fatal(err)
	}
	mustToken(t, b, alice, "demo")
	if r := b.CallAdmin(t, b.Admin, "RotateWorkgroupKey", []byte(`{"workgroupName":"demo"}`)); r.Status != 200 {
		t.Fatalf("rotate: %s", r.Body)
	}

	other, _ := masterkey.Generate(rand.Reader)
	opsWantMismatch(t, opsServeFails(t, filepath.Join(t.TempDir(), "c"), map[string]string{"IDCGATE_STORE": pg.DSN("idcgate"), masterkey.EnvVar: other}))
	if _, err := ca.GetWorkgroup(ctx, &redshiftserverless.GetWorkgroupInput{WorkgroupName: aws.String("safe-wg")}); err != nil {
		t.Fatalf("after the refused replica: %v", err)
	}

	conn, err := pgx.Connect(ctx, pg.DSN("idcgate"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT key, value FROM kv`)
	if err != nil {
		t.Fatal(err)
	}
	var dump bytes.Buffer
	n := 0
	for rows.Next() {
		var k string
		var v []byte
		if err := rows.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		dump.WriteString(k)
		dump.Write(v)
		n++
	}
	if rows.Err() != nil || n < 10 {
		t.Fatalf("dumped %d rows: %v", n, rows.Err())
	}
	mkRaw, _ := base64.StdEncoding.DecodeString(fixedMasterKey)
	leaks := opsSecretForms("master key", mkRaw)
	leaks["administrator secret key"] = []byte(a.Admin.SecretAccessKey)
	leaks["app secret key"] = []byte(testserver.AppSecretKey)
	leaks["session secret key"] = []byte(alice.SecretAccessKey)
	for name, s := range leaks {
		if bytes.Contains(dump.Bytes(), s) {
			t.Errorf("%s is in the PostgreSQL store", name)
		}
	}
}
