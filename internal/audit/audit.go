// Package audit records one CloudTrail-shaped JSON event per API call and
// gateway login, durably (fsynced to the JSON-lines file, and in the store)
// before the response is sent. Secrets never enter a record: request
// parameters pass through Redact.
package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/idcgate/idcgate/internal/ids"
	"github.com/idcgate/idcgate/internal/store"
)

// Identity is CloudTrail's userIdentity.
type Identity struct {
	Type        string      `json:"type"`
	PrincipalID string      `json:"principalId,omitempty"`
	ARN         string      `json:"arn,omitempty"`
	AccountID   string      `json:"accountId,omitempty"`
	AccessKeyID string      `json:"accessKeyId,omitempty"`
	UserName    string      `json:"userName,omitempty"`
	OnBehalfOf  *OnBehalfOf `json:"onBehalfOf,omitempty"`
}

// OnBehalfOf names the Identity Center user of an identity-enhanced session.
type OnBehalfOf struct {
	UserID           string `json:"userId"`
	IdentityStoreArn string `json:"identityStoreArn,omitempty"`
}

// Record is one event.
type Record struct {
	EventVersion      string         `json:"eventVersion"`
	EventID           string         `json:"eventID"`
	EventTime         time.Time      `json:"eventTime"`
	EventSource       string         `json:"eventSource"`
	EventName         string         `json:"eventName"`
	EventType         string         `json:"eventType"`
	AWSRegion         string         `json:"awsRegion"`
	SourceIPAddress   string         `json:"sourceIPAddress"`
	UserAgent         string         `json:"userAgent,omitempty"`
	UserIdentity      Identity       `json:"userIdentity"`
	RequestParameters map[string]any `json:"requestParameters,omitempty"`
	ErrorCode         string         `json:"errorCode,omitempty"`
	// AdditionalEventData marks records written by Recover.
	AdditionalEventData map[string]any `json:"additionalEventData,omitempty"`
	ErrorMessage        string         `json:"errorMessage,omitempty"`
	RequestID           string         `json:"requestID"`
	ReadOnly            bool           `json:"readOnly"`
	RecipientAccountID  string         `json:"recipientAccountId,omitempty"`
}

// Log writes records. Concurrent writers share one store transaction and
// one fsync (group commit); each Write returns only once its record is
// durable: in the file and the store, or, with Options.StoreBehind, in the
// file, which is then the store copy's write-ahead log (see behind.go).
//
// A record's store key is taken by the writer goroutine when it commits the
// record, from a clock that never goes back, so within one process keys
// are in commit order: a reader that has seen key K has seen every key of
// this process below K. (eventTime, the time of the request, is not.)
type Log struct {
	f     *os.File
	store store.Store
	queue chan *pending
	stop  chan struct{}
	done  sync.WaitGroup
	last  time.Time // writer goroutine only: the latest key time

	// mu orders enqueues before Close: a Write holds it shared while it
	// queues, so every record queued before closed is set reaches the
	// writer's final drain, and none is queued after.
	mu     sync.RWMutex
	closed bool

	opts Options
	size int64 // writer goroutine only: the file's length
	// behind mode (behind.go): batches the writer hands to the copier.
	copyQueue chan copyBatch
	copier    sync.WaitGroup
	progress  copyProgress
	stopPrune chan struct{}
	pruneDone chan struct{}
}

// Options tune a Log.
type Options struct {
	// StoreBehind makes the file the only write before a Write returns;
	// the store copy is committed behind it, in larger batches, and caught
	// up from the file by the next Open after a crash. Only for a store
	// that this process alone writes next to the file (the embedded one):
	// replicas of a shared store must see each other's records and
	// journal deletions at once.
	StoreBehind bool
	// Retention removes store copies of records older than this (0 keeps
	// them all); the file keeps everything.
	Retention time.Duration
	// Now is the clock for Retention (default time.Now).
	Now func() time.Time
	// Log reports store-copy failures (default: slog's default).
	Log *slog.Logger
	// ObserveCommit, if set, is told of every group commit to the file:
	// how long its write and sync took and how many records it held (the
	// disk's sync latency is what every answer waits for, as etcd reports
	// its WAL's fsync duration).
	ObserveCommit func(d time.Duration, records int)
}

