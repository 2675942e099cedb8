package serverless

import (
	"strings"

	"github.com/idcgate/idcgate/internal/iam"
	"github.com/idcgate/idcgate/internal/validation"
)

// Tag condition keys, as the Redshift Serverless service authorization
// reference lists them: CreateNamespace and CreateWorkgroup (and the
// TagResource they imply) take aws:RequestTag/${TagKey} and aws:TagKeys;
// actions on an existing namespace or workgroup take aws:ResourceTag/${TagKey}.
// The list actions take none.

// RequestTagContext returns the condition keys of a request carrying tags.
// It refuses, before anything is authorized, tags that do not validate —
// notably two tags whose keys differ only in case: condition keys are
// matched ignoring case, so both would land on one multi-valued key and a
// policy asking for one value would be satisfied by either.
func RequestTagContext(tags []Tag) (iam.Context, error) {
	var v validation.Collector
	checkTags(&v, tags)
	if err := v.Err(); err != nil {
		return nil, err
	}
	c := iam.Context{}
	if len(tags) == 0 {
		return c, nil // aws:TagKeys is absent, as in AWS, not empty
	}
	keys := make([]string, 0, len(tags))
	for _, t := range tags {
		c.Set("aws:RequestTag/"+t.Key, t.Value)
		keys = append(keys, t.Key)
	}
	c.Set("aws:TagKeys", keys...)
	return c, nil
}

// ResourceTagContext returns aws:ResourceTag/${TagKey} for an existing
// resource's tags.
func ResourceTagContext(tags []Tag) iam.Context {
	c := iam.Context{}
	for _, t := range tags {
		k := "aws:ResourceTag/" + t.Key
		vs, _ := c.Get(k)
		c.Set(k, append(vs, t.Value)...)
	}
	return c
}

// sameTagKey reports whether two tag keys name one condition key.
func sameTagKey(a, b string) bool { return strings.EqualFold(a, b) }
