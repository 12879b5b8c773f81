package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/ninja-ipfs/ninja/store"
)

// PinNode is what the Pinner needs from the IPFS node.
type PinNode interface {
	LocalDAG(ctx context.Context, c cid.Cid) (size uint64, complete bool, err error)
	FetchDAG(ctx context.Context, c cid.Cid, origins []string) (uint64, error)
	Provide(ctx context.Context, c cid.Cid) error
	Has(ctx context.Context, c cid.Cid) (bool, error)
	Online() bool
}

// PinStore is what the Pinner needs from the record store.
type PinStore interface {
	AddQueuedPin(p store.Pin) (store.Pin, error)
	UpdateQueuedPin(id string, fn func(*store.Pin) error) (store.Pin, error)
	QueuedPins() ([]store.Pin, error)
	LiveCIDs(fn func(cid string) error) error
}

// PinnerConfig configures NewPinner.
type PinnerConfig struct {
	Store PinStore
	Node  PinNode
	// Timeout bounds one request's fetch; a request still incomplete then
	// ends failed. Zero means 10 minutes.
	Timeout time.Duration
	// MaxConcurrent bounds the fetches in flight across all accounts; zero
	// means 8.
	MaxConcurrent int
	// MaxPerAccount bounds one account's fetches in flight, so one account
	// queueing thousands of CIDs cannot starve the others; zero means 2.
	MaxPerAccount int
	// ReprovideInterval is how often every pinned root is announced to the
	// DHT again (when the node is online); zero means never.
	ReprovideInterval time.Duration
	Logger            *slog.Logger
}

// Pinner runs pin-by-CID requests: a persistent queue (the store's pin
// records with status queued or pinning) worked by a bounded number of
// fetches. A request goes queued -> pinning -> pinned | failed; one that
// was queued or pinning when the process stopped is resumed by the next
// NewPinner. It also announces pinned roots to the DHT.
type Pinner struct {
	cfg PinnerConfig
	log *slog.Logger

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	closed  bool
	queue   []store.Pin                   // waiting, oldest first
	running map[string]context.CancelFunc // by pin id
	perAcct map[string]int                // running fetches per account
}

// NewPinner loads the unfinished requests from the store and starts working
// them. Close stops it.
func NewPinner(cfg PinnerConfig) (*Pinner, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Minute
	}
	if cfg.MaxConcurrent <= 0 {
		cfg.MaxConcurrent = 8
	}
	if cfg.MaxPerAccount <= 0 {
		cfg.MaxPerAccount = 2
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	pending, err := cfg.Store.QueuedPins()
	if err != nil {
		return nil, fmt.Errorf("start pinner: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Pinner{
		cfg: cfg, log: cfg.Logger.With("component", "pinner"),
		ctx: ctx, cancel: cancel,
		queue:   pending,
		running: make(map[string]context.CancelFunc),
		perAcct: make(map[string]int),
	}
	if len(pending) > 0 {
		p.log.Info("resuming pin requests", "count", len(pending))
	}
	p.mu.Lock()
	p.schedule()
	p.mu.Unlock()
	if cfg.ReprovideInterval > 0 && cfg.Node.Online() {
		p.wg.Add(1)
		go p.reprovideLoop()
	}
	return p, nil
}

// Submit records a pin-by-CID request and returns it. A DAG that is local
// already (an upload, an identity CID, another account's pin) is pinned at
// once; otherwise the request is queued for a fetch.
func (p *Pinner) Submit(ctx context.Context, pin store.Pin) (store.Pin, error) {
	c, err := cid.Decode(pin.CID)
	if err != nil {
		return store.Pin{}, fmt.Errorf("submit pin: %w", err)
	}
	rec, err := p.cfg.Store.AddQueuedPin(pin)
	if err != nil {
		return store.Pin{}, err
	}
	// The record is a live GC root from here on, so a complete local DAG
	// stays complete.
	if size, complete, err := p.cfg.Node.LocalDAG(ctx, c); err == nil && complete {
		done, err := p.finish(rec.ID, size, nil)
		if err == nil {
			p.Announce(c)
			return done, nil
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.queue = append(p.queue, rec)
		p.schedule()
	}
	return rec, nil
}

// Cancel stops the request id's fetch if one runs (its record was deleted)
// and drops it from the queue.
func (p *Pinner) Cancel(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if cancel, ok := p.running[id]; ok {
		cancel()
	}
	for i, q := range p.queue {
		if q.ID == id {
			p.queue = append(p.queue[:i], p.queue[i+1:]...)
			break
		}
	}
}

// Stats reports the requests waiting and the fetches in flight.
func (p *Pinner) Stats() (queued, running int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.queue), len(p.running)
}

// Close stops every fetch and waits for the workers. Requests cut short
// stay queued or pinning in the store and resume on the next start.
func (p *Pinner) Close(ctx context.Context) error {
	p.mu.Lock()
	p.closed = true
	p.queue = nil
	p.mu.Unlock()
	p.cancel()
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("close pinner: %w", ctx.Err())
	}
}

