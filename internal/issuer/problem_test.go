package issuer

import (
	"errors"
	"fmt"
	"testing"

	"github.com/idcgate/idcgate/internal/authtoken"
	"github.com/idcgate/idcgate/internal/keyring"
)

// TestProblem: InspectToken's words for each refusal, found with errors.Is
// however Open wrapped it, never by reading the error's text.
func TestProblem(t *testing.T) {
	cases := []struct {
		err  error
		want string
		ok   bool
	}{
		{authtoken.ErrExpired, "expired", true},
		{authtoken.ErrWrongRegion, "issued in another region", true},
		{authtoken.ErrWrongAccount, "issued by another account or region", true},
		{authtoken.ErrForeignWorkgroup, "not issued for this workgroup", true},
		{authtoken.ErrTampered, "authentication failed", true},
		{fmt.Errorf("%w: %w", authtoken.ErrKeyUnavailable, keyring.ErrRetired), "workgroup key version unavailable: keyring: key version retired", true},
		{fmt.Errorf("%w: %w", authtoken.ErrKeyUnavailable, keyring.ErrNoVersion), "workgroup key version unavailable: keyring: no such key version", true},
		{fmt.Errorf("%w: %w", authtoken.ErrKeyUnavailable, keyring.ErrNoKeyring), "workgroup key version unavailable: keyring: no keys for this workgroup", true},
		{fmt.Errorf("%w: %w", authtoken.ErrKeyUnavailable, errors.New("disk on fire")), "workgroup key version unavailable", true},
		{authtoken.ErrTruncated, "truncated", true},
		{authtoken.ErrMalformed, "malformed", true},
		{errors.New("authtoken: expired"), "", false},
	}
	for _, tc := range cases {
		if got, ok := Problem(tc.err); got != tc.want || ok != tc.ok {
			t.Errorf("Problem(%v) = %q, %v; want %q, %v", tc.err, got, ok, tc.want, tc.ok)
		}
	}
	// The words are the sentinels' own, as InspectToken answered before.
	for _, p := range problems[:5] {
		if "authtoken: "+p.Problem != p.Sentinel.Error() {
			t.Errorf("%q does not name %v", p.Problem, p.Sentinel)
		}
	}
}
