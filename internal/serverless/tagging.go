package serverless

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/idcgate/idcgate/internal/apierror"
	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/validation"
)

// Resource types a tagging ARN can name (the ARN's resource segment). Only
// namespaces and workgroups exist here; an ARN of another Redshift
// Serverless type names nothing.
const (
	KindNamespace = "namespace"
	KindWorkgroup = "workgroup"
)

// TaggedResource is a namespace or workgroup found by its ARN: what the
// tagging operations authorize on and change.
type TaggedResource struct {
	Kind string // KindNamespace or KindWorkgroup
	Name string
	ID   string
	ARN  string
	Tags []Tag
}

// ParsedARN is a Redshift Serverless resource ARN split into its parts.
type ParsedARN struct {
	Scope Scope
	Kind  string // the resource type, e.g. "workgroup"
	ID    string // what follows the type and "/"
}

// ParseARN splits a Redshift Serverless ARN
// (arn:<partition>:redshift-serverless:<region>:<account>:<type>/<id>); anything
// else is a ValidationException naming member.
func ParseARN(member, arn string) (ParsedARN, error) {
	var v validation.Collector
	if !v.Length(member, arn, 1, 1011) {
		return ParsedARN{}, v.Err()
	}
	parts := strings.SplitN(arn, ":", 6)
	bad := func() (ParsedARN, error) {
		return ParsedARN{}, validation.Newf("Invalid ARN %s: expected arn:aws:redshift-serverless:<region>:<account>:<resource type>/<id>.", apierror.Printable(arn))
	}
	if len(parts) != 6 || parts[0] != "arn" || !strings.HasPrefix(parts[1], "aws") || parts[2] != "redshift-serverless" ||
		parts[3] == "" || !accountRe.MatchString(parts[4]) {
		return bad()
	}
	kind, id, ok := strings.Cut(parts[5], "/")
	if !ok || kind == "" || id == "" {
		return bad()
	}
	return ParsedARN{Scope: Scope{Account: parts[4], Region: parts[3]}, Kind: kind, ID: id}, nil
}

func resourceARNNotFound(arn string) error {
	return errorf(ErrNotFound, arn, "Resource %s not found.", apierror.Printable(arn))
}

// ResourceByARN finds the namespace or workgroup arn names in scope sc. An
// ARN of another account or region, of another resource type, or of a
// resource that does not exist is ResourceNotFoundException naming the ARN.
func (s *Service) ResourceByARN(ctx context.Context, sc Scope, arn string) (TaggedResource, error) {
	p, err := ParseARN("resourceArn", arn)
	if err != nil {
		return TaggedResource{}, err
	}
	if p.Scope != sc {
		return TaggedResource{}, resourceARNNotFound(arn)
	}
	var out *TaggedResource
	err = s.Store.View(ctx, func(r store.Reader) error {
		switch p.Kind {
		case KindNamespace:
			return namespaceResource.scan(s, r, sc, "", func(ns Namespace) (bool, error) {
				if ns.NamespaceArn == arn {
					out = &TaggedResource{Kind: KindNamespace, Name: ns.NamespaceName, ID: ns.NamespaceId, ARN: ns.NamespaceArn, Tags: ns.Tags}
				}
				return out == nil, nil
			})
		case KindWorkgroup:
			return workgroupResource.scan(s, r, sc, "", func(wg Workgroup) (bool, error) {
				if wg.WorkgroupArn == arn {
					out = &TaggedResource{Kind: KindWorkgroup, Name: wg.WorkgroupName, ID: wg.WorkgroupId, ARN: wg.WorkgroupArn, Tags: wg.Tags}
				}
				return out == nil, nil
			})
		}
		return nil
	})
	if err != nil {
		return TaggedResource{}, err
	}
	if out == nil {
		return TaggedResource{}, resourceARNNotFound(arn)
	}
	out.Tags = slices.Clone(out.Tags)
	return *out, nil
}

// CheckTagResource validates TagResource's tags (the model's rules, the
// reserved aws: prefix, no two keys differing only in case) before
// anything is authorized.
func CheckTagResource(tags []Tag) error {
	var v validation.Collector
	checkTags(&v, tags)
	return v.Err()
}

// CheckUntagResource validates UntagResource's tag keys.
func CheckUntagResource(keys []string) error {
	var v validation.Collector
	checkTagKeys(&v, keys)
	return v.Err()
}

// TagResource adds tags to the resource res (found by ResourceByARN and
// authorized), replacing the value of a key it already has. The resource is
// changed only if it is still the one with res.ID. More than MaxTags in
// all is TooManyTagsException; a new key that differs from one the resource
// has only in case is a ValidationException (ours: see RequestTagContext).
func (s *Service) TagResource(ctx context.Context, sc Scope, res TaggedResource, tags []Tag) ([]Tag, error) {
	if err := CheckTagResource(tags); err != nil {
		return nil, err
	}
	return s.retag(ctx, sc, res, func(have []Tag) ([]Tag, error) {
		out := slices.Clone(have)
		for _, t := range tags {
			i := slices.IndexFunc(out, func(h Tag) bool { return sameTagKey(h.Key, t.Key) })
			switch {
			case i < 0:
				out = append(out, t)
			case out[i].Key == t.Key:
				out[i].Value = t.Value
			default:
				return nil, validation.Newf("Tag key %s differs only in case from the resource's tag key %s; remove that tag first.", apierror.Printable(t.Key), apierror.Printable(out[i].Key))
			}
		}
		if len(out) > MaxTags {
			return nil, errorf(ErrTooManyTags, res.ARN, "Exceeded the number of tags allowed for resource %s: it would have %d tags, the maximum is %d.", res.ARN, len(out), MaxTags)
		}
		return out, nil
	})
}

// UntagResource removes the tags with these keys from res (see
// TagResource); keys it does not have are ignored.
func (s *Service) UntagResource(ctx context.Context, sc Scope, res TaggedResource, keys []string) ([]Tag, error) {
	if err := CheckUntagResource(keys); err != nil {
		return nil, err
	}
	return s.retag(ctx, sc, res, func(have []Tag) ([]Tag, error) {
		return slices.DeleteFunc(slices.Clone(have), func(t Tag) bool { return slices.Contains(keys, t.Key) }), nil
	})
}

// retag replaces res's tags, in one transaction, by what change makes of
// them, if the record is still the one with res.ID.
func (s *Service) retag(ctx context.Context, sc Scope, res TaggedResource, change func([]Tag) ([]Tag, error)) ([]Tag, error) {
	switch res.Kind {
	case KindNamespace:
		return retagRecord(ctx, s, namespaceResource, sc, res, change)
	case KindWorkgroup:
		return retagRecord(ctx, s, workgroupResource, sc, res, change)
	}
	return nil, resourceARNNotFound(res.ARN)
}

func retagRecord[T any](ctx context.Context, s *Service, k resource[T], sc Scope, res TaggedResource, change func([]Tag) ([]Tag, error)) ([]Tag, error) {
	var out []Tag
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		rec, err := k.loadID(s, tx, sc, res.Name, res.ID)
		if errors.Is(err, ErrNotFound) {
			return resourceARNNotFound(res.ARN)
		}
		if err != nil {
			return err
		}
		tags := k.tags(&rec)
		if out, err = change(*tags); err != nil {
			return err
		}
		if len(out) == 0 {
			out = nil
		}
		*tags = out
		return store.PutJSON(tx, k.prefix(sc)+res.Name, rec)
	})
	return out, err
}