// schedule starts the oldest waiting requests whose account is under its
// limit, while the global limit allows. p.mu must be held.
func (p *Pinner) schedule() {
	if p.closed {
		return
	}
	rest := p.queue[:0]
	for i, pin := range p.queue {
		if len(p.running) >= p.cfg.MaxConcurrent {
			rest = append(rest, p.queue[i:]...)
			break
		}
		if p.perAcct[pin.AccountID] >= p.cfg.MaxPerAccount {
			rest = append(rest, pin)
			continue
		}
		ctx, cancel := context.WithTimeout(p.ctx, p.cfg.Timeout)
		p.running[pin.ID] = cancel
		p.perAcct[pin.AccountID]++
		p.wg.Add(1)
		go p.work(ctx, cancel, pin)
	}
	p.queue = rest
}

func (p *Pinner) work(ctx context.Context, cancel context.CancelFunc, pin store.Pin) {
	defer p.wg.Done()
	defer func() {
		cancel()
		p.mu.Lock()
		delete(p.running, pin.ID)
		if p.perAcct[pin.AccountID]--; p.perAcct[pin.AccountID] <= 0 {
			delete(p.perAcct, pin.AccountID)
		}
		p.schedule()
		p.mu.Unlock()
	}()
	_, err := p.cfg.Store.UpdateQueuedPin(pin.ID, func(r *store.Pin) error {
		r.Status, r.Reason = store.StatusPinning, ""
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return // deleted while queued
	}
	if err != nil {
		p.log.Error("mark pinning", "pin", pin.ID, "err", err)
		return
	}
	c, err := cid.Decode(pin.CID)
	var size uint64
	if err == nil {
		size, err = p.cfg.Node.FetchDAG(ctx, c, pin.Origins)
	}
	if p.ctx.Err() != nil {
		return // shutting down: the request resumes on the next start
	}
	if err != nil && ctx.Err() == context.Canceled {
		return // Cancel: the record was deleted
	}
	if err != nil && ctx.Err() == context.DeadlineExceeded {
		err = fmt.Errorf("could not fetch the whole DAG within %s", p.cfg.Timeout)
	}
	if _, ferr := p.finish(pin.ID, size, err); ferr != nil && !errors.Is(ferr, store.ErrNotFound) {
		p.log.Error("record pin result", "pin", pin.ID, "err", ferr)
		return
	}
	if err != nil {
		p.log.Info("pin failed", "pin", pin.ID, "cid", pin.CID, "err", err)
		return
	}
	p.log.Info("pinned", "pin", pin.ID, "cid", pin.CID, "dagSize", size)
	p.Announce(c)
}

// finish records a request's outcome: pinned with its DAG size, or failed
// with fetchErr as the reason.
func (p *Pinner) finish(id string, size uint64, fetchErr error) (store.Pin, error) {
	return p.cfg.Store.UpdateQueuedPin(id, func(r *store.Pin) error {
		if fetchErr != nil {
			r.Status, r.Reason = store.StatusFailed, fetchErr.Error()
			return nil
		}
		r.Status, r.Reason, r.DagSize = store.StatusPinned, "", int64(size)
		return nil
	})
}

// Announce announces c to the DHT in the background (a no-op offline); a
// failure is only logged, the next reprovide round tries again. Uploads
// call it for their new roots, pin-by-CID requests when they end pinned.
func (p *Pinner) Announce(c cid.Cid) {
	if !p.cfg.Node.Online() {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		ctx, cancel := context.WithTimeout(p.ctx, 5*time.Minute)
		defer cancel()
		if err := p.cfg.Node.Provide(ctx, c); err != nil {
			p.log.Debug("provide", "cid", c, "err", err)
		}
	}()
}

// reprovideLoop announces every locally held pinned root at start and then
// every ReprovideInterval, as Kubo's reprovider does for its pins.
func (p *Pinner) reprovideLoop() {
	defer p.wg.Done()
	t := time.NewTicker(p.cfg.ReprovideInterval)
	defer t.Stop()
	for {
		n, err := p.Reprovide(p.ctx)
		if err != nil && p.ctx.Err() == nil {
			p.log.Warn("reprovide", "err", err)
		} else if err == nil {
			p.log.Info("reprovided pinned roots", "count", n)
		}
		select {
		case <-p.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Reprovide announces every pinned root that is stored locally and returns
// how many it announced.
func (p *Pinner) Reprovide(ctx context.Context) (int, error) {
	var roots []cid.Cid
	err := p.cfg.Store.LiveCIDs(func(s string) error {
		if c, err := cid.Decode(s); err == nil {
			roots = append(roots, c)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, c := range roots {
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		if ok, err := p.cfg.Node.Has(ctx, c); err != nil || !ok {
			continue // a queued or failed request's root we do not hold
		}
		if err := p.cfg.Node.Provide(ctx, c); err != nil {
			p.log.Debug("reprovide", "cid", c, "err", err)
			continue
		}
		n++
	}
	return n, nil
}
