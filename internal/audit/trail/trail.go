// Package trail writes the audit trail: each record durably (fsynced to
// the JSON-lines file, and in the store) before the response is sent.
// Concurrent writers share one store transaction and one fsync (group
// commit). It wires the rooms next to it: the file (logfile), the store
// copy behind the file (storecopy), pruning (retention), and the journal's
// final and recovered records (journal).
package trail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/idcgate/idcgate/internal/audit"
	"github.com/idcgate/idcgate/internal/audit/journal"
	"github.com/idcgate/idcgate/internal/audit/logfile"
	"github.com/idcgate/idcgate/internal/audit/retention"
	"github.com/idcgate/idcgate/internal/audit/storecopy"
	"github.com/idcgate/idcgate/internal/clock"
	"github.com/idcgate/idcgate/internal/store"
)

// Log writes records. Each Write returns only once its record is durable:
// in the file and the store, or, with Options.StoreBehind, in the file,
// which is then the store copy's write-ahead log (see storecopy).
//
// A record's store key is taken by the writer goroutine when it commits the
// record, from a clock that never goes back (audit.CommitKeys), so within
// one process keys are in commit order. (eventTime, the time of the
// request, is not.)
type Log struct {
	file  *logfile.File
	store store.Store
	queue chan *pending
	stop  chan struct{}
	done  sync.WaitGroup
	keys  audit.CommitKeys // writer goroutine only (and catch-up before it)

	// mu orders enqueues before Close: a Write holds it shared while it
	// queues, so every record queued before closed is set reaches the
	// writer's final drain, and none is queued after.
	mu     sync.RWMutex
	closed bool

	opts   Options
	copier *storecopy.Copier // with StoreBehind
	pruner *retention.Pruner // with Retention
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
	// Clock is the clock for Retention (zero: the wall clock).
	Clock clock.Clock
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
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if st == nil {
		opts.StoreBehind, opts.Retention = false, 0
	}
	f, err := logfile.Open(path)
	if err != nil {
		return nil, err
	}
	l := &Log{file: f, store: st, queue: make(chan *pending, 1024), stop: make(chan struct{}), opts: opts}
	if opts.StoreBehind {
		if l.copier, err = storecopy.Start(context.Background(), st, f, &l.keys, opts.Log); err != nil {
			f.Close()
			return nil, err
		}
	}
	if opts.Retention > 0 {
		l.pruner = &retention.Pruner{Store: st, Retention: opts.Retention, Clock: opts.Clock, Log: opts.Log}
		l.pruner.Start()
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
	if l.copier != nil {
		return l.commitBehind(batch)
	}
	keys := make([]string, len(batch))
	recovering := false
	for i, p := range batch {
		keys[i] = l.keys.Next(p.id)
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

// commitBehind appends and fsyncs the batch, then hands it to the copier.
// Journal entries are removed by the copy: a recovered record is written
// like any other, since this process is the only one that recovers.
func (l *Log) commitBehind(batch []*pending) error {
	b := storecopy.Batch{Keys: make([]string, len(batch)), Journals: make([]string, len(batch)), Lines: make([][]byte, len(batch))}
	n := 0
	for i, p := range batch {
		b.Keys[i], b.Journals[i], b.Lines[i] = l.keys.Next(p.id), p.journal, p.line
		n += len(p.line) + 1
	}
	buf := make([]byte, 0, n)
	for _, p := range batch {
		buf = append(append(buf, p.line...), '\n')
	}
	if err := l.appendFile(buf, len(batch)); err != nil {
		return err
	}
	b.End = l.file.Size()
	l.copier.Hand(b)
	return nil
}

// appendFile appends and syncs one group commit, and observes it.
func (l *Log) appendFile(buf []byte, records int) error {
	if len(buf) == 0 {
		return nil
	}
	start := time.Now()
	if err := l.file.Append(buf); err != nil {
		return err
	}
	if l.opts.ObserveCommit != nil {
		l.opts.ObserveCommit(time.Since(start), records)
	}
	return nil
}

// Write fills the record's id and version, and writes it durably.
func (l *Log) Write(ctx context.Context, r *audit.Record) error {
	if l == nil {
		return nil
	}
	b, err := audit.Fill(r)
	if err != nil {
		return err
	}
	return l.enqueue(ctx, &pending{id: r.EventID, line: b})
}

// Complete writes the final record of the call that in announced (in may
// be nil). When the call committed a change, the record takes the journal
// entry's eventID and the same store transaction removes the entry.
func (l *Log) Complete(ctx context.Context, in *journal.Intent, r *audit.Record) error {
	if l == nil {
		return nil
	}
	p := &pending{}
	if id := in.EventID(); id != "" {
		r.EventID = id
		p.journal = audit.JournalKey(id)
	}
	b, err := audit.Fill(r)
	if err != nil {
		return err
	}
	p.id, p.line = r.EventID, b
	return l.enqueue(ctx, p)
}

// WriteRecovered writes a record journal.Recover rebuilt from the journal
// entry at journalKey: only if the entry is still there, which the same
// store transaction removes.
func (l *Log) WriteRecovered(ctx context.Context, r *audit.Record, journalKey string) error {
	b, err := audit.Fill(r)
	if err != nil {
		return err
	}
	return l.enqueue(ctx, &pending{id: r.EventID, line: b, journal: journalKey, recovered: true})
}

// Recover writes out the journal's entries of calls that started before
// cutoff (journal.Recover over the Log's store).
func (l *Log) Recover(ctx context.Context, cutoff time.Time) (int, error) {
	if l == nil {
		return 0, nil
	}
	return journal.Recover(ctx, l.store, l, cutoff)
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

// Flush waits until the store holds every record whose Write returned
// before the call (at once without StoreBehind).
func (l *Log) Flush(ctx context.Context) error {
	if l == nil || l.copier == nil {
		return nil
	}
	return l.copier.Flush(ctx)
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
	if l.pruner != nil {
		l.pruner.Stop()
	}
	if l.copier != nil {
		l.copier.Stop()
	}
	return l.file.Close()
}
