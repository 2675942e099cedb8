package ids

import (
	"bytes"
	"fmt"
	"regexp"
	"testing"
)

// The hand-written form is fmt's, for every byte value in every place.
func TestUUIDFormatMatchesFmt(t *testing.T) {
	t.Parallel()
	for i := 0; i < 256; i++ {
		var b [16]byte
		for j := range b {
			b[j] = byte(i + j*17)
		}
		want := b
		want[6] = want[6]&0x0f | 0x40
		want[8] = want[8]&0x3f | 0x80
		w := fmt.Sprintf("%x-%x-%x-%x-%x", want[0:4], want[4:6], want[6:8], want[8:10], want[10:])
		got, err := UUID(bytes.NewReader(b[:]))
		if err != nil || got != w {
			t.Fatalf("UUID(% x) = %q, %v; want %q", b, got, err, w)
		}
	}
}

var v4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestMustUUIDIsVersion4AndRandom(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		id := MustUUID()
		if !v4.MatchString(id) {
			t.Fatalf("MustUUID() = %q, not a version-4 UUID", id)
		}
		if seen[id] {
			t.Fatalf("MustUUID() repeated %q", id)
		}
		seen[id] = true
	}
}

func TestUUIDShortReaderFails(t *testing.T) {
	t.Parallel()
	if id, err := UUID(bytes.NewReader(make([]byte, 15))); err == nil {
		t.Fatalf("UUID from 15 bytes = %q, want an error", id)
	}
}
