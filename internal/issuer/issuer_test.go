package issuer

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/idcgate/idcgate/internal/apierror"
	"github.com/idcgate/idcgate/internal/auth"
	"github.com/idcgate/idcgate/internal/authtoken"
	"github.com/idcgate/idcgate/internal/issuer/issuertest"
	"github.com/idcgate/idcgate/internal/keyring"
	"github.com/idcgate/idcgate/internal/serverless"
	"github.com/idcgate/idcgate/internal/store"
)

var scope = serverless.Scope{Account: "123456789012", Region: "us-east-1"}

// world is an issuer on a real embedded store with n workgroups wg-00…,
// each in its own namespace with Identity Center, and alice's
// identity-enhanced role session.
type world struct {
	iss   *Issuer
	sl    *serverless.Service
	keys  *keyring.Keyring
	st    store.Store
	alice *auth.Principal
	now   time.Time
}

func newWorld(tb testing.TB, n int, delay time.Duration) *world {
	tb.Helper()
	w := &world{now: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)}
	clock := func() time.Time { return w.now }
	parts := issuertest.New(tb, clock, delay)
	parts.Keys.CacheFor = time.Second // as the app runs it
	wgs := make([]issuertest.Workgroup, n)
	for i := range wgs {
		name := fmt.Sprintf("wg-%02d", i)
		wgs[i] = issuertest.Workgroup{Namespace: name, Name: name}
	}
	parts.AddWorkgroups(tb, scope, wgs...)
	w.iss = &Issuer{Serverless: parts.Serverless, Keys: parts.Keys, Dir: parts.Dir, IdcApps: parts.IdcApps, TTL: time.Hour, Clock: clock, Rand: rand.Reader}
	w.sl, w.keys, w.st, w.alice = parts.Serverless, parts.Keys, parts.Store, parts.Alice
	return w
}

func (w *world) request(names ...string) Request {
	body := `{"workgroupNames":["` + strings.Join(names, `","`) + `"]}`
	return Request{Principal: w.alice, Auth: auth.Request{Region: scope.Region, Now: w.now}, Scope: scope, Body: []byte(body)}
}

func (w *world) issue(tb testing.TB, names ...string) string {
	tb.Helper()
	res, err := w.iss.Issue(context.Background(), w.request(names...))
	if err != nil {
		tb.Fatal(err)
	}
	return res.Token
}

func (w *world) ring(tb testing.TB, name string) keyring.ID {
	tb.Helper()
	wg, err := w.sl.GetWorkgroup(context.Background(), scope, name)
	if err != nil {
		tb.Fatal(err)
	}
	return keyring.ID{Account: scope.Account, Region: scope.Region, WorkgroupID: wg.WorkgroupId}
}

// TestOpenReasons: the issuer's Open reports which sentinel refused a token.
func TestOpenReasons(t *testing.T) {
	w := newWorld(t, 4, 0)
	ctx := context.Background()
	tok := w.issue(t, "wg-00", "wg-01", "wg-02")
	if _, c, err := w.iss.Open(ctx, scope, "wg-01", tok); err != nil || c.UserName != "alice" || len(c.Workgroups) != 3 {
		t.Fatalf("open: %v %+v", err, c)
	}
	flip := issuertest.Tampered(t, tok)
	cases := []struct {
		name, wg, token string
		want            []error
	}{
		{"tampered", "wg-00", flip, []error{authtoken.ErrTampered}},
		{"truncated", "wg-00", tok[:len(tok)/2], []error{authtoken.ErrTruncated, authtoken.ErrMalformed}},
		{"malformed", "wg-00", "IDC2.!!", []error{authtoken.ErrMalformed}},
		{"foreign workgroup", "wg-03", tok, []error{authtoken.ErrForeignWorkgroup}},
		{"unknown workgroup", "wg-99", tok, []error{serverless.ErrNotFound}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := w.iss.Open(ctx, scope, tc.wg, tc.token)
			for _, want := range tc.want {
				if !errors.Is(err, want) {
					t.Fatalf("err = %v, want %v", err, want)
				}
			}
			if tc.name != "truncated" && errors.Is(err, authtoken.ErrTruncated) {
				t.Fatalf("err = %v reported as truncated", err)
			}
		})
	}
	// Another region of the same account has no such workgroup.
	if _, _, err := w.iss.Open(ctx, serverless.Scope{Account: scope.Account, Region: "eu-west-1"}, "wg-00", tok); !errors.Is(err, serverless.ErrNotFound) {
		t.Fatalf("other region: %v", err)
	}

	// Rotation keeps the old version until it is retired.
	id := w.ring(t, "wg-00")
	if _, err := w.keys.Rotate(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.iss.Open(ctx, scope, "wg-00", tok); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	if err := w.keys.Retire(ctx, id, 2); err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.iss.Open(ctx, scope, "wg-00", tok); !errors.Is(err, authtoken.ErrKeyUnavailable) || !errors.Is(err, keyring.ErrRetired) {
		t.Fatalf("retired version: %v", err)
	}
	// The same token still opens for the other workgroups it names.
	if _, _, err := w.iss.Open(ctx, scope, "wg-01", tok); err != nil {
		t.Fatalf("wg-01 after wg-00's retirement: %v", err)
	}

	w.now = w.now.Add(time.Hour)
	if _, _, err := w.iss.Open(ctx, scope, "wg-01", tok); !errors.Is(err, authtoken.ErrExpired) {
		t.Fatalf("expired: %v", err)
	}
}

