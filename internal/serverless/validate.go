package serverless

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/idcgate/idcgate/internal/validation"
)

const namePattern = "^[a-z0-9-]+$"

var (
	nameRe     = regexp.MustCompile(namePattern)
	roleArnRe  = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$`)
	dbNameRe   = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_]*$`)
	userNameRe = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_+.@-]*$`)
)

// MaxTags is the most tags a resource may have.
const MaxTags = 50

// Workgroup configuration parameters and their defaults, as GetWorkgroup
// shows them on a new workgroup.
var defaultConfigParameters = []ConfigParameter{
	{"auto_mv", "true"},
	{"datestyle", "ISO, MDY"},
	{"enable_case_sensitive_identifier", "false"},
	{"enable_user_activity_logging", "true"},
	{"query_group", "default"},
	{"require_ssl", "true"},
	{"search_path", "$user, public"},
	{"use_fips_ssl", "false"},
	{"max_query_execution_time", "14400"},
}

func knownParameter(key string) bool {
	for _, p := range defaultConfigParameters {
		if p.ParameterKey == key {
			return true
		}
	}
	return false
}

func checkName(v *validation.Collector, path string, p *string) {
	if !v.Required(path, p != nil) {
		return
	}
	v.LengthAndPattern(path, *p, 3, 64, nameRe, namePattern)
}

func checkOptName(v *validation.Collector, path string, p *string) {
	if p != nil {
		v.LengthAndPattern(path, *p, 3, 64, nameRe, namePattern)
	}
}

// checkPassword applies Redshift's admin password rules; the value is
// never echoed in the message.
func checkPassword(v *validation.Collector, p *string) {
	if p == nil {
		return
	}
	pw := *p
	const masked = "***"
	if n := len(pw); n < 8 || n > 64 {
		v.Add("adminUserPassword", masked, "Member must have length between 8 and 64")
		return
	}
	var upper, lower, digit bool
	for _, c := range pw {
		switch {
		case c < 0x21 || c > 0x7e || strings.ContainsRune(`'"\/@`, c):
			v.Add("adminUserPassword", masked, "Member must contain only printable ASCII characters other than ' \" \\ / @ and space")
			return
		case 'A' <= c && c <= 'Z':
			upper = true
		case 'a' <= c && c <= 'z':
			lower = true
		case '0' <= c && c <= '9':
			digit = true
		}
	}
	if !upper || !lower || !digit {
		v.Add("adminUserPassword", masked, "Member must contain at least one uppercase letter, one lowercase letter and one number")
	}
}

func checkNamespaceCommon(v *validation.Collector, adminUser, password *string, manage *bool, roles []string, defaultRole *string, logs []string) {
	if adminUser != nil {
		v.LengthAndPattern("adminUsername", *adminUser, 1, 127, userNameRe, userNameRe.String())
	}
	checkPassword(v, password)
	if password != nil && manage != nil && *manage {
		v.Add("adminUserPassword", "***", "Member must not be set when manageAdminPassword is true")
	}
	for i, r := range roles {
		v.Pattern(fmt.Sprintf("iamRoles.%d.member", i+1), r, roleArnRe, roleArnRe.String())
	}
	if defaultRole != nil {
		v.Pattern("defaultIamRoleArn", *defaultRole, roleArnRe, roleArnRe.String())
	}
	for i, l := range logs {
		v.OneOf(fmt.Sprintf("logExports.%d.member", i+1), l, "useractivitylog", "userlog", "connectionlog")
	}
}

// AWS's tag rules: at most 200 in a request (the model's TagList; more
// than MaxTags on one resource is TooManyTagsException later), keys of 1 to
// 128 and values of up to 256 letters, digits, spaces and _ . : / = + - @.
// The pattern keeps control characters and invalid UTF-8 out of what is
// stored, shown by every Get/List, and used as condition keys.
const (
	maxTagList = 200
	tagPattern = `^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$`
)

var tagRe = regexp.MustCompile(tagPattern)

func checkTags(v *validation.Collector, tags []Tag) {
	// The count is checked first and alone: the duplicate check below is
	// quadratic.
	if !checkTagCount(v, "tags", len(tags)) {
		return
	}
	for i, t := range tags {
		path := fmt.Sprintf("tags.%d.member.key", i+1)
		checkTagKey(v, path, t.Key)
		v.LengthAndPattern(fmt.Sprintf("tags.%d.member.value", i+1), t.Value, 0, 256, tagRe, tagPattern)
		for _, earlier := range tags[:i] {
			if sameTagKey(earlier.Key, t.Key) {
				v.Add(path, t.Key, "Member must not repeat an earlier tag key (keys are compared ignoring case)")
				break
			}
		}
	}
}

// checkTagCount holds a tag list (or tag key list) to the model's 200.
func checkTagCount(v *validation.Collector, path string, n int) bool {
	if n > maxTagList {
		v.Add(path, fmt.Sprint(n), fmt.Sprintf("Member must have length less than or equal to %d", maxTagList))
		return false
	}
	return true
}

// reservedTagPrefix starts the tag keys AWS keeps for itself: no request
// may add or remove one (AWS compares the prefix ignoring case).
const reservedTagPrefix = "aws:"

// checkTagKey holds a tag key to the model (1 to 128 characters of the tag
// pattern), then refuses the reserved prefix.
func checkTagKey(v *validation.Collector, path, key string) {
	if v.LengthAndPattern(path, key, 1, 128, tagRe, tagPattern) &&
		len(key) >= len(reservedTagPrefix) && strings.EqualFold(key[:len(reservedTagPrefix)], reservedTagPrefix) {
		v.Add(path, key, "Member must not start with the reserved prefix aws:")
	}
}

// checkTagKeys validates UntagResource's tagKeys.
func checkTagKeys(v *validation.Collector, keys []string) {
	if !checkTagCount(v, "tagKeys", len(keys)) {
		return
	}
	for i, k := range keys {
		checkTagKey(v, fmt.Sprintf("tagKeys.%d.member", i+1), k)
	}
}

func checkCapacity(v *validation.Collector, path string, c *int32, min, max int32) {
	if c == nil {
		return
	}
	if v.Range(path, int64(*c), int64(min), int64(max)) && *c%8 != 0 {
		v.Add(path, *c, "Member must be a multiple of 8")
	}
}

func checkPort(v *validation.Collector, p *int32) {
	if p == nil {
		return
	}
	if !(*p >= 5431 && *p <= 5455 || *p >= 8191 && *p <= 8215) {
		v.Add("port", *p, "Member must be between 5431 and 5455 or between 8191 and 8215")
	}
}

func checkWorkgroupCommon(v *validation.Collector, base, max, port *int32, params []ConfigParameter, track, ipType *string) {
	checkCapacity(v, "baseCapacity", base, 8, 1024)
	checkCapacity(v, "maxCapacity", max, 8, 5632)
	checkPort(v, port)
	for i, p := range params {
		path := fmt.Sprintf("configParameters.%d.member.parameterKey", i+1)
		if !knownParameter(p.ParameterKey) {
			keys := make([]string, len(defaultConfigParameters))
			for j, d := range defaultConfigParameters {
				keys[j] = d.ParameterKey
			}
			v.OneOf(path, p.ParameterKey, keys...)
		}
	}
	if track != nil {
		v.OneOf("trackName", *track, "current", "trailing")
	}
	if ipType != nil {
		v.OneOf("ipAddressType", *ipType, "ipv4", "dualstack")
	}
}

func checkMaxResults(v *validation.Collector, m *int32) int {
	if m == nil {
		return 100
	}
	v.Range("maxResults", int64(*m), 1, 100)
	return int(*m)
}
