// Package ids makes random identifiers.
package ids

import (
	"crypto/rand"
	"encoding/hex"
	"io"
)

// UUID returns a version-4 UUID read from r (crypto/rand when nil).
func UUID(r io.Reader) (string, error) {
	var b [16]byte
	if r == nil {
		rand.Read(b[:]) // never fails (crypto/rand's documentation)
	} else if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", err
	}
	return format(&b), nil
}

// format sets b's version and variant bits and writes it in the 8-4-4-4-12
// lower-case form; by hand rather than fmt, since every request makes
// several (its request id, its audit event id).
func format(b *[16]byte) string {
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// MustUUID is UUID from crypto/rand, which does not fail.
func MustUUID() string {
	id, err := UUID(nil)
	if err != nil {
		panic(err)
	}
	return id
}
