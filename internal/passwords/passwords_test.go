package passwords

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/idcgate/idcgate/internal/apierror"
	"github.com/idcgate/idcgate/internal/clock"
	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/identitystore"
	"github.com/idcgate/idcgate/internal/pagetoken"
	"github.com/idcgate/idcgate/internal/passwords/phc"
	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/testkit"
	"github.com/idcgate/idcgate/internal/validation"
)

// fast parameters: what the tests check is the rules, not the cost.
var fast = phc.Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

type fixture struct {
	svc   *Service
	dir   *identitystore.Service
	clock *clock.Fake
}

func newFixture(t *testing.T, users ...string) fixture {
	t.Helper()
	st := testkit.Store(t)
	c := clock.NewFake(time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC))
	dir := &identitystore.Service{Store: st, StoreID: "d-9067a1b2c3", Account: "123456789012", Clock: c.Now,
		Pages: &pagetoken.Codec{Key: make([]byte, 32), Clock: c.Now}}
	for _, u := range users {
		if _, err := dir.CreateUser(context.Background(), "test", identitystore.Attributes{UserName: u, DisplayName: u}); err != nil {
			t.Fatal(err)
		}
	}
	return fixture{svc: &Service{Store: st, Directory: dir, Clock: c.Now, Params: fast}, dir: dir, clock: c}
}

// newAliceFixture is a fixture whose one user, alice, has the password
// alice-demo-pass.
func newAliceFixture(t *testing.T) fixture {
	t.Helper()
	f := newFixture(t, "alice")
	if _, err := f.svc.Set(context.Background(), "alice", "alice-demo-pass"); err != nil {
		t.Fatal(err)
	}
	return f
}

