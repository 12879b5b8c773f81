package node

import (
	"context"

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
