package dataapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/idcgate/idcgate/internal/clock"
	"github.com/idcgate/idcgate/internal/pagetoken"
	"github.com/idcgate/idcgate/internal/pgtest"
	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/testkit"
)

func TestRewriteParams(t *testing.T) {
	p := []Param{{"id", "7"}, {"name", "o'k"}}
	for _, tc := range []struct {
		in, out string
		vals    []string
	}{
		{"select :id", "select $1", []string{"7"}},
		{"select :id, :name, :id", "select $1, $2, $1", []string{"7", "o'k"}},
		{"select ':id', \":id\", :id::int", "select ':id', \":id\", $1::int", []string{"7"}},
		{"select 1 -- :id\n, :name", "select 1 -- :id\n, $1", []string{"o'k"}},
		{"select /* :id */ $$ :id $$, $t$ :id $t$, :name", "select /* :id */ $$ :id $$, $t$ :id $t$, $1", []string{"o'k"}},
		{"select a[1:id] , x::text, :other", "select a[1:id] , x::text, :other", nil},
		{"select 'it''s :id' || :id", "select 'it''s :id' || $1", []string{"7"}},
	} {
		got, vals := rewriteParams(tc.in, p)
		var gv []string
		for _, v := range vals {
			gv = append(gv, string(v))
		}
		if got != tc.out || !reflect.DeepEqual(gv, tc.vals) {
			t.Errorf("rewriteParams(%q) = %q %q, want %q %q", tc.in, got, gv, tc.out, tc.vals)
		}
	}
	if got, vals := rewriteParams("select :id", nil); got != "select :id" || vals != nil {
		t.Errorf("no params: %q %v", got, vals)
	}
}

func TestAppendField(t *testing.T) {
	for _, tc := range []struct {
		oid  uint32
		v    []byte
		want string
	}{
		{oidInt4, []byte("42"), `{"longValue":42}`},
		{oidInt8, []byte("-9223372036854775808"), `{"longValue":-9223372036854775808}`},
		{oidFloat8, []byte("1.5"), `{"doubleValue":1.5}`},
		{oidFloat8, []byte("NaN"), `{"doubleValue":"NaN"}`},
		{oidFloat4, []byte("-Infinity"), `{"doubleValue":"-Infinity"}`},
		{oidBool, []byte("t"), `{"booleanValue":true}`},
		{oidBytea, []byte(`\x0102`), `{"blobValue":"AQI="}`},
		{oidNumeric, []byte("12.30"), `{"stringValue":"12.30"}`},
		{oidText, []byte("a\"b\n"), `{"stringValue":"a\"b\n"}`},
		{oidText, nil, `{"isNull":true}`},
	} {
		got := string(appendField(nil, tc.oid, tc.v))
		if got != tc.want {
			t.Errorf("appendField(%d, %q) = %s, want %s", tc.oid, tc.v, got, tc.want)
		}
		if !json.Valid([]byte(got)) {
			t.Errorf("not JSON: %s", got)
		}
	}
}

