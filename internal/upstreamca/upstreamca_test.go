package upstreamca

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/testkit"
)

func openStore(t *testing.T) store.Store {
	t.Helper()
	st := testkit.Store(t)
	return st
}

var wrap = bytes.Repeat([]byte{7}, 32)

// Replicas starting at once on one store end with one CA.
func TestOpenConcurrentAgree(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	const n = 8
	cas := make([]*CA, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { cas[i], errs[i] = Open(context.Background(), st, wrap, nil) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if !bytes.Equal(cas[i].CertPEM(), cas[0].CertPEM()) {
			t.Fatalf("replica %d has another CA", i)
		}
	}
	if pemText, err := CertificatePEM(context.Background(), st); err != nil || !bytes.Equal(pemText, cas[0].CertPEM()) {
		t.Fatalf("CertificatePEM: %v", err)
	}
	if _, err := CertificatePEM(context.Background(), openStore(t)); !errors.Is(err, ErrNone) {
		t.Fatalf("CertificatePEM of an empty store: %v", err)
	}
	again, err := Open(context.Background(), st, wrap, nil)
	if err != nil || !bytes.Equal(again.CertPEM(), cas[0].CertPEM()) {
		t.Fatalf("reopened: %v", err)
	}
	c := cas[0].Certificate()
	if !c.IsCA || !c.MaxPathLenZero || c.NotAfter.Before(time.Now().AddDate(10, 0, 0)) {
		t.Fatalf("CA certificate %+v", c)
	}
}

// The private key is stored sealed: not in the clear, and not opened by
// another wrap key.
func TestKeySealed(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	ca, err := Open(context.Background(), st, wrap, nil)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(ca.key)
	if err != nil {
		t.Fatal(err)
	}
	var raw []byte
	st.View(context.Background(), func(r store.Reader) error { raw, err = r.Get(StoreKey); return err })
	if raw == nil || bytes.Contains(raw, der) || bytes.Contains(raw, ca.key.D.Bytes()) {
		t.Fatal("the CA private key is stored in the clear")
	}
	if _, err := Open(context.Background(), st, bytes.Repeat([]byte{8}, 32), nil); err == nil {
		t.Fatal("opened with another wrap key")
	}
}

func TestMint(t *testing.T) {
	t.Parallel()
	ca, err := Open(context.Background(), openStore(t), wrap, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ca.Clock = func() time.Time { return now }
	roots := x509.NewCertPool()
	roots.AddCert(ca.Certificate())

	cases := []struct {
		name, role string
		err        error
	}{
		{"identity namespace and user", "AWSIDC:alice", nil},
		{"quotes and spaces kept exactly", `AWSIDC:o'neil "x" y`, nil},
		{"non-ASCII", "AWSIDC:zoë", nil},
		{"empty", "", ErrBadRole},
		{"NUL", "AWSIDC:a\x00postgres", ErrBadRole},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ca.Mint(tc.role)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if tc.err != nil {
				return
			}
			leaf := got.Leaf
			if leaf.Subject.CommonName != tc.role {
				t.Fatalf("CN %q", leaf.Subject.CommonName)
			}
			if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
				t.Fatalf("client auth: %v", err)
			}
			if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err == nil {
				t.Fatal("a client certificate is good for server auth")
			}
			if !leaf.NotBefore.Before(now) || leaf.NotAfter.After(now.Add(15*time.Minute)) || leaf.IsCA {
				t.Fatalf("validity %v..%v CA %v", leaf.NotBefore, leaf.NotAfter, leaf.IsCA)
			}
		})
	}

	t.Run("cached while it has time left, then renewed", func(t *testing.T) {
		a, _ := ca.Mint("AWSIDC:bob")
		b, _ := ca.Mint("AWSIDC:bob")
		if a != b {
			t.Fatal("not cached")
		}
		if c, _ := ca.Mint("AWSIDC:carol"); c == a {
			t.Fatal("another role got the same certificate")
		}
		now = now.Add(6 * time.Minute)
		c, _ := ca.Mint("AWSIDC:bob")
		if c == a || !c.Leaf.NotAfter.After(now.Add(reuseMargin)) {
			t.Fatal("an almost expired certificate was reused")
		}
	})
}
