package iam

import "strings"

// glob matches s against pat with * and ? (case-sensitive); "\x00*" and
// "\x00?" in pat are literal (substitute writes ${*} and ${?} that way).
func glob(pat, s string) bool { ok, _ := globCount(pat, s); return ok }

// globFold is glob ignoring case (actions).
func globFold(pat, s string) bool {
	ok, _ := globCount(strings.ToLower(pat), strings.ToLower(s))
	return ok
}

// globCount matches and returns the number of elementary steps taken, so a
// test can hold the work to its bound.
//
// Both sides may come from a caller (a session policy and a request value),
// so backtracking to the last star, which is O(len(pat)·len(s)) on patterns
// like "*aaa…ab", is not an option. Instead pat is cut at its stars into
// segments of fixed length (literals and ?): the first must match at the
// start, the last at the end, and each one between at its leftmost position
// after the one before. A fixed-length segment placed leftmost leaves the
// most room for the rest, so no placement is ever retried and each byte of
// s is scanned by at most one search. A search is KMP for a literal segment
// (at most two steps a byte) and a bit-parallel Shift-And for one with ?
// (⌈len/64⌉ steps a byte), so the whole match is
// O(len(s)·⌈q/64⌉ + len(pat)), q the longest segment holding a ?: linear in
// the input for any pattern, and O(len(s)+len(pat)) without ?.
func globCount(pat, s string) (bool, int) {
	if !strings.ContainsAny(pat, "*?\x00") {
		return pat == s, len(pat)
	}
	var segs []segment
	if !strings.ContainsAny(pat, "?\x00") {
		// Only stars: the segments are pat's own substrings, no copy.
		var buf [8]segment
		segs = buf[:0]
		for part := range strings.SplitSeq(pat, "*") {
			segs = append(segs, segment{b: part})
		}
	} else {
		segs = splitGlob(pat)
	}
	steps := len(pat)
	if len(segs) == 1 {
		seg := segs[0]
		steps += len(seg.b)
		return len(s) == len(seg.b) && seg.at(s), steps
	}
	first, last := segs[0], segs[len(segs)-1]
	if len(first.b)+len(last.b) > len(s) {
		return false, steps
	}
	steps += len(first.b) + len(last.b)
	if !first.at(s[:len(first.b)]) || !last.at(s[len(s)-len(last.b):]) {
		return false, steps
	}
	pos, end := len(first.b), len(s)-len(last.b)
	for _, seg := range segs[1 : len(segs)-1] {
		i, n := seg.index(s[pos:end])
		steps += n
		if i < 0 {
			return false, steps
		}
		pos += i + len(seg.b)
	}
	return true, steps
}

// segment is a run of pat between stars: its bytes, and for each byte
// whether it is a ? (nil when there is none).
type segment struct {
	b   string
	any []bool
}

func splitGlob(pat string) []segment {
	// One backing array for every segment's bytes (and wildcard flags).
	buf := make([]byte, 0, len(pat))
	var wild []bool
	segs := make([]segment, 0, strings.Count(pat, "*")+1)
	start, hasAny := 0, false
	cut := func() {
		seg := segment{b: string(buf[start:])}
		if hasAny {
			seg.any = wild[start:len(buf):len(buf)]
		}
		segs = append(segs, seg)
		start, hasAny = len(buf), false
	}
	add := func(c byte, w bool) {
		if w && wild == nil {
			wild = make([]bool, len(buf), len(pat))
		}
		buf = append(buf, c)
		if wild != nil {
			wild = append(wild, w)
		}
		hasAny = hasAny || w
	}
	for i := 0; i < len(pat); i++ {
		switch c := pat[i]; {
		case c == 0 && i+1 < len(pat):
			i++
			add(pat[i], false)
		case c == '*':
			cut()
		case c == '?':
			add(0, true)
		default:
			add(c, false)
		}
	}
	cut()
	return segs
}

// at reports whether t (of the segment's length) matches the segment.
func (g *segment) at(t string) bool {
	// Byte by byte: ranging over the string would step by runes and skip
	// the continuation bytes of a multi-byte character (fuzzing found
	// "\ue355*" matching "\xee00").
	for i := 0; i < len(g.b); i++ {
		if t[i] != g.b[i] && (g.any == nil || !g.any[i]) {
			return false
		}
	}
	return true
}

// index returns the leftmost match of the segment in t, or -1, and the steps
// it took.
func (g *segment) index(t string) (int, int) {
	if len(g.b) == 0 {
		return 0, 0
	}
	if g.any == nil {
		return kmpIndex(g.b, t)
	}
	return shiftAndIndex(g, t)
}

// kmpIndex is Knuth-Morris-Pratt: every step either advances in t or
// shortens the current partial match, so it takes at most 2·len(t) +
// 2·len(p) steps. (strings.Index falls back to Rabin-Karp for long needles,
// whose fixed hash a crafted text can make collide at every position.)
func kmpIndex(p, t string) (int, int) {
	var buf [64]int32
	fail := buf[:0]
	if len(p) > len(buf) {
		fail = make([]int32, 0, len(p))
	}
	fail = fail[:len(p)]
	steps := 0
	k := int32(0)
	for i := 1; i < len(p); i++ {
		for k > 0 && p[i] != p[k] {
			k = fail[k-1]
			steps++
		}
		steps++
		if p[i] == p[k] {
			k++
		}
		fail[i] = k
	}
	k = 0
	for i := 0; i < len(t); i++ {
		for k > 0 && t[i] != p[k] {
			k = fail[k-1]
			steps++
		}
		steps++
		if t[i] == p[k] {
			k++
			if int(k) == len(p) {
				return i - len(p) + 1, steps
			}
		}
	}
	return -1, steps
}

// shiftAndIndex runs the segment as a bit-parallel NFA: bit j of the state
// says the last j+1 bytes of t match the segment's first j+1 positions.
// Each byte of t costs one shift-and over ⌈len/64⌉ words.
func shiftAndIndex(g *segment, t string) (int, int) {
	n := len(g.b)
	words := (n + 63) / 64
	masks := make([]uint64, 256*words)
	for j := range len(g.b) {
		c := g.b[j]
		bit := uint64(1) << (j % 64)
		if g.any[j] {
			for b := range 256 {
				masks[b*words+j/64] |= bit
			}
			continue
		}
		masks[int(c)*words+j/64] |= bit
	}
	state := make([]uint64, words)
	top := uint64(1) << ((n - 1) % 64)
	steps := 0
	for i := 0; i < len(t); i++ {
		m := masks[int(t[i])*words : int(t[i])*words+words]
		carry := uint64(1) // a match may start at every byte
		for w := range state {
			next := state[w] >> 63
			state[w] = (state[w]<<1 | carry) & m[w]
			carry = next
		}
		steps += words
		if state[words-1]&top != 0 {
			return i - n + 1, steps
		}
	}
	return -1, steps
}
