package node

import (
	"context"
	"fmt"

	"github.com/ipfs/boxo/blockservice"
	"github.com/ipfs/boxo/ipld/merkledag"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
)

// LocalDAG reports whether every block of the DAG under c is in the local
// store and, if so, the DAG's size (as DagSize). It holds the GC lock
// shared, so when the caller recorded a pin of c before calling it, a
// complete answer stays true: no GC can have run between the walk and the
// record. A missing block is not an error (complete is false).
func (n *Node) LocalDAG(ctx context.Context, c cid.Cid) (size uint64, complete bool, err error) {
	n.gcMu.RLock()
	defer n.gcMu.RUnlock()
	size, err = n.DagSize(ctx, c)
	if ipld.IsNotFound(err) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return size, true, nil
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
// complete or ctx is done.
func (n *Node) FetchDAG(ctx context.Context, c cid.Cid, origins []string) (uint64, error) {
	if n.bitswap == nil {
		if size, complete, err := n.LocalDAG(ctx, c); err == nil && complete {
			return size, nil
		}
		return 0, fmt.Errorf("fetch %s: %w", c, ErrNoNetwork)
	}
	if len(origins) > 0 {
		n.connectOrigins(ctx, origins)
	}
	bs := blockservice.New(n.bstore, n.bitswap)
	dag := merkledag.NewDAGService(bs)
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
		if err := merkledag.FetchGraph(ctx, c, dag); err != nil {
			return 0, fmt.Errorf("fetch %s: %w", c, err)
		}
	}
	return 0, fmt.Errorf("fetch %s: blocks kept disappearing during garbage collection", c)
}
