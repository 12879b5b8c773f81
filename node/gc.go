package node

import (
	"context"
	"fmt"
	"hash/maphash"
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
	return n.GCFunc(ctx, RootList(live...))
}

// Roots calls root once for every live root, in any order, and returns
// the first error root returns or its own. A root set streams rather than
// returning a slice: at a million pins a []cid.Cid alone is ~64 MB, the
// largest part of a GC's memory, and marking as the roots arrive holds
// none of them.
type Roots func(ctx context.Context, root func(cid.Cid) error) error

// RootList is the root set of exactly roots.
func RootList(roots ...cid.Cid) Roots {
	return func(_ context.Context, root func(cid.Cid) error) error {
		for _, c := range roots {
			if err := root(c); err != nil {
				return err
			}
		}
		return nil
	}
}

// GCFunc marks every block reachable from the roots that live returns and
// deletes the rest, then syncs the store. One GC runs at a time.
//
// Protocol that makes GC safe while uploads run (see Import): imports
// write each batch under the node's GC lock held shared and record it in
// their session. GCFunc takes the lock exclusively only to mark: it waits
// for the batches being written, then keeps the blocks of every open
// session, every root committed within recentRootsGrace (read after the
// sessions, so a session that commits meanwhile is seen one way or the
// other), the roots backups hold (HoldRoots), and everything reachable
// from the roots live returns (called under the lock, after both). A live
// root whose blocks are not all local is not an error: whatever part is
// present is kept.
//
// Before it lets go of the lock it starts recording every use of a block
// (touchSet). It then lists the store without the lock, while uploads,
// fetches and LocalDAG go on, and deletes the unmarked blocks in batches of
// sweep batches, each under the lock held exclusively for at most
// sweepBatchTime, skipping every block
// used since the mark: a block an upload wrote or found present, one a
// fetch stored, one a LocalDAG walk for a new pin read. What is not
// recorded is a write or read that had not happened, so anything that
// becomes live after the mark either touches its blocks first or finds
// them gone and writes them again. An upload waits at most one batch.
func (n *Node) GCFunc(ctx context.Context, live Roots) (GCStats, error) {
	n.gcRun.Lock()
	defer n.gcRun.Unlock()
	marked, roots, err := n.markLocked(ctx, live)
	if err != nil {
		return GCStats{}, fmt.Errorf("gc: %w", err)
	}
	defer n.touched.stop()
	stats, err := n.sweep(ctx, marked)
	if err != nil {
		return stats, fmt.Errorf("gc: sweep: %w", err)
	}
	if err := syncDatastore(ctx, n.ds); err != nil {
		return stats, fmt.Errorf("gc: %w", err)
	}
	n.log.Info("gc done", "roots", roots, "kept", marked.len(), "deleted", stats.Blocks, "bytes", stats.Bytes)
	return stats, nil
}

