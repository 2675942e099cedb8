package dbuser

import (
	"testing"

	"github.com/idcgate/idcgate/internal/auth"
)

func TestFor(t *testing.T) {
	for _, tc := range []struct {
		p    auth.Principal
		want User
	}{
		{auth.Principal{Kind: auth.KindUser, Account: "123456789012", Name: "app", UserID: "AIDAEXAMPLE"}, User{"IAM", "app", "AIDAEXAMPLE"}},
		{auth.Principal{Kind: auth.KindAssumedRole, Account: "123456789012", Name: "analyst", UserID: "AROAEXAMPLE:session-1"}, User{"IAMR", "analyst", "AROAEXAMPLE"}},
		{auth.Principal{Kind: auth.KindRoot, Account: "123456789012", UserID: "123456789012"}, User{"IAM", "root", "123456789012"}},
	} {
		if got := For(&tc.p); got != tc.want {
			t.Errorf("For(%v) = %+v, want %+v", tc.p.Kind, got, tc.want)
		}
	}
	if r := (User{"IAMR", "analyst", "x"}).Role(); r != "IAMR:analyst" {
		t.Errorf("Role() = %q", r)
	}
}
