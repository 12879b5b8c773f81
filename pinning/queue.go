package pinning

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/ninja-ipfs/ninja/node"
	"github.com/ninja-ipfs/ninja/store"
)

// FetchConfig configures the pin-by-CID workers.
type FetchConfig struct {
	// Disabled leaves requests queued: for a process without a network
	// (the CLI's offline commands), whose queue the next `ninja serve`
	// works.
	Disabled bool
	// Timeout bounds one request's fetch; a request still incomplete then
	// ends failed. Zero means 10 minutes.
	Timeout time.Duration
	// MaxConcurrent bounds the fetches in flight across all accounts; zero
	// means 8.
	MaxConcurrent int
	// MaxPerAccount bounds one account's fetches in flight, so one account
	// queueing thousands of CIDs cannot starve the others; zero means 2.
	MaxPerAccount int
}

// fetcher works pin-by-CID requests: a persistent queue (the store's pin
// records with status queued or pinning) worked by a bounded number of
// fetches. A request goes queued -> pinning -> pinned | failed; one that
// was queued or pinning when the process stopped is resumed at the next
// start.
type fetcher struct {
	s   *Service
	cfg FetchConfig
	log *slog.Logger

	ctx  context.Context // cancelled by close
	stop context.CancelFunc
	wg   sync.WaitGroup

	mu      sync.Mutex
	closed  bool
	queue   []store.Pin                   // waiting, oldest first
	running map[string]context.CancelFunc // by pin id
	perAcct map[string]int                // running fetches per account
}

func startFetcher(s *Service, cfg FetchConfig) (*fetcher, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Minute
	}
	if cfg.MaxConcurrent <= 0 {
		cfg.MaxConcurrent = 8
	}
	if cfg.MaxPerAccount <= 0 {
		cfg.MaxPerAccount = 2
	}
	pending, err := s.store.QueuedPins()
	if err != nil {
		return nil, fmt.Errorf("start pin queue: %w", err)
	}
	ctx, stop := context.WithCancel(context.Background())
	f := &fetcher{
		s: s, cfg: cfg, log: s.log.With("component", "pin-queue"),
		ctx: ctx, stop: stop,
		queue:   pending,
		running: make(map[string]context.CancelFunc),
		perAcct: make(map[string]int),
	}
	if len(pending) > 0 {
		f.log.Info("resuming pin requests", "count", len(pending))
	}
	f.mu.Lock()
	f.schedule()
	f.mu.Unlock()
	return f, nil
}

// submit records a request and either pins it at once (its DAG is local)
// or queues it for a fetch.
func (f *fetcher) submit(ctx context.Context, c cid.Cid, pin store.Pin) (store.Pin, error) {
	rec, err := f.s.store.AddQueuedPin(pin)
	if err != nil {
		return store.Pin{}, limitErr(fmt.Errorf("queue pin: %w", err))
	}
	// The record is a live GC root from here on, so a complete local DAG
	// stays complete.
	if size, complete, err := f.s.node.LocalDAG(ctx, c); err == nil && complete {
		done, err := f.finish(rec.ID, size, nil)
		if err == nil {
			f.s.node.Announce(c)
			return done, nil
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.closed {
		f.queue = append(f.queue, rec)
		f.schedule()
	}
	return rec, nil
}

// cancel stops the request id's fetch if one runs (its record was
// deleted) and drops it from the queue.
func (f *fetcher) cancel(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if cancel, ok := f.running[id]; ok {
		cancel()
	}
	for i, q := range f.queue {
		if q.ID == id {
			f.queue = append(f.queue[:i], f.queue[i+1:]...)
			break
		}
	}
}

// QueueStats reports the pin-by-CID requests waiting and the fetches in
// flight.
func (s *Service) QueueStats() (queued, running int) {
	if s.fetch == nil {
		return 0, 0
	}
	f := s.fetch
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.queue), len(f.running)
}

// close stops every fetch and waits for the workers.
func (f *fetcher) close(ctx context.Context) error {
	f.mu.Lock()
	f.closed = true
	f.queue = nil
	f.mu.Unlock()
	f.stop()
	done := make(chan struct{})
	go func() { f.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("close pin queue: %w", ctx.Err())
	}
}

// alive reports whether the fetcher takes and works requests (it has not
// been closed).
func (f *fetcher) alive() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return !f.closed && f.ctx.Err() == nil
}

