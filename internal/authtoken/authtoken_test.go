package authtoken

import (
	"bytes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)

func keys(n int) ([]WorkgroupKey, map[string][]byte) {
	var ks []WorkgroupKey
	m := map[string][]byte{}
	for i := 0; i < n; i++ {
		k := bytes.Repeat([]byte{byte(i + 1)}, 32)
		id := fmt.Sprintf("wg-%02d", i)
		ks = append(ks, WorkgroupKey{WorkgroupID: id, Version: 3, Key: k})
		m[id] = k
	}
	return ks, m
}

func claims(n int) Claims {
	c := Claims{Account: "123456789012", Region: "us-east-1", UserID: "u-1", UserName: "alice", Groups: []string{"analysts"},
		IssuedAt: now, Expires: now.Add(time.Hour), TokenID: "tid-1"}
	for i := 0; i < n; i++ {
		c.Workgroups = append(c.Workgroups, Workgroup{Arn: fmt.Sprintf("arn:wg-%02d", i), Name: fmt.Sprintf("wg-%02d", i), IdentityNamespace: "AWSIDC"})
	}
	return c
}

func keyFunc(m map[string][]byte) KeyFunc {
	return KeyBytes(func(id string, v int) ([]byte, error) {
		if v != 3 {
			return nil, errNoVersion
		}
		k, ok := m[id]
		if !ok {
			return nil, errors.New("no key")
		}
		return k, nil
	})
}

var errNoVersion = errors.New("no such key version")

func TestOpenWithEachWorkgroup(t *testing.T) {
	ks, m := keys(3)
	tok, err := Seal(claims(3), ks, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for id := range m {
		_, c, err := Open(tok, id, "123456789012", "us-east-1", now, keyFunc(m))
		if err != nil || c.UserName != "alice" || len(c.Workgroups) != 3 {
			t.Fatalf("%s: %v %+v", id, err, c)
		}
	}
	cases := []struct {
		name    string
		wg      string
		account string
		at      time.Time
		keys    KeyFunc
		want    error
	}{
		{"foreign workgroup", "wg-99", "123456789012", now, keyFunc(m), ErrForeignWorkgroup},
		{"other account", "wg-00", "210987654321", now, keyFunc(m), ErrWrongAccount},
		{"expired", "wg-00", "123456789012", now.Add(time.Hour), keyFunc(m), ErrExpired},
		{"retired key", "wg-00", "123456789012", now, KeyBytes(func(string, int) ([]byte, error) { return nil, errors.New("retired") }), ErrKeyUnavailable},
		{"another workgroup's key", "wg-00", "123456789012", now, KeyBytes(func(string, int) ([]byte, error) { return m["wg-01"], nil }), ErrTampered},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := Open(tok, tc.wg, tc.account, "us-east-1", tc.at, tc.keys); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	if !isPrintable(tok) {
		t.Fatal("token is not printable ASCII")
	}
}

func isPrintable(s string) bool {
	for _, c := range []byte(s) {
		if c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}

// TestEveryBitFlipAndTruncationRefused is the property the format promises.
func TestEveryBitFlipAndTruncationRefused(t *testing.T) {
	ks, m := keys(2)
	tok, _ := Seal(claims(2), ks, rand.Reader)
	for i := 0; i < len(tok); i++ {
		for bit := 0; bit < 8; bit++ {
			b := []byte(tok)
			b[i] ^= 1 << bit
			if _, _, err := Open(string(b), "wg-00", "123456789012", "us-east-1", now, keyFunc(m)); err == nil {
				t.Fatalf("flip of bit %d of byte %d accepted", bit, i)
			}
		}
	}
	for n := 0; n < len(tok); n++ {
		if _, _, err := Open(tok[:n], "wg-00", "123456789012", "us-east-1", now, keyFunc(m)); err == nil {
			t.Fatalf("truncation to %d accepted", n)
		}
	}
}

// encoding/base64 skips CR and LF anywhere: a token with one inserted must
// still be refused, not decode to the genuine bytes (found by FuzzOpen).
func TestInsertedLineBreaksRefused(t *testing.T) {
	ks, m := keys(2)
	tok, _ := Seal(claims(2), ks, rand.Reader)
	for _, c := range []string{"\r", "\n", "\r\n"} {
		for i := len(Prefix); i <= len(tok); i++ {
			edited := tok[:i] + c + tok[i:]
			if _, _, err := Open(edited, "wg-00", "123456789012", "us-east-1", now, keyFunc(m)); !errors.Is(err, ErrMalformed) {
				t.Fatalf("%q inserted at %d: %v", c, i, err)
			}
		}
	}
}

func FuzzOpen(f *testing.F) {
	// The fuzz workers are separate processes that each run this body, so the
	// one genuine token must be the same in all of them: seal it with a seeded
	// stream instead of crypto/rand.
	ks, m := keys(2)
	tok, err := Seal(claims(2), ks, mrand.NewChaCha8([32]byte{7}))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tok)
	f.Add("IDC1.e30.AAAA")
	f.Add("IDC1..")
	f.Fuzz(func(t *testing.T, s string) {
		_, _, err := Open(s, "wg-00", "123456789012", "us-east-1", now, keyFunc(m))
		if err == nil && s != tok {
			t.Fatalf("forged token opened: %q", s)
		}
	})
}

// benchSeal seals for n workgroups with AEADs built once, as the keyring
// hands them out; raw makes Seal build each workgroup's AEAD itself.
func benchSeal(b *testing.B, n int, raw bool) {
	ks, _ := keys(n)
	if !raw {
		for i := range ks {
			ks[i].AEAD, _ = NewAEAD(ks[i].Key)
		}
	}
	c := claims(n)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Seal(c, ks, rand.Reader); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSeal1(b *testing.B)         { benchSeal(b, 1, false) }
func BenchmarkSeal20(b *testing.B)        { benchSeal(b, 20, false) }
func BenchmarkSeal20RawKeys(b *testing.B) { benchSeal(b, 20, true) }

// BenchmarkOpen opens a token of 20 workgroups with one workgroup's AEAD.
func BenchmarkOpen(b *testing.B) {
	ks, m := keys(20)
	tok, _ := Seal(claims(20), ks, rand.Reader)
	benchOpen(b, tok, m["wg-07"])
}

// BenchmarkOpenV1 is the same token in format version 1, for comparison.
func BenchmarkOpenV1(b *testing.B) {
	ks, m := keys(20)
	tok := sealV1(b, claims(20), ks)
	benchOpen(b, tok, m["wg-07"])
}

// benchOpen opens tok as wg-07, whose key is key.
func benchOpen(b *testing.B, tok string, key []byte) {
	aead, _ := NewAEAD(key)
	kf := func(string, int) (cipher.AEAD, error) { return aead, nil }
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Open(tok, "wg-07", "123456789012", "us-east-1", now, kf); err != nil {
			b.Fatal(err)
		}
	}
}
