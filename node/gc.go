package node

import (
	"context"
	"fmt"

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
// node's GC lock shared from NewImport until Release/Abort, and the caller
// records its pin before releasing; Fetch holds it while it runs. GCFunc
// takes the lock exclusively and only then calls live, so every root of
// a committed-and-released import is in the live set, and no import can
// write while the sweep runs. While GC waits for or holds the lock,
// NewImport and Fetch block. A live root whose blocks are not all local
// is not an error: whatever part is present is kept.
func (n *Node) GCFunc(ctx context.Context, live func(context.Context) ([]cid.Cid, error)) (GCStats, error) {
	n.gcMu.Lock()
	defer n.gcMu.Unlock()

	roots, err := live(ctx)
	if err != nil {
		return GCStats{}, fmt.Errorf("gc: live roots: %w", err)
	}
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