// TestDeleteRacingIssue: a workgroup deleted after check 7 read it (here,
// by the fault hook, which runs between check 9 and sealing) gets no token
// sealed under keys that no longer exist; the caller gets what check 7
// would answer now.
func TestDeleteRacingIssue(t *testing.T) {
	for _, tc := range []struct {
		name  string
		delay time.Duration
		code  error
		msg   string
	}{
		{"still DELETING", time.Hour, serverless.ErrConflict, "Workgroup wg-01 is DELETING; it must be AVAILABLE to issue an Identity Center token."},
		{"gone", 0, serverless.ErrNotFound, "Workgroup wg-01 not found."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, 2, tc.delay)
			ctx := context.Background()
			id := w.ring(t, "wg-01")
			if _, _, err := w.keys.Current(ctx, id); err != nil { // cached, as by an earlier call
				t.Fatal(err)
			}
			req := w.request("wg-00", "wg-01")
			req.Fault = func(ctx context.Context) error {
				name := "wg-01"
				_, err := w.sl.DeleteWorkgroup(ctx, scope, id.WorkgroupID, serverless.DeleteWorkgroupInput{WorkgroupName: &name})
				return err
			}
			_, err := w.iss.Issue(ctx, req)
			var pe interface{ Public() string }
			if !errors.Is(err, tc.code) || !errors.As(err, &pe) || pe.Public() != tc.msg {
				t.Fatalf("err = %v, want %v %q", err, tc.code, tc.msg)
			}
			if _, err := w.keys.Describe(ctx, id); !errors.Is(err, keyring.ErrNoKeyring) {
				t.Fatalf("the deleted workgroup's ring came back: %v", err)
			}
		})
	}
}

// TestIdentityStoreMustMatch: check 9 compares the context's identity
// store with the directory's before looking the user up.
func TestIdentityStoreMustMatch(t *testing.T) {
	w := newWorld(t, 1, 0)
	ic := *w.alice.IdentityContext
	ic.IdentityStoreID = "d-00000000aa"
	w.alice.IdentityContext = &ic
	_, err := w.iss.Issue(context.Background(), w.request("wg-00"))
	var de *apierror.Error
	if !errors.Is(err, auth.ErrAccessDenied) || !errors.As(err, &de) || !strings.HasSuffix(de.Message, "because the identity context's identity store d-00000000aa is not this Identity Center instance's identity store d-9067a1b2c3") {
		t.Fatalf("err = %v", err)
	}
}

// TestFaultAfterChecks: the fault hook runs only once every check passed,
// and before the dry run answers.
func TestFaultAfterChecks(t *testing.T) {
	w := newWorld(t, 1, 0)
	calls := 0
	injected := errors.New("injected")
	fault := func(context.Context) error { calls++; return injected }
	bad := w.request("Bad_Name")
	bad.Fault = fault
	if _, err := w.iss.Issue(context.Background(), bad); err == nil || errors.Is(err, injected) || calls != 0 {
		t.Fatalf("invalid input: %v (fault called %d times)", err, calls)
	}
	dry := w.request("wg-00")
	dry.Fault, dry.DryRun = fault, true
	if _, err := w.iss.Issue(context.Background(), dry); !errors.Is(err, injected) || calls != 1 {
		t.Fatalf("dry run: %v (fault called %d times)", err, calls)
	}
	dry.Fault = nil
	if _, err := w.iss.Issue(context.Background(), dry); !errors.Is(err, ErrDryRun) {
		t.Fatalf("dry run without fault: %v", err)
	}
}

// Whole issuance: input, store reads of the workgroups, namespaces and
// Redshift IdC applications, IAM, the directory, the keyring (cached, as
// the app runs it) and sealing.
func benchIssue(b *testing.B, n int) {
	w := newWorld(b, n, 0)
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("wg-%02d", i)
	}
	req := w.request(names...)
	ctx := context.Background()
	if _, err := w.iss.Issue(ctx, req); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := w.iss.Issue(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIssue1(b *testing.B)  { benchIssue(b, 1) }
func BenchmarkIssue20(b *testing.B) { benchIssue(b, 20) }

// BenchmarkOpen is the gateway's check at login: the workgroup by name,
// then the token of 20 workgroups opened with its key.
func BenchmarkOpen(b *testing.B) {
	w := newWorld(b, 20, 0)
	names := make([]string, 20)
	for i := range names {
		names[i] = fmt.Sprintf("wg-%02d", i)
	}
	tok := w.issue(b, names...)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := w.iss.Open(ctx, scope, "wg-07", tok); err != nil {
			b.Fatal(err)
		}
	}
}

// TestConcurrentIssueAndOpen shares the keyring's cached AES-GCMs between
// goroutines (run with -race), across a rotation.
func TestConcurrentIssueAndOpen(t *testing.T) {
	w := newWorld(t, 3, 0)
	ctx := context.Background()
	id := w.ring(t, "wg-01")
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func() {
			for i := 0; i < 20; i++ {
				res, err := w.iss.Issue(ctx, w.request("wg-00", "wg-01", "wg-02"))
				if err == nil {
					_, _, err = w.iss.Open(ctx, scope, "wg-01", res.Token)
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	if _, err := w.keys.Rotate(ctx, id); err != nil {
		t.Fatal(err)
	}
	for g := 0; g < 8; g++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
