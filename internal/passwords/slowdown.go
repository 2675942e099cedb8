package passwords

import (
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// SlowDown is the rule for repeated failures (BEHAVIOUR 18.6): each key
// (a user name, a source address) may fail Free times; after that every
// further attempt must wait Base, doubling with each failure up to Max,
// after the key's last failure. A key with no failure for Window starts
// over.
type SlowDown struct {
	Free   int
	Base   time.Duration
	Max    time.Duration
	Window time.Duration
}

// The rules: a person mistyping is never slowed; guessing one user's
// password from many addresses, or many users' from one address, is.
var (
	UserSlowDown = SlowDown{Free: 5, Base: time.Second, Max: 5 * time.Minute, Window: 15 * time.Minute}
	IPSlowDown   = SlowDown{Free: 20, Base: time.Second, Max: 5 * time.Minute, Window: 15 * time.Minute}
)

// trackedKeys bounds the memory of each failure table: the least recently
// failed keys are forgotten first.
const trackedKeys = 50_000

type failures struct {
	n    int
	last time.Time
}

// failureTable counts failures per key, in this process.
type failureTable struct {
	rule SlowDown
	mu   sync.Mutex
	keys *lru.Cache[string, failures]
}

func newFailureTable(rule SlowDown) *failureTable {
	c, err := lru.New[string, failures](trackedKeys)
	if err != nil {
		panic(err) // only for a size < 1
	}
	return &failureTable{rule: rule, keys: c}
}

// current is key's failures at now (none once the window has passed).
func (t *failureTable) current(key string, now time.Time) failures {
	f, ok := t.keys.Peek(key)
	if !ok || now.Sub(f.last) >= t.rule.Window {
		return failures{}
	}
	return f
}

// wait is how long key must still wait at now before its next attempt.
func (t *failureTable) wait(key string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.current(key, now)
	if f.n < t.rule.Free {
		return 0
	}
	d := t.rule.Base
	for i := t.rule.Free; i < f.n && d < t.rule.Max; i++ {
		d *= 2
	}
	d = min(d, t.rule.Max)
	if left := f.last.Add(d).Sub(now); left > 0 {
		return left
	}
	return 0
}

func (t *failureTable) fail(key string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.current(key, now)
	t.keys.Add(key, failures{n: f.n + 1, last: now})
}

func (t *failureTable) forget(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.keys.Remove(key)
}
