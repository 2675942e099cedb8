package identitystore

import (
	"bytes"
	"encoding/json"
	"reflect"
	"regexp"
	"strings"

	"github.com/idcgate/idcgate/internal/apierror"
	"github.com/idcgate/idcgate/internal/validation"
)

// The Identity Store model's patterns.
const (
	userNamePattern   = `[\p{L}\p{M}\p{S}\p{N}\p{P}]+`
	sensitivePattern  = `[\p{L}\p{M}\p{S}\p{N}\p{P}\t\n\r  　]+`
	groupNamePattern  = `[\p{L}\p{M}\p{S}\p{N}\p{P}\t\n\r  ]+`
	attrPathPattern   = `(?:\p{L}+:\p{L}+:\p{L}+(?:\.\p{L}+){0,3}|\p{L}+(?:\.\p{L}+){0,2})`
	extensionPattern  = `aws:identitystore:[a-z]{1,20}`
	storeIDPattern    = `d-[0-9a-f]{10}$|^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`
	resourceIDPattern = `([0-9a-f]{10}-|)[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}`
	externalIDPattern = `[\p{L}\p{M}\p{S}\p{N}\p{P}]+`
)

var (
	userNameRe   = regexp.MustCompile(`^` + userNamePattern + `$`)
	sensitiveRe  = regexp.MustCompile(`^` + sensitivePattern + `$`)
	groupNameRe  = regexp.MustCompile(`^` + groupNamePattern + `$`)
	attrPathRe   = regexp.MustCompile(`^` + attrPathPattern + `$`)
	extensionRe  = regexp.MustCompile(`^` + extensionPattern + `$`)
	storeIDRe    = regexp.MustCompile(`^(?:d-[0-9a-f]{10}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$`)
	resourceIDRe = regexp.MustCompile(`^` + resourceIDPattern + `$`)
	externalIDRe = regexp.MustCompile(`^` + externalIDPattern + `$`)
)

// Operation is one of UpdateUser's or UpdateGroup's: the attribute at
// AttributePath becomes AttributeValue, or is removed when the value is
// absent or null.
type Operation struct {
	AttributePath  string
	AttributeValue json.RawMessage
}

// userPaths and groupPaths are the attributes an operation may name, by
// their paths lowered, to their stored member names.
var userPaths = paths("UserName", "DisplayName", "NickName", "ProfileUrl", "UserType", "Title", "PreferredLanguage",
	"Locale", "Timezone", "Website", "Birthdate", "Emails", "Addresses", "PhoneNumbers", "Photos", "Roles",
	"Name", "Name.Formatted", "Name.FamilyName", "Name.GivenName", "Name.MiddleName", "Name.HonorificPrefix", "Name.HonorificSuffix")

var groupPaths = paths("DisplayName", "Description")

func paths(names ...string) map[string][]string {
	m := make(map[string][]string, len(names))
	for _, n := range names {
		m[strings.ToLower(n)] = strings.Split(n, ".")
	}
	return m
}

// ValidateStoreID, ValidateResourceID and ValidateExternalID hold ids to
// the model's patterns; path names the member in the message.
func ValidateStoreID(v *validation.Collector, path string, id *string) {
	if v.Required(path, id != nil) && v.Length(path, *id, 1, 36) {
		v.Pattern(path, *id, storeIDRe, storeIDPattern)
	}
}

func ValidateResourceID(v *validation.Collector, path string, id *string) {
	if v.Required(path, id != nil) && v.Length(path, *id, 1, 47) {
		v.Pattern(path, *id, resourceIDRe, resourceIDPattern)
	}
}

func ValidateExternalID(v *validation.Collector, path string, x ExternalID) {
	if v.Length(path+".issuer", x.Issuer, 1, 256) {
		v.Pattern(path+".issuer", x.Issuer, externalIDRe, externalIDPattern)
	}
	if v.Length(path+".id", x.ID, 1, 256) {
		v.Pattern(path+".id", x.ID, externalIDRe, externalIDPattern)
	}
}

func validateOps(ops []Operation) error {
	var v validation.Collector
	if len(ops) < 1 || len(ops) > 100 {
		v.Add("operations", nil, "Member must have length between 1 and 100")
	}
	for _, op := range ops {
		if v.Required("operations.member.attributePath", op.AttributePath != "") && v.Length("operations.member.attributePath", op.AttributePath, 1, 255) {
			v.Pattern("operations.member.attributePath", op.AttributePath, attrPathRe, attrPathPattern)
		}
	}
	return v.Err()
}

// applyOps sets or removes, in cur's JSON form, the attribute each
// operation names, and decodes the result into out: a value of the wrong
// shape is a ValidationException naming the path.
func applyOps(cur, out any, ops []Operation, allowed map[string][]string) error {
	b, err := json.Marshal(cur)
	if err != nil {
		return err
	}
	doc := map[string]any{}
	if err := json.Unmarshal(b, &doc); err != nil {
		return err
	}
	for _, op := range ops {
		path, ok := allowed[strings.ToLower(op.AttributePath)]
		if !ok {
			return validation.Newf("Invalid attribute path %s: it is not an attribute that can be updated.", apierror.Printable(op.AttributePath))
		}
		remove := len(bytes.TrimSpace(op.AttributeValue)) == 0 || bytes.Equal(bytes.TrimSpace(op.AttributeValue), []byte("null"))
		var val any
		if !remove {
			if err := json.Unmarshal(op.AttributeValue, &val); err != nil {
				return validation.Newf("Invalid value for attribute %s.", apierror.Printable(op.AttributePath))
			}
		}
		m := doc
		for i, name := range path {
			if i == len(path)-1 {
				if remove {
					delete(m, name)
				} else {
					m[name] = val
				}
				break
			}
			sub, _ := m[name].(map[string]any)
			if sub == nil {
				if remove {
					break
				}
				sub = map[string]any{}
				m[name] = sub
			}
			m = sub
		}
		// A value must decode on its own: checked per operation so the
		// message names the path.
		if !remove {
			probe, _ := json.Marshal(doc)
			if err := strictDecode(probe, reflect.New(reflect.TypeOf(out).Elem()).Interface()); err != nil {
				return validation.Newf("Invalid value for attribute %s.", apierror.Printable(op.AttributePath))
			}
		}
	}
	b, err = json.Marshal(doc)
	if err != nil {
		return err
	}
	return strictDecode(b, out)
}

func strictDecode(b []byte, out any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	return d.Decode(out)
}
