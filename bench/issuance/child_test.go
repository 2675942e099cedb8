package main

import "testing"

func TestAnonWindowTake(t *testing.T) {
	var a anonWindow
	if p, m, n := a.take(); p != 0 || m != 0 || n != 0 {
		t.Fatalf("empty window: %v %v %v", p, m, n)
	}
	a.samples = []float64{3, 9, 1, 5}
	if p, m, n := a.take(); p != 9 || m != 4 || n != 4 {
		t.Fatalf("even window: peak %v median %v n %v, want 9 4 4", p, m, n)
	}
	if len(a.samples) != 0 {
		t.Fatalf("take did not start a new window: %v", a.samples)
	}
	a.samples = []float64{7, 2, 4}
	if p, m, n := a.take(); p != 7 || m != 4 || n != 3 {
		t.Fatalf("odd window: peak %v median %v n %v, want 7 4 3", p, m, n)
	}
}

func TestRSSPartsReadsAnon(t *testing.T) {
	if anon, _ := rssParts(); anon <= 0 {
		t.Skip("no /proc/self/status RssAnon here")
	}
}

func TestMedians(t *testing.T) {
	if m := medianOf([]float64{5, 1, 3}); m != 3 {
		t.Fatalf("odd: %v", m)
	}
	if m := medianOf([]float64{4, 1, 3, 10}); m != 3.5 {
		t.Fatalf("even: %v", m)
	}
	rs := []result{{rps: 30}, {rps: 10}, {rps: 20}, {rps: 40}}
	if r := medianBy(rs, func(r result) float64 { return r.rps }); r.rps != 20 {
		t.Fatalf("medianBy picks the lower middle run: %v", r.rps)
	}
	if rs[0].rps != 30 {
		t.Fatal("medianBy reordered its input")
	}
}
