package phc

import (
	"crypto/rand"
	"errors"
	"strings"
	"testing"
)

// small keeps the tests fast; the format is what they check.
var small = Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

func TestHashVerifyRoundTrip(t *testing.T) {
	t.Parallel()
	h, err := Hash("correct horse", small, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s := h.String()
	if !strings.HasPrefix(s, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("PHC string %q", s)
	}
	back, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	if back.String() != s {
		t.Errorf("round trip: %q != %q", back.String(), s)
	}
	if !back.Verify("correct horse") {
		t.Error("the password does not verify")
	}
	if back.Verify("correct horsE") || back.Verify("") {
		t.Error("a wrong password verifies")
	}
	h2, _ := Hash("correct horse", small, rand.Reader)
	if h2.String() == s {
		t.Error("two hashes of one password are equal: no salt")
	}
}

// TestPinnedHash: a hash of fixed salt and parameters, pinned, so a
// change of encoding or of parameter handling cannot pass unnoticed
// (stored hashes would stop verifying).
func TestPinnedHash(t *testing.T) {
	t.Parallel()
	h, err := Hash("password", Params{Memory: 64, Time: 2, Threads: 1, KeyLen: 16, SaltLen: 8}, strings.NewReader("somesalt"))
	if err != nil {
		t.Fatal(err)
	}
	const want = "$argon2id$v=19$m=64,t=2,p=1$c29tZXNhbHQ$CpahY97MNWo2uyGWQjji4g"
	if h.String() != want {
		t.Fatalf("got %q, want %q", h.String(), want)
	}
	p, err := Parse(want)
	if err != nil || !p.Verify("password") || p.Verify("passwore") {
		t.Fatalf("parse %q: %v", want, err)
	}
}

func TestParseRefuses(t *testing.T) {
	t.Parallel()
	const salt, hash = "c29tZXNhbHQ", "MTIzNDU2Nzg5MDEyMzQ1Ng"
	for name, s := range map[string]string{
		"empty":          "",
		"bcrypt":         "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"argon2i":        "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + hash,
		"old version":    "$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + hash,
		"no version":     "$argon2id$m=64,t=1,p=1$" + salt + "$" + hash,
		"missing t":      "$argon2id$v=19$m=64,p=1$" + salt + "$" + hash,
		"twice m":        "$argon2id$v=19$m=64,m=64,t=1,p=1$" + salt + "$" + hash,
		"unknown param":  "$argon2id$v=19$m=64,t=1,p=1,x=2$" + salt + "$" + hash,
		"zero p":         "$argon2id$v=19$m=64,t=1,p=0$" + salt + "$" + hash,
		"huge memory":    "$argon2id$v=19$m=4194304,t=1,p=1$" + salt + "$" + hash,
		"huge time":      "$argon2id$v=19$m=64,t=1000,p=1$" + salt + "$" + hash,
		"memory < 8p":    "$argon2id$v=19$m=15,t=1,p=2$" + salt + "$" + hash,
		"short salt":     "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$" + hash,
		"short hash":     "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$c2hvcnQ",
		"padded base64":  "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ=$" + hash,
		"negative":       "$argon2id$v=19$m=-64,t=1,p=1$" + salt + "$" + hash,
		"trailing field": "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + hash + "$x",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if _, err := Parse(s); !errors.Is(err, ErrBadHash) {
				t.Errorf("Parse(%q) = %v, want ErrBadHash", s, err)
			}
		})
	}
	if _, err := Parse("$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + hash); err != nil {
		t.Errorf("a well-formed hash: %v", err)
	}
}
