package jwtverify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// TestRemoteRedirects: a JWKS URL that redirects to another origin (scheme,
// host and port) is a fetch failure (ErrKeys), and the other origin is never
// asked: a key served only there used to be accepted. A redirect within
// the origin is followed, a bounded number of times.
func TestRemoteRedirects(t *testing.T) {
	t.Parallel()
	good, goodSigner := rsaKeySet(t, "good")
	evil, evilSigner := rsaKeySet(t, "evil")
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		json.NewEncoder(w).Encode(evil)
	}))
	t.Cleanup(other.Close)
	mux := http.NewServeMux()
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) { json.NewEncoder(w).Encode(good) })
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/jwks", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) })
	for _, code := range []int{301, 302, 303, 307, 308} {
		mux.HandleFunc("/away/"+strconv.Itoa(code), func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+"/jwks?sig=s3cret", code)
		})
	}
	origin := httptest.NewServer(mux)
	t.Cleanup(origin.Close)
	// The same server under another host name is another origin too.
	sameServerOtherName := strings.Replace(origin.URL, "127.0.0.1", "localhost", 1)
	mux.HandleFunc("/renamed", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, sameServerOtherName+"/jwks", http.StatusFound)
	})

	type tcase struct {
		name   string
		path   string
		signer jose.Signer
		want   string // in the (logged) error; "" for success
	}
	cases := []tcase{
		{"same origin", "/moved", goodSigner, ""},
		{"redirect loop", "/loop", goodSigner, "more than 3 redirects"},
		{"other host name, same server", "/renamed", goodSigner, "redirected to another origin"},
	}
	for _, code := range []int{301, 302, 303, 307, 308} {
		cases = append(cases, tcase{"other origin " + http.StatusText(code), "/away/" + strconv.Itoa(code), evilSigner,
			"redirected to another origin; only redirects within the jwksUrl's scheme, host and port are followed (to " + other.URL + ")"})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := &Remote{Client: &http.Client{Timeout: 10 * time.Second}, URL: origin.URL + tc.path, Clock: func() time.Time { return now }}
			v := &Verifier{Issuer: "https://idp", Keys: r.Keys, Clock: func() time.Time { return now }}
			_, err := v.Verify(context.Background(), sign(t, tc.signer, claims(nil)), []string{"demo"})
			if tc.want == "" && err != nil {
				t.Fatalf("Verify: %v", err)
			}
			// The target's query may hold a secret; the origin is enough.
			if tc.want != "" && (!errors.Is(err, ErrKeys) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "s3cret")) {
				t.Fatalf("Verify = %v, want ErrKeys with %q", err, tc.want)
			}
		})
	}
	t.Cleanup(func() {
		if n := elsewhere.Load(); n != 0 {
			t.Errorf("the other origin was asked %d times", n)
		}
	})
}

// TestRemoteSize: a JWKS body over maxJWKSBytes is refused as such (it is
// never read past the limit), one just under it is read.
func TestRemoteSize(t *testing.T) {
	t.Parallel()
	set, _ := rsaKeySet(t, "k1")
	keys, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	pad := func(n int) []byte { // the set, then spaces up to n bytes: valid JSON
		return append(bytes.Clone(keys), bytes.Repeat([]byte(" "), n-len(keys))...)
	}
	cases := []struct {
		name string
		body []byte
		want string // "" for success
	}{
		{"at the limit", pad(maxJWKSBytes), ""},
		{"one byte over", pad(maxJWKSBytes + 1), "larger than 1048576 bytes"},
		{"trailing data", append(bytes.Clone(keys), "{}"...), "not a JWKS"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(tc.body) }))
			t.Cleanup(srv.Close)
			got, err := (&Remote{Client: srv.Client(), URL: srv.URL}).Keys(context.Background(), false)
			switch {
			case tc.want == "" && (err != nil || len(got.Keys) != 1):
				t.Fatalf("Keys = %v, %v", got, err)
			case tc.want != "" && (!errors.Is(err, ErrKeys) || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Keys err = %v, want ErrKeys with %q", err, tc.want)
			}
		})
	}
}

// stallingTransport answers with headers at once and then a body that
// never comes (or no answer at all), until the request's context ends.
type stallingTransport struct{ headers bool }

func (s stallingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if !s.headers {
		<-r.Context().Done()
		return nil, r.Context().Err()
	}
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: stallingBody{r.Context()}, Request: r}, nil
}

type stallingBody struct{ ctx context.Context }

func (b stallingBody) Read([]byte) (int, error) { <-b.ctx.Done(); return 0, b.ctx.Err() }
func (b stallingBody) Close() error             { return nil }

var _ io.ReadCloser = stallingBody{}

// TestRemoteFetchTimeout: an IdP that never answers, or never finishes its
// body, fails the fetch after fetchTimeout, even for a caller without a
// deadline and even when the client has none (fake time: no waiting).
func TestRemoteFetchTimeout(t *testing.T) {
	t.Parallel()
	for _, headers := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			start := time.Now()
			r := &Remote{Client: &http.Client{Transport: stallingTransport{headers}}, URL: "https://idp.example/jwks"}
			_, err := r.Keys(context.Background(), false)
			if !errors.Is(err, ErrKeys) {
				t.Fatalf("headers %v: err = %v, want ErrKeys", headers, err)
			}
			if d := time.Since(start); d != fetchTimeout {
				t.Fatalf("headers %v: gave up after %s, want %s", headers, d, fetchTimeout)
			}
		})
	}
}
