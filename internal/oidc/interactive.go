package oidc

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/idcgate/idcgate/internal/identitycenter"
	"github.com/idcgate/idcgate/internal/store"
)

// Lifetimes of interactive sign-in's state (BEHAVIOUR 18.2, 18.3).
const (
	// ClientTTL: a registered client and its secret last 90 days, as AWS's.
	ClientTTL = 90 * 24 * time.Hour
	// DeviceCodeTTL is StartDeviceAuthorization's expiresIn (AWS: 600).
	DeviceCodeTTL = 10 * time.Minute
	// DeviceInterval is its interval: the least time between polls.
	DeviceInterval = time.Second
	// AuthorizationCodeTTL: a code from /authorize must be redeemed soon
	// (RFC 6749 4.1.2 recommends at most ten minutes).
	AuthorizationCodeTTL = 5 * time.Minute
	// SessionTTL bounds a sign-in: the refresh tokens of one sign-in all
	// expire when it does (Identity Center's default session duration).
	SessionTTL = 8 * time.Hour
)

// Grant types of CreateToken.
const (
	GrantDeviceCode        = "urn:ietf:params:oauth:grant-type:device_code"
	GrantAuthorizationCode = "authorization_code"
)

// Store keys; every record under oidc/ carries its expiry (Prune).
const (
	keyClients = "oidc/client/"
	keyDevices = "oidc/device/"   // + hash of the device code
	keyUser    = "oidc/usercode/" // + the normalized user code
	keyCodes   = "oidc/code/"     // + hash of the authorization code
	keyUsed    = "oidc/refresh/"  // + id of a refresh token already used
	keyPrefix  = "oidc/"
)

// Client is a client registered with RegisterClient.
type Client struct {
	ClientID, ClientName, ClientType  string
	Scopes, RedirectURIs, GrantTypes  []string
	IssuerURL, EntitledApplicationArn string
	IssuedAt, SecretExpiresAt         time.Time
}

// clientRecord is a client as stored: the secret only as its hash.
type clientRecord struct {
	Client
	SecretHash []byte
	Expires    time.Time
}

// AuthorizeRequest is what GET /authorize received (query parameters, already split).
type AuthorizeRequest struct {
	ClientID, RedirectURI, State, CodeChallenge, CodeChallengeMethod string
	Scopes                                                           []string
}

// DeviceRequest is a pending device authorization, as the device page shows it.
type DeviceRequest struct {
	UserCode   string
	ClientName string
	Scopes     []string
	ExpiresAt  time.Time
}

// Device authorization states.
const (
	devicePending  = "pending"
	deviceApproved = "approved"
	deviceDenied   = "denied"
	deviceRedeemed = "redeemed"
)

type deviceRecord struct {
	ClientID   string
	ClientName string
	Scopes     []string
	UserCode   string // normalized: eight letters, no dash
	State      string
	UserID     string `json:",omitempty"`
	Interval   time.Duration
	LastPoll   time.Time
	Expires    time.Time
}

type userCodeRecord struct {
	Device  string // key of the device record
	Expires time.Time
}

type codeRecord struct {
	ClientID, RedirectURI, Challenge, UserID string
	Scopes                                   []string
	Expires                                  time.Time
}

type usedRecord struct {
	Expires time.Time
}

// secretHash is what the store keeps of a bearer secret (client secret,
// device code, authorization code): they are random, 256 bits, so an
// unsalted SHA-256 cannot be reversed, and a read of the store gives none
// of them.
func secretHash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func hashKey(prefix, s string) string { return prefix + hex.EncodeToString(secretHash(s)) }

// randomText is n random bytes, base64url.
func randomText(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// userCodeLetters: consonants only (RFC 8628 6.1), so no word is spelt
// and no letter is mistaken for a digit; 20^8 codes.
const userCodeLetters = "BCDFGHJKLMNPQRSTVWXZ"

func newUserCode() string {
	b := make([]byte, 8)
	rand.Read(b)
	for i := range b {
		b[i] = userCodeLetters[int(b[i])%len(userCodeLetters)] // 256 % 20: a negligible bias
	}
	return string(b)
}

// normalizeUserCode: codes are typed by people, so case, dashes and
// spaces do not matter.
func normalizeUserCode(c string) (string, bool) {
	c = strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(c))
	if len(c) != 8 {
		return "", false
	}
	for _, r := range c {
		if !strings.ContainsRune(userCodeLetters, r) {
			return "", false
		}
	}
	return c, true
}

// DisplayUserCode is a normalized code as shown: XXXX-XXXX.
func DisplayUserCode(c string) string { return c[:4] + "-" + c[4:] }

func (s *Service) store() (store.Store, error) {
	if s.Store == nil {
		return nil, errors.New("oidc: no store for interactive sign-in")
	}
	return s.Store, nil
}

