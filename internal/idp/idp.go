// Package idp is idcgate's built-in test identity provider: an OIDC issuer
// under /idp/ whose ES256 key lives in the data dir, and which signs JWTs
// for directory users on an administrator's request, so the whole trusted
// identity propagation flow can run without an external IdP.
package idp

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/idcgate/idcgate/internal/identitycenter"
)

// KeyFile is the signing key's file name in the data dir.
const KeyFile = "idp-signing-key.pem"

// IdP is the built-in issuer.
type IdP struct {
	key    *ecdsa.PrivateKey
	kid    string
	issuer string
	signer jose.Signer
}

// Load reads the key from dataDir, creating it (0600) on first start.
// issuer is the issuer URL, e.g. http://127.0.0.1:7439/idp.
func Load(dataDir, issuer string) (*IdP, error) {
	path := filepath.Join(dataDir, KeyFile)
	b, err := os.ReadFile(path)
	var key *ecdsa.PrivateKey
	switch {
	case errors.Is(err, fs.ErrNotExist):
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			return Load(dataDir, issuer)
		}
		if err != nil {
			return nil, err
		}
		if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
			f.Close()
			return nil, err
		}
		if err := f.Close(); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	default:
		blk, _ := pem.Decode(b)
		if blk == nil {
			return nil, fmt.Errorf("%s: not PEM", path)
		}
		k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		var ok bool
		if key, ok = k.(*ecdsa.PrivateKey); !ok {
			return nil, fmt.Errorf("%s: not an ECDSA key", path)
		}
	}
	pub := jose.JSONWebKey{Key: &key.PublicKey}
	thumb, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, err
	}
	kid := base64.RawURLEncoding.EncodeToString(thumb)[:16]
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, err
	}
	return &IdP{key: key, kid: kid, issuer: issuer, signer: signer}, nil
}

// Issuer is the issuer URL.
func (p *IdP) Issuer() string { return p.issuer }

// KeySet is the public JWKS.
func (p *IdP) KeySet() *jose.JSONWebKeySet {
	return &jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &p.key.PublicKey, KeyID: p.kid, Algorithm: string(jose.ES256), Use: "sig"}}}
}

// Token is a signed JWT for a user.
type Token struct {
	JWT       string
	ExpiresAt time.Time
}

// Issue signs a JWT for user with audience, valid ttl from now.
func (p *IdP) Issue(u *identitycenter.User, audience string, ttl time.Duration, now time.Time) (Token, error) {
	jti := make([]byte, 16)
	rand.Read(jti)
	exp := now.Add(ttl).Truncate(time.Second)
	claims := map[string]any{
		"iss":                p.issuer,
		"sub":                u.UserName,
		"aud":                audience,
		"iat":                now.Unix(),
		"nbf":                now.Unix(),
		"exp":                exp.Unix(),
		"jti":                base64.RawURLEncoding.EncodeToString(jti),
		"preferred_username": u.UserName,
		"name":               u.DisplayName,
	}
	if len(u.Emails) > 0 {
		claims["email"] = u.Emails[0]
		claims["email_verified"] = true
	}
	s, err := jwt.Signed(p.signer).Claims(claims).Serialize()
	return Token{JWT: s, ExpiresAt: exp}, err
}

// Handler serves the discovery document and the JWKS; it is mounted at /idp/.
func (p *IdP) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /idp/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{
			"issuer":                                p.issuer,
			"jwks_uri":                              p.issuer + "/jwks",
			"id_token_signing_alg_values_supported": []string{"ES256"},
			"response_types_supported":              []string{"id_token"},
			"subject_types_supported":               []string{"public"},
			"claims_supported":                      []string{"sub", "email", "preferred_username", "name"},
		})
	})
	mux.HandleFunc("GET /idp/jwks", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, p.KeySet()) })
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	json.NewEncoder(w).Encode(v)
}
