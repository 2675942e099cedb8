// Package phc hashes passwords with argon2id and reads and writes the PHC
// string form ("$argon2id$v=19$m=…,t=…,p=…$salt$hash") the reference
// implementation, libsodium and most tools use.
package phc

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id's cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
	KeyLen  uint32 // bytes of hash
	SaltLen uint32 // bytes of salt
}

// DefaultParams are OWASP's argon2id baseline (19 MiB, 2 passes, 1 lane):
// tens of milliseconds per sign-in on a server core, and memory-hard, so
// a stolen store costs an attacker that much per guess.
var DefaultParams = Params{Memory: 19 * 1024, Time: 2, Threads: 1, KeyLen: 32, SaltLen: 16}

// Bounds on a PHC string's parameters: a configured hash could otherwise
// make every sign-in allocate gigabytes or run for minutes.
const (
	maxMemory  = 1 << 20 // KiB: 1 GiB
	maxTime    = 16
	maxThreads = 16
	minKeyLen  = 16
	maxKeyLen  = 64
	minSaltLen = 8
	maxSaltLen = 64
)

// ErrBadHash: a password hash that is not an argon2id PHC string within
// the bounds above (only a config's passwordHash can be one).
var ErrBadHash = errors.New("phc: not an argon2id PHC string")

// PHC is a parsed "$argon2id$v=19$m=…,t=…,p=…$salt$hash" string.
type PHC struct {
	Params
	Salt, Hash []byte
}

var b64 = base64.RawStdEncoding

// String is the PHC string form (salt and hash in unpadded standard base64).
func (h PHC) String() string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, h.Memory, h.Time, h.Threads,
		b64.EncodeToString(h.Salt), b64.EncodeToString(h.Hash))
}

// Hash hashes password with fresh salt from random under p.
func Hash(password string, p Params, random io.Reader) (PHC, error) {
	salt := make([]byte, p.SaltLen)
	if _, err := io.ReadFull(random, salt); err != nil {
		return PHC{}, err
	}
	h := PHC{Params: p, Salt: salt}
	h.Hash = argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return h, nil
}

// Verify reports whether password hashes to h, in time independent of
// where the two differ.
func (h PHC) Verify(password string) bool {
	got := argon2.IDKey([]byte(password), h.Salt, h.Time, h.Memory, h.Threads, uint32(len(h.Hash)))
	return subtle.ConstantTimeCompare(got, h.Hash) == 1
}

// Parse parses an argon2id PHC string, as the reference implementation
// and libsodium write it. Only version 19 (0x13) is accepted.
func Parse(s string) (PHC, error) {
	bad := func(why string) (PHC, error) { return PHC{}, fmt.Errorf("%w: %s", ErrBadHash, why) }
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" {
		return bad("want $argon2id$v=19$m=…,t=…,p=…$<salt>$<hash>")
	}
	if parts[1] != "argon2id" {
		return bad("the algorithm must be argon2id")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return bad("the version must be v=19")
	}
	var h PHC
	seen := map[string]bool{}
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if !ok || err != nil || seen[k] {
			return bad("parameters must be m=<KiB>,t=<passes>,p=<lanes>")
		}
		seen[k] = true
		switch k {
		case "m":
			h.Memory = uint32(n)
		case "t":
			h.Time = uint32(n)
		case "p":
			if n > maxThreads {
				return bad(fmt.Sprintf("p must be 1 to %d", maxThreads))
			}
			h.Threads = uint8(n)
		default:
			return bad("unknown parameter " + strconv.Quote(k))
		}
	}
	switch {
	case !seen["m"] || !seen["t"] || !seen["p"]:
		return bad("m, t and p are all required")
	case h.Threads < 1:
		return bad(fmt.Sprintf("p must be 1 to %d", maxThreads))
	case h.Time < 1 || h.Time > maxTime:
		return bad(fmt.Sprintf("t must be 1 to %d", maxTime))
	case h.Memory < 8*uint32(h.Threads) || h.Memory > maxMemory:
		return bad(fmt.Sprintf("m must be 8*p to %d KiB", maxMemory))
	}
	var err error
	if h.Salt, err = b64.DecodeString(parts[4]); err != nil || len(h.Salt) < minSaltLen || len(h.Salt) > maxSaltLen {
		return bad(fmt.Sprintf("the salt must be %d to %d bytes of unpadded base64", minSaltLen, maxSaltLen))
	}
	if h.Hash, err = b64.DecodeString(parts[5]); err != nil || len(h.Hash) < minKeyLen || len(h.Hash) > maxKeyLen {
		return bad(fmt.Sprintf("the hash must be %d to %d bytes of unpadded base64", minKeyLen, maxKeyLen))
	}
	h.KeyLen, h.SaltLen = uint32(len(h.Hash)), uint32(len(h.Salt))
	return h, nil
}
