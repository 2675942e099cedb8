package query

// Remembered is how many eventIDs f keeps to drop repeats.
func Remembered(f *Follower) int { return len(f.seen) }
