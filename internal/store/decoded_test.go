package store

import (
	"strings"
	"testing"
)

func TestDecoded(t *testing.T) {
	type rec struct{ N int }
	var c Decoded[rec]
	raw := []byte(`{"N":1}`)
	if v, err := c.Decode("k", raw); err != nil || v.N != 1 {
		t.Fatalf("first decode: %+v %v", v, err)
	}
	if v, err := c.Decode("k", []byte(`{"N":1}`)); err != nil || v.N != 1 {
		t.Fatalf("hit: %+v %v", v, err)
	}
	// The caller's slice changes afterwards (a Peek slice is reused): had
	// the cache kept it rather than a copy, it would now answer 1 for 2.
	raw[5] = '2'
	if v, err := c.Decode("k", []byte(`{"N":2}`)); err != nil || v.N != 2 {
		t.Fatalf("the cache aliased the caller's bytes: %+v %v", v, err)
	}
	if v, err := c.Decode("k", []byte(`{"N":3}`)); err != nil || v.N != 3 {
		t.Fatalf("changed bytes must be decoded again: %+v %v", v, err)
	}
	if _, err := c.Decode("k", []byte(`{"N":`)); err == nil || !strings.Contains(err.Error(), `decode "k"`) {
		t.Fatalf("bad JSON: %v", err)
	}
	if v, err := c.Decode("k", []byte(`{"N":3}`)); err != nil || v.N != 3 || c.Len() != 1 {
		t.Fatalf("after a bad record: %+v %v (len %d)", v, err, c.Len())
	}
}
