// Package idp is idcgate's built-in test identity provider: an OIDC issuer
// under /idp/ whose ES256 key derives from the master key, and which signs JWTs
// for directory users on an administrator's request, so the whole trusted
// identity propagation flow can run without an external IdP.
package idp

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
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
	"github.com/idcgate/idcgate/internal/masterkey"
)

// OldKeyFile is where the signing key was kept before it derived from the
// master key: Open removes it.
const OldKeyFile = "idp-signing-key.pem"

// IdP is the built-in issuer.
type IdP struct {
	key    *ecdsa.PrivateKey
	kid    string
	issuer string
	signer jose.Signer
}

// SigningKey is the IdP's ES256 key, derived from the master key: every
// replica of a deployment (they share the master key) signs with the same
// key, so a JWT one issued verifies on every other, as one IdP's would.
func SigningKey(mk *masterkey.Key) (*ecdsa.PrivateKey, error) {
	for i := 0; i < 64; i++ {
		k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), mk.Derive(32, "idp-signing", fmt.Sprint(i)))
		if err == nil {
			return k, nil
		}
		// The scalar is out of range: astronomically rare; try the next.
	}
	return nil, errors.New("idp: no valid P-256 scalar derived from the master key")
}

// Open makes the IdP of issuer (e.g. http://127.0.0.1:7439/idp) with the
// key derived from mk, and removes the key file an older idcgate kept in
// dataDir (reporting whether there was one).
func Open(mk *masterkey.Key, dataDir, issuer string) (*IdP, bool, error) {
	key, err := SigningKey(mk)
	if err != nil {
		return nil, false, err
	}
	removed := false
	if dataDir != "" {
		switch err := os.Remove(filepath.Join(dataDir, OldKeyFile)); {
		case err == nil:
			removed = true
		case !errors.Is(err, fs.ErrNotExist):
			return nil, false, err
		}
	}
	p, err := withKey(key, issuer)
	return p, removed, err
}

// withKey makes the IdP of issuer signing with key.
func withKey(key *ecdsa.PrivateKey, issuer string) (*IdP, error) {
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
