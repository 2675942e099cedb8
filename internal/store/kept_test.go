package store

import "testing"

func TestKept(t *testing.T) {
	var c Kept[string, int]
	if _, ok := c.Get("a", 0); ok {
		t.Fatal("empty cache answered")
	}
	c.Put("a", 3, 7)
	if v, ok := c.Get("a", 3); !ok || v != 7 {
		t.Fatalf("same version: %v %v", v, ok)
	}
	if _, ok := c.Get("a", 4); ok {
		t.Fatal("answered for another version")
	}
	c = Kept[string, int]{Max: 2}
	c.Put("a", 1, 1)
	c.Put("b", 1, 2)
	c.Put("c", 1, 3) // full: starts over
	if _, ok := c.Get("a", 1); ok {
		t.Fatal("past Max the cache did not start over")
	}
	if v, ok := c.Get("c", 1); !ok || v != 3 {
		t.Fatalf("the entry that started over is missing: %v %v", v, ok)
	}
}