// failures makes n attempts with a wrong password, the i-th as the user
// from the address that attempt names; each must be refused as a wrong
// password, not yet slowed down.
func (f fixture) failures(t *testing.T, n int, attempt func(i int) (user, addr string)) {
	t.Helper()
	for i := range n {
		user, addr := attempt(i)
		if _, err := f.svc.Check(context.Background(), user, "wrong", addr); err != ErrWrongPassword {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
}

func TestCheckSameAnswerForUnknownUserAndWrongPassword(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "alice", "dave")
	ctx := context.Background()
	if _, err := f.svc.Set(ctx, "alice", "alice-demo-pass"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, user, password string }{
		{"wrong password", "alice", "alice-demo-pasS"},
		{"unknown user", "mallory", "alice-demo-pass"},
		{"user without a password", "dave", "alice-demo-pass"},
		{"empty user name", "", "x"},
		{"over-long user name", string(make([]byte, 300)), "x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := f.svc.hashes.Load()
			_, err := f.svc.Check(ctx, tc.user, tc.password, "192.0.2."+tc.name[:1])
			if err != ErrWrongPassword {
				t.Errorf("err = %v, want exactly ErrWrongPassword", err)
			}
			if n := f.svc.hashes.Load() - before; n != 1 {
				t.Errorf("%d argon2id runs, want 1 (every answer costs the same)", n)
			}
		})
	}
	u, err := f.svc.Check(ctx, "ALICE", "alice-demo-pass", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if u.Name != "alice" || u.ID == "" {
		t.Errorf("signed in as %+v", u)
	}
}

func TestSlowDownPerUserName(t *testing.T) {
	t.Parallel()
	f := newAliceFixture(t)
	ctx := context.Background()
	// Free failures, each from another address: never slowed.
	f.failures(t, UserSlowDown.Free, func(i int) (string, string) { return "alice", "198.51.100." + string(rune('a'+i)) })
	// The next attempt, even with the right password, must wait 1 s.
	_, err := f.svc.Check(ctx, "Alice", "alice-demo-pass", "203.0.113.9")
	var sd *SlowedDown
	if !errors.As(err, &sd) || !errors.Is(err, ErrSlowedDown) || sd.RetryAfter != time.Second {
		t.Fatalf("after %d failures: %v, want SlowedDown 1s", UserSlowDown.Free, err)
	}
	f.clock.Advance(time.Second)
	if _, err := f.svc.Check(ctx, "alice", "wrong", "203.0.113.9"); err != ErrWrongPassword {
		t.Fatalf("after waiting: %v", err)
	}
	// Doubles: 2 s now.
	f.clock.Advance(time.Second)
	if _, err := f.svc.Check(ctx, "alice", "alice-demo-pass", "203.0.113.9"); !errors.As(err, &sd) || sd.RetryAfter != time.Second {
		t.Fatalf("1 s into a 2 s wait: %v", err)
	}
	// An unknown name is slowed exactly the same (nothing tells them apart).
	for range UserSlowDown.Free {
		f.svc.Check(ctx, "nobody", "wrong", "203.0.113.10")
	}
	if _, err := f.svc.Check(ctx, "nobody", "wrong", "203.0.113.11"); !errors.As(err, &sd) || sd.RetryAfter != time.Second {
		t.Fatalf("unknown name: %v, want SlowedDown 1s", err)
	}
	// A quiet window forgets.
	f.clock.Advance(UserSlowDown.Window)
	if _, err := f.svc.Check(ctx, "alice", "alice-demo-pass", "203.0.113.9"); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

func TestSlowDownCapped(t *testing.T) {
	t.Parallel()
	tab := newFailureTable(UserSlowDown)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for range 40 {
		tab.fail("k", now)
	}
	if got := tab.wait("k", now); got != UserSlowDown.Max {
		t.Errorf("wait after 40 failures = %v, want the cap %v", got, UserSlowDown.Max)
	}
	if got := tab.wait("k", now.Add(UserSlowDown.Max)); got != 0 {
		t.Errorf("wait after the cap passed = %v", got)
	}
}

func TestSlowDownPerSourceIP(t *testing.T) {
	t.Parallel()
	f := newAliceFixture(t)
	ctx := context.Background()
	// Many names from one address: slowed after IPSlowDown.Free.
	f.failures(t, IPSlowDown.Free, func(i int) (string, string) { return "user" + string(rune('a'+i)), "192.0.2.7" })
	var sd *SlowedDown
	if _, err := f.svc.Check(ctx, "alice", "alice-demo-pass", "192.0.2.7"); !errors.As(err, &sd) {
		t.Fatalf("address after %d failures: %v", IPSlowDown.Free, err)
	}
	// Another address is not slowed, and a success does not clear the
	// address's count (a known account must not reset guessing).
	if _, err := f.svc.Check(ctx, "alice", "alice-demo-pass", "192.0.2.8"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Check(ctx, "alice", "alice-demo-pass", "192.0.2.7"); !errors.As(err, &sd) {
		t.Fatalf("address after another's success: %v", err)
	}
}

func TestSetRules(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "alice")
	ctx := context.Background()
	_, err := f.svc.Set(ctx, "nobody", "long-enough")
	var ae *apierror.Error
	if !errors.Is(err, identitystore.ErrNotFound) || !errors.As(err, &ae) || ae.Members["ResourceType"] != "USER" {
		t.Errorf("unknown user: %v", err)
	}
	for _, pw := range []string{"short", string(make([]byte, 257))} {
		_, err := f.svc.Set(ctx, "alice", pw)
		if !errors.Is(err, validation.ErrInvalid) {
			t.Errorf("password of %d bytes: %v", len(pw), err)
		}
		if errors.As(err, &ae) && len(pw) < 10 && strings.Contains(ae.Message, pw) {
			t.Errorf("the message repeats the password: %q", ae.Message)
		}
	}
	// The store holds a hash, never the password.
	if _, err := f.svc.Set(ctx, "alice", "alice-demo-pass"); err != nil {
		t.Fatal(err)
	}
	id, _ := f.dir.UserIDByName(ctx, "alice")
	var raw []byte
	f.svc.Store.View(ctx, func(r store.Reader) error { raw, err = r.Get(f.dir.PasswordKey(id)); return err })
	if err != nil || strings.Contains(string(raw), "alice-demo-pass") || !strings.Contains(string(raw), "$argon2id$v=19$") {
		t.Errorf("stored record %s (%v)", raw, err)
	}
}

func TestDeletedUserLosesItsPassword(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "alice")
	ctx := context.Background()
	u, err := f.svc.Set(ctx, "alice", "alice-demo-pass")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.dir.DeleteUser(ctx, u.ID, nil); err != nil {
		t.Fatal(err)
	}
	err = f.svc.Store.View(ctx, func(r store.Reader) error { _, err := r.Get(f.dir.PasswordKey(u.ID)); return err })
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the password record outlived its user: %v", err)
	}
	// A new user of the same name has no password.
	if _, err := f.dir.CreateUser(ctx, "test", identitystore.Attributes{UserName: "alice"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Check(ctx, "alice", "alice-demo-pass", "192.0.2.1"); err != ErrWrongPassword {
		t.Errorf("the recreated user signs in with the old password: %v", err)
	}
}

func TestApplyConfig(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "alice", "bob", "carol")
	ctx := context.Background()
	carolHash, _ := phc.Hash("carol-demo-pass", fast, fixedSalt{})
	cfg := []config.DirectoryUser{
		{UserName: "alice", Password: "alice-demo-pass"},
		{UserName: "bob", Password: "bob-demo-pass"},
		{UserName: "carol", PasswordHash: carolHash.String()},
	}
	if err := f.svc.ApplyConfig(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	for _, c := range cfg {
		pw := c.UserName + "-demo-pass"
		if _, err := f.svc.Check(ctx, c.UserName, pw, "192.0.2.1"); err != nil {
			t.Errorf("%s: %v", c.UserName, err)
		}
	}
	// set-password survives a restart whose config is unchanged…
	f.svc.Set(ctx, "alice", "changed-by-admin")
	if err := f.svc.ApplyConfig(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Check(ctx, "alice", "changed-by-admin", "192.0.2.1"); err != nil {
		t.Errorf("set-password lost at restart: %v", err)
	}
	// …and gives way to a changed config password.
	cfg[0].Password = "alice-new-config"
	// A config password removed: bob's goes (the config set it), alice's
	// set-password one would stay.
	cfg[1].Password = ""
	if err := f.svc.ApplyConfig(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Check(ctx, "alice", "alice-new-config", "192.0.2.1"); err != nil {
		t.Errorf("changed config password: %v", err)
	}
	if _, err := f.svc.Check(ctx, "bob", "bob-demo-pass", "192.0.2.1"); err != ErrWrongPassword {
		t.Errorf("bob's removed config password still works: %v", err)
	}
	f.svc.Set(ctx, "carol", "carol-by-admin")
	cfg[2].PasswordHash = ""
	if err := f.svc.ApplyConfig(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Check(ctx, "carol", "carol-by-admin", "192.0.2.1"); err != nil {
		t.Errorf("set-password lost when the config dropped its hash: %v", err)
	}
}

type fixedSalt struct{}

func (fixedSalt) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(i)
	}
	return len(p), nil
}
