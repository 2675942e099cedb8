package audit

import (
	"strings"
	"time"
)

// The trail's store keys, in one place: "audit/<commit time>/<eventID>" for
// records, "auditjournal/<eventID>" for the journal, and the store copy's
// mark of how far it has followed the file.
const (
	KeyPrefix     = "audit/"
	JournalPrefix = "auditjournal/"
	MarkKey       = "meta/audit-file"
	keyTimeFormat = "20060102T150405.000000000Z"
)

// KeyAt is the key prefix of records committed at t; every key of a later
// commit sorts after it.
func KeyAt(t time.Time) string { return KeyPrefix + t.UTC().Format(keyTimeFormat) }

// KeyTime is the commit time of a record key (or of a KeyAt prefix).
func KeyTime(key string) (time.Time, bool) {
	rest, ok := strings.CutPrefix(key, KeyPrefix)
	if !ok {
		return time.Time{}, false
	}
	ts, _, _ := strings.Cut(rest, "/")
	t, err := time.Parse(keyTimeFormat, ts)
	return t, err == nil
}

// JournalKey is the journal entry of the call whose record has eventID.
func JournalKey(eventID string) string { return JournalPrefix + eventID }

// CommitKeys names records at their commit, from the wall clock but never
// going back, so within one process keys are in commit order: a reader
// that has seen key K has seen every key of this process below K. It is
// not safe for concurrent use (the trail's writer goroutine owns it).
type CommitKeys struct {
	last time.Time
}

// Next is the store key of the record id committed now.
func (k *CommitKeys) Next(id string) string {
	t := time.Now().UTC()
	if !t.After(k.last) {
		t = k.last.Add(time.Nanosecond)
	}
	k.last = t
	return KeyAt(t) + "/" + id
}
