package pinning

import (
	"context"
	"fmt"
	"time"

	"github.com/ipfs/go-cid"
)

// GCResult is what a garbage collection freed.
type GCResult struct {
	Blocks   int64
	Bytes    int64
	Roots    int
	Duration time.Duration
}

// CollectGarbage deletes every block not reachable from a pin record, of
// any account and any status (a queued request's partial DAG is kept for
// its fetch). The root set is read only once the node holds its GC lock,
// so an upload acknowledged before is kept, and uploads that start during
// the collection are protected by the node's import protocol (see
// node.GCFunc). A root set that cannot be read completely stops the
// collection before anything is deleted.
func (s *Service) CollectGarbage(ctx context.Context) (GCResult, error) {
	start := time.Now()
	var roots int
	stats, err := s.node.GCFunc(ctx, func(ctx context.Context, root func(cid.Cid) error) error {
		// With local retention, CIDs pinned on enough Cluster peers for
		// long enough are left out: their blocks may go, the Cluster
		// holds them (and the node fetches them back on a read).
		var evict map[string]bool
		if s.repl != nil {
			var err error
			if evict, err = s.repl.evictable(); err != nil {
				return fmt.Errorf("cluster replication records: %w", err)
			}
		}
		// From the pin records themselves, cross-checked with the CID
		// reference index: a record that does not decode, or any
		// disagreement, stops GC before it deletes anything (LiveRoots
		// checks everything before its first call).
		return s.store.LiveRoots(ctx, func(v string) error {
			if evict[v] {
				return nil
			}
			c, err := cid.Decode(v)
			if err != nil {
				return fmt.Errorf("pin references %q, which is not a CID: refusing to collect garbage", v)
			}
			roots++
			return root(c)
		})
	})
	res := GCResult{Blocks: stats.Blocks, Bytes: stats.Bytes, Roots: roots, Duration: time.Since(start)}
	s.obs.GC(res.Blocks, res.Bytes, res.Duration, err != nil)
	if err != nil {
		return res, fmt.Errorf("collect garbage: %w", err)
	}
	s.log.Info("garbage collected", "blocks", res.Blocks, "bytes", res.Bytes, "roots", roots)
	return res, nil
}

// RunGC collects garbage every interval until ctx is done.
func (s *Service) RunGC(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := s.CollectGarbage(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("periodic gc", "err", err)
		}
	}
}
