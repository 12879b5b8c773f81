package node

import (
	"context"
	"fmt"

	"github.com/ipfs/boxo/blockservice"
	"github.com/ipfs/go-cid"
)

// fetchBatch is how many CIDs of one DAG level are asked for at once: a
// want list wide enough to keep a bitswap session busy, short enough that
// a level of a million leaves is not one request.
const fetchBatch = 1024

// Fetch makes the whole DAG under c local and durable, for pin-by-CID: it
// is FetchDAG without the size. It dials origins (multiaddrs with /p2p/)
// first, then fetches every missing block over bitswap from connected
// peers and, when online, from DHT providers, and returns nil once every
// block is stored and synced, or the error that stopped it (ctx's when it
// is done first). As with FetchDAG, record the pin before calling it so
// that a concurrent GC treats c as live.
func (n *Node) Fetch(ctx context.Context, c cid.Cid, origins []string) error {
	_, err := n.FetchDAG(ctx, c, origins)
	return err
}

// FetchDAG makes the whole DAG under c local and durable for a pin-by-CID
// request and returns its size. Unlike Fetch it does not hold the GC lock
// while it waits on the network (a slow or hopeless fetch would otherwise
// stall GC, and with it every upload, for as long as the fetch lasts).
// Instead the caller must have recorded the pin first, so c is a live root
// for every GC that starts after; FetchDAG then re-checks completeness
// under the lock and fetches again whatever a GC that was already marking
// deleted. It dials origins first; blocks come over bitswap from connected
// peers and, when online, from DHT providers. It ends when the DAG is
// complete or ctx is done. It is FetchDAGLimit with no byte cap.
func (n *Node) FetchDAG(ctx context.Context, c cid.Cid, origins []string) (uint64, error) {
	return n.FetchDAGLimit(ctx, c, origins, 0)
}

// FetchDAGLimit is FetchDAG that stops, with an error wrapping ErrLimit,
// once more than maxBytes bytes of blocks have come from the network
// (blocks already local are free); maxBytes <= 0 means no cap. What was
// fetched before it stopped stays, unpinned, for GC. It may overshoot by
// the blocks in flight when the cap is reached (a want list's worth). A
// DAG past Limits.MaxDAGDepth or Limits.MaxDAGBlocks fails with ErrLimit
// as well, however few bytes it has.
func (n *Node) FetchDAGLimit(ctx context.Context, c cid.Cid, origins []string, maxBytes int64) (uint64, error) {
	if n.bitswap == nil {
		if size, complete, err := n.LocalDAG(ctx, c); err == nil && complete {
			return size, nil
		}
		return 0, fmt.Errorf("fetch %s: %w", c, ErrNoNetwork)
	}
	if len(origins) > 0 {
		n.connectOrigins(ctx, origins)
	}
	f := &fetcher{n: n, ses: blockservice.NewSession(ctx, blockservice.New(n.bstore, n.bitswap)), maxBytes: maxBytes}
	// Each round either finds the DAG complete or fetches what is missing;
	// a block can only go missing again through a GC that was marking when
	// the round began, so a handful of rounds always suffices.
	for range 5 {
		size, complete, err := n.LocalDAG(ctx, c)
		if err != nil {
			return 0, fmt.Errorf("fetch %s: %w", c, err)
		}
		if complete {
			// Bitswap wrote the blocks unsynced; one fsync makes them durable.
			if err := syncDatastore(ctx, n.ds); err != nil {
				return 0, fmt.Errorf("fetch %s: %w", c, err)
			}
			return size, nil
		}
		if err := f.walk(ctx, c); err != nil {
			return 0, fmt.Errorf("fetch %s: %w", c, err)
		}
	}
	return 0, fmt.Errorf("fetch %s: blocks kept disappearing during garbage collection", c)
}

// fetcher fetches a DAG level by level, so that every level's missing
// blocks are wanted at once (a 256 MiB file's 256 leaves in one want
// list), within the node's DAG limits and a byte cap.
type fetcher struct {
	n        *Node
	ses      *blockservice.Session
	maxBytes int64
	fetched  int64 // bytes that came from the network, across rounds
}

// walk makes every block under root local, breadth first.
func (f *fetcher) walk(ctx context.Context, root cid.Cid) error {
	lim := f.n.limits
	seen := map[string]struct{}{string(root.Hash()): {}}
	level := []cid.Cid{root}
	for depth := 0; len(level) > 0; depth++ {
		if depth > lim.MaxDAGDepth {
			return lim.errDAGDepth()
		}
		var next []cid.Cid
		for start := 0; start < len(level); start += fetchBatch {
			links, err := f.batch(ctx, level[start:min(start+fetchBatch, len(level))])
			if err != nil {
				return err
			}
			for _, l := range links {
				if _, ok := seen[string(l.Hash())]; ok {
					continue
				}
				if seen[string(l.Hash())] = struct{}{}; len(seen) > lim.MaxDAGBlocks {
					return lim.errDAGBlocks()
				}
				next = append(next, l)
			}
		}
		level = next
	}
	return nil
}

// batch makes cs local and returns their links: local blocks are read
// (raw ones only checked), the others fetched in one request.
func (f *fetcher) batch(ctx context.Context, cs []cid.Cid) ([]cid.Cid, error) {
	var links, missing []cid.Cid
	for _, c := range cs {
		ls, present, err := f.n.localLinks(ctx, c)
		if err != nil {
			return nil, fmt.Errorf("block %s: %w", c, err)
		}
		if !present {
			missing = append(missing, c)
		}
		links = append(links, ls...)
	}
	if len(missing) == 0 {
		return links, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // releases GetBlocks if the cap stops the loop early
	got := 0
	for blk := range f.ses.GetBlocks(ctx, missing) {
		got++
		if f.fetched += int64(len(blk.RawData())); f.maxBytes > 0 && f.fetched > f.maxBytes {
			return nil, fmt.Errorf("%w: fetched more than %d bytes", ErrLimit, f.maxBytes)
		}
		ls, err := blockLinks(blk)
		if err != nil {
			return nil, err
		}
		links = append(links, ls...)
	}
	if got < len(missing) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%d of %d blocks did not arrive", len(missing)-got, len(missing))
	}
	return links, nil
}
