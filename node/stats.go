package node

import (
	"context"

	ds "github.com/ipfs/go-datastore"
)

// Stats are the node's numbers for metrics.
type Stats struct {
	// BlockStoreBytes is the size of the stored blocks (flatfs keeps a
	// running total; 0 for a backend that does not report one).
	BlockStoreBytes uint64
	// BitswapBlocksSent and BitswapBytesSent are what bitswap served peers
	// since the node started (0 without a network).
	BitswapBlocksSent, BitswapBytesSent uint64
}

// Stats reports the node's numbers; each is cheap to read (no walk).
func (n *Node) Stats(ctx context.Context) Stats {
	var st Stats
	if du, ok := n.ds.(ds.PersistentDatastore); ok {
		if b, err := du.DiskUsage(ctx); err == nil {
			st.BlockStoreBytes = b
		}
	}
	if n.bitswap != nil {
		if s, err := n.bitswap.Stat(); err == nil {
			st.BitswapBlocksSent, st.BitswapBytesSent = s.BlocksSent, s.DataSent
		}
	}
	return st
}