// client reads a registered client; unknown or expired is invalid_client.
func (s *Service) client(ctx context.Context, id string) (clientRecord, error) {
	var c clientRecord
	st, err := s.store()
	if err != nil {
		return c, err
	}
	if id == "" || len(id) > maxClientIDLen {
		return c, fail(ErrInvalidClient, "Invalid client: the clientId is not a registered client.")
	}
	c, err = store.ViewJSON[clientRecord](ctx, st, keyClients+id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return c, fail(ErrInvalidClient, "Invalid client: the clientId is not a registered client.")
	case err != nil:
		return c, err
	case !s.Clock.Now().Before(c.SecretExpiresAt):
		return c, fail(ErrInvalidClient, "The client registration has expired; register the client again.")
	}
	return c, nil
}

// authenticateClient checks a clientId and clientSecret together: every
// failure is the same invalid_client, so nothing tells which was wrong.
func (s *Service) authenticateClient(ctx context.Context, id, secret *string) (clientRecord, error) {
	if id == nil || *id == "" {
		return clientRecord{}, fail(ErrInvalidRequest, "clientId is required.")
	}
	if secret == nil || *secret == "" {
		return clientRecord{}, fail(ErrInvalidRequest, "clientSecret is required.")
	}
	c, err := s.client(ctx, *id)
	if err != nil {
		return c, err
	}
	if subtle.ConstantTimeCompare(secretHash(*secret), c.SecretHash) != 1 {
		return c, fail(ErrInvalidClient, "Invalid client: the clientSecret does not match the clientId.")
	}
	return c, nil
}

// maxClientIDLen bounds a clientId before it becomes a store key.
const maxClientIDLen = 128

