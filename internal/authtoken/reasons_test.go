package authtoken

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

// reseal re-encodes a version 2 token after edit changed its decoded bytes.
func reseal(t *testing.T, tok string, edit func([]byte) []byte) string {
	t.Helper()
	blob, err := b64.DecodeString(strings.TrimPrefix(tok, Prefix))
	if err != nil {
		t.Fatal(err)
	}
	return Prefix + b64.EncodeToString(edit(blob))
}

// TestRefusalReasons: each way a token can be wrong has its own sentinel,
// and no case is reported as another's.
func TestRefusalReasons(t *testing.T) {
	ks, m := keys(3)
	tok, err := Seal(claims(3), ks, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	h, _, _, err := ParseHeader(tok)
	if err != nil {
		t.Fatal(err)
	}
	hlen := len(encodeHeaderForTest(t, tok))
	retired := errors.New("keyring: key version retired")
	reasons := []error{ErrMalformed, ErrTruncated, ErrTampered, ErrExpired, ErrForeignWorkgroup, ErrWrongAccount, ErrWrongRegion, ErrKeyUnavailable}
	cases := []struct {
		name    string
		token   string
		wg      string
		account string
		region  string
		at      time.Time
		keys    KeyFunc
		want    error
		// also lists the broader sentinels the reason belongs to.
		also []error
	}{
		{name: "tampered claims", token: reseal(t, tok, func(b []byte) []byte { b[len(b)-20] ^= 1; return b }), want: ErrTampered},
		{name: "tampered header token id", token: reseal(t, tok, func(b []byte) []byte { b[1+2+12+2+9+2] ^= 1; return b }), want: ErrTampered},
		{name: "tampered wrapped key", token: reseal(t, tok, func(b []byte) []byte { b[hlen-5] ^= 1; return b }), want: ErrTampered},
		{name: "another workgroup's key", keys: KeyBytes(func(string, int) ([]byte, error) { return m["wg-01"], nil }), want: ErrTampered},
		{name: "truncated in the body", token: tok[:len(tok)-10], want: ErrTruncated, also: []error{ErrMalformed}},
		{name: "truncated by one character", token: tok[:len(tok)-1], want: ErrTruncated, also: []error{ErrMalformed}},
		{name: "truncated in the header", token: tok[:len(Prefix)+20], want: ErrTruncated, also: []error{ErrMalformed}},
		{name: "truncated to the prefix", token: tok[:len(Prefix)], want: ErrTruncated, also: []error{ErrMalformed}},
		{name: "truncated in the prefix", token: tok[:3], want: ErrTruncated, also: []error{ErrMalformed}},
		{name: "empty", token: "", want: ErrMalformed},
		{name: "not a token", token: "hunter2", want: ErrMalformed},
		{name: "unknown format version", token: "IDC9." + tok[len(Prefix):], want: ErrMalformed},
		{name: "version byte changed", token: reseal(t, tok, func(b []byte) []byte { b[0] = 3; return b }), want: ErrMalformed},
		{name: "trailing bytes", token: reseal(t, tok, func(b []byte) []byte { return append(b, 0) }), want: ErrMalformed},
		{name: "padding", token: tok + "==", want: ErrMalformed},
		{name: "character outside base64url", token: tok[:len(tok)-4] + "+" + tok[len(tok)-3:], want: ErrMalformed},
		{name: "expired", at: time.Unix(h.Expires, 0), want: ErrExpired},
		{name: "foreign workgroup", wg: "wg-99", want: ErrForeignWorkgroup},
		{name: "wrong account", account: "210987654321", want: ErrWrongAccount},
		{name: "wrong region", region: "eu-west-1", want: ErrWrongRegion, also: []error{ErrWrongAccount}},
		{name: "unknown key version", keys: keyFunc(map[string][]byte{}), want: ErrKeyUnavailable},
		{name: "retired key version", keys: func(string, int) (cipher.AEAD, error) { return nil, retired }, want: ErrKeyUnavailable, also: []error{retired}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			token, wg, account, region, at, kf := tok, "wg-00", "123456789012", "us-east-1", now, keyFunc(m)
			if tc.token != "" || tc.name == "empty" {
				token = tc.token
			}
			if tc.wg != "" {
				wg = tc.wg
			}
			if tc.account != "" {
				account = tc.account
			}
			if tc.region != "" {
				region = tc.region
			}
			if !tc.at.IsZero() {
				at = tc.at
			}
			if tc.keys != nil {
				kf = tc.keys
			}
			_, _, err := Open(token, wg, account, region, at, kf)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			for _, a := range tc.also {
				if !errors.Is(err, a) {
					t.Fatalf("err = %v is not also %v", err, a)
				}
			}
			for _, r := range reasons {
				if r == tc.want || slicesContains(tc.also, r) {
					continue
				}
				if errors.Is(err, r) {
					t.Fatalf("err = %v is also reported as %v", err, r)
				}
			}
		})
	}
}

