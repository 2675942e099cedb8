package iamstore

import (
	"errors"
	"fmt"
	"strings"

	"github.com/idcgate/idcgate/internal/apierror"
	"github.com/idcgate/idcgate/internal/iam"
	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/validation"
)

// ListInput is the paging of every list: Marker from the previous page's
// answer, MaxItems 1–1000 (0: IAM's default, 100).
type ListInput struct {
	Marker   string
	MaxItems int
	// MaxItemsSet tells an explicit 0 (refused) from none.
	MaxItemsSet bool
}

// DefaultMaxItems is IAM's page size when MaxItems is not given.
const DefaultMaxItems = 100

func (in ListInput) check(v *validation.Collector) int {
	if in.MaxItemsSet {
		v.Range("maxItems", int64(in.MaxItems), 1, 1000)
		return in.MaxItems
	}
	return DefaultMaxItems
}

// after opens a marker for op's list of account: the store key (or name)
// the page starts after.
func (s *Service) after(op, account, marker string) (string, error) {
	if marker == "" {
		return "", nil
	}
	p, err := s.Pages.DecodeFor(marker, op, account, "global")
	if err != nil {
		return "", validation.Newf("Invalid Marker.")
	}
	return p.After, nil
}

func (s *Service) marker(op, account, after string) (string, error) {
	return s.Pages.New(op, account, "global", after)
}

// scanPage gives fn the records under prefix after the position until fn
// has kept max of them (fn reports whether it kept one), returning the
// next marker when more remain. Past max, fn is asked with peek set only
// whether it would keep a record (and must not keep it), so a page is
// marked truncated only when another record follows that a filter keeps.
func (s *Service) scanPage(r store.Reader, op, account, prefix, after string, max int, fn func(key string, v []byte, peek bool) (bool, error)) (string, error) {
	start := ""
	if after != "" {
		start = prefix + after
	}
	n, last, more := 0, "", false
	err := r.Scan(prefix, start, func(k string, v []byte) (bool, error) {
		kept, err := fn(k, v, n == max)
		switch {
		case err != nil:
			return false, err
		case n == max:
			more = kept
			return !kept, nil
		case kept:
			n++
		}
		last = strings.TrimPrefix(k, prefix)
		return true, nil
	})
	if err != nil || !more {
		return "", err
	}
	return s.marker(op, account, last)
}

func noSuchRole(name string) error {
	return &Error{Kind: ErrNoSuchEntity, Message: fmt.Sprintf("The role with name %s cannot be found.", apierror.Printable(name))}
}

func noSuchUser(name string) error {
	return &Error{Kind: ErrNoSuchEntity, Message: fmt.Sprintf("The user with name %s cannot be found.", apierror.Printable(name))}
}

// parsePolicy parses doc as the evaluator will, answering IAM's
// MalformedPolicyDocument with the evaluator's message.
func parsePolicy(doc string, kind iam.Kind) (*iam.Policy, error) {
	p, err := iam.ParsePolicy([]byte(doc), kind)
	var pe *iam.PolicyError
	if errors.As(err, &pe) {
		return nil, &Error{Kind: ErrMalformedPolicy, Message: pe.Message}
	}
	return p, err
}

// checkPrincipals refuses, as IAM does, a trust policy that names a user,
// role or OpenID Connect provider of the account that does not exist
// ("Invalid principal in policy"). Principals of other accounts, account
// ids, roots and assumed-role ARNs are taken as they are.
func checkPrincipals(r store.Reader, account string, trust *iam.Policy) error {
	for _, v := range trust.AWSPrincipals() {
		rest, ok := strings.CutPrefix(v, "arn:aws:iam::"+account+":")
		if !ok {
			continue
		}
		kind, path, _ := strings.Cut(rest, "/")
		name := path[strings.LastIndexByte(path, '/')+1:]
		var arn string
		var err error
		switch kind {
		case "user":
			arn, err = userEntity.arnOf(r, account, name)
		case "role":
			arn, err = roleEntity.arnOf(r, account, name)
		default:
			continue
		}
		if err != nil {
			return err
		}
		if arn != v {
			return &Error{Kind: ErrMalformedPolicy, Message: fmt.Sprintf("Invalid principal in policy: \"AWS\":\"%s\"", apierror.Printable(v))}
		}
	}
	for _, v := range trust.FederatedPrincipals() {
		res, ok := strings.CutPrefix(v, "arn:aws:iam::"+account+":oidc-provider/")
		if !ok {
			continue // SAML providers, web identity domains, other accounts: as given
		}
		if _, err := getOIDCProvider(r, account, res, v); errors.Is(err, ErrNoSuchEntity) {
			return &Error{Kind: ErrMalformedPolicy, Message: fmt.Sprintf("Invalid principal in policy: \"Federated\":\"%s\"", apierror.Printable(v))}
		} else if err != nil {
			return err
		}
	}
	return nil
}

func checkName(v *validation.Collector, path, name string, max int) {
	if v.Required(path, name != "") && v.Length(path, name, 1, max) {
		v.Pattern(path, name, nameRe, namePattern)
	}
}

func checkPath(v *validation.Collector, path string) {
	if path != "" && v.Length("path", path, 1, 512) {
		v.Pattern("path", path, pathRe, pathPattern)
	}
}

func checkPathPrefix(v *validation.Collector, prefix string) {
	if prefix != "" && v.Length("pathPrefix", prefix, 1, 512) {
		v.Pattern("pathPrefix", prefix, pathPrefixRe, pathPrefixPattern)
	}
}

func checkDocument(v *validation.Collector, path, doc string) {
	if v.Required(path, doc != "") && v.Length(path, doc, 1, 131072) {
		v.Pattern(path, doc, policyDocRe, policyDocPattern)
	}
}

func checkTags(v *validation.Collector, tags []Tag) {
	if len(tags) > 50 {
		v.Add("tags", nil, "Member must have length less than or equal to 50")
		return
	}
	seen := map[string]bool{}
	for i, t := range tags {
		p := fmt.Sprintf("tags.%d.member", i+1)
		if v.Length(p+".key", t.Key, 1, 128) {
			v.Pattern(p+".key", t.Key, tagKeyRe, tagKeyPattern)
		}
		if v.Length(p+".value", t.Value, 0, 256) {
			v.Pattern(p+".value", t.Value, tagValueRe, tagValuePattern)
		}
		if seen[strings.ToLower(t.Key)] {
			v.Add(p+".key", t.Key, "Duplicate tag keys found. Please note that Tag keys are case insensitive.")
		}
		seen[strings.ToLower(t.Key)] = true
	}
}
