package node

import (
	"context"
	"fmt"
	"time"

	"github.com/ipfs/go-cid"
)

// GCStats reports what a GC removed.
type GCStats struct {
	Blocks int64 // blocks deleted
	Bytes  int64 // their total size
}

// GC deletes every stored block not reachable from live and returns what
// it removed. It is GCFunc with a fixed root set; see GCFunc for the
// locking protocol, and prefer GCFunc when the root set comes from a
// database that imports write to concurrently.
func (n *Node) GC(ctx context.Context, live []cid.Cid) (GCStats, error) {
	return n.GCFunc(ctx, func(context.Context) ([]cid.Cid, error) { return live, nil })
}

// GCFunc marks every block reachable from the roots that live returns and
// deletes the rest, then syncs the store.
//
// Protocol that makes GC safe while uploads run (see Import): imports
// write each batch under the node's GC lock held shared and record it in
// their session; GCFunc takes the lock exclusively, so it waits only for
// the batches being written, and keeps the blocks of every open session,
// every root committed within recentRootsGrace (read after the sessions,
// so a session that commits meanwhile is seen one way or the other), the
// roots backups hold (HoldRoots), and
// everything reachable from the roots live returns (called under the lock,
// after both). While GC holds the lock, import batches, Fetch and
// LocalDAG wait. A live root whose blocks are not all local is not an
// error: whatever part is present is kept.
func (n *Node) GCFunc(ctx context.Context, live func(context.Context) ([]cid.Cid, error)) (GCStats, error) {
	if err := n.lockForGC(ctx); err != nil { // waits for a backup's snapshot; see HoldRoots
		return GCStats{}, fmt.Errorf("gc: %w", err)
	}
	defer n.gcMu.Unlock()

	open := n.openSessionBlocks()
	recent := append(n.recentRoots(), n.heldRoots()...)
	roots, err := live(ctx)
	if err != nil {
		return GCStats{}, fmt.Errorf("gc: live roots: %w", err)
	}
	roots = append(roots, recent...)
	marked, err := n.mark(ctx, roots)
	if err != nil {
		return GCStats{}, fmt.Errorf("gc: mark: %w", err)
	}
	for h := range open {
		marked[h] = struct{}{}
	}
	stats, err := n.sweep(ctx, marked)
	if err != nil {
		return stats, fmt.Errorf("gc: sweep: %w", err)
	}
	if err := syncDatastore(ctx, n.ds); err != nil {
		return stats, fmt.Errorf("gc: %w", err)
	}
	n.log.Info("gc done", "roots", len(roots), "kept", len(marked), "deleted", stats.Blocks, "bytes", stats.Bytes)
	return stats, nil
}

// mark returns the multihashes of every local block reachable from roots.
// It walks each root separately so one root with missing blocks does not
// stop the others from being marked.
func (n *Node) mark(ctx context.Context, roots []cid.Cid) (map[string]struct{}, error) {
	marked := make(map[string]struct{})
	for _, r := range roots {
		err := n.walkLocalPartial(ctx, r, marked)
		if err != nil {
			return nil, err
		}
	}
	return marked, nil
}

// walkLocalPartial adds to marked every local block reachable from root,
// skipping (and not descending into) blocks that are missing.
func (n *Node) walkLocalPartial(ctx context.Context, root cid.Cid, marked map[string]struct{}) error {
	stack := []cid.Cid{root}
	for len(stack) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if _, ok := marked[string(c.Hash())]; ok {
			continue
		}
		links, present, err := n.localLinks(ctx, c)
		if err != nil {
			return err
		}
		if !present {
			continue
		}
		marked[string(c.Hash())] = struct{}{}
		stack = append(stack, links...)
	}
	return nil
}