type pending struct {
	id   string
	line []byte
	// journal is a journal entry to remove in the same store transaction.
	journal string
	// recovered: write only if the journal entry is still there (another
	// replica may have recovered it first), store first, then the file.
	recovered bool
	err       chan error
}

// Open opens (appending, 0600) the JSON-lines file; st may be nil. A
// partial last line (a write cut by a crash, never acknowledged) is cut
// off, and with StoreBehind the store copy is caught up from the file.
func Open(path string, st store.Store, opts Options) (*Log, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if st == nil {
		opts.StoreBehind, opts.Retention = false, 0
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	l := &Log{f: f, store: st, queue: make(chan *pending, 1024), stop: make(chan struct{}), opts: opts}
	if l.size, err = cutPartialLine(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("audit file: %w", err)
	}
	if opts.StoreBehind {
		if err := l.catchUp(context.Background()); err != nil {
			f.Close()
			return nil, err
		}
		l.startCopier()
	}
	if opts.Retention > 0 {
		l.startPruner()
	}
	l.done.Add(1)
	go l.writer()
	return l, nil
}

// groupPace is the shortest time between the starts of two group commits
// while writers are concurrent.
const groupPace = time.Millisecond

// writer commits everything queued since its last commit, together.
//
// While writers are concurrent (the last group had more than one record),
// a group starts at most every groupPace: an fsync costs CPU, not only
// time, on virtualised disks (docs/PERFORMANCE.md has the profile), so
// back-to-back syncs of small groups spend a core on syncing; waiting
// lets the group grow instead. A lone writer never waits.
func (l *Log) writer() {
	defer l.done.Done()
	var lastStart time.Time
	lastSize := 0
	for {
		var batch []*pending
		select {
		case p := <-l.queue:
			batch = append(batch, p)
			if lastSize > 1 {
				if wait := groupPace - time.Since(lastStart); wait > 0 {
					time.Sleep(wait)
				}
			}
		case <-l.stop:
			for {
				select {
				case p := <-l.queue:
					p.err <- l.commit([]*pending{p})
				default:
					return
				}
			}
		}
	drain:
		for len(batch) < 256 {
			select {
			case p := <-l.queue:
				batch = append(batch, p)
			default:
				break drain
			}
		}
		lastStart, lastSize = time.Now(), len(batch)
		err := l.commit(batch)
		for _, p := range batch {
			p.err <- err
		}
	}
}

// commit makes a batch durable in both places. The store transaction and
// the file's fsync do not depend on each other, so they run side by side:
// a batch costs the slower of the two, not their sum. A batch that holds a
// recovered record commits the store first, to learn whether to write it.
func (l *Log) commit(batch []*pending) error {
	if l.opts.StoreBehind {
		return l.commitBehind(batch)
	}
	keys := make([]string, len(batch))
	recovering := false
	for i, p := range batch {
		keys[i] = l.nextKey(p.id)
		recovering = recovering || p.recovered
	}
	skip := make([]bool, len(batch))
	var storeErr error
	var wg sync.WaitGroup
	if recovering {
		if err := l.commitStore(batch, keys, skip); err != nil {
			return err
		}
	} else {
		wg.Add(1)
		go func() {
			defer wg.Done()
			storeErr = l.commitStore(batch, keys, skip)
		}()
	}
	n := 0
	for _, p := range batch {
		n += len(p.line) + 1
	}
	buf := make([]byte, 0, n)
	written := 0
	for i, p := range batch {
		if !skip[i] {
			buf = append(append(buf, p.line...), '\n')
			written++
		}
	}
	ferr := l.appendFile(buf, written)
	wg.Wait()
	if storeErr != nil {
		return storeErr
	}
	return ferr
}

// commitStore puts the batch's records and removes their journal entries
// in one transaction. It sets skip[i] only for recovered records (so a
// concurrent reader of skip sees no write for the others).
func (l *Log) commitStore(batch []*pending, keys []string, skip []bool) error {
	if l.store == nil {
		return nil
	}
	err := l.store.Update(context.Background(), func(tx store.Tx) error {
		for i, p := range batch {
			if p.recovered {
				_, err := tx.Get(p.journal)
				if skip[i] = errors.Is(err, store.ErrNotFound); skip[i] {
					continue
				}
				if err != nil {
					return err
				}
			}
			if err := tx.Put(keys[i], p.line); err != nil {
				return err
			}
			if p.journal != "" {
				if err := tx.Delete(p.journal); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("audit store: %w", err)
	}
	return nil
}

// appendFile appends and syncs (syncData); on failure it cuts the file back
// so a partial line never stays in front of later records.
func (l *Log) appendFile(buf []byte, records int) error {
	if len(buf) == 0 {
		return nil
	}
	start := time.Now()
	_, err := l.f.Write(buf)
	if err == nil {
		err = syncData(l.f)
	}
	if err != nil {
		l.f.Truncate(l.size)
		return err
	}
	l.size += int64(len(buf))
	if l.opts.ObserveCommit != nil {
		l.opts.ObserveCommit(time.Since(start), records)
	}
	return nil
}

// cutPartialLine truncates f after its last newline and returns its new
// length. Only a crash in the middle of appendFile leaves a partial line,
// and no Write returned for it.
func cutPartialLine(f *os.File) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	end := fi.Size()
	buf := make([]byte, 4096)
	for at := end; at > 0; {
		n := int64(len(buf))
		if at < n {
			n = at
		}
		at -= n
		if _, err := f.ReadAt(buf[:n], at); err != nil {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			keep := at + int64(i) + 1
			if keep < end {
				return keep, f.Truncate(keep)
			}
			return end, nil
		}
	}
	if end > 0 {
		return 0, f.Truncate(0)
	}
	return 0, nil
}

// Store keys: "audit/<commit time>/<eventID>" for records,
// "auditjournal/<eventID>" for the journal.
const (
	keyPrefix     = "audit/"
	journalPrefix = "auditjournal/"
	keyTimeFormat = "20060102T150405.000000000Z"
)

// keyAt is the key prefix of records committed at t; every key of a later
// commit sorts after it.
func keyAt(t time.Time) string { return keyPrefix + t.UTC().Format(keyTimeFormat) }

// keyTime is the commit time of a record key (or of a keyAt prefix).
func keyTime(key string) (time.Time, bool) {
	rest, ok := strings.CutPrefix(key, keyPrefix)
	if !ok {
		return time.Time{}, false
	}
	ts, _, _ := strings.Cut(rest, "/")
	t, err := time.Parse(keyTimeFormat, ts)
	return t, err == nil
}

func journalKey(eventID string) string { return journalPrefix + eventID }

// fill gives a record its id, version and type, and encodes it.
func fill(r *Record) ([]byte, error) {
	if r.EventID == "" {
		r.EventID = ids.MustUUID()
	}
	r.EventVersion = "1.09"
	if r.EventType == "" {
		r.EventType = "AwsApiCall"
	}
	return encode(r)
}

// Write fills the record's id and version, and writes it durably.
func (l *Log) Write(ctx context.Context, r *Record) error {
	if l == nil {
		return nil
	}
	b, err := fill(r)
	if err != nil {
		return err
	}
	return l.enqueue(ctx, &pending{id: r.EventID, line: b})
}

// Complete writes the final record of the call that in announced (in may
// be nil). When the call committed a change, the record takes the journal
// entry's eventID and the same store transaction removes the entry.
func (l *Log) Complete(ctx context.Context, in *Intent, r *Record) error {
	if l == nil {
		return nil
	}
	p := &pending{}
	if in.Committed() {
		r.EventID = in.id
		p.journal = journalKey(in.id)
	}
	b, err := fill(r)
	if err != nil {
		return err
	}
	p.id, p.line = r.EventID, b
	return l.enqueue(ctx, p)
}

func (l *Log) enqueue(ctx context.Context, p *pending) error {
	p.err = make(chan error, 1)
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return errors.New("audit log closed")
	}
	l.queue <- p
	l.mu.RUnlock()
	select {
	case err := <-p.err:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops the writer (after pending commits) and closes the file.
func (l *Log) Close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	close(l.stop)
	l.done.Wait()
	l.stopPruner()
	l.stopCopier()
	return l.f.Close()
}

// Filter selects records.
type Filter struct {
	After string // store key to start after ("" from the beginning)
	Until string // with After: the last store key to read ("" no bound)
	// UserName matches userIdentity.userName, or the last part of the ARN
	// (a role session's name).
	UserName  string
	EventName string
	Max       int // at most 1000; 0 means 1000
	// Latest returns the latest Max matching records instead (still in
	// time order), and as cursor the newest key of the whole trail, so a
	// follower starts after everything that was there.
	Latest bool
}

// MaxLookup is the most records one Lookup returns.
const MaxLookup = 1000

func (f Filter) match(v []byte) bool {
	var rec struct {
		EventName    string `json:"eventName"`
		UserIdentity struct {
			UserName string `json:"userName"`
			ARN      string `json:"arn"`
		} `json:"userIdentity"`
	}
	if json.Unmarshal(v, &rec) != nil {
		return false
	}
	if f.EventName != "" && rec.EventName != f.EventName {
		return false
	}
	u := rec.UserIdentity
	return f.UserName == "" || u.UserName == f.UserName || strings.HasSuffix(u.ARN, "/"+f.UserName)
}

// Lookup returns records from the store in commit order, and a cursor: the
// key of the last one read (the next page starts after it).
func Lookup(ctx context.Context, st store.Store, f Filter) ([]json.RawMessage, string, error) {
	if f.Max <= 0 || f.Max > MaxLookup {
		f.Max = MaxLookup
	}
	var out []json.RawMessage
	last := f.After
	err := st.View(ctx, func(r store.Reader) error {
		if f.Latest {
			last = ""
			return store.ScanReverse(r, keyPrefix, "", func(k string, v []byte) (bool, error) {
				if last == "" {
					last = k
				}
				if f.match(v) {
					out = append(out, append(json.RawMessage(nil), v...))
				}
				return len(out) < f.Max, nil
			})
		}
		return r.Scan(keyPrefix, f.After, func(k string, v []byte) (bool, error) {
			if f.Until != "" && k > f.Until {
				return false, nil
			}
			last = k
			if f.match(v) {
				out = append(out, append(json.RawMessage(nil), v...))
			}
			return len(out) < f.Max, nil
		})
	})
	if f.Latest {
		slices.Reverse(out)
	}
	return out, last, err
}

// sensitive member names (lower-case substrings) never recorded.
var sensitive = []string{"password", "token", "assertion", "secret", "credential"}

// Hidden replaces a secret value in requestParameters, as CloudTrail does.
const Hidden = "HIDDEN_DUE_TO_SECURITY_REASONS"

// Redact returns params without secret members, at any depth (maps inside
// arrays too), for requestParameters.
func Redact(params map[string]any) map[string]any {
	if params == nil {
		return nil
	}
	out := make(map[string]any, len(params))
	for k, v := range params {
		lk := strings.ToLower(k)
		hidden := false
		for _, s := range sensitive {
			if strings.Contains(lk, s) {
				hidden = true
			}
		}
		if hidden {
			out[k] = Hidden
			continue
		}
		out[k] = redactValue(v)
	}
	return out
}

func redactValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return Redact(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = redactValue(e)
		}
		return out
	}
	return v
}

// ReadFile reads a JSON-lines audit file (for tools and tests).
func ReadFile(path string) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Record
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, sc.Err()
}
