// Package upstreamca is idcgate's certificate authority for logging in to
// an upstream PostgreSQL as a user's role: PostgreSQL's "cert" method
// accepts a client certificate signed by a CA in its ssl_ca_file whose
// common name is the role, so the gateway needs no password a user could
// learn, set or find in PostgreSQL's log.
//
// The CA (ECDSA P-256, self-signed) is created on first start and kept in
// the store under StoreKey, its private key sealed with AES-256-GCM under a
// master-key-derived key, so every replica of a shared store signs with the
// same CA. Client certificates are short-lived and cached per role.
package upstreamca

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/idcgate/idcgate/internal/clock"
	"github.com/idcgate/idcgate/internal/seal"
	"github.com/idcgate/idcgate/internal/store"
)

// StoreKey is where the CA lives in the store.
const StoreKey = "upstream/ca"

// purpose binds the sealed key to this use (seal's associated data).
const purpose = "upstream-ca-key"

// Validity of what is minted: NotBefore a minute back (clock skew between
// idcgate and PostgreSQL), NotAfter certLife ahead; a cached certificate is
// reused while it has more than reuseMargin left, so a handshake never
// presents one about to expire.
const (
	caLife      = 20 * 365 * 24 * time.Hour
	certBack    = time.Minute
	certLife    = 10 * time.Minute
	reuseMargin = 5 * time.Minute
	// maxCached bounds the per-role cache (an LRU).
	maxCached = 4096
)

// ErrBadRole: a role name no certificate can carry.
var ErrBadRole = errors.New("upstreamca: invalid role name")

// CA signs client certificates for upstream roles.
type CA struct {
	// Clock is the wall clock (PostgreSQL checks validity against its own
	// clock, so this is never a test's fake clock) but in unit tests.
	Clock clock.Clock
	Rand  io.Reader

	cert    *x509.Certificate
	certPEM []byte
	key     *ecdsa.PrivateKey

	// minted caches a certificate per role in a golang-lru LRU of
	// maxCached roles; Mint judges what a cached one has left by Now (an
	// expiring cache would only add a cleanup goroutine that never stops).
	// The certificates are immutable and shared: every caller of Mint for
	// a role gets the same *tls.Certificate, and crypto/tls only reads it.
	mintedOnce sync.Once
	minted     *lru.Cache[string, *tls.Certificate]
}

func (c *CA) cache() *lru.Cache[string, *tls.Certificate] {
	c.mintedOnce.Do(func() {
		m, err := lru.New[string, *tls.Certificate](maxCached)
		if err != nil {
			panic(err) // only for a size <= 0
		}
		c.minted = m
	})
	return c.minted
}

// record is the stored form: the certificate in the clear (it is public),
// the PKCS#8 private key sealed.
type record struct {
	Cert []byte `json:"cert"`
	Key  string `json:"key"`
}

// Open loads the CA from st, creating it if absent. Creation runs in one
// store transaction that writes only when the key is still absent, so two
// replicas starting at once agree: the loser reads the winner's CA.
// wrapKey (32 bytes, derived from the master key) seals the private key.
func Open(ctx context.Context, st store.Store, wrapKey []byte, random io.Reader) (*CA, error) {
	if random == nil {
		random = rand.Reader
	}
	box, err := seal.New(wrapKey, purpose, "")
	if err != nil {
		return nil, err
	}
	raw, err := store.Read(ctx, st, func(r store.Reader) ([]byte, error) { return r.Get(StoreKey) })
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("upstream CA: %w", err)
	}
	if raw == nil {
		fresh, err := newRecord(box, random)
		if err != nil {
			return nil, fmt.Errorf("upstream CA: %w", err)
		}
		if err := st.Update(ctx, func(tx store.Tx) error {
			got, err := tx.Get(StoreKey)
			if errors.Is(err, store.ErrNotFound) {
				raw = fresh
				return tx.Put(StoreKey, fresh)
			}
			raw = got
			return err
		}); err != nil {
			return nil, fmt.Errorf("upstream CA: %w", err)
		}
	}
	var rec record
	if err := json.Unmarshal(raw, &rec); err != nil {
		return nil, fmt.Errorf("upstream CA: stored record: %w", err)
	}
	cert, err := x509.ParseCertificate(rec.Cert)
	if err != nil {
		return nil, fmt.Errorf("upstream CA: stored certificate: %w", err)
	}
	var der []byte
	if err := box.Open(rec.Key, &der); err != nil {
		// The master key check passed, so this is a damaged record.
		return nil, fmt.Errorf("upstream CA: the stored private key does not open: %w", err)
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("upstream CA: stored private key: %w", err)
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok || !key.PublicKey.Equal(cert.PublicKey) {
		return nil, errors.New("upstream CA: the stored private key does not belong to the stored certificate")
	}
	return &CA{Rand: random, cert: cert, key: key,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rec.Cert})}, nil
}

