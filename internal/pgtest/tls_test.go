package pgtest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// clientCA is a CA with one client certificate for cn.
func clientCA(t *testing.T, cn string) ([]byte, tls.Certificate) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test client CA"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ = x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: cn}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestTLSAndMemberRules: the server speaks verified TLS; a member of
// idcgate_users gets in only with a client certificate from a CA added by
// TrustClientCA, never with a password; other roles are unaffected.
func TestTLSAndMemberRules(t *testing.T) {
	t.Parallel()
	s := Start(t)
	s.Exec(t, "postgres", "CREATE ROLE idcgate_users NOLOGIN", `CREATE ROLE "ns:u" LOGIN PASSWORD 'pw-1' IN ROLE idcgate_users`, "CREATE ROLE plain LOGIN PASSWORD 'pw-2'")
	ctx := context.Background()
	c, err := pgx.Connect(ctx, s.TLSDSN("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	var ssl bool
	if err := c.QueryRow(ctx, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&ssl); err != nil || !ssl {
		t.Fatalf("superuser over TLS: %v %v", ssl, err)
	}
	c.Close(ctx)

	caPEM, cert := clientCA(t, "ns:u")
	withCert := func() error {
		cfg, err := pgx.ParseConfig(fmt.Sprintf("host=127.0.0.1 port=%d user=ns:u dbname=postgres sslmode=verify-full sslrootcert=%s", s.Port, s.ServerCAFile))
		if err != nil {
			t.Fatal(err)
		}
		cfg.TLSConfig.Certificates = []tls.Certificate{cert}
		c, err := pgx.ConnectConfig(ctx, cfg)
		if err == nil {
			c.Close(ctx)
		}
		return err
	}
	if withCert() == nil {
		t.Fatal("a certificate from a CA not yet trusted logged in")
	}
	s.TrustClientCA(t, caPEM)
	s.TrustClientCA(t, caPEM) // twice is once
	if err := withCert(); err != nil {
		t.Fatalf("certificate after TrustClientCA: %v", err)
	}
	for _, mode := range []string{"disable", "require"} {
		c, err := pgx.Connect(ctx, fmt.Sprintf("host=127.0.0.1 port=%d user=ns:u password=pw-1 dbname=postgres sslmode=%s", s.Port, mode))
		if err == nil {
			c.Close(ctx)
			t.Fatalf("a member of idcgate_users logged in with its password (sslmode=%s)", mode)
		}
		c, err = pgx.Connect(ctx, fmt.Sprintf("host=127.0.0.1 port=%d user=plain password=pw-2 dbname=postgres sslmode=%s", s.Port, mode))
		if err != nil {
			t.Fatalf("a role outside idcgate_users, by password (sslmode=%s): %v", mode, err)
		}
		c.Close(ctx)
	}
}