// markLocked takes the GC lock exclusively, marks, starts recording block
// uses and lets go of the lock. It returns the marked set and how many
// roots it had.
func (n *Node) markLocked(ctx context.Context, live Roots) (*markSet, int, error) {
	if err := n.lockForGC(ctx); err != nil { // waits for a backup's snapshot; see HoldRoots
		return nil, 0, err
	}
	defer n.gcMu.Unlock()
	marked := newMarkSet()
	for h := range n.openSessionBlocks() {
		marked.add([]byte(h))
	}
	recent := append(n.recentRoots(), n.heldRoots()...)
	roots := len(recent)
	// Each root is walked separately, so one root with missing blocks does
	// not stop the others from being marked.
	err := live(ctx, func(c cid.Cid) error {
		roots++
		if err := n.walkLocalPartial(ctx, c, marked); err != nil {
			return fmt.Errorf("mark %s: %w", c, err)
		}
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("live roots: %w", err)
	}
	for _, c := range recent {
		if err := n.walkLocalPartial(ctx, c, marked); err != nil {
			return nil, 0, fmt.Errorf("mark: %w", err)
		}
	}
	n.touched.start()
	return marked, roots, nil
}

// markSet is the set of marked blocks, kept as 64-bit hashes of their
// multihashes under a seed of its own rather than as the multihashes: 8
// bytes a block instead of ~50 plus a string header, so marking a million
// blocks holds ~16 MB, not ~100. Two multihashes may share a hash; the
// only effect is that an unmarked block whose hash equals a marked one's
// is kept, never that a marked block is deleted (a chance of about
// n/2^64 per unmarked block, once per GC, with a fresh seed each time).
type markSet struct {
	seed maphash.Seed
	set  map[uint64]struct{}
}

func newMarkSet() *markSet {
	return &markSet{seed: maphash.MakeSeed(), set: make(map[uint64]struct{})}
}

func (m *markSet) add(mh []byte) { m.set[maphash.Bytes(m.seed, mh)] = struct{}{} }

func (m *markSet) has(mh []byte) bool {
	_, ok := m.set[maphash.Bytes(m.seed, mh)]
	return ok
}

func (m *markSet) len() int { return len(m.set) }

// walkLocalPartial adds to marked every local block reachable from root,
// skipping (and not descending into) blocks that are missing.
func (n *Node) walkLocalPartial(ctx context.Context, root cid.Cid, marked *markSet) error {
	stack := []cid.Cid{root}
	for len(stack) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if marked.has(c.Hash()) {
			continue
		}
		links, present, err := n.localLinks(ctx, c)
		if err != nil {
			return err
		}
		if !present {
			continue
		}
		marked.add(c.Hash())
		stack = append(stack, links...)
	}
	return nil
}

// A sweep batch deletes up to sweepBatch blocks under the exclusive lock,
// and stops early once it has held the lock for sweepBatchTime: on flatfs
// a delete costs about a quarter of a millisecond, so a batch is ~20 ms and
// an upload waiting for the lock waits about that long per write.
const (
	sweepBatch     = 1024
	sweepBatchTime = 20 * time.Millisecond
)

// sweep deletes every stored block whose multihash is not in marked and
// that no one has used since the mark. It lists without the GC lock and
// deletes batch by batch under it. The caller has started n.touched.
func (n *Node) sweep(ctx context.Context, marked *markSet) (GCStats, error) {
	var stats GCStats
	lctx, cancel := context.WithCancel(ctx)
	defer cancel() // releases the listing goroutine on early return
	keys, err := n.rawBS.AllKeysChan(lctx)
	if err != nil {
		return stats, err
	}
	var doomed []cid.Cid
	for c := range keys {
		if !marked.has(c.Hash()) {
			doomed = append(doomed, c)
		}
	}
	// AllKeysChan reports listing errors only by closing early; a short
	// listing deletes less, never more, so it is safe to go on.
	if err := lctx.Err(); err != nil {
		return stats, err
	}
	// Deleting after the listing ends keeps the datastore iterator and the
	// deletes from interleaving, which not every backend tolerates.
	for len(doomed) > 0 {
		if err := ctx.Err(); err != nil {
			return stats, err
		}
		done, err := n.deleteBatch(ctx, doomed[:min(sweepBatch, len(doomed))], &stats)
		if err != nil {
			return stats, err
		}
		doomed = doomed[done:]
		if n.afterSweepBatch != nil {
			n.afterSweepBatch()
		}
	}
	return stats, nil
}

// deleteBatch deletes the blocks of batch that no one has touched, under
// the GC lock held exclusively, for at most sweepBatchTime. It returns how
// many of batch it dealt with.
func (n *Node) deleteBatch(ctx context.Context, batch []cid.Cid, stats *GCStats) (int, error) {
	n.gcMu.Lock()
	defer n.gcMu.Unlock()
	start := time.Now()
	for i, c := range batch {
		if i > 0 && time.Since(start) >= sweepBatchTime {
			return i, nil
		}
		if n.touched.touched(c) {
			continue
		}
		size, err := n.rawBS.GetSize(ctx, c)
		if err != nil {
			continue // already gone
		}
		if err := n.rawBS.DeleteBlock(ctx, c); err != nil {
			return i, fmt.Errorf("delete %s: %w", c, err)
		}
		stats.Blocks++
		stats.Bytes += int64(size)
	}
	return len(batch), nil
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
