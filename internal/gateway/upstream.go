package gateway

import (
	"crypto/tls"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
)

// ErrUpstreamNoTLS: the upstream DSN cannot carry a user's session, which
// idcgate authenticates with a client certificate, so over TLS only.
var ErrUpstreamNoTLS = errors.New("the upstream DSN disables TLS (sslmode=disable, or a Unix socket host), and idcgate logs users in upstream with a client certificate, which needs TLS: connect to a TCP host with sslmode=require, verify-ca or verify-full")

// CheckUpstream tells, before any login, whether dsn can carry users'
// sessions.
func CheckUpstream(dsn string) error {
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return fmt.Errorf("upstream DSN: %w", err)
	}
	if !anyTLS(cfg) {
		return ErrUpstreamNoTLS
	}
	return nil
}

func anyTLS(cfg *pgconn.Config) bool {
	if cfg.TLSConfig != nil {
		return true
	}
	for _, f := range cfg.Fallbacks {
		if f.TLSConfig != nil {
			return true
		}
	}
	return false
}

// sessionConfig is the upstream DSN made into a user's session as role:
// only its TLS attempts are kept (sslmode=prefer or allow would otherwise
// fall back to plaintext, where no certificate can be shown), each
// presenting role's client certificate, with the server's certificate
// checked as the DSN's sslmode and sslrootcert say, as libpq would. The
// service credential's password is dropped: nothing but the certificate
// authenticates the user.
func (r *RoleSync) sessionConfig(dsn, role string) (*pgconn.Config, error) {
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("upstream DSN: %w", err)
	}
	if r.Certs == nil {
		return nil, errors.New("gateway: RoleSync.Certs is not set")
	}
	cert, err := r.Certs.Mint(role)
	if err != nil {
		return nil, fmt.Errorf("client certificate for %s: %w", role, err)
	}
	var tried []*pgconn.FallbackConfig
	for _, f := range append([]*pgconn.FallbackConfig{{Host: cfg.Host, Port: cfg.Port, TLSConfig: cfg.TLSConfig}}, cfg.Fallbacks...) {
		if f.TLSConfig == nil {
			continue
		}
		tc := f.TLSConfig.Clone()
		// Replaces a client certificate the service credential may use.
		tc.Certificates = []tls.Certificate{*cert}
		tried = append(tried, &pgconn.FallbackConfig{Host: f.Host, Port: f.Port, TLSConfig: tc})
	}
	if len(tried) == 0 {
		return nil, refuse(codeCannotConnect, "idcgate cannot open sessions on this workgroup's upstream PostgreSQL: %s", ErrUpstreamNoTLS)
	}
	cfg.Host, cfg.Port, cfg.TLSConfig, cfg.Fallbacks = tried[0].Host, tried[0].Port, tried[0].TLSConfig, tried[1:]
	cfg.User, cfg.Password = role, ""
	cfg.OAuthTokenProvider = nil
	return cfg, nil
}