func slicesContains(s []error, e error) bool {
	for _, x := range s {
		if x == e {
			return true
		}
	}
	return false
}

// encodeHeaderForTest returns the header bytes of a version 2 token.
func encodeHeaderForTest(t *testing.T, tok string) []byte {
	t.Helper()
	_, aad, _, err := ParseHeader(tok)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(aad)
}

// TestEveryTruncationIsTruncated: every proper, non-empty prefix of a
// token is reported as truncated, never as tampered or opened.
func TestEveryTruncationIsTruncated(t *testing.T) {
	ks, m := keys(2)
	tok, _ := Seal(claims(2), ks, rand.Reader)
	for n := 1; n < len(tok); n++ {
		if _, _, err := Open(tok[:n], "wg-00", "123456789012", "us-east-1", now, keyFunc(m)); !errors.Is(err, ErrTruncated) {
			t.Fatalf("truncation to %d of %d: %v", n, len(tok), err)
		}
	}
}

// TestClaimsRoundTrip: every claim comes back as sealed, and the header
// carries the format version, ids, times and key versions.
func TestClaimsRoundTrip(t *testing.T) {
	ks, m := keys(2)
	c := claims(2)
	c.InstanceArn = "arn:aws:sso:::instance/ssoins-7223a1b2c3d4e5f6"
	c.IdentityStoreArn = "arn:aws:identitystore::123456789012:identitystore/d-9067a1b2c3"
	c.ApplicationArn = "arn:aws:sso::123456789012:application/ssoins-7223a1b2c3d4e5f6/apl-1a2b3c4d5e6f7a8b"
	c.RoleSessionArn = "arn:aws:sts::123456789012:assumed-role/analyst/alice"
	c.Groups = []string{"analysts", "engineers"}
	tok, err := Seal(c, ks, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	h, got, err := Open(tok, "wg-01", "123456789012", "us-east-1", now, keyFunc(m))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, c) {
		t.Fatalf("claims changed:\n got %+v\nwant %+v", got, c)
	}
	if h.Version != FormatVersion || h.Account != c.Account || h.Region != c.Region || h.TokenID != c.TokenID ||
		h.IssuedAt != now.Unix() || h.Expires != now.Add(time.Hour).Unix() || len(h.Keys) != 2 || h.Keys[1].WorkgroupID != "wg-01" || h.Keys[1].KeyVersion != 3 {
		t.Fatalf("header %+v", h)
	}
	// No groups at all comes back as an empty list, not a missing one.
	c.Groups = nil
	tok, _ = Seal(c, ks, rand.Reader)
	if _, got, err := Open(tok, "wg-00", "123456789012", "us-east-1", now, keyFunc(m)); err != nil || got.Groups == nil || len(got.Groups) != 0 {
		t.Fatalf("no groups: %v %#v", err, got.Groups)
	}
}