func newRecord(box *seal.Box, random io.Reader) ([]byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), random)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(random),
		Subject:               pkix.Name{CommonName: "idcgate upstream CA", Organization: []string{"idcgate"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caLife),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true, // signs client certificates only, never another CA
	}
	der, err := x509.CreateCertificate(random, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	sealed, err := box.Seal(kb)
	if err != nil {
		return nil, err
	}
	return json.Marshal(record{Cert: der, Key: sealed})
}

func serial(random io.Reader) *big.Int {
	n, err := rand.Int(random, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		n = big.NewInt(time.Now().UnixNano())
	}
	return n.Add(n, big.NewInt(1)) // positive, as RFC 5280 asks
}

// Certificate is the CA certificate.
func (c *CA) Certificate() *x509.Certificate { return c.cert }

// CertPEM is the CA certificate in PEM, for PostgreSQL's ssl_ca_file.
func (c *CA) CertPEM() []byte { return append([]byte(nil), c.certPEM...) }

// Mint returns a client certificate whose common name is role exactly
// (PostgreSQL's cert method compares it with the user name), for TLS
// client authentication only, valid for minutes. The same role gets the
// same certificate while it has more than reuseMargin left: signing costs
// CPU on every login otherwise. The result is shared: callers must not
// modify it (a tls.Config's Certificates holds a copy of the struct).
func (c *CA) Mint(role string) (*tls.Certificate, error) {
	if role == "" || strings.IndexByte(role, 0) >= 0 {
		return nil, fmt.Errorf("%w: %q", ErrBadRole, role)
	}
	now := c.Clock.Now()
	if tc, ok := c.cache().Get(role); ok && now.Add(reuseMargin).Before(tc.Leaf.NotAfter) && !now.Before(tc.Leaf.NotBefore) {
		return tc, nil
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), c.Rand)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(c.Rand),
		Subject:      pkix.Name{CommonName: role},
		NotBefore:    now.Add(-certBack),
		NotAfter:     now.Add(certLife),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(c.Rand, tmpl, c.cert, &key.PublicKey, c.key)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	tc := &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
	c.cache().Add(role, tc)
	return tc, nil
}

// ErrNone: the store holds no CA yet (it is made at the first start with
// the gateway on).
var ErrNone = errors.New("upstreamca: no CA in the store yet")

// CertificatePEM reads the CA certificate from st without its key, for
// whoever only needs to trust it (the administrator API).
func CertificatePEM(ctx context.Context, st store.Store) ([]byte, error) {
	raw, err := store.Read(ctx, st, func(r store.Reader) ([]byte, error) { return r.Get(StoreKey) })
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNone
	}
	if err != nil {
		return nil, err
	}
	var rec record
	if err := json.Unmarshal(raw, &rec); err != nil {
		return nil, fmt.Errorf("upstream CA: stored record: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rec.Cert}), nil
}
