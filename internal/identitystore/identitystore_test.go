package identitystore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/idcgate/idcgate/internal/apierror"
	"github.com/idcgate/idcgate/internal/clock"
	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/masterkey"
	"github.com/idcgate/idcgate/internal/pagetoken"
	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/testkit"
	"github.com/idcgate/idcgate/internal/validation"
)

const testStore = "d-9067a1b2c3"

func newService(tb testing.TB) *Service {
	tb.Helper()
	st := testkit.Store(tb)
	c := clock.NewFake(time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC))
	return &Service{Store: st, StoreID: testStore, Account: "123456789012", Clock: c.Now,
		Pages: &pagetoken.Codec{Key: make([]byte, 32), Clock: c.Now}}
}

func testKey(tb testing.TB) *masterkey.Key {
	mk, err := masterkey.Parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
	if err != nil {
		tb.Fatal(err)
	}
	return mk
}

// members returns the wire members of err's apierror.
func members(err error) map[string]string {
	var ae *apierror.Error
	if errors.As(err, &ae) {
		return ae.Members
	}
	return nil
}

func raw(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

func TestCreateUserValidation(t *testing.T) {
	t.Parallel()
	s := newService(t)
	ctx := context.Background()
	long := string(make([]byte, 129))
	cases := []struct {
		name string
		in   Attributes
		want error // nil: created
	}{
		{"plain", Attributes{UserName: "kate"}, nil},
		{"unicode letters", Attributes{UserName: "zoë@example.com"}, nil},
		{"no name", Attributes{}, validation.ErrInvalid},
		{"space", Attributes{UserName: "a b"}, validation.ErrInvalid},
		{"control character", Attributes{UserName: "a\x01"}, validation.ErrInvalid},
		{"too long", Attributes{UserName: long}, validation.ErrInvalid},
		{"reserved", Attributes{UserName: "administrator"}, validation.ErrInvalid},
		{"reserved 2", Attributes{UserName: "AWSAdministrators"}, validation.ErrInvalid},
		{"two emails", Attributes{UserName: "e2", Emails: []Email{{Value: "a@x"}, {Value: "b@x"}}}, validation.ErrInvalid},
		{"four photos", Attributes{UserName: "p4", Photos: make([]Photo, 4)}, validation.ErrInvalid},
		{"bad extension", Attributes{UserName: "x1", Extensions: map[string]json.RawMessage{"enterprise": raw(1)}}, validation.ErrInvalid},
		{"name taken, other case", Attributes{UserName: "KATE"}, ErrConflict},
		{"email taken", Attributes{UserName: "kate3", Emails: []Email{{Value: "k@example.com"}}}, nil},
		{"email taken, other case", Attributes{UserName: "kate4", Emails: []Email{{Value: "K@EXAMPLE.com"}}}, ErrConflict},
	}
	for _, tc := range cases { // in order: later cases see earlier users
		u, err := s.CreateUser(ctx, "arn:aws:iam::123456789012:root", tc.in)
		switch {
		case tc.want == nil && err != nil:
			t.Fatalf("%s: %v", tc.name, err)
		case tc.want != nil && !errors.Is(err, tc.want):
			t.Fatalf("%s: got %v, want %v", tc.name, err, tc.want)
		case tc.want == ErrConflict && members(err)["Reason"] != ReasonUniqueness:
			t.Fatalf("%s: members %v", tc.name, members(err))
		case tc.want == nil && (!regexp.MustCompile(`^9067a1b2c3-[0-9a-f-]{36}$`).MatchString(u.UserID) || u.Revision != 1 || u.CreatedBy == ""):
			t.Fatalf("%s: created %+v", tc.name, u)
		}
	}
}

func TestUpdateUserOperations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cases := []struct {
		name  string
		ops   []Operation
		check func(User) bool
		want  error
	}{
		{"set display name", []Operation{{"displayName", raw("Kate K")}}, func(u User) bool { return u.DisplayName == "Kate K" }, nil},
		{"path case ignored", []Operation{{"DISPLAYNAME", raw("K")}}, func(u User) bool { return u.DisplayName == "K" }, nil},
		{"sub-attribute keeps siblings", []Operation{{"name.givenName", raw("Kate")}}, func(u User) bool { return u.Name.GivenName == "Kate" && u.Name.FamilyName == "Smith" }, nil},
		{"remove by omission", []Operation{{"title", nil}}, func(u User) bool { return u.Title == "" }, nil},
		{"remove by null", []Operation{{"name", raw(nil)}}, func(u User) bool { return u.Name == nil }, nil},
		{"set emails", []Operation{{"emails", raw([]Email{{Value: "new@example.com", Primary: true}})}}, func(u User) bool { return u.Emails[0].Value == "new@example.com" }, nil},
		{"rename", []Operation{{"userName", raw("katie")}}, func(u User) bool { return u.UserName == "katie" }, nil},
		{"unknown path", []Operation{{"userId", raw("x")}}, nil, validation.ErrInvalid},
		{"wrong type", []Operation{{"emails", raw("x")}}, nil, validation.ErrInvalid},
		{"remove the name", []Operation{{"userName", nil}}, nil, validation.ErrInvalid},
		{"bad path syntax", []Operation{{"name..x", raw("x")}}, nil, validation.ErrInvalid},
		{"taken name", []Operation{{"userName", raw("SAM")}}, nil, ErrConflict},
		{"no operations", nil, nil, validation.ErrInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newService(t)
			u, err := s.CreateUser(ctx, "by", Attributes{UserName: "kate", Title: "t", Name: &Name{GivenName: "K", FamilyName: "Smith"}, Emails: []Email{{Value: "kate@example.com"}}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.CreateUser(ctx, "by", Attributes{UserName: "sam"}); err != nil {
				t.Fatal(err)
			}
			got, err := s.UpdateUser(ctx, "by2", u.UserID, nil, tc.ops)
			if tc.want != nil {
				if !errors.Is(err, tc.want) {
					t.Fatalf("got %v, want %v", err, tc.want)
				}
				// Nothing changed.
				if again, _ := s.DescribeUser(ctx, u.UserID); again.Revision != 1 || again.UserName != "kate" {
					t.Fatalf("a refused update changed the user: %+v", again)
				}
				return
			}
			if err != nil || !tc.check(got) || got.Revision != 2 || got.UpdatedBy != "by2" {
				t.Fatalf("got %+v, %v", got, err)
			}
			// The indexes follow the record.
			if id, err := s.UserIDByName(ctx, got.UserName); err != nil || id != u.UserID {
				t.Fatalf("by name %s: %v %v", got.UserName, id, err)
			}
			if got.UserName != "kate" {
				if _, err := s.UserIDByName(ctx, "kate"); !errors.Is(err, ErrNotFound) {
					t.Fatalf("old name still indexed: %v", err)
				}
			}
		})
	}
}

func TestRevisionAndNotFound(t *testing.T) {
	t.Parallel()
	s := newService(t)
	ctx := context.Background()
	u, _ := s.CreateUser(ctx, "by", Attributes{UserName: "kate"})
	stale := "7"
	_, err := s.UpdateUser(ctx, "by", u.UserID, &stale, []Operation{{"title", raw("x")}})
	if !errors.Is(err, ErrConflict) || members(err)["Reason"] != ReasonConcurrent {
		t.Fatalf("stale revision: %v %v", err, members(err))
	}
	if err := s.DeleteUser(ctx, u.UserID, &stale); !errors.Is(err, ErrConflict) {
		t.Fatalf("stale delete: %v", err)
	}
	cur := u.RevisionString()
	if err := s.DeleteUser(ctx, u.UserID, &cur); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"describe": func() error { _, err := s.DescribeUser(ctx, u.UserID); return err }(),
		"delete":   s.DeleteUser(ctx, u.UserID, nil),
		"group":    func() error { _, err := s.DescribeGroup(ctx, u.UserID); return err }(),
		"member":   func() error { _, err := s.DescribeMembership(ctx, u.UserID); return err }(),
		"store":    s.CheckStore("d-0000000000"),
	} {
		want := map[string]string{"describe": TypeUser, "delete": TypeUser, "group": TypeGroup, "member": TypeGroupMembership, "store": TypeIdentityStore}[name]
		if !errors.Is(err, ErrNotFound) || members(err)["ResourceType"] != want {
			t.Errorf("%s: %v %v", name, err, members(err))
		}
	}
}

