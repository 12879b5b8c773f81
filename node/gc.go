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
// Protocol that makes GC safe while uploads run: every Import holds the
// node's GC lock shared from NewImport until Commit or Abort, and Commit
// registers the session's roots as recently committed before releasing
// it. GCFunc takes the lock exclusively and only then calls live, and it
// adds every root committed within recentRootsGrace to the live set. So a
// GC never sees a half-written import, and the roots of a committed import
// survive until the caller has recorded its pin (which live must then
// report). While GC waits for or holds the lock, NewImport, Fetch and
// LocalDAG block. A live root whose blocks are not all local is not an
// error: whatever part is present is kept.
func (n *Node) GCFunc(ctx context.Context, live func(context.Context) ([]cid.Cid, error)) (GCStats, error) {
	n.gcMu.Lock()
	defer n.gcMu.Unlock()

	roots, err := live(ctx)
	if err != nil {
		return GCStats{}, fmt.Errorf("gc: live roots: %w", err)
	}
	roots = append(roots, n.recentRoots()...)
	marked, err := n.mark(ctx, roots)
	if err != nil {
		return GCStats{}, fmt.Errorf("gc: mark: %w", err)
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

// recentRootsGrace is how long the roots of a committed import count as
// live without a pin: far longer than any caller needs between Commit and
// recording its pin, short enough that roots of uploads whose pin was
// never recorded (a crash, a failed DB write) are collected the hour after.
const recentRootsGrace = time.Hour

// protectRoots registers roots as committed now.
func (n *Node) protectRoots(roots []cid.Cid) {
	n.recentMu.Lock()
	defer n.recentMu.Unlock()
	now := n.now()
	for _, c := range roots {
		n.recent[string(c.Bytes())] = recentRoot{c: c, at: now}
	}
	// Prune here too, not only in GC, so the map stays bounded by an
	// hour or so of uploads on a node that never collects garbage.
	if now.Sub(n.recentPruned) > recentRootsGrace/4 {
		n.recentPruned = now
		n.pruneRecentLocked(now)
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
	c  cid.Cid
	at time.Time
}
