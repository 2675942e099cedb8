// Package ids makes random identifiers.
package ids

import (
	"crypto/rand"
	"fmt"
	"io"
)

// UUID returns a version-4 UUID read from r (crypto/rand when nil).
func UUID(r io.Reader) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	var b [16]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:]), nil
}

// MustUUID is UUID from crypto/rand, which does not fail.
func MustUUID() string {
	id, err := UUID(nil)
	if err != nil {
		panic(err)
	}
	return id
}
