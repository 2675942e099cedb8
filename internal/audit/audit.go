// Package audit records one CloudTrail-shaped JSON event per API call and
// gateway login, durably (fsynced to the JSON-lines file and committed to
// the store) before the response is sent. Secrets never enter a record:
// request parameters pass through Redact.
package audit

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
	EventVersion       string         `json:"eventVersion"`
	EventID            string         `json:"eventID"`
	EventTime          time.Time      `json:"eventTime"`
	EventSource        string         `json:"eventSource"`
	EventName          string         `json:"eventName"`
	EventType          string         `json:"eventType"`
	AWSRegion          string         `json:"awsRegion"`
	SourceIPAddress    string         `json:"sourceIPAddress"`
	UserAgent          string         `json:"userAgent,omitempty"`
	UserIdentity       Identity       `json:"userIdentity"`
	RequestParameters  map[string]any `json:"requestParameters,omitempty"`
	ErrorCode          string         `json:"errorCode,omitempty"`
	ErrorMessage       string         `json:"errorMessage,omitempty"`
	RequestID          string         `json:"requestID"`
	ReadOnly           bool           `json:"readOnly"`
	RecipientAccountID string         `json:"recipientAccountId,omitempty"`
}

// Log writes records. Concurrent writers share one store transaction and
// one fsync (group commit); each Write returns only once its record is
// durable in both places.
type Log struct {
	f     *os.File
	store store.Store
	queue chan *pending
	stop  chan struct{}
	done  sync.WaitGroup

	// mu orders enqueues before Close: a Write holds it shared while it
	// queues, so every record queued before closed is set reaches the
	// writer's final drain, and none is queued after.
	mu     sync.RWMutex
	closed bool
}

type pending struct {
	key  string
	line []byte
	err  chan error
}

// Open opens (appending, 0600) the JSON-lines file; st may be nil.
func Open(path string, st store.Store) (*Log, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	l := &Log{f: f, store: st, queue: make(chan *pending, 1024), stop: make(chan struct{})}
	l.done.Add(1)
	go l.writer()
	return l, nil
}

// writer commits everything queued since its last commit, together.
func (l *Log) writer() {
	defer l.done.Done()
	for {
		var batch []*pending
		select {
		case p := <-l.queue:
			batch = append(batch, p)
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
		err := l.commit(batch)
		for _, p := range batch {
			p.err <- err
		}
	}
}

// commit makes a batch durable in both places. The store transaction and
// the file's fsync do not depend on each other, so they run side by side:
// a batch costs the slower of the two, not their sum.
func (l *Log) commit(batch []*pending) error {
	storeErr := make(chan error, 1)
	if l.store != nil {
		go func() {
			err := l.store.Update(context.Background(), func(tx store.Tx) error {
				for _, p := range batch {
					if err := tx.Put(p.key, p.line); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				err = fmt.Errorf("audit store: %w", err)
			}
			storeErr <- err
		}()
	} else {
		storeErr <- nil
	}
	n := 0
	for _, p := range batch {
		n += len(p.line) + 1
	}
	buf := make([]byte, 0, n)
	for _, p := range batch {
		buf = append(append(buf, p.line...), '\n')
	}
	_, ferr := l.f.Write(buf)
	if ferr == nil {
		ferr = l.f.Sync()
	}
	if err := <-storeErr; err != nil {
		return err
	}
	return ferr
}

// Key is where a record lives in the store: ordered by time.
func Key(r *Record) string {
	return "audit/" + r.EventTime.UTC().Format("20060102T150405.000000000Z") + "/" + r.EventID
}

// Write fills the record's id and version, and writes it durably.
func (l *Log) Write(ctx context.Context, r *Record) error {
	if l == nil {
		return nil
	}
	if r.EventID == "" {
		r.EventID = ids.MustUUID()
	}
	r.EventVersion = "1.09"
	if r.EventType == "" {
		r.EventType = "AwsApiCall"
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	p := &pending{key: Key(r), line: b, err: make(chan error, 1)}
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
	return l.f.Close()
}

// Filter selects records.
type Filter struct {
	After     string // store key to start after
	UserName  string // userIdentity.userName, onBehalfOf user name is not stored: matches ARN suffix too
	EventName string
	Max       int
}

// Lookup returns records from the store in time order, and the key of the
// last one (for the next page / --follow).
func Lookup(ctx context.Context, st store.Store, f Filter) ([]json.RawMessage, string, error) {
	if f.Max <= 0 || f.Max > 1000 {
		f.Max = 1000
	}
	var out []json.RawMessage
	last := f.After
	err := st.View(ctx, func(r store.Reader) error {
		return r.Scan("audit/", f.After, func(k string, v []byte) (bool, error) {
			last = k
			var rec Record
			if err := json.Unmarshal(v, &rec); err != nil {
				return true, nil
			}
			if f.EventName != "" && rec.EventName != f.EventName {
				return true, nil
			}
			if f.UserName != "" && rec.UserIdentity.UserName != f.UserName && !strings.HasSuffix(rec.UserIdentity.ARN, "/"+f.UserName) {
				return true, nil
			}
			out = append(out, append(json.RawMessage(nil), v...))
			return len(out) < f.Max, nil
		})
	})
	return out, last, err
}

// sensitive member names (lower-case substrings) never recorded.
var sensitive = []string{"password", "token", "assertion", "secret", "credential"}

// Redact returns params without secret members (recursively), for
// requestParameters.
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
			out[k] = "HIDDEN_DUE_TO_SECURITY_REASONS"
			continue
		}
		if m, ok := v.(map[string]any); ok {
			v = Redact(m)
		}
		out[k] = v
	}
	return out
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
