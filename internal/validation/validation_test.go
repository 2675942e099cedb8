package validation

import (
	"errors"
	"regexp"
	"testing"
)

func TestCollectorMessages(t *testing.T) {
	re := regexp.MustCompile(`^[a-z0-9-]+$`)
	cases := []struct {
		name string
		fill func(c *Collector)
		want string
	}{
		{"none", func(c *Collector) {}, ""},
		{"null", func(c *Collector) { c.Required("workgroupName", false) },
			"1 validation error detected: Value null at 'workgroupName' failed to satisfy constraint: Member must not be null"},
		{"too short", func(c *Collector) { c.Length("workgroupNames.1.member", "ab", 3, 64) },
			"1 validation error detected: Value 'ab' at 'workgroupNames.1.member' failed to satisfy constraint: Member must have length greater than or equal to 3"},
		{"secret too short", func(c *Collector) { c.SecretLength("webIdentityToken", "abc", 4, 20000) },
			"1 validation error detected: Value '***' at 'webIdentityToken' failed to satisfy constraint: Member must have length greater than or equal to 4"},
		{"secret too long", func(c *Collector) { c.SecretLength("password", "hunter22", 1, 4) },
			"1 validation error detected: Value '***' at 'password' failed to satisfy constraint: Member must have length less than or equal to 4"},
		{"secret fits", func(c *Collector) { c.SecretLength("password", "hunter22", 1, 8) }, ""},
		{"pattern and range", func(c *Collector) {
			c.Pattern("workgroupName", "A_B", re, "[a-z0-9-]+")
			c.Range("baseCapacity", 4, 8, 1024)
		}, "2 validation errors detected: Value 'A_B' at 'workgroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-z0-9-]+; Value '4' at 'baseCapacity' failed to satisfy constraint: Member must have value greater than or equal to 8"},
		{"items", func(c *Collector) { c.Items("workgroupNames", nil, 1, 20) },
			"1 validation error detected: Value '[]' at 'workgroupNames' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"enum", func(c *Collector) { c.OneOf("ipAddressType", "x", "ipv4", "dualstack") },
			"1 validation error detected: Value 'x' at 'ipAddressType' failed to satisfy constraint: Member must satisfy enum value set: [ipv4, dualstack]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var c Collector
			tc.fill(&c)
			err := c.Err()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("want nil, got %v", err)
				}
				return
			}
			if err == nil || err.Error() != tc.want {
				t.Fatalf("got %v\nwant %s", err, tc.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatal("error does not unwrap to ErrInvalid")
			}
		})
	}
}
