package pgtest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// memberRole is gateway.MemberRole: pg_hba.conf's "+idcgate_users" lines
// match its members (a role not yet created matches nobody).
const memberRole = "idcgate_users"

// writeTLS makes a throwaway CA and a server certificate for 127.0.0.1
// signed by it, writes them (and ssl_ca_file, holding that CA until
// TrustClientCA adds others: PostgreSQL cannot load an empty one) and
// returns the server options that turn TLS on.
func (s *Server) writeTLS(base string) (string, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pgtest CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(48 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return "", err
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(48 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return "", err
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", err
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	s.ServerCAFile = filepath.Join(base, "server-ca.crt")
	if err := os.WriteFile(s.ServerCAFile, caPEM, 0o644); err != nil {
		return "", err
	}
	certFile, keyFile := filepath.Join(s.DataDir, "server.crt"), filepath.Join(s.DataDir, "server.key")
	s.clientCAFile, s.clientCAs = filepath.Join(s.DataDir, "client-ca.crt"), caPEM
	for path, content := range map[string][]byte{
		certFile:       pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyFile:        pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}),
		s.clientCAFile: caPEM,
	} {
		if out, err := s.writeAsOwner(path, string(content)); err != nil {
			return "", fmt.Errorf("%s: %v: %s", path, err, out)
		}
	}
	return fmt.Sprintf(" -c ssl=on -c ssl_cert_file=%s -c ssl_key_file=%s -c ssl_ca_file=%s", certFile, keyFile, s.clientCAFile), nil
}

// TLSDSN is a superuser connection string for database db over TLS,
// verifying the server's certificate (sslmode=verify-full): what a test
// gives idcgate as its upstream.
func (s *Server) TLSDSN(db string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=verify-full&sslrootcert=%s", superuser, s.Port, db, s.ServerCAFile)
}

// TrustClientCA adds a CA certificate (PEM) to the server's ssl_ca_file, as
// an operator adds idcgate's upstream-ca.crt, reloads the configuration and
// returns once new connections see it. Adding one already there does
// nothing.
func (s *Server) TrustClientCA(t testing.TB, caPEM []byte) {
	t.Helper()
	if len(bytes.TrimSpace(caPEM)) == 0 {
		t.Fatal("pgtest: TrustClientCA: no certificate")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if bytes.Contains(s.clientCAs, bytes.TrimSpace(caPEM)) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	loaded := func() time.Time {
		c, err := pgx.Connect(ctx, s.DSN("postgres"))
		if err != nil {
			t.Fatalf("pgtest: %v", err)
		}
		defer c.Close(context.Background())
		var at time.Time
		if err := c.QueryRow(ctx, "SELECT pg_conf_load_time()").Scan(&at); err != nil {
			t.Fatalf("pgtest: %v", err)
		}
		return at
	}
	before := loaded()
	all := append(append(append([]byte(nil), s.clientCAs...), '\n'), caPEM...)
	if out, err := s.writeAsOwner(s.clientCAFile, string(all)); err != nil {
		t.Fatalf("pgtest: ssl_ca_file: %v\n%s", err, out)
	}
	s.clientCAs = all
	if out, err := s.tool("pg_ctl", "-D", s.DataDir, "reload"); err != nil {
		t.Fatalf("pgtest: pg_ctl reload: %v\n%s", err, out)
	}
	// The postmaster reloads SSL in the same signal handler, after it sets
	// the load time, and forks no backend in between: a new connection that
	// sees the new time was accepted with the new CA file.
	for !loaded().After(before) {
		if ctx.Err() != nil {
			t.Fatalf("pgtest: the server did not reload within %v", startTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Log returns what the server has logged so far.
func (s *Server) Log(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(s.LogFile)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return string(b)
}
