package iamstore

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/idcgate/idcgate/internal/apierror"
	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/validation"
)

// ErrInvalidInput is IAM's InvalidInput: a value the model allows but IAM
// refuses (an OIDC provider URL that is not one, an ARN of another kind).
var ErrInvalidInput = errors.New("iam: invalid input")

// OIDCProvider is an IAM OpenID Connect identity provider (BEHAVIOUR 8.2):
// web identity tokens whose iss is its URL may be exchanged by
// AssumeRoleWithWebIdentity for roles that trust it.
type OIDCProvider struct {
	Account string `json:"account"`
	// URL is the issuer URL as registered, with its scheme.
	URL         string    `json:"url"`
	ClientIDs   []string  `json:"clientIds"`
	Thumbprints []string  `json:"thumbprints,omitempty"`
	CreateDate  time.Time `json:"createDate"`
	Tags        []Tag     `json:"tags,omitempty"`
	FromConfig  bool      `json:"fromConfig,omitempty"`
}

// Resource is the URL without its scheme: the ARN's resource and the
// prefix of the provider's condition keys ("<resource>:sub").
func (p *OIDCProvider) Resource() string { return OIDCResource(p.URL) }

// ARN is arn:aws:iam::<account>:oidc-provider/<host and path>.
func (p *OIDCProvider) ARN() string { return OIDCProviderARN(p.Account, p.URL) }

// OIDCResource is an issuer URL without its scheme or trailing slash.
func OIDCResource(issuer string) string {
	if i := strings.Index(issuer, "://"); i >= 0 {
		issuer = issuer[i+3:]
	}
	return strings.TrimSuffix(issuer, "/")
}

// OIDCProviderARN is the ARN of account's provider for issuer.
func OIDCProviderARN(account, issuer string) string {
	return "arn:aws:iam::" + account + ":oidc-provider/" + OIDCResource(issuer)
}

func oidcProvidersPrefix(account string) string { return Segment + "/" + account + "/oidc-providers/" }

// oidcKey keys a provider by its resource with the host lower-cased (a
// host names the same issuer in any case; a path does not).
func oidcKey(account, resource string) string {
	host, path, _ := strings.Cut(resource, "/")
	if path != "" {
		path = "/" + path
	}
	return oidcProvidersPrefix(account) + strings.ToLower(host) + path
}

// IAM's quotas for OIDC providers.
const (
	MaxOIDCProviders   = 100
	MaxOIDCClientIDs   = 100
	MaxOIDCThumbprints = 5
	MaxTags            = 50
)

var arnRe = regexp.MustCompile(`^[\x{0009}\x{000A}\x{000D}\x{0020}-\x{007E}\x{0085}\x{00A0}-\x{D7FF}\x{E000}-\x{FFFD}\x{10000}-\x{10FFFF}]+$`)

const arnPattern = `[\u0009\u000A\u000D\u0020-\u007E\u0085\u00A0-\uD7FF\uE000-\uFFFD\u10000-\u10FFFF]+`

// CreateOIDCProviderInput is CreateOpenIDConnectProvider's input.
type CreateOIDCProviderInput struct {
	URL         string
	ClientIDs   []string
	Thumbprints []string
	Tags        []Tag
}

// CheckOIDCURL holds an issuer URL to what IAM takes (BEHAVIOUR 8.2): an
// absolute https URL with a host and no query, fragment or user info.
// http is taken too (ours), since a local issuer such as idcgate's own
// IdP is usually served without TLS.
func CheckOIDCURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(raw, "#") || u.Opaque != "" {
		return apierror.New(ErrInvalidInput, "Invalid Url %q: an OpenID Connect provider URL begins with https:// (or http://), names a host, and has no query, fragment or user info.", apierror.Printable(raw))
	}
	return nil
}

// ValidateOIDCProvider holds CreateOpenIDConnectProvider's input to the
// API model and IAM's rules.
func ValidateOIDCProvider(in CreateOIDCProviderInput) error {
	var v validation.Collector
	if v.Required("url", in.URL != "") {
		v.Length("url", in.URL, 1, 255)
	}
	checkClientIDs(&v, "clientIDList", in.ClientIDs)
	checkThumbprints(&v, in.Thumbprints)
	checkTags(&v, in.Tags)
	if err := v.Err(); err != nil {
		return err
	}
	if err := CheckOIDCURL(in.URL); err != nil {
		return err
	}
	return checkOIDCLists(in.ClientIDs, in.Thumbprints)
}

func checkClientIDs(v *validation.Collector, path string, ids []string) {
	for i, id := range ids {
		v.Length(fmt.Sprintf("%s.%d.member", path, i+1), id, 1, 255)
	}
}

func checkThumbprints(v *validation.Collector, tps []string) {
	for i, tp := range tps {
		v.Length(fmt.Sprintf("thumbprintList.%d.member", i+1), tp, 40, 40)
	}
}

