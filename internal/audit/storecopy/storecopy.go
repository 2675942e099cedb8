// Package storecopy keeps the store copy of the audit trail behind the
// file (trail.Options.StoreBehind).
//
// A Write is acknowledged once its line is synced into the file; a copier
// goroutine then commits the store copies of many group commits in one
// transaction (at most copyDelay later), together with a mark: the file's
// length up to which the store holds every line. So the file is the store
// copy's write-ahead log: after a crash, Start copies the lines past the
// mark (and removes their journal entries, as the lost copy would have)
// before journal.Recover looks at the journal. One fsync per group commit
// instead of the file's plus the store's (bbolt: two), and a store
// transaction per tenth of a second instead of one per group. This is
// sound only when no other process reads the store while the copy lags:
// the embedded store, which bbolt locks to one process. Flush lets this
// process read its own writes.
package storecopy

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/idcgate/idcgate/internal/audit"
	"github.com/idcgate/idcgate/internal/audit/logfile"
	"github.com/idcgate/idcgate/internal/store"
)

const (
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

// Batch is one group commit's records, in the file up to End: their store
// keys, lines, and the journal entries their copies remove ("" for none).
type Batch struct {
	Keys, Journals []string
	Lines          [][]byte
	End            int64
	seq            uint64
}

// Copier commits the store copies of the batches handed to it.
type Copier struct {
	store    store.Store
	log      *slog.Logger
	queue    chan Batch
	done     sync.WaitGroup
	progress progress
}

// progress tells Flush how far the copier has come.
type progress struct {
	mu      sync.Mutex
	handed  uint64        // seq of the last batch handed to the copier
	copied  uint64        // seq of the last batch in the store
	broken  error         // the copier gave up
	changed chan struct{} // closed when copied or broken changes
	nudge   chan struct{} // asks the copier to commit now
	inode   uint64
}

// Start catches the store copy up with f (before the trail's writer
// starts; keys names the records it copies) and starts the copier.
func Start(ctx context.Context, st store.Store, f *logfile.File, keys *audit.CommitKeys, log *slog.Logger) (*Copier, error) {
	c := &Copier{store: st, log: log}
	if err := c.catchUp(ctx, f, keys); err != nil {
		return nil, err
	}
	c.queue = make(chan Batch, copyQueueLen)
	c.progress.changed = make(chan struct{})
	c.progress.nudge = make(chan struct{}, 1)
	c.done.Add(1)
	go c.copyLoop()
	return c, nil
}

// Hand queues a batch that is in the file (the writer goroutine only).
func (c *Copier) Hand(b Batch) {
	p := &c.progress
	p.mu.Lock()
	p.handed++
	b.seq = p.handed
	p.mu.Unlock()
	c.queue <- b
}

// Stop copies what is left (the writer has stopped) and waits.
func (c *Copier) Stop() {
	close(c.queue)
	c.done.Wait()
}

func (c *Copier) copyLoop() {
	defer c.done.Done()
	var pend []Batch
	closed, failures := false, 0
	for !closed || len(pend) > 0 {
		if len(pend) == 0 {
			b, ok := <-c.queue
			if !ok {
				return
			}
			pend = append(pend, b)
		}
		records := 0
		for _, b := range pend {
			records += len(b.Keys)
		}
		wait := time.NewTimer(copyDelay)
	gather:
		for !closed && records < copyMaxRecords {
			select {
			case b, ok := <-c.queue:
				if !ok {
					closed = true
					break gather
				}
				pend = append(pend, b)
				records += len(b.Keys)
			case <-c.progress.nudge:
				break gather
			case <-wait.C:
				break gather
			}
		}
		wait.Stop()
		err := c.copyToStore(pend)
		if err == nil {
			failures = 0
			c.progress.set(pend[len(pend)-1].seq, nil)
			pend = pend[:0]
			continue
		}
		if failures++; failures < copyRetries && !closed {
			c.log.Error("audit: store copy failed, retrying (the records are in the file)", "err", err)
			time.Sleep(copyRetryWait)
			continue
		}
		// Give up until the next start, which copies from the mark on: a
		// later copy must not move the mark past what this one lost.
		c.log.Error("audit: store copy stopped until restart (the records are in the file; the next start copies them)", "err", err)
		c.progress.set(0, fmt.Errorf("audit store copy stopped: %w", err))
		for range c.queue {
		}
		return
	}
}

func (p *progress) set(copied uint64, broken error) {
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
func (c *Copier) copyToStore(pend []Batch) error {
	mark, err := json.Marshal(fileMark{Inode: c.progress.inode, Size: pend[len(pend)-1].End})
	if err != nil {
		return err
	}
	return c.store.Update(context.Background(), func(tx store.Tx) error {
		for _, b := range pend {
			for i, k := range b.Keys {
				if err := tx.Put(k, b.Lines[i]); err != nil {
					return err
				}
				if j := b.Journals[i]; j != "" {
					if err := tx.Delete(j); err != nil {
						return err
					}
				}
			}
		}
		return tx.Put(audit.MarkKey, mark)
	})
}

// Flush waits until the store holds every record handed to the copier
// before the call.
func (c *Copier) Flush(ctx context.Context) error {
	p := &c.progress
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

// catchUp copies the file's lines past the store's mark into the store. A
// store without a mark (new, or written by a version that committed every
// copy before answering) holds every line already; a mark of another file
// (the file was moved away or replaced) is no guide to this one, which is
// followed from its current end.
func (c *Copier) catchUp(ctx context.Context, f *logfile.File, keys *audit.CommitKeys) error {
	c.progress.inode = f.Inode()
	size := f.Size()
	var mark fileMark
	found := false
	err := c.store.View(ctx, func(r store.Reader) error {
		v, err := r.Get(audit.MarkKey)
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
	if !found || mark.Inode != c.progress.inode || mark.Size > size {
		if found {
			c.log.Warn("audit: the audit file is not the one the store copy followed; following it from its end", "file", f.Name())
		}
		return c.putMark(ctx, size)
	}
	sc := bufio.NewScanner(f.From(mark.Size))
	sc.Buffer(make([]byte, 64<<10), 1<<26)
	at, copied := mark.Size, 0
	var ks, lines []string
	commit := func() error {
		m, _ := json.Marshal(fileMark{Inode: c.progress.inode, Size: at})
		err := c.store.Update(ctx, func(tx store.Tx) error {
			for i, k := range ks {
				if err := tx.Put(k, []byte(lines[i])); err != nil {
					return err
				}
				if err := tx.Delete(audit.JournalKey(audit.EventID(json.RawMessage(lines[i])))); err != nil {
					return err
				}
			}
			return tx.Put(audit.MarkKey, m)
		})
		copied += len(ks)
		ks, lines = ks[:0], lines[:0]
		return err
	}
	for sc.Scan() {
		line := sc.Text()
		at += int64(len(line)) + 1
		id := audit.EventID(json.RawMessage(line))
		if id == "" {
			continue // not a record of ours: the file keeps it, the store need not
		}
		ks, lines = append(ks, keys.Next(id)), append(lines, line)
		if len(ks) == catchUpBatch {
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
		c.log.Warn("audit: store copy caught up from the file (the last run ended before copying them)", "records", copied)
	}
	return nil
}

func (c *Copier) putMark(ctx context.Context, size int64) error {
	m, _ := json.Marshal(fileMark{Inode: c.progress.inode, Size: size})
	if err := c.store.Update(ctx, func(tx store.Tx) error { return tx.Put(audit.MarkKey, m) }); err != nil {
		return fmt.Errorf("audit store copy: %w", err)
	}
	return nil
}