// TestOnEveryStore runs the store-backed scenarios on the embedded store
// and on the shared PostgreSQL store replicas use.
func TestOnEveryStore(t *testing.T) {
	scenarios := []struct {
		name string
		run  func(*testing.T, *Service, *clock.Fake)
	}{
		{"OrphanedStatementsEnd", orphanedStatementsEnd},
		{"RecoverAll", recoverAll},
		{"OwnershipAndRetention", ownershipAndRetention},
	}
	pg := pgtest.Start(t)
	for i, scen := range scenarios {
		t.Run("bolt/"+scen.name, func(t *testing.T) {
			db := testkit.Store(t)
			now := clock.NewFake(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
			scen.run(t, newService(db, now), now)
		})
		t.Run("postgres/"+scen.name, func(t *testing.T) {
			name := fmt.Sprintf("s%d", i)
			db := testkit.PostgresStore(t, pg, name)
			now := clock.NewFake(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
			scen.run(t, newService(db, now), now)
		})
	}
}

func newService(db store.Store, now *clock.Fake) *Service {
	return &Service{Store: db, Clock: now.Now, Pages: &pagetoken.Codec{Key: make([]byte, 32), Clock: now.Now}}
}

var sc = Scope{Account: "123456789012", Region: "us-east-1"}

// put stores a statement as a runner (maybe another process's) left it.
func put(t *testing.T, s *Service, st *Statement) {
	t.Helper()
	err := s.Store.Update(context.Background(), func(tx store.Tx) error {
		if err := store.PutJSON(tx, statementKey(sc, st.ID), st); err != nil {
			return err
		}
		if err := tx.Put(ownerKey(st), nil); err != nil {
			return err
		}
		if err := tx.Put(expiryKey(st, Retention), nil); err != nil {
			return err
		}
		if !st.Status.Final() {
			return tx.Put(activeKey(st), nil)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func started(id string, o Owner, at time.Time) *Statement {
	return &Statement{ID: id, Account: sc.Account, Region: sc.Region, Workgroup: "demo", Owner: o, ResultFormat: FormatJSON,
		Status: StatusStarted, CreatedAt: at, UpdatedAt: at, Heartbeat: at, Runner: "gone",
		Subs: []Sub{{SQL: "select 1", Status: StatusStarted, CreatedAt: at, UpdatedAt: at}}}
}

// A statement whose runner stopped touching it (a replica gone) is not
// left STARTED: the sweep, or the first read after staleAfter, ends it.
func orphanedStatementsEnd(t *testing.T, s *Service, now *clock.Fake) {
	ctx := context.Background()
	alice := Owner{UserID: "u-alice", RoleARN: "arn:aws:iam::123456789012:role/analyst", Session: "s"}
	put(t, s, started("11111111-1111-1111-1111-111111111111", alice, now.Now()))
	cancelled := started("22222222-2222-2222-2222-222222222222", alice, now.Now())
	cancelled.CancelRequested = true
	put(t, s, cancelled)

	if n, err := s.Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("fresh heartbeat swept: %d %v", n, err)
	}
	st, err := s.Describe(ctx, sc, alice, "11111111-1111-1111-1111-111111111111")
	if err != nil || st.Status != StatusStarted {
		t.Fatalf("fresh: %v %v", st, err)
	}
	now.Advance(staleAfter)
	// Read first: the reader ends it.
	st, err = s.Describe(ctx, sc, alice, "11111111-1111-1111-1111-111111111111")
	if err != nil || st.Status != StatusFailed || st.Subs[0].Status != StatusFailed || st.Error == "" {
		t.Fatalf("stale on read: %+v %v", st, err)
	}
	// The sweep ends the other, ABORTED as its owner asked.
	if n, err := s.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("sweep: %d %v", n, err)
	}
	st, err = s.Describe(ctx, sc, alice, cancelled.ID)
	if err != nil || st.Status != StatusAborted {
		t.Fatalf("cancelled orphan: %+v %v", st, err)
	}
	if n, err := s.Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("second sweep: %d %v", n, err)
	}
}

// At start on the embedded store nothing of an earlier process runs.
func recoverAll(t *testing.T, s *Service, now *clock.Fake) {
	ctx := context.Background()
	o := Owner{RoleARN: "arn:aws:iam::123456789012:role/r", Session: "s"}
	put(t, s, started("33333333-3333-3333-3333-333333333333", o, now.Now()))
	if n, err := s.RecoverAll(ctx); err != nil || n != 1 {
		t.Fatalf("RecoverAll: %d %v", n, err)
	}
	st, err := s.Describe(ctx, sc, o, "33333333-3333-3333-3333-333333333333")
	if err != nil || st.Status != StatusFailed {
		t.Fatalf("after RecoverAll: %+v %v", st, err)
	}
}

// Ownership is the pair (Identity Center user, IAM role); results and
// records go after the retention.
func ownershipAndRetention(t *testing.T, s *Service, now *clock.Fake) {
	ctx := context.Background()
	alice := Owner{UserID: "u-alice", RoleARN: "arn:aws:iam::123456789012:role/analyst", Session: "s1"}
	st := started("44444444-4444-4444-4444-444444444444", alice, now.Now())
	st.Status, st.Subs[0].Status, st.Subs[0].HasResultSet, st.Subs[0].Pages = StatusFinished, StatusFinished, true, 1
	put(t, s, st)
	if err := s.Store.Update(ctx, func(tx store.Tx) error { return tx.Put(pageKey(st.ID, 1, 0), []byte(`[[{"longValue":1}]]`)) }); err != nil {
		t.Fatal(err)
	}
	for _, other := range []Owner{
		{UserID: "u-bob", RoleARN: alice.RoleARN},
		{UserID: "u-alice", RoleARN: "arn:aws:iam::123456789012:role/other"},
		{RoleARN: alice.RoleARN},
	} {
		if _, err := s.Describe(ctx, sc, other, st.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("%+v describes alice's statement: %v", other, err)
		}
		if _, err := s.Result(ctx, sc, other, st.ID, FormatJSON, ""); !errors.Is(err, ErrNotFound) {
			t.Errorf("%+v reads alice's result: %v", other, err)
		}
		if list, _, err := s.List(ctx, ListRequest{Scope: sc, Owner: other, RoleLevel: true}); err != nil || len(list) != 0 {
			t.Errorf("%+v lists alice's statements: %v %v", other, list, err)
		}
	}
	// Another session of the same role and user: hers, unless RoleLevel is false.
	sameUser := Owner{UserID: "u-alice", RoleARN: alice.RoleARN, Session: "s2"}
	if p, err := s.Result(ctx, sc, sameUser, st.ID, FormatJSON, ""); err != nil || string(p.Records) != `[[{"longValue":1}]]` {
		t.Fatalf("her result: %v %v", p, err)
	}
	if list, _, _ := s.List(ctx, ListRequest{Scope: sc, Owner: sameUser, RoleLevel: false}); len(list) != 0 {
		t.Fatalf("RoleLevel false lists another session's: %v", list)
	}

	now.Advance(Retention)
	if _, err := s.Describe(ctx, sc, alice, st.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("expired statement: %v", err)
	}
	if n, err := s.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("sweep: %d %v", n, err)
	}
	left := 0
	s.Store.View(ctx, func(r store.Reader) error {
		return r.Scan(prefix, "", func(k string, _ []byte) (bool, error) { left++; return true, nil })
	})
	if left != 0 {
		t.Fatalf("%d keys left after the retention", left)
	}
}
