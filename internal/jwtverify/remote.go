package jwtverify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/idcgate/idcgate/internal/clock"
)

// Defaults of Remote.
const (
	DefaultTTL        = 5 * time.Minute
	DefaultMinRefresh = 30 * time.Second
	fetchTimeout      = 10 * time.Second
	maxJWKSBytes      = 1 << 20
)

// Remote is an issuer's JWKS fetched from its URL and cached for TTL. A
// token naming a key the cached copy lacks triggers a refetch, at most once
// per MinRefresh, so a key rotation at the IdP takes effect at once without
// letting made-up kids hammer the IdP. Concurrent callers share one fetch;
// the lock is never held across it.
type Remote struct {
	Client     *http.Client
	URL        string
	TTL        time.Duration // default DefaultTTL
	MinRefresh time.Duration // default DefaultMinRefresh
	Clock      clock.Clock

	mu        sync.Mutex
	set       *jose.JSONWebKeySet
	fetched   time.Time // last successful fetch
	attempted time.Time // last fetch started
	lastErr   error     // outcome of the last fetch
	inflight  *fetch
}

type fetch struct {
	done chan struct{}
	set  *jose.JSONWebKeySet
	err  error
}

// Keys implements KeySource.
func (r *Remote) Keys(ctx context.Context, refresh bool) (*jose.JSONWebKeySet, error) {
	ttl, minRefresh := r.TTL, r.MinRefresh
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	if minRefresh <= 0 {
		minRefresh = DefaultMinRefresh
	}
	r.mu.Lock()
	now := r.Clock.Now()
	if r.set != nil && !refresh && now.Sub(r.fetched) < ttl {
		set := r.set
		r.mu.Unlock()
		return set, nil
	}
	f := r.inflight
	if f == nil {
		if !r.attempted.IsZero() && now.Sub(r.attempted) < minRefresh {
			// Rate-limited: answer with what the last fetch gave.
			set, err := r.set, r.lastErr
			r.mu.Unlock()
			if err != nil && (set == nil || refresh) {
				return nil, err
			}
			return set, nil
		}
		f = &fetch{done: make(chan struct{})}
		r.inflight, r.attempted = f, now
		go r.run(f)
	}
	r.mu.Unlock()
	select {
	case <-f.done:
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %v", ErrKeys, ctx.Err())
	}
	if f.err != nil && !refresh {
		// A failed scheduled refresh keeps the last good keys in use.
		r.mu.Lock()
		set := r.set
		r.mu.Unlock()
		if set != nil {
			return set, nil
		}
	}
	return f.set, f.err
}

// run fetches in its own goroutine, so a caller that gives up does not fail
// the fetch for the others waiting on it.
func (r *Remote) run(f *fetch) {
	ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
	defer cancel()
	f.set, f.err = r.get(ctx)
	r.mu.Lock()
	if f.err == nil {
		r.set, r.fetched = f.set, r.Clock.Now()
	}
	r.lastErr, r.inflight = f.err, nil
	r.mu.Unlock()
	close(f.done)
}

func (r *Remote) get(ctx context.Context) (*jose.JSONWebKeySet, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeys, err)
	}
	req.Header.Set("Accept", "application/json")
	var client http.Client
	if r.Client != nil {
		client = *r.Client
	}
	// The redirect rule is the verifier's, not the caller's client's: keys
	// come only from the configured URL's origin.
	client.CheckRedirect = sameOrigin
	resp, err := client.Do(req)
	if err != nil {
		// Not the *url.Error's text: it quotes the redirect target in full.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%w: %s: %v", ErrKeys, redacted(r.URL), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: %s answered %d", ErrKeys, redacted(r.URL), resp.StatusCode)
	}
	// Read one byte past the limit to tell "too large" from "exactly the
	// limit"; ctx (fetchTimeout) bounds the time, this the memory.
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: reading the JWKS: %v", ErrKeys, redacted(r.URL), err)
	}
	if len(body) > maxJWKSBytes {
		return nil, fmt.Errorf("%w: %s: the JWKS is larger than %d bytes", ErrKeys, redacted(r.URL), maxJWKSBytes)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("%w: %s: not a JWKS: %v", ErrKeys, redacted(r.URL), err)
	}
	return &set, nil
}

// maxRedirects bounds redirects within the origin (net/http allows 10).
const maxRedirects = 3

// errOtherOrigin: a redirect left the JWKS URL's origin.
var errOtherOrigin = errors.New("redirected to another origin; only redirects within the jwksUrl's scheme, host and port are followed")

// sameOrigin follows a redirect only within the first request's origin
// (scheme, host and port, compared exactly). go-oidc's RemoteKeySet follows
// any redirect (http.DefaultClient); then whoever can answer a redirect at
// the jwksUrl (an open redirect, a hijacked path, a proxy) chooses the keys
// that sign tokens for every user, and can point idcgate at internal
// addresses. A redirect within the origin adds no one to trust.
func sameOrigin(req *http.Request, via []*http.Request) error {
	first := via[0].URL
	if req.URL.Scheme != first.Scheme || req.URL.Host != first.Host {
		return fmt.Errorf("%w (to %s://%s)", errOtherOrigin, req.URL.Scheme, req.URL.Host)
	}
	if len(via) > maxRedirects {
		return fmt.Errorf("more than %d redirects", maxRedirects)
	}
	return nil
}

// redacted hides a password in the URL: fetch errors are logged.
func redacted(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable JWKS URL)"
	}
	return u.Redacted()
}
