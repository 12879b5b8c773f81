package node

import (
	"context"
	"fmt"

	"github.com/ipfs/boxo/blockservice"
	"github.com/ipfs/boxo/ipld/merkledag"
	"github.com/ipfs/go-cid"
)

// Fetch makes the whole DAG under c local and durable, for pin-by-CID. It
// dials origins (multiaddrs with /p2p/) first, then fetches every missing
// block over bitswap from connected peers and, when online, from DHT
// providers. It returns nil once every block is stored and synced, or the
// error that stopped it (ctx's when it is done first). Like an Import, it
// holds the GC lock shared while it runs; the caller should record the pin
// right after it returns, and GC can only delete the blocks before that if
// it runs in between (the next Fetch then re-fetches them).
func (n *Node) Fetch(ctx context.Context, c cid.Cid, origins []string) error {
	n.gcMu.RLock()
	defer n.gcMu.RUnlock()

	if len(origins) > 0 {
		n.connectOrigins(ctx, origins)
	}
	// A blockservice with bitswap as its exchange: blocks already local
	// are read from the store, the rest are wanted from peers and written
	// to the store as they arrive. The session makes bitswap ask peers
	// that had earlier blocks of this DAG first.
	bs := blockservice.New(n.bstore, n.bitswap)
	dag := merkledag.NewDAGService(bs)
	if err := merkledag.FetchGraph(ctx, c, dag); err != nil {
		return fmt.Errorf("fetch %s: %w", c, err)
	}
	// Bitswap wrote the blocks unsynced; one fsync makes them all durable.
	if err := syncDatastore(ctx, n.ds); err != nil {
		return fmt.Errorf("fetch %s: %w", c, err)
	}
	return nil
}
