package audit

// The store copy behind the file (Options.StoreBehind).
//
// A Write is acknowledged once its line is synced into the file; a copier
// goroutine then commits the store copies of many group commits in one
// transaction (at most copyDelay later), together with a mark: the file's
// length up to which the store holds every line. So the file is the store
// copy's write-ahead log: after a crash, Open copies the lines past the mark
// (and removes their journal entries, as the lost copy would have) before
// Recover looks at the journal. One fsync per group commit instead of the
// file's plus the store's (bbolt: two), and a store transaction per tenth
// of a second instead of one per group. This is sound only when no other
// process reads the store while the copy lags: the embedded store, which
// bbolt locks to one process. Flush lets this process read its own writes.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/idcgate/idcgate/internal/store"
)

const (
	markKey = "meta/audit-file"
	// copyDelay is the longest a store copy waits for more to commit with.
	// Each bbolt commit writes pages and syncs twice on the same disk as
	// the file, whose syncs wait behind that burst of writes. Since the
	// file is synced with fdatasync, shorter copies measured better: a
	// lower open-loop p99 with 100 ms than with 250 ms or 1 s, at the same
	// or a higher peak (docs/PERFORMANCE.md has the rounds). Readers of
	// the copy (LookupEvents) Flush first, so the lag is never seen.
	copyDelay = 100 * time.Millisecond
	// copyMaxRecords ends a copy transaction early.
	copyMaxRecords = 8192
	// copyQueueLen bounds how far (in group commits) the copy may lag
	// before Writes wait for it.
	copyQueueLen = 256
	// copyRetries: a failing store copy is retried this often before the
	// copier gives up until the next start (which catches up from the mark:
	// the file holds every record).
	copyRetries = 5
	// catchUpBatch is how many lines one catch-up transaction copies.
	catchUpBatch = 2000
)

// copyRetryWait is the pause between store copy attempts (a variable for
// tests).
var copyRetryWait = time.Second

// fileMark is how far the store copy has followed which file.
type fileMark struct {
	Inode uint64 `json:"inode"`
	Size  int64  `json:"size"`
}

// copyBatch is one group commit's records, in the file up to end.
type copyBatch struct {
	keys, journals []string
	lines          [][]byte
	end            int64
	seq            uint64
}

// copyProgress tells Flush how far the copier has come.
type copyProgress struct {
	mu      sync.Mutex
	handed  uint64        // seq of the last batch handed to the copier
	copied  uint64        // seq of the last batch in the store
	broken  error         // the copier gave up
	changed chan struct{} // closed when copied or broken changes
	nudge   chan struct{} // asks the copier to commit now
	inode   uint64
}

// nextKey is the store key of the record id committed now (writer only).
func (l *Log) nextKey(id string) string {
	t := time.Now().UTC()
	if !t.After(l.last) {
		t = l.last.Add(time.Nanosecond)
	}
	l.last = t
	return keyAt(t) + "/" + id
}

// commitBehind appends and fsyncs the batch, then hands it to the copier.
// Journal entries are removed by the copy: a recovered record is written
// like any other, since this process is the only one that recovers.
func (l *Log) commitBehind(batch []*pending) error {
	b := copyBatch{keys: make([]string, len(batch)), journals: make([]string, len(batch)), lines: make([][]byte, len(batch))}
	n := 0
	for i, p := range batch {
		b.keys[i], b.journals[i], b.lines[i] = l.nextKey(p.id), p.journal, p.line
		n += len(p.line) + 1
	}
	buf := make([]byte, 0, n)
	for _, p := range batch {
		buf = append(append(buf, p.line...), '\n')
	}
	if err := l.appendFile(buf, len(batch)); err != nil {
		return err
	}
	b.end = l.size
	p := &l.progress
	p.mu.Lock()
	p.handed++
	b.seq = p.handed
	p.mu.Unlock()
	l.copyQueue <- b
	return nil
}

func (l *Log) startCopier() {
	l.copyQueue = make(chan copyBatch, copyQueueLen)
	l.progress.changed = make(chan struct{})
	l.progress.nudge = make(chan struct{}, 1)
	l.copier.Add(1)
	go l.copyLoop()
}

// stopCopier copies what is left (the writer has stopped) and waits.
func (l *Log) stopCopier() {
	if l.copyQueue == nil {
		return
	}
	close(l.copyQueue)
	l.copier.Wait()
}

func (l *Log) copyLoop() {
	defer l.copier.Done()
	var pend []copyBatch
	closed, failures := false, 0
	for !closed || len(pend) > 0 {
		if len(pend) == 0 {
			b, ok := <-l.copyQueue
			if !ok {
				return
			}
			pend = append(pend, b)
		}
		records := 0
		for _, b := range pend {
			records += len(b.keys)
		}
		wait := time.NewTimer(copyDelay)
	gather:
		for !closed && records < copyMaxRecords {
			select {
			case b, ok := <-l.copyQueue:
				if !ok {
					closed = true
					break gather
				}
				pend = append(pend, b)
				records += len(b.keys)
			case <-l.progress.nudge:
				break gather
			case <-wait.C:
				break gather
			}
		}
		wait.Stop()
		err := l.copyToStore(pend)
		if err == nil {
			failures = 0
			l.progress.set(pend[len(pend)-1].seq, nil)
			pend = pend[:0]
			continue
		}
		if failures++; failures < copyRetries && !closed {
			l.opts.Log.Error("audit: store copy failed, retrying (the records are in the file)", "err", err)
			time.Sleep(copyRetryWait)
			continue
		}
		// Give up until the next start, which copies from the mark on: a
		// later copy must not move the mark past what this one lost.
		l.opts.Log.Error("audit: store copy stopped until restart (the records are in the file; the next start copies them)", "err", err)
		l.progress.set(0, fmt.Errorf("audit store copy stopped: %w", err))
		for range l.copyQueue {
		}
		return
	}
}

