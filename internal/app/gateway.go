package app

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/idcgate/idcgate/internal/audit"
	"github.com/idcgate/idcgate/internal/audit/trail"
	"github.com/idcgate/idcgate/internal/clock"
	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/gateway"
	"github.com/idcgate/idcgate/internal/metrics"
	"github.com/idcgate/idcgate/internal/server"
	"github.com/idcgate/idcgate/internal/serverless"
	"golang.org/x/time/rate"
)

// gatewayTLS loads the configured certificate, or one generated into the
// data dir on first start (self-signed, for localhost and every account's
// *.<account>.<region>.redshift-serverless.amazonaws.com).
func gatewayTLS(cfg *config.Config) (*tls.Config, error) {
	certFile, keyFile := cfg.PGTLSCert, cfg.PGTLSKey
	if certFile == "" {
		certFile, keyFile = filepath.Join(cfg.DataDir, "gateway-tls.crt"), filepath.Join(cfg.DataDir, "gateway-tls.key")
		if _, err := os.Stat(certFile); errors.Is(err, os.ErrNotExist) {
			if err := generateCert(cfg, certFile, keyFile); err != nil {
				return nil, err
			}
		}
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("gateway TLS: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

func generateCert(cfg *config.Config, certFile, keyFile string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	names := []string{"localhost"}
	for _, a := range cfg.Accounts {
		names = append(names, serverless.EndpointAddress(serverless.Scope{Account: a.ID, Region: cfg.Region}, "*"))
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "idcgate gateway", Organization: []string{"idcgate"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(2, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     names,
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

// gatewayAudit counts every gateway login attempt and audits the ones that
// reached a decision, durably, before the gateway answers the client (a
// successful login whose record cannot be written is refused). Abandoned
// attempts (the client left before sending a token, as psql's first probe
// without a password does) are only counted: nothing was authenticated or
// refused, and CloudTrail records no such unauthenticated connection either.
// Refusals of a token that did not open are unauthenticated too (anyone who
// reaches the port can make them): their records come from a token bucket
// of the API's unauthenticated size, the rest counted as dropped.
func gatewayAudit(l *trail.Log, m *metrics.Metrics, region string, now clock.Clock) func(context.Context, *gateway.LoginEvent) error {
	lim := server.DefaultUnauthenticatedAudit
	unauth := rate.NewLimiter(rate.Limit(lim.Rate), lim.Burst)
	return func(ctx context.Context, ev *gateway.LoginEvent) error {
		// count counts the attempt by result, and by token type too.
		count := func(result string) {
			m.GatewayLogins.WithLabelValues(result).Inc()
			m.GatewayTokenLogins.WithLabelValues(tokenTypeLabel(ev), result).Inc()
		}
		if ev.Result == gateway.ResultAbandoned {
			count(ev.Result)
			return nil
		}
		if ev.Result == gateway.ResultRefused && ev.Login == nil && !unauth.AllowN(now.Now(), 1) {
			count(ev.Result)
			m.AuditUnauthenticatedDropped()
			return nil
		}
		host, _, _ := net.SplitHostPort(ev.Remote)
		rec := &audit.Record{EventTime: now.Now().UTC(), EventSource: "gateway.idcgate", EventName: "Login", EventType: "AwsServiceEvent",
			AWSRegion: region, SourceIPAddress: host, UserIdentity: audit.Identity{Type: "Unknown"}, RequestID: ev.RequestID}
		if login := ev.Login; login != nil {
			c := login.Claims
			rec.UserIdentity = audit.Identity{Type: "IdentityCenterUser", ARN: c.RoleSessionArn, AccountID: login.Account, UserName: c.UserName}
			if c.UserID != "" {
				rec.UserIdentity.OnBehalfOf = &audit.OnBehalfOf{UserID: c.UserID, IdentityStoreArn: c.IdentityStoreArn}
			}
			rec.RecipientAccountID = login.Account
			rec.RequestParameters = map[string]any{"workgroupName": login.Workgroup, "tokenId": c.TokenID}
			if login.IAMPrincipal != "" {
				// An IAM credentials login (BEHAVIOUR 10.14): the IAM
				// identity, the database user and the password's id.
				rec.UserIdentity = audit.Identity{Type: iamIdentityType(login.IAMPrincipal), ARN: login.IAMPrincipal, AccountID: login.Account,
					UserName: login.IdentityNamespace + ":" + c.UserName}
				rec.RequestParameters = map[string]any{"workgroupName": login.Workgroup, "dbUser": login.IdentityNamespace + ":" + c.UserName, "credentialId": login.CredentialID}
			}
		}
		if ev.TokenType != "" && ev.TokenType != gateway.TokenIAMCredentials {
			// The type only, never the token. (An IAM credentials login
			// sent a password, named by its credentialId.)
			if rec.RequestParameters == nil {
				rec.RequestParameters = map[string]any{}
			}
			rec.RequestParameters["tokenType"] = tokenTypeLabel(ev)
		}
		if ev.Result != gateway.ResultOK {
			// The SQLSTATE and the message the client got: never an internal error's text.
			rec.ErrorCode, rec.ErrorMessage = ev.Code, ev.Message
		}
		err := l.Write(ctx, rec)
		result := ev.Result
		if err != nil {
			result = gateway.ResultRefused // the gateway refuses a login it could not audit
		}
		count(result)
		return err
	}
}

// tokenTypeLabel is the login's token type as audit and metrics record it:
// one of the three types, IAM_CREDENTIALS, or "unknown" (never the
// client's text).
func tokenTypeLabel(ev *gateway.LoginEvent) string {
	switch ev.TokenType {
	case gateway.TokenSubject, gateway.TokenAccess, gateway.TokenExtJWT, gateway.TokenIAMCredentials:
		return ev.TokenType
	}
	return "unknown"
}

// shutdownGateway starts the gateway's graceful shutdown (it stops accepting
// at once) and reports on the channel when its sessions have ended or been
// cut after gateway.shutdownGrace (or ctx).
func (a *App) shutdownGateway(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	if a.Gateway == nil {
		close(done)
		return done
	}
	ctx, cancel := context.WithTimeout(ctx, a.Config.Gateway.ShutdownGrace.Duration)
	go func() {
		defer close(done)
		defer cancel()
		if err := a.Gateway.Shutdown(ctx); err != nil {
			a.Log.Warn("gateway sessions cut at the shutdown deadline", "err", err)
		}
	}()
	return done
}

// iamIdentityType is CloudTrail's userIdentity.type of an IAM ARN.
func iamIdentityType(arn string) string {
	switch {
	case strings.Contains(arn, ":assumed-role/"):
		return "AssumedRole"
	case strings.HasSuffix(arn, ":root"):
		return "Root"
	}
	return "IAMUser"
}
