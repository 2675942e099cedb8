package app

import (
	"os"
	"runtime/debug"
)

// defaultGCPercent is the garbage collector's target when GOGC is not set.
//
// idcgate's live heap is small (a few MiB: decoded records, caches,
// connections) while every request allocates afresh, so with Go's default
// of 100 the collector runs many times a second and, with the scavenger
// handing the freed pages back to the kernel, took a sizeable share of
// the server's CPU under load (docs/PERFORMANCE.md has the profile). 400
// lets the heap grow to five times the live data between cycles: tens of
// MiB for this heap, and a quarter of the collections. GOGC (and
// GOMEMLIMIT) still decide when set.
const defaultGCPercent = 400

// tuneGC applies defaultGCPercent unless the operator set GOGC, and tells
// which target is in force.
func tuneGC() int {
	if v, ok := os.LookupEnv("GOGC"); ok && v != "" {
		p := debug.SetGCPercent(-1) // read back what the runtime parsed
		debug.SetGCPercent(p)
		return p
	}
	debug.SetGCPercent(defaultGCPercent)
	return defaultGCPercent
}
