package identitycenter

import (
	"strings"
	"testing"
)

// SetConditionKeys is ConditionKeys as iam.Context.Set would keep them:
// the same keys, lower-cased, each with its one value.
func TestSetConditionKeysIsConditionKeysLowerCased(t *testing.T) {
	t.Parallel()
	c := &Context{UserID: "u-1", IdentityStoreArn: "arn:aws:identitystore::1:identitystore/d-1", InstanceArn: "arn:aws:sso:::instance/ssoins-1",
		ApplicationArn: "arn:aws:sso::1:application/ssoins-1/apl-1", CredentialID: "cred-1"}
	got := map[string][]string{}
	c.SetConditionKeys(got)
	want := c.ConditionKeys()
	if len(got) != len(want) {
		t.Fatalf("SetConditionKeys set %d keys, ConditionKeys has %d: %v", len(got), len(want), got)
	}
	for k, v := range want {
		if g := got[strings.ToLower(k)]; len(g) != 1 || g[0] != v {
			t.Errorf("%s = %q, want [%q]", k, g, v)
		}
	}
	// Each value is a slice of its own: appending to one changes no other.
	_ = append(got["identitystore:userid"], "x")
	if got["identitystore:identitystorearn"][0] != c.IdentityStoreArn {
		t.Fatal("values share their backing array beyond their length")
	}
}