// redirectAllowed: exactly one of the registered URIs, except that a
// loopback http URI may differ in port (RFC 8252 7.3: the native client
// picks a free port when it listens).
func redirectAllowed(registered []string, uri string) bool {
	if slices.Contains(registered, uri) {
		return true
	}
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "http" || !isLoopback(u.Hostname()) {
		return false
	}
	for _, r := range registered {
		ru, err := url.Parse(r)
		if err != nil || ru.Scheme != "http" || ru.Hostname() != u.Hostname() {
			continue
		}
		if ru.Path == u.Path && ru.RawQuery == u.RawQuery {
			return true
		}
	}
	return false
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CheckAuthorize validates an /authorize request before anyone signs in: the
// client exists and has not expired, the redirect URI is one it registered
// (exact match; loopback http redirect URIs may differ in port, as RFC 8252
// 7.3 allows), the method is S256 with a challenge, the scopes are the
// client's. Errors are *apierror.Error with the oidc sentinels.
func (s *Service) CheckAuthorize(ctx context.Context, r AuthorizeRequest) (Client, error) {
	c, err := s.client(ctx, r.ClientID)
	if err != nil {
		return Client{}, err
	}
	if !slices.Contains(c.GrantTypes, GrantAuthorizationCode) {
		return Client{}, fail(ErrUnauthorizedClient, "The client is not registered for the authorization_code grant.")
	}
	if r.RedirectURI == "" {
		return Client{}, fail(ErrInvalidRequest, "redirect_uri is required.")
	}
	if !redirectAllowed(c.RedirectURIs, r.RedirectURI) {
		return Client{}, fail(ErrInvalidRedirectURI, "The redirect_uri is not one the client registered.")
	}
	if r.CodeChallengeMethod != "S256" {
		return Client{}, fail(ErrInvalidRequest, "code_challenge_method must be S256.")
	}
	if !validChallenge(r.CodeChallenge) {
		return Client{}, fail(ErrInvalidRequest, "code_challenge must be the base64url SHA-256 of the code verifier (43 characters).")
	}
	for _, sc := range r.Scopes {
		if !slices.Contains(c.Scopes, sc) {
			return Client{}, fail(ErrInvalidScope, "Scope %s is not one the client registered.", printable(sc))
		}
	}
	return c.Client, nil
}

func validChallenge(c string) bool {
	if len(c) != 43 {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	return err == nil && len(b) == sha256.Size
}

// IssueAuthorizationCode records that user userID allowed the request and
// returns the one-time code (short-lived, bound to client, redirect URI,
// PKCE challenge, scopes, user).
func (s *Service) IssueAuthorizationCode(ctx context.Context, r AuthorizeRequest, userID string) (string, error) {
	c, err := s.CheckAuthorize(ctx, r)
	if err != nil {
		return "", err
	}
	if err := s.userExists(ctx, userID); err != nil {
		return "", err
	}
	scopes := r.Scopes
	if len(scopes) == 0 {
		scopes = c.Scopes
	}
	code := randomText(32)
	rec := codeRecord{ClientID: c.ClientID, RedirectURI: r.RedirectURI, Challenge: r.CodeChallenge, UserID: userID,
		Scopes: slices.Clone(scopes), Expires: s.Clock.Now().Add(AuthorizationCodeTTL)}
	err = s.Store.Update(ctx, func(tx store.Tx) error { return store.PutJSON(tx, hashKey(keyCodes, code), rec) })
	if err != nil {
		return "", err
	}
	return code, nil
}

func (s *Service) userExists(ctx context.Context, userID string) error {
	if s.Dir == nil {
		return fail(ErrInvalidGrant, "There is no directory to sign in to.")
	}
	_, err := s.Dir.UserByID(ctx, userID)
	if errors.Is(err, identitycenter.ErrNoSuchUser) {
		return fail(ErrInvalidGrant, "The user no longer exists.")
	}
	return err
}

// deviceByUserCode reads the device authorization a user code names.
func deviceByUserCode(r store.Reader, userCode string) (string, deviceRecord, error) {
	var d deviceRecord
	code, ok := normalizeUserCode(userCode)
	if !ok {
		return "", d, fail(ErrInvalidRequest, "The code is not a valid user code.")
	}
	var u userCodeRecord
	err := store.GetJSON(r, keyUser+code, &u)
	if errors.Is(err, store.ErrNotFound) {
		return "", d, fail(ErrInvalidRequest, "The code is not a pending user code.")
	} else if err != nil {
		return "", d, err
	}
	err = store.GetJSON(r, u.Device, &d)
	if errors.Is(err, store.ErrNotFound) {
		return "", d, fail(ErrInvalidRequest, "The code is not a pending user code.")
	}
	return u.Device, d, err
}

// pending checks that a device authorization can still be decided.
func (s *Service) pending(d deviceRecord) error {
	if !s.Clock.Now().Before(d.Expires) {
		return fail(ErrExpiredToken, "The user code has expired; start the sign-in again.")
	}
	if d.State != devicePending {
		return fail(ErrInvalidRequest, "The user code has already been used.")
	}
	return nil
}

// PendingDevice finds the pending device authorization a user code names
// (codes are compared case-insensitively and without the dash). Unknown:
// ErrInvalidRequest; expired: ErrExpiredToken.
func (s *Service) PendingDevice(ctx context.Context, userCode string) (DeviceRequest, error) {
	st, err := s.store()
	if err != nil {
		return DeviceRequest{}, err
	}
	d, err := store.Read(ctx, st, func(r store.Reader) (deviceRecord, error) {
		_, d, err := deviceByUserCode(r, userCode)
		return d, err
	})
	if err != nil {
		return DeviceRequest{}, err
	}
	if err := s.pending(d); err != nil {
		return DeviceRequest{}, err
	}
	return DeviceRequest{UserCode: DisplayUserCode(d.UserCode), ClientName: d.ClientName, Scopes: slices.Clone(d.Scopes), ExpiresAt: d.Expires}, nil
}

// ApproveDevice records that the user signed in as userID allowed the
// device authorization; the polling CreateToken then gets its tokens.
func (s *Service) ApproveDevice(ctx context.Context, userCode, userID string) error {
	if err := s.userExists(ctx, userID); err != nil {
		return err
	}
	return s.decideDevice(ctx, userCode, deviceApproved, userID)
}

// DenyDevice records that the user denied the device authorization; the
// polling CreateToken then gets AccessDeniedException.
func (s *Service) DenyDevice(ctx context.Context, userCode string) error {
	return s.decideDevice(ctx, userCode, deviceDenied, "")
}

func (s *Service) decideDevice(ctx context.Context, userCode, state, userID string) error {
	st, err := s.store()
	if err != nil {
		return err
	}
	return st.Update(ctx, func(tx store.Tx) error {
		key, d, err := deviceByUserCode(tx, userCode)
		if err != nil {
			return err
		}
		if err := s.pending(d); err != nil {
			return err
		}
		d.State, d.UserID = state, userID
		if err := store.PutJSON(tx, key, d); err != nil {
			return err
		}
		// Decided: the code names nothing any more.
		return tx.Delete(keyUser + d.UserCode)
	})
}

// pruneBatch bounds one Prune transaction.
const pruneBatch = 500

// Prune deletes the interactive sign-in records (clients, device and
// authorization codes, used refresh tokens) that have expired, and returns
// how many. Every replica may run it: deleting an expired record twice is
// harmless, and nothing reads an expired record as valid.
func (s *Service) Prune(ctx context.Context) (int, error) {
	st, err := s.store()
	if err != nil {
		return 0, err
	}
	now := s.Clock.Now()
	total := 0
	after := ""
	for {
		var expired []string
		last, scanned := "", 0
		err := st.View(ctx, func(r store.Reader) error {
			return r.Scan(keyPrefix, after, func(k string, v []byte) (bool, error) {
				var rec struct{ Expires time.Time }
				if json.Unmarshal(v, &rec) == nil && !rec.Expires.IsZero() && !now.Before(rec.Expires) {
					expired = append(expired, k)
				}
				last, scanned = k, scanned+1
				return scanned < pruneBatch, nil
			})
		})
		if err != nil {
			return total, err
		}
		if len(expired) > 0 {
			if err := st.Update(ctx, func(tx store.Tx) error {
				for _, k := range expired {
					if err := tx.Delete(k); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				return total, err
			}
			total += len(expired)
		}
		if scanned < pruneBatch {
			return total, nil
		}
		after = last
	}
}
