package node

import (
	"context"

	"github.com/ipfs/go-cid"
)

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