func TestMembershipsBothWays(t *testing.T) {
	t.Parallel()
	for _, versioned := range []bool{false, true} {
		t.Run(fmt.Sprintf("versioned=%v", versioned), func(t *testing.T) {
			t.Parallel()
			s := newService(t)
			if versioned { // UserWithGroups keeps its answers
				s.Versions = s.Store.(store.Versioned)
			}
			testMembershipsBothWays(t, s)
		})
	}
}

func testMembershipsBothWays(t *testing.T, s *Service) {
	ctx := context.Background()
	kate, _ := s.CreateUser(ctx, "by", Attributes{UserName: "kate"})
	sam, _ := s.CreateUser(ctx, "by", Attributes{UserName: "sam"})
	a, _ := s.CreateGroup(ctx, "by", GroupAttributes{DisplayName: "analysts"})
	e, _ := s.CreateGroup(ctx, "by", GroupAttributes{DisplayName: "engineers"})
	if _, err := s.CreateGroup(ctx, "by", GroupAttributes{DisplayName: "ANALYSTS"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("duplicate group name: %v", err)
	}
	m1, err := s.CreateMembership(ctx, "by", a.GroupID, kate.UserID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateMembership(ctx, "by", e.GroupID, kate.UserID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateMembership(ctx, "by", a.GroupID, sam.UserID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateMembership(ctx, "by", a.GroupID, kate.UserID); !errors.Is(err, ErrConflict) {
		t.Fatalf("duplicate membership: %v", err)
	}
	_, groups, err := s.UserWithGroups(ctx, kate.UserID)
	if err != nil || !slices.Equal(groups, []string{"analysts", "engineers"}) {
		t.Fatalf("kate's groups %v %v", groups, err)
	}
	// Each caller gets groups of its own (a kept answer included).
	groups[0] = "changed by a caller"
	if _, groups, _ = s.UserWithGroups(ctx, kate.UserID); !slices.Equal(groups, []string{"analysts", "engineers"}) {
		t.Fatalf("kate's groups after a caller changed its copy: %v", groups)
	}
	in, err := s.IsMemberInGroups(ctx, sam.UserID, []string{a.GroupID, e.GroupID})
	if err != nil || !slices.Equal(in, []bool{true, false}) {
		t.Fatalf("IsMemberInGroups %v %v", in, err)
	}
	ms, _, err := s.ListMemberships(ctx, a.GroupID, Page{})
	if err != nil || len(ms) != 2 {
		t.Fatalf("analysts' members %v %v", ms, err)
	}
	// A group renamed shows under its new name at once.
	if _, err := s.UpdateGroup(ctx, "by", e.GroupID, nil, []Operation{{"displayName", raw("platform")}}); err != nil {
		t.Fatal(err)
	}
	if _, groups, _ = s.UserWithGroups(ctx, kate.UserID); !slices.Equal(groups, []string{"analysts", "platform"}) {
		t.Fatalf("after rename %v", groups)
	}
	// Deleting the membership, then the user, leaves no index behind.
	if err := s.DeleteMembership(ctx, m1.MembershipID); err != nil {
		t.Fatal(err)
	}
	if _, groups, _ = s.UserWithGroups(ctx, kate.UserID); !slices.Equal(groups, []string{"platform"}) {
		t.Fatalf("after removal %v", groups)
	}
	if err := s.DeleteUser(ctx, kate.UserID, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.UserWithGroups(ctx, kate.UserID); !errors.Is(err, ErrNoSuchUser) {
		t.Fatalf("deleted user: %v", err)
	}
	var left []string
	s.Store.View(ctx, func(r store.Reader) error {
		return r.Scan(s.prefix(), "", func(k string, _ []byte) (bool, error) {
			if regexp.MustCompile(kate.UserID).MatchString(k) {
				left = append(left, k)
			}
			return true, nil
		})
	})
	if len(left) != 0 {
		t.Fatalf("keys of the deleted user remain: %v", left)
	}
}

func TestPaging(t *testing.T) {
	t.Parallel()
	s := newService(t)
	ctx := context.Background()
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		if _, err := s.CreateUser(ctx, "by", Attributes{UserName: n}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	tok := ""
	for range 10 {
		users, next, err := s.ListUsers(ctx, nil, Page{MaxResults: 2, NextToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range users {
			got = append(got, u.UserName)
		}
		if tok = next; tok == "" {
			break
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"a", "b", "c", "d", "e"}) {
		t.Fatalf("pages %v", got)
	}
	_, first, _ := s.ListUsers(ctx, nil, Page{MaxResults: 1})
	for name, tok := range map[string]string{"garbage": "x", "another list's": mustToken(t, s, "ListGroups", s.prefix()+"g/")} {
		if _, _, err := s.ListUsers(ctx, nil, Page{NextToken: tok}); !errors.Is(err, validation.ErrInvalid) {
			t.Errorf("%s token: %v", name, err)
		}
	}
	// A user's page token is no group member list's.
	g, _ := s.CreateGroup(ctx, "by", GroupAttributes{DisplayName: "g"})
	if _, _, err := s.ListMemberships(ctx, g.GroupID, Page{NextToken: first}); !errors.Is(err, validation.ErrInvalid) {
		t.Errorf("ListUsers token on ListGroupMemberships: %v", err)
	}
}

func mustToken(t *testing.T, s *Service, op, prefix string) string {
	tok, err := s.Pages.New(op, s.StoreID, prefix, prefix+"x")
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestApplyConfig: the config wins for what it names, its removed objects
// go, and what the API made stays (BEHAVIOUR 16.5).
func TestApplyConfig(t *testing.T) {
	t.Parallel()
	s := newService(t)
	mk := testKey(t)
	ctx := context.Background()
	users := []config.DirectoryUser{{UserName: "alice", DisplayName: "Alice", Emails: []string{"alice@example.com"}}, {UserName: "bob"}}
	groups := []config.DirectoryGroup{{Name: "analysts", Members: []string{"alice"}}, {Name: "engineers", Members: []string{"bob"}}}
	if err := s.ApplyConfig(ctx, mk, users, groups); err != nil {
		t.Fatal(err)
	}
	aliceID := ConfigUserID(mk, testStore, "alice")
	// The API changes alice, adds dave and puts him in analysts, and makes
	// a user under a name the config will declare.
	if _, err := s.UpdateUser(ctx, "by", aliceID, nil, []Operation{{"displayName", raw("Changed")}, {"title", raw("Lead")}}); err != nil {
		t.Fatal(err)
	}
	dave, _ := s.CreateUser(ctx, "by", Attributes{UserName: "dave"})
	carolAPI, _ := s.CreateUser(ctx, "by", Attributes{UserName: "carol"})
	analysts, _ := s.GroupIDByName(ctx, "analysts")
	if _, err := s.CreateMembership(ctx, "by", analysts, dave.UserID); err != nil {
		t.Fatal(err)
	}
	// Restart with bob and engineers gone, carol declared.
	users = []config.DirectoryUser{users[0], {UserName: "carol"}}
	groups = groups[:1]
	if err := s.ApplyConfig(ctx, mk, users, groups); err != nil {
		t.Fatal(err)
	}
	alice, groupsOf, err := s.UserWithGroups(ctx, aliceID)
	if err != nil || alice.DisplayName != "Alice" || alice.Title != "Lead" || !slices.Equal(groupsOf, []string{"analysts"}) {
		t.Fatalf("alice %+v %v %v", alice, groupsOf, err)
	}
	if _, _, err := s.UserWithGroups(ctx, ConfigUserID(mk, testStore, "bob")); !errors.Is(err, ErrNoSuchUser) {
		t.Fatalf("bob, removed from the config: %v", err)
	}
	if _, err := s.GroupIDByName(ctx, "engineers"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("engineers, removed from the config: %v", err)
	}
	if _, groupsOf, err := s.UserWithGroups(ctx, dave.UserID); err != nil || !slices.Equal(groupsOf, []string{"analysts"}) {
		t.Fatalf("dave, made by API: %v %v", groupsOf, err)
	}
	if id, err := s.UserIDByName(ctx, "carol"); err != nil || id != ConfigUserID(mk, testStore, "carol") || id == carolAPI.UserID {
		t.Fatalf("carol: %s %v (API's %s)", id, err, carolAPI.UserID)
	}
	// Applying the same config again changes nothing.
	before, _ := s.DescribeUser(ctx, aliceID)
	if err := s.ApplyConfig(ctx, mk, users, groups); err != nil {
		t.Fatal(err)
	}
	if after, _ := s.DescribeUser(ctx, aliceID); after.Revision != before.Revision {
		t.Fatalf("a second apply rewrote alice: %d → %d", before.Revision, after.Revision)
	}
}

// TestFindUserAmbiguous: an address two users share (only a config the
// validation would refuse can make it) is refused, never resolved.
func TestFindUserAmbiguous(t *testing.T) {
	t.Parallel()
	s := newService(t)
	ctx := context.Background()
	if err := s.ApplyConfig(ctx, testKey(t), []config.DirectoryUser{
		{UserName: "kate", Emails: []string{"kate@example.com"}}, {UserName: "kate2", Emails: []string{"KATE@example.com"}},
	}, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.FindUser(ctx, "emails.value", "Kate@Example.com"); !errors.Is(err, ErrAmbiguousUser) {
		t.Fatalf("got %v", err)
	}
	if _, err := s.UserIDByEmail(ctx, "kate@example.com"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetUserId of a shared address: %v", err)
	}
}

// TestEmailIndexBoundaries: one address's index entries never answer for
// another that starts with it.
func TestEmailIndexBoundaries(t *testing.T) {
	t.Parallel()
	s := newService(t)
	ctx := context.Background()
	u, err := s.CreateUser(ctx, "by", Attributes{UserName: "slash", Emails: []Email{{Value: "a/b@example.com"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"a", "a/b", "a/b@example.co"} {
		if _, _, err := s.FindUser(ctx, "emails.value", v); !errors.Is(err, ErrNoSuchUser) {
			t.Errorf("FindUser(%q): %v", v, err)
		}
	}
	if got, _, err := s.FindUser(ctx, "emails.value", "A/B@example.com"); err != nil || got.UserID != u.UserID {
		t.Fatalf("the address itself: %v %v", got.UserID, err)
	}
	if _, err := s.CreateUser(ctx, "by", Attributes{UserName: "a", Emails: []Email{{Value: "a"}}}); err != nil {
		t.Fatalf("an address that is a prefix of another's is not a duplicate: %v", err)
	}
}
