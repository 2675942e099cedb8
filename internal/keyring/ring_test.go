package keyring

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"
)

var ringT0 = time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)

func ver(v int, at time.Time) Version {
	return Version{Version: v, Wrapped: []byte{byte(v)}, CreatedAt: at}
}

// ringOf is a ring holding versions 1..n, version i made i-1 hours after ringT0.
func ringOf(t *testing.T, n int) Ring {
	t.Helper()
	r := newRing(ver(1, ringT0))
	for v := 2; v <= n; v++ {
		var err error
		if r, err = r.AddKey(ver(v, ringT0.Add(time.Duration(v-1)*time.Hour))); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// snapshot is what a ring holds, deep-copied, to compare after a change.
func snapshot(r Ring) Ring {
	c := Ring{latest: r.latest, minDecrypt: r.minDecrypt}
	for _, v := range r.versions {
		v.Wrapped = append([]byte(nil), v.Wrapped...)
		c.versions = append(c.versions, v)
	}
	return c
}

func versionsOf(r Ring) []int {
	var vs []int
	for _, v := range r.Versions() {
		vs = append(vs, v.Version)
	}
	return vs
}

func TestRingAddKey(t *testing.T) {
	base := ringOf(t, 2)
	before := snapshot(base)
	next, err := base.AddKey(ver(3, ringT0))
	if err != nil || next.Latest() != 3 || next.MinDecrypt() != 1 || !reflect.DeepEqual(versionsOf(next), []int{1, 2, 3}) {
		t.Fatalf("AddKey: latest %d min %d versions %v (%v)", next.Latest(), next.MinDecrypt(), versionsOf(next), err)
	}
	if !reflect.DeepEqual(snapshot(base), before) {
		t.Fatal("AddKey changed its receiver")
	}
	// Two rings grown from one base do not share the added version.
	other, _ := base.AddKey(Version{Version: 3, Wrapped: []byte("other"), CreatedAt: ringT0})
	if v, _ := next.Version(3); string(v.Wrapped) != "\x03" {
		t.Fatalf("a second AddKey on the same base overwrote the first's version: %q", v.Wrapped)
	}
	if v, _ := other.Version(3); string(v.Wrapped) != "other" {
		t.Fatalf("second AddKey: %q", v.Wrapped)
	}
	for _, bad := range []int{2, 4, 0} {
		if _, err := base.AddKey(ver(bad, ringT0)); !errors.Is(err, ErrBadVersion) {
			t.Fatalf("AddKey(v%d) to 1..2: %v, want ErrBadVersion", bad, err)
		}
	}
}

func TestRingSetMinimum(t *testing.T) {
	base := ringOf(t, 3)
	before := snapshot(base)
	next, err := base.SetMinimum(2)
	if err != nil || next.Latest() != 3 || next.MinDecrypt() != 2 || !reflect.DeepEqual(versionsOf(next), []int{2, 3}) {
		t.Fatalf("SetMinimum(2): latest %d min %d versions %v (%v)", next.Latest(), next.MinDecrypt(), versionsOf(next), err)
	}
	if !reflect.DeepEqual(snapshot(base), before) {
		t.Fatal("SetMinimum changed its receiver")
	}
	if _, err := base.Version(1); err != nil {
		t.Fatalf("the receiver lost version 1: %v", err)
	}
	if _, err := next.SetMinimum(1); !errors.Is(err, ErrBadVersion) {
		t.Fatalf("lowering the minimum: %v", err)
	}
	if _, err := next.SetMinimum(4); !errors.Is(err, ErrBadVersion) || err.Error() != "keyring: version out of range: retire below 4 (versions 2..3)" {
		t.Fatalf("minimum beyond latest: %v", err)
	}
	if same, err := next.SetMinimum(2); err != nil || !reflect.DeepEqual(versionsOf(same), []int{2, 3}) {
		t.Fatalf("SetMinimum to the current minimum: %v %v", versionsOf(same), err)
	}
}

func TestRingRetireSuperseded(t *testing.T) {
	base := ringOf(t, 3) // v2 made at +1h, v3 at +2h
	before := snapshot(base)
	cases := []struct {
		at       time.Duration
		min      int
		versions []int
	}{
		{at: 90 * time.Minute, min: 1, versions: []int{1, 2, 3}}, // v2 30m old
		{at: 2 * time.Hour, min: 2, versions: []int{2, 3}},       // v2 an hour old
		{at: 3 * time.Hour, min: 3, versions: []int{3}},          // v3 an hour old
	}
	for _, c := range cases {
		got := base.RetireSuperseded(ringT0.Add(c.at), time.Hour)
		if got.MinDecrypt() != c.min || got.Latest() != 3 || !reflect.DeepEqual(versionsOf(got), c.versions) {
			t.Fatalf("at +%v: min %d versions %v, want %d %v", c.at, got.MinDecrypt(), versionsOf(got), c.min, c.versions)
		}
	}
	if !reflect.DeepEqual(snapshot(base), before) {
		t.Fatal("RetireSuperseded changed its receiver")
	}
}

func TestRingVersion(t *testing.T) {
	r, _ := ringOf(t, 3).SetMinimum(2)
	if v, err := r.Version(3); err != nil || v.Version != 3 {
		t.Fatalf("Version(3): %+v %v", v, err)
	}
	if _, err := r.Version(1); !errors.Is(err, ErrRetired) {
		t.Fatalf("Version(1) below the minimum: %v", err)
	}
	if _, err := r.Version(7); !errors.Is(err, ErrNoVersion) {
		t.Fatalf("Version(7): %v", err)
	}
	vs := r.Versions()
	vs[0].Version = 99
	if _, err := r.Version(2); err != nil {
		t.Fatal("changing Versions' list changed the ring")
	}
}

// TestRingStoreFormat: the store format is what rings were stored as before
// Ring was a value type.
func TestRingStoreFormat(t *testing.T) {
	r := ringOf(t, 2)
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"latest":2,"minDecrypt":1,"versions":[{"v":1,"w":"AQ==","c":"2026-11-24T00:00:00Z"},{"v":2,"w":"Ag==","c":"2026-11-24T01:00:00Z"}]}`
	if string(b) != want {
		t.Fatalf("stored as %s\nwant      %s", b, want)
	}
	var back Ring
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(snapshot(back), snapshot(r)) {
		t.Fatalf("round trip: %+v %v", back, err)
	}
}
