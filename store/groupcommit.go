package store

import (
	"errors"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// groupCommit coalesces concurrent write transactions into shared
// commits (one fsync for many uploads) without making anyone wait for
// company: a caller that finds no commit running commits at once, alone
// if it is alone; callers that arrive while a commit runs queue, and the
// first of them commits the whole queue as soon as that commit ends.
//
// bbolt's own Batch instead waits MaxBatchDelay for more callers before
// every commit: a lone upload paid that delay on each commit, for a batch
// that was not coming. Under load the two group the same way (the queue
// fills while the disk flushes); alone, a caller pays one commit and
// nothing more.
//
// As with Batch, fn may run more than once: when one function of a group
// fails, the transaction is rolled back, that function's caller gets the
// error of a run of its own, and the others are committed again without
// it.
type groupCommit struct {
	mu      sync.Mutex
	queue   []*commitCall
	running bool // a leader is committing; whoever it hands over to is next
}

type commitCall struct {
	fn     func(tx *bolt.Tx) error
	result chan error // one value: the call's result, or errLead
}

// errLead tells a queued caller that the commit before it has ended and
// it is to commit the queue.
var errLead = errors.New("store: lead the next commit")

// maxGroup bounds one commit's callers (bbolt's default MaxBatchSize), so
// that a transaction, and the free pages its commit rewrites, stays small.
const maxGroup = 1000

// batch runs fn in a write transaction shared with the callers that are
// queued with it; fn may run more than once.
func (s *Store) batch(fn func(tx *bolt.Tx) error) error {
	g := &s.group
	c := &commitCall{fn: fn, result: make(chan error, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, c)
	lead := !g.running
	g.running = true
	g.mu.Unlock()
	if lead {
		s.commitQueue()
	}
	for {
		err := <-c.result
		if err != errLead {
			return err
		}
		s.commitQueue()
	}
}

// commitQueue commits the callers queued so far (up to maxGroup) in one
// transaction, then hands the lead to the first caller still queued, or
// ends the run.
func (s *Store) commitQueue() {
	g := &s.group
	g.mu.Lock()
	n := min(len(g.queue), maxGroup)
	calls := g.queue[:n:n]
	g.queue = g.queue[n:]
	g.mu.Unlock()

	s.commitGroup(calls)

	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.queue) == 0 {
		g.queue = nil
		g.running = false
		return
	}
	g.queue[0].result <- errLead
}

// commitGroup runs calls' functions in one transaction and tells each
// caller its result; see groupCommit for what happens when one fails.
func (s *Store) commitGroup(calls []*commitCall) {
	for len(calls) > 0 {
		failed := -1
		err := s.update(func(tx *bolt.Tx) error {
			for i, c := range calls {
				if err := s.guarded(tx, c.fn); err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		if failed < 0 {
			// Committed, or the commit itself failed: the same for all.
			for _, c := range calls {
				c.result <- err
			}
			return
		}
		bad := calls[failed]
		bad.result <- s.update(func(tx *bolt.Tx) error { return s.guarded(tx, bad.fn) })
		calls = append(calls[:failed:failed], calls[failed+1:]...)
	}
}

// guarded runs fn, turning a panic into an error for fn's caller alone
// (see recoverCorrupt), so that one caller's damaged page does not fail
// the callers it shares a commit with.
func (s *Store) guarded(tx *bolt.Tx, fn func(tx *bolt.Tx) error) (err error) {
	defer s.recoverCorrupt(&err)
	return fn(tx)
}
