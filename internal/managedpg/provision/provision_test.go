package provision

import (
	"slices"
	"testing"

	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/serverless"
)

func TestGroupRoles(t *testing.T) {
	t.Parallel()
	groups := []string{"analysts", "engineers"}
	for _, tc := range []struct {
		name       string
		groups     []string
		namespaces []string
		want       []string
	}{
		{"no groups", nil, []string{"AWSIDC"}, nil},
		{"one namespace", groups, []string{"AWSIDC"}, []string{"AWSIDC:analysts", "AWSIDC:engineers"}},
		{"each namespace once, sorted", groups, []string{"b", "AWSIDC", "b"}, []string{"AWSIDC:analysts", "AWSIDC:engineers", "b:analysts", "b:engineers"}},
		{"no namespace", groups, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := GroupRoles(tc.groups, tc.namespaces...); !slices.Equal(got, tc.want) {
				t.Fatalf("GroupRoles(%v) = %v, want %v", tc.namespaces, got, tc.want)
			}
		})
	}
}

func TestSeed(t *testing.T) {
	t.Parallel()
	cfg := &config.Config{Accounts: []config.Account{
		{ID: "111111111111", Namespaces: []config.Namespace{{Name: "demo", SeedSQL: "CREATE TABLE a ()"}}},
		{ID: "222222222222", Namespaces: []config.Namespace{{Name: "demo", SeedSQL: "CREATE TABLE b ()"}}},
	}}
	for _, tc := range []struct {
		account, name, want string
	}{
		{"111111111111", "demo", "CREATE TABLE a ()"},
		{"222222222222", "demo", "CREATE TABLE b ()"},
		{"111111111111", "made-by-api", ""},
		{"333333333333", "demo", ""},
	} {
		if got := Seed(cfg, serverless.Scope{Account: tc.account, Region: "us-east-1"}, tc.name); got != tc.want {
			t.Errorf("Seed(%s, %s) = %q, want %q", tc.account, tc.name, got, tc.want)
		}
	}
}