func checkOIDCLists(clientIDs, thumbprints []string) error {
	if len(clientIDs) > MaxOIDCClientIDs {
		return apierror.New(ErrLimitExceeded, "Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: %d", MaxOIDCClientIDs)
	}
	if len(thumbprints) > MaxOIDCThumbprints {
		return apierror.New(ErrLimitExceeded, "Cannot exceed quota for ThumbprintsPerOpenIdConnectProvider: %d", MaxOIDCThumbprints)
	}
	for _, tp := range thumbprints {
		if _, err := hex.DecodeString(tp); err != nil {
			return apierror.New(ErrInvalidInput, "Thumbprint %q is not a 40-character hex-encoded SHA-1 hash.", apierror.Printable(tp))
		}
	}
	return nil
}

// dedupe keeps the first of each value, in order (IAM keeps a list once).
func dedupe(list []string) []string {
	out := []string{}
	for _, s := range list {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func normalizeThumbprints(tps []string) []string {
	out := make([]string, 0, len(tps))
	for _, tp := range tps {
		out = append(out, strings.ToLower(tp))
	}
	return dedupe(out)
}

// CreateOIDCProvider registers a provider; its URL must be new in the account.
func (s *Service) CreateOIDCProvider(ctx context.Context, account string, in CreateOIDCProviderInput) (OIDCProvider, error) {
	if err := ValidateOIDCProvider(in); err != nil {
		return OIDCProvider{}, err
	}
	p := OIDCProvider{Account: account, URL: strings.TrimSuffix(in.URL, "/"), ClientIDs: dedupe(in.ClientIDs),
		Thumbprints: normalizeThumbprints(in.Thumbprints), CreateDate: s.now(), Tags: in.Tags}
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		key := oidcKey(account, p.Resource())
		if _, err := tx.Get(key); err == nil {
			return apierror.New(ErrEntityExists, "Provider with url %s already exists.", apierror.Printable(in.URL))
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if n, err := count(tx, oidcProvidersPrefix(account)); err != nil {
			return err
		} else if n >= MaxOIDCProviders {
			return apierror.New(ErrLimitExceeded, "Cannot exceed quota for OpenIdConnectProvidersPerAccount: %d", MaxOIDCProviders)
		}
		return store.PutJSON(tx, key, p)
	})
	return p, err
}

// CheckOIDCProviderARN holds an OpenIDConnectProviderArn member to the
// model, and to the shape of account's provider ARNs, returning the
// resource it names.
func CheckOIDCProviderARN(account, arn string) (string, error) {
	var v validation.Collector
	if v.Required("openIDConnectProviderArn", arn != "") {
		v.LengthAndPattern("openIDConnectProviderArn", arn, 20, 2048, arnRe, arnPattern)
	}
	if err := v.Err(); err != nil {
		return "", err
	}
	rest, ok := strings.CutPrefix(arn, "arn:aws:iam::")
	acct, res, ok2 := strings.Cut(rest, ":oidc-provider/")
	if !ok || !ok2 || res == "" || len(acct) != 12 {
		return "", apierror.New(ErrInvalidInput, "ARN %s is not valid.", apierror.Printable(arn))
	}
	if acct != account {
		return "", noSuchOIDCProvider(arn)
	}
	return res, nil
}

func noSuchOIDCProvider(arn string) error {
	return &Error{Kind: ErrNoSuchEntity, Message: "OpenIDConnect Provider not found for arn " + apierror.Printable(arn)}
}

func getOIDCProvider(r store.Reader, account, resource, arn string) (OIDCProvider, error) {
	var p OIDCProvider
	err := store.GetJSON(r, oidcKey(account, resource), &p)
	if errors.Is(err, store.ErrNotFound) || (err == nil && p.ARN() != arn) {
		return OIDCProvider{}, noSuchOIDCProvider(arn)
	}
	return p, err
}

// GetOIDCProvider reads the provider with this ARN.
func (s *Service) GetOIDCProvider(ctx context.Context, account, arn string) (OIDCProvider, error) {
	res, err := CheckOIDCProviderARN(account, arn)
	if err != nil {
		return OIDCProvider{}, err
	}
	return store.Read(ctx, s.Store, func(r store.Reader) (OIDCProvider, error) { return getOIDCProvider(r, account, res, arn) })
}

// OIDCProviderFor finds account's provider for a token's iss (its URL
// without the scheme, the host in any case); ErrNoSuchEntity when none.
func (s *Service) OIDCProviderFor(ctx context.Context, account, issuer string) (OIDCProvider, error) {
	p, err := store.ViewJSON[OIDCProvider](ctx, s.Store, oidcKey(account, OIDCResource(issuer)))
	if errors.Is(err, store.ErrNotFound) {
		return p, ErrNoSuchEntity
	}
	return p, err
}

// ListOIDCProviders lists account's providers, by resource.
func (s *Service) ListOIDCProviders(ctx context.Context, account string) ([]OIDCProvider, error) {
	return store.Read(ctx, s.Store, func(r store.Reader) ([]OIDCProvider, error) {
		_, out, err := store.Select(r, oidcProvidersPrefix(account), func(OIDCProvider) bool { return true })
		return out, err
	})
}

// DeleteOIDCProvider deletes the provider with this ARN. Roles that trust
// it stay as they are; their web identity sessions can no longer be made.
func (s *Service) DeleteOIDCProvider(ctx context.Context, account, arn string) error {
	res, err := CheckOIDCProviderARN(account, arn)
	if err != nil {
		return err
	}
	return s.Store.Update(ctx, func(tx store.Tx) error {
		if _, err := getOIDCProvider(tx, account, res, arn); err != nil {
			return err
		}
		return tx.Delete(oidcKey(account, res))
	})
}

// OIDCChange is one change of a provider's lists or tags.
type OIDCChange struct {
	AddClientID, RemoveClientID string
	// Thumbprints replaces the list when SetThumbprints.
	Thumbprints    []string
	SetThumbprints bool
	AddTags        []Tag
	RemoveTagKeys  []string
}

// UpdateOIDCProvider applies one change to the provider with this ARN.
// Adding a client id it has, or removing one it lacks, changes nothing
// and is no error (IAM's operations are idempotent).
func (s *Service) UpdateOIDCProvider(ctx context.Context, account, arn string, ch OIDCChange) error {
	res, err := CheckOIDCProviderARN(account, arn)
	if err != nil {
		return err
	}
	var v validation.Collector
	if ch.AddClientID != "" || ch.RemoveClientID != "" {
		v.Length("clientID", ch.AddClientID+ch.RemoveClientID, 1, 255)
	}
	if ch.SetThumbprints {
		checkThumbprints(&v, ch.Thumbprints)
	}
	if ch.AddTags != nil {
		checkTags(&v, ch.AddTags)
	}
	for i, k := range ch.RemoveTagKeys {
		path := fmt.Sprintf("tagKeys.%d.member", i+1)
		if v.Length(path, k, 1, 128) {
			v.Pattern(path, k, tagKeyRe, tagKeyPattern)
		}
	}
	if len(ch.RemoveTagKeys) > MaxTags {
		v.Add("tagKeys", nil, "Member must have length less than or equal to 50")
	}
	if err := v.Err(); err != nil {
		return err
	}
	if ch.SetThumbprints {
		if err := checkOIDCLists(nil, ch.Thumbprints); err != nil {
			return err
		}
	}
	return s.Store.Update(ctx, func(tx store.Tx) error {
		p, err := getOIDCProvider(tx, account, res, arn)
		if err != nil {
			return err
		}
		switch {
		case ch.AddClientID != "":
			if !slices.Contains(p.ClientIDs, ch.AddClientID) {
				if len(p.ClientIDs) >= MaxOIDCClientIDs {
					return apierror.New(ErrLimitExceeded, "Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: %d", MaxOIDCClientIDs)
				}
				p.ClientIDs = append(p.ClientIDs, ch.AddClientID)
			}
		case ch.RemoveClientID != "":
			p.ClientIDs = slices.DeleteFunc(p.ClientIDs, func(id string) bool { return id == ch.RemoveClientID })
		case ch.SetThumbprints:
			p.Thumbprints = normalizeThumbprints(ch.Thumbprints)
		case ch.AddTags != nil:
			for _, t := range ch.AddTags {
				i := slices.IndexFunc(p.Tags, func(o Tag) bool { return strings.EqualFold(o.Key, t.Key) })
				if i >= 0 {
					p.Tags[i] = t
				} else {
					p.Tags = append(p.Tags, t)
				}
			}
			if len(p.Tags) > MaxTags {
				return apierror.New(ErrLimitExceeded, "Cannot exceed quota for TagsPerOpenIdConnectProvider: %d", MaxTags)
			}
		default:
			p.Tags = slices.DeleteFunc(p.Tags, func(t Tag) bool {
				return slices.ContainsFunc(ch.RemoveTagKeys, func(k string) bool { return strings.EqualFold(k, t.Key) })
			})
		}
		return store.PutJSON(tx, oidcKey(account, res), p)
	})
}

// applyOIDCProviders writes the config's providers as declared (keeping a
// declared one's creation date) and removes config-made ones no longer
// declared; API-made ones stay unless the config now declares their URL.
func (s *Service) applyOIDCProviders(tx store.Tx, account string, declared []OIDCProvider) error {
	names := map[string]bool{}
	for _, p := range declared {
		names[oidcKey(account, p.Resource())] = true
	}
	err := store.DropSelected(tx, oidcProvidersPrefix(account), func(p OIDCProvider) bool { return p.FromConfig },
		func(k string, _ OIDCProvider) error {
			if names[k] {
				return nil
			}
			return tx.Delete(k)
		})
	if err != nil {
		return err
	}
	for _, p := range declared {
		p.Account, p.FromConfig, p.URL = account, true, strings.TrimSuffix(p.URL, "/")
		p.ClientIDs, p.Thumbprints = dedupe(p.ClientIDs), normalizeThumbprints(p.Thumbprints)
		key := oidcKey(account, p.Resource())
		var old OIDCProvider
		if err := store.GetJSON(tx, key, &old); err == nil {
			p.CreateDate = old.CreateDate
		} else if errors.Is(err, store.ErrNotFound) {
			p.CreateDate = s.now()
		} else {
			return err
		}
		if err := store.PutJSON(tx, key, p); err != nil {
			return err
		}
	}
	return nil
}