// schedule starts the oldest waiting requests whose account is under its
// limit, while the global limit allows. f.mu must be held.
func (f *fetcher) schedule() {
	if f.closed {
		return
	}
	rest := f.queue[:0]
	for i, pin := range f.queue {
		if len(f.running) >= f.cfg.MaxConcurrent {
			rest = append(rest, f.queue[i:]...)
			break
		}
		if f.perAcct[pin.AccountID] >= f.cfg.MaxPerAccount {
			rest = append(rest, pin)
			continue
		}
		ctx, cancel := context.WithTimeout(f.ctx, f.cfg.Timeout)
		f.running[pin.ID] = cancel
		f.perAcct[pin.AccountID]++
		f.wg.Add(1)
		go f.work(ctx, cancel, pin)
	}
	f.queue = rest
}

func (f *fetcher) work(ctx context.Context, cancel context.CancelFunc, pin store.Pin) {
	defer f.wg.Done()
	defer func() {
		cancel()
		f.mu.Lock()
		delete(f.running, pin.ID)
		if f.perAcct[pin.AccountID]--; f.perAcct[pin.AccountID] <= 0 {
			delete(f.perAcct, pin.AccountID)
		}
		f.schedule()
		f.mu.Unlock()
	}()
	_, err := f.s.store.UpdateQueuedPin(pin.ID, func(r *store.Pin) error {
		r.Status, r.Reason = store.StatusPinning, ""
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return // deleted while queued
	}
	if err != nil {
		f.log.Error("mark pinning", "pin", pin.ID, "err", err)
		return
	}
	c, err := cid.Decode(pin.CID)
	var size uint64
	start := time.Now()
	if err == nil {
		size, err = f.fetch(ctx, c, pin)
	}
	if f.ctx.Err() != nil {
		return // shutting down: the request resumes on the next start
	}
	if err != nil && ctx.Err() == context.Canceled {
		return // cancelled: the record was deleted
	}
	if err != nil && ctx.Err() == context.DeadlineExceeded {
		err = fmt.Errorf("could not fetch the whole DAG within %s", f.cfg.Timeout)
	}
	if _, ferr := f.finish(pin.ID, size, err); ferr != nil && !errors.Is(ferr, store.ErrNotFound) {
		f.log.Error("record pin result", "pin", pin.ID, "err", ferr)
		return
	}
	if err != nil {
		f.s.obs.Fetch("failed", time.Since(start))
		f.log.Info("pin failed", "pin", pin.ID, "cid", pin.CID, "err", err)
		return
	}
	f.s.obs.Fetch("pinned", time.Since(start))
	f.log.Info("pinned", "pin", pin.ID, "cid", pin.CID, "dagSize", size)
	f.s.node.Announce(c)
}

// fetch pulls the DAG, at most the account's MaxFetchBytes from the
// network: past it the fetch stops and the pin ends failed, saying so.
func (f *fetcher) fetch(ctx context.Context, c cid.Cid, pin store.Pin) (uint64, error) {
	q, _, err := f.s.store.Quota(pin.AccountID)
	if err != nil {
		return 0, fmt.Errorf("read the account's quota: %w", err)
	}
	size, err := f.s.node.FetchDAGLimit(ctx, c, pin.Origins, max(q.MaxFetchBytes, 0))
	if errors.Is(err, node.ErrLimit) && q.MaxFetchBytes > 0 {
		return 0, fmt.Errorf("%w (the account's quota for one pin-by-CID fetch is %d bytes)", err, q.MaxFetchBytes)
	}
	return size, err
}

// finish records a request's outcome: pinned with its DAG size, or failed
// with fetchErr as the reason.
func (f *fetcher) finish(id string, size uint64, fetchErr error) (store.Pin, error) {
	return f.s.store.UpdateQueuedPin(id, func(r *store.Pin) error {
		if fetchErr != nil {
			r.Status, r.Reason = store.StatusFailed, fetchErr.Error()
			return nil
		}
		r.Status, r.Reason, r.DagSize = store.StatusPinned, "", int64(size)
		return nil
	})
}
