package node

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ipfs/go-cid"
)

// provideTimeout bounds one DHT announcement; a slow DHT must not pile up
// goroutines.
const provideTimeout = 5 * time.Minute

// announceQueue bounds the roots waiting to be announced. New uploads and
// pins enqueue their roots; when the queue is full the root waits for the
// next reprovide round instead (announcing is best effort either way).
const announceQueue = 4096

// provider announces pinned roots to the DHT: each new root once (Announce)
// and every root again every interval (reprovide), as Kubo's reprovider does
// for its pins. Offline it does nothing. It lives from New to Close.
type provider struct {
	n      *Node
	log    *slog.Logger
	queue  chan cid.Cid
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func startProvider(ctx context.Context, n *Node, interval time.Duration, roots func(context.Context, func(cid.Cid) error) error) *provider {
	ctx, cancel := context.WithCancel(ctx)
	p := &provider{n: n, log: n.log.With("component", "provider"), queue: make(chan cid.Cid, announceQueue), cancel: cancel}
	if n.dht == nil {
		return p // offline: Announce drops, nothing to reprovide to
	}
	p.wg.Add(1)
	go p.announceLoop(ctx)
	if interval > 0 && roots != nil {
		p.wg.Add(1)
		go p.reprovideLoop(ctx, interval, roots)
	}
	return p
}

func (p *provider) close(ctx context.Context) error {
	p.cancel()
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("close provider: %w", ctx.Err())
	}
}

// Announce queues c to be announced to the DHT in the background; offline,
// or with the queue full, it does nothing (the next reprovide round covers
// c). Uploads call it for their new roots, pin-by-CID requests once pinned.
func (n *Node) Announce(c cid.Cid) {
	if n.routing == nil || n.dht == nil {
		return
	}
	select {
	case n.routing.queue <- c:
	default:
	}
}

func (p *provider) announceLoop(ctx context.Context) {
	defer p.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case c := <-p.queue:
			if err := p.n.Provide(ctx, c); err != nil && ctx.Err() == nil {
				p.log.Debug("announce", "cid", c, "err", err)
			}
		}
	}
}

// reprovideLoop announces every locally held root at start and then every
// interval.
func (p *provider) reprovideLoop(ctx context.Context, interval time.Duration, roots func(context.Context, func(cid.Cid) error) error) {
	defer p.wg.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := p.n.Reprovide(ctx, roots)
		switch {
		case err != nil && ctx.Err() == nil:
			p.log.Warn("reprovide", "err", err)
		case err == nil:
			p.log.Info("reprovided pinned roots", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Reprovide announces every root that roots yields and that is stored
// locally (a queued or failed request's root is not), and returns how many
// it announced.
func (n *Node) Reprovide(ctx context.Context, roots func(context.Context, func(cid.Cid) error) error) (int, error) {
	count := 0
	err := roots(ctx, func(c cid.Cid) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if ok, err := n.Has(ctx, c); err != nil || !ok {
			return nil
		}
		if err := n.Provide(ctx, c); err != nil {
			n.log.Debug("reprovide", "cid", c, "err", err)
			return nil
		}
		count++
		return nil
	})
	return count, err
}

// Provide announces to the DHT that this node has c. It does nothing when
// the node is offline.
func (n *Node) Provide(ctx context.Context, c cid.Cid) error {
	if n.dht == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, provideTimeout)
	defer cancel()
	if err := n.dht.Provide(ctx, c, true); err != nil {
		return fmt.Errorf("provide %s: %w", c, err)
	}
	return nil
}

// Online reports whether the node runs the DHT (it was not started offline).
func (n *Node) Online() bool { return n.dht != nil }