func (p *copyProgress) set(copied uint64, broken error) {
	p.mu.Lock()
	if broken != nil {
		p.broken = broken
	} else {
		p.copied = copied
	}
	close(p.changed)
	p.changed = make(chan struct{})
	p.mu.Unlock()
}

// copyToStore commits the batches' records, removes their journal entries
// and moves the mark, in one transaction.
func (l *Log) copyToStore(pend []copyBatch) error {
	mark, err := json.Marshal(fileMark{Inode: l.progress.inode, Size: pend[len(pend)-1].end})
	if err != nil {
		return err
	}
	return l.store.Update(context.Background(), func(tx store.Tx) error {
		for _, b := range pend {
			for i, k := range b.keys {
				if err := tx.Put(k, b.lines[i]); err != nil {
					return err
				}
				if j := b.journals[i]; j != "" {
					if err := tx.Delete(j); err != nil {
						return err
					}
				}
			}
		}
		return tx.Put(markKey, mark)
	})
}

// Flush waits until the store holds every record whose Write returned
// before the call (at once without StoreBehind).
func (l *Log) Flush(ctx context.Context) error {
	if l == nil || l.copyQueue == nil {
		return nil
	}
	p := &l.progress
	p.mu.Lock()
	target := p.handed
	p.mu.Unlock()
	for {
		p.mu.Lock()
		copied, broken, changed := p.copied, p.broken, p.changed
		p.mu.Unlock()
		switch {
		case copied >= target:
			return nil
		case broken != nil:
			return broken
		}
		select {
		case p.nudge <- struct{}{}:
		default:
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// catchUp copies the file's lines past the store's mark into the store (at
// Open, before the writer starts). A store without a mark (new, or written
// by a version that committed every copy before answering) holds every line
// already; a mark of another file (the file was moved away or replaced) is
// no guide to this one, which is followed from its current end.
func (l *Log) catchUp(ctx context.Context) error {
	l.progress.inode = inodeOf(l.f)
	var mark fileMark
	found := false
	err := l.store.View(ctx, func(r store.Reader) error {
		v, err := r.Get(markKey)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		found = json.Unmarshal(v, &mark) == nil
		return nil
	})
	if err != nil {
		return fmt.Errorf("audit store copy: %w", err)
	}
	if !found || mark.Inode != l.progress.inode || mark.Size > l.size {
		if found {
			l.opts.Log.Warn("audit: the audit file is not the one the store copy followed; following it from its end", "file", l.f.Name())
		}
		return l.putMark(ctx, l.size)
	}
	sc := bufio.NewScanner(io.NewSectionReader(l.f, mark.Size, l.size-mark.Size))
	sc.Buffer(make([]byte, 64<<10), 1<<26)
	at, copied := mark.Size, 0
	var keys, lines []string
	commit := func() error {
		m, _ := json.Marshal(fileMark{Inode: l.progress.inode, Size: at})
		err := l.store.Update(ctx, func(tx store.Tx) error {
			for i, k := range keys {
				if err := tx.Put(k, []byte(lines[i])); err != nil {
					return err
				}
				if err := tx.Delete(journalKey(eventID(json.RawMessage(lines[i])))); err != nil {
					return err
				}
			}
			return tx.Put(markKey, m)
		})
		copied += len(keys)
		keys, lines = keys[:0], lines[:0]
		return err
	}
	for sc.Scan() {
		line := sc.Text()
		at += int64(len(line)) + 1
		id := eventID(json.RawMessage(line))
		if id == "" {
			continue // not a record of ours: the file keeps it, the store need not
		}
		keys, lines = append(keys, l.nextKey(id)), append(lines, line)
		if len(keys) == catchUpBatch {
			if err := commit(); err != nil {
				return fmt.Errorf("audit store copy: %w", err)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("audit file: %w", err)
	}
	if err := commit(); err != nil {
		return fmt.Errorf("audit store copy: %w", err)
	}
	if copied > 0 {
		l.opts.Log.Warn("audit: store copy caught up from the file (the last run ended before copying them)", "records", copied)
	}
	return nil
}

func (l *Log) putMark(ctx context.Context, size int64) error {
	m, _ := json.Marshal(fileMark{Inode: l.progress.inode, Size: size})
	if err := l.store.Update(ctx, func(tx store.Tx) error { return tx.Put(markKey, m) }); err != nil {
		return fmt.Errorf("audit store copy: %w", err)
	}
	return nil
}

// inodeOf identifies the file across restarts (0 where there are no inodes).
func inodeOf(f *os.File) uint64 {
	fi, err := f.Stat()
	if err != nil {
		return 0
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}
