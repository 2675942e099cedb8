package config

import (
	"strings"
	"testing"
)

// TestSessionLimits: the gateway's session limits default to 20 per user
// (per workgroup) and 500 per workgroup, and come from the file, then
// IDCGATE_PG_MAX_SESSIONS_PER_*, then --pg-max-sessions-per-*; a value
// that is not a positive number is refused.
func TestSessionLimits(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name        string
		yaml        string
		env, flags  map[string]string
		user, wg    int
		wantErr     string
		wantInvalid bool
	}{
		{name: "defaults", user: 20, wg: 500},
		{name: "file", yaml: "gateway: {maxSessionsPerUser: 3, maxConnectionsPerWorkgroup: 7}", user: 3, wg: 7},
		{name: "env over file", yaml: "gateway: {maxSessionsPerUser: 3}",
			env: map[string]string{"IDCGATE_PG_MAX_SESSIONS_PER_USER": "4", "IDCGATE_PG_MAX_SESSIONS_PER_WORKGROUP": "9"}, user: 4, wg: 9},
		{name: "flag over env", env: map[string]string{"IDCGATE_PG_MAX_SESSIONS_PER_USER": "4"},
			flags: map[string]string{"pg-max-sessions-per-user": "5"}, user: 5, wg: 500},
		{name: "not a number", flags: map[string]string{"pg-max-sessions-per-user": "many"}, wantErr: "pg-max-sessions-per-user must be a positive whole number"},
		{name: "zero flag", env: map[string]string{"IDCGATE_PG_MAX_SESSIONS_PER_WORKGROUP": "0"}, wantErr: "IDCGATE_PG_MAX_SESSIONS_PER_WORKGROUP"},
		{name: "negative in the file", yaml: "gateway: {maxSessionsPerUser: -1}", wantInvalid: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := Parse([]byte(tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			err = c.Override(func(k string) string { return tc.env[k] }, tc.flags)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Override: %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c.ApplyDefaults()
			err = c.Validate()
			if tc.wantInvalid {
				if err == nil || !strings.Contains(err.Error(), "maxSessionsPerUser") {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Gateway.MaxSessionsPerUser != tc.user || c.Gateway.MaxConnsPerWorkgroup != tc.wg {
				t.Fatalf("limits %d per user, %d per workgroup; want %d, %d", c.Gateway.MaxSessionsPerUser, c.Gateway.MaxConnsPerWorkgroup, tc.user, tc.wg)
			}
		})
	}
}