// sweep deletes every stored block whose multihash is not in marked.
func (n *Node) sweep(ctx context.Context, marked map[string]struct{}) (GCStats, error) {
	var stats GCStats
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // releases the listing goroutine on early return
	keys, err := n.bstore.AllKeysChan(ctx)
	if err != nil {
		return stats, err
	}
	var doomed []cid.Cid
	for c := range keys {
		if _, ok := marked[string(c.Hash())]; !ok {
			doomed = append(doomed, c)
		}
	}
	// AllKeysChan reports listing errors only by closing early; a short
	// listing deletes less, never more, so it is safe to go on.
	if err := ctx.Err(); err != nil {
		return stats, err
	}
	// Deleting after the listing ends keeps the datastore iterator and the
	// deletes from interleaving, which not every backend tolerates.
	for _, c := range doomed {
		size, err := n.bstore.GetSize(ctx, c)
		if err != nil {
			continue // raced with nothing (we hold the lock); already gone
		}
		if err := n.bstore.DeleteBlock(ctx, c); err != nil {
			return stats, fmt.Errorf("delete %s: %w", c, err)
		}
		stats.Blocks++
		stats.Bytes += int64(size)
	}
	return stats, nil
}

// openSessionBlocks is the union of the blocks open import sessions have
// written. The caller holds the GC lock exclusively, so no session is
// adding to its set.
func (n *Node) openSessionBlocks() map[string]struct{} {
	n.writersMu.Lock()
	defer n.writersMu.Unlock()
	out := make(map[string]struct{})
	for w := range n.writers {
		for h := range w.written {
			out[h] = struct{}{}
		}
	}
	return out
}

// recentRootsGrace is how long the roots of a committed import count as
// live without a pin, unless the session is released first (Release, once
// the pin is recorded): far longer than any caller needs between Commit and
// recording its pin, short enough that roots of uploads whose pin was
// never recorded (a crash, a failed DB write) are collected the hour after.
const recentRootsGrace = time.Hour

// protectRoots registers roots as committed now.
func (n *Node) protectRoots(roots []cid.Cid) {
	n.recentMu.Lock()
	defer n.recentMu.Unlock()
	now := n.now()
	for _, c := range roots {
		k := string(c.Bytes())
		r := n.recent[k]
		n.recent[k] = recentRoot{c: c, at: now, sessions: r.sessions + 1}
	}
	// Prune here too, not only in GC, so the map stays bounded by an
	// hour or so of uploads on a node that never collects garbage.
	if now.Sub(n.recentPruned) > recentRootsGrace/4 {
		n.recentPruned = now
		n.pruneRecentLocked(now)
	}
}

// forgetRoots ends one session's protection of roots, once its caller has
// recorded its pin (or given up on it). A root another committed session
// still protects stays protected.
func (n *Node) forgetRoots(roots []cid.Cid) {
	n.recentMu.Lock()
	defer n.recentMu.Unlock()
	for _, c := range roots {
		k := string(c.Bytes())
		r, ok := n.recent[k]
		if !ok {
			continue
		}
		if r.sessions <= 1 {
			delete(n.recent, k)
			continue
		}
		r.sessions--
		n.recent[k] = r
	}
}

// pruneRecentLocked forgets roots older than recentRootsGrace.
func (n *Node) pruneRecentLocked(now time.Time) {
	for k, r := range n.recent {
		if now.Sub(r.at) > recentRootsGrace {
			delete(n.recent, k)
		}
	}
}

// recentRoots returns the roots committed within recentRootsGrace and
// forgets older ones.
func (n *Node) recentRoots() []cid.Cid {
	n.recentMu.Lock()
	defer n.recentMu.Unlock()
	n.pruneRecentLocked(n.now())
	out := make([]cid.Cid, 0, len(n.recent))
	for _, r := range n.recent {
		out = append(out, r.c)
	}
	return out
}

// recentRoot is a committed import root and when it was committed.
type recentRoot struct {
	c        cid.Cid
	at       time.Time
	sessions int // committed sessions protecting it that have not released it
}