func TestSealRefusesWhatItCannotEncode(t *testing.T) {
	ks, _ := keys(1)
	if _, err := Seal(claims(1), nil, rand.Reader); err == nil {
		t.Fatal("sealed for no workgroup")
	}
	many := make([]WorkgroupKey, MaxWorkgroups+1)
	for i := range many {
		many[i] = ks[0]
	}
	if _, err := Seal(claims(1), many, rand.Reader); err == nil {
		t.Fatal("sealed for 256 workgroups")
	}
	long := claims(1)
	long.UserName = strings.Repeat("a", 1<<16)
	if _, err := Seal(long, ks, rand.Reader); err == nil {
		t.Fatal("sealed a 64 KiB user name")
	}
	bad := []WorkgroupKey{{WorkgroupID: "wg-00", Version: 0, Key: ks[0].Key}}
	if _, err := Seal(claims(1), bad, rand.Reader); err == nil {
		t.Fatal("sealed with key version 0")
	}
	if _, err := Seal(claims(1), ks, io.LimitReader(rand.Reader, 10)); err == nil {
		t.Fatal("sealed without enough randomness")
	}
}

// sealV1 is format version 1's sealer, as it was issued, so the
// compatibility path stays tested.
func sealV1(t testing.TB, c Claims, keys []WorkgroupKey) string {
	t.Helper()
	dek := make([]byte, 32)
	rand.Read(dek)
	h := Header{Version: 1, Account: c.Account, Region: c.Region, TokenID: c.TokenID, IssuedAt: c.IssuedAt.Unix(), Expires: c.Expires.Unix()}
	for _, k := range keys {
		aead, _ := NewAEAD(k.Key)
		nonce := make([]byte, aead.NonceSize())
		rand.Read(nonce)
		h.Keys = append(h.Keys, WrappedKey{WorkgroupID: k.WorkgroupID, KeyVersion: k.Version,
			Wrapped: aead.Seal(nonce, nonce, dek, wrapAADV1(c.TokenID, k.WorkgroupID, k.Version))})
	}
	hb, _ := json.Marshal(h)
	cb, _ := json.Marshal(c)
	aead, _ := NewAEAD(dek)
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce)
	headerText := base64.RawURLEncoding.EncodeToString(hb)
	body := aead.Seal(nonce, nonce, cb, []byte(PrefixV1+headerText))
	return PrefixV1 + headerText + "." + base64.RawURLEncoding.EncodeToString(body)
}

// TestVersion1StillOpens: tokens issued before the upgrade keep working
// until they expire, with the same refusals.
func TestVersion1StillOpens(t *testing.T) {
	ks, m := keys(2)
	tok := sealV1(t, claims(2), ks)
	h, c, err := Open(tok, "wg-01", "123456789012", "us-east-1", now, keyFunc(m))
	if err != nil || h.Version != 1 || c.UserName != "alice" || len(c.Workgroups) != 2 {
		t.Fatalf("v1: %v %+v", err, h)
	}
	for _, tc := range []struct {
		name    string
		tok, wg string
		at      time.Time
		want    error
	}{
		{"v1 foreign workgroup", tok, "wg-99", now, ErrForeignWorkgroup},
		{"v1 expired", tok, "wg-00", now.Add(time.Hour), ErrExpired},
		{"v1 tampered", tok[:len(tok)-3] + flipChar(tok[len(tok)-3]) + tok[len(tok)-2:], "wg-00", now, ErrTampered},
		{"v1 without body", strings.SplitN(tok, ".", 3)[0] + "." + strings.SplitN(tok, ".", 3)[1], "wg-00", now, ErrMalformed},
	} {
		if _, _, err := Open(tc.tok, tc.wg, "123456789012", "us-east-1", tc.at, keyFunc(m)); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	for i := 0; i < len(tok); i++ {
		b := []byte(tok)
		b[i] ^= 0x01
		if _, _, err := Open(string(b), "wg-00", "123456789012", "us-east-1", now, keyFunc(m)); err == nil {
			t.Fatalf("v1: flip of byte %d accepted", i)
		}
	}
}

func flipChar(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}
