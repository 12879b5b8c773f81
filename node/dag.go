package node

import (
	"context"
	"fmt"

	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
	// Decoders for DAGs that arrive by CAR or bitswap rather than from our
	// own importer, so that DagSize, GC and Fetch can follow their links.
	_ "github.com/ipld/go-ipld-prime/codec/dagcbor"
	_ "github.com/ipld/go-ipld-prime/codec/dagjson"
	mh "github.com/multiformats/go-multihash"
)

// Has reports whether c's root block is in the local store. Identity CIDs
// carry their data inline and are always present.
func (n *Node) Has(ctx context.Context, c cid.Cid) (bool, error) {
	ok, err := n.bstore.Has(ctx, c)
	if err != nil {
		return false, fmt.Errorf("has %s: %w", c, err)
	}
	return ok, nil
}

// DagSize returns the total size in bytes of every distinct block of the
// DAG under c, from local blocks only. A missing block is an error
// for which ipld.IsNotFound reports true; a DAG deeper than
// Limits.MaxDAGDepth or of more than Limits.MaxDAGBlocks blocks one
// wrapping ErrLimit. Identity CIDs count nothing: their data is the CID.
func (n *Node) DagSize(ctx context.Context, c cid.Cid) (uint64, error) {
	var total uint64
	w := dagWalk{bs: n.bstore, limits: n.limits, sizeOnly: true, byHash: true}
	err := w.walk(ctx, c, func(c cid.Cid, _ []byte, size int) error {
		if c.Prefix().MhType != mh.IDENTITY {
			total += uint64(size)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("dag size %s: %w", c, err)
	}
	return total, nil
}

// localLinks returns c's links and whether c is stored locally. Raw and
// identity-raw blocks have no links and are not read. A block that does
// not decode is an error wrapping ErrBadDAG.
func (n *Node) localLinks(ctx context.Context, c cid.Cid) ([]cid.Cid, bool, error) {
	if c.Type() == cid.Raw {
		ok, err := n.bstore.Has(ctx, c)
		return nil, ok, err
	}
	blk, err := n.bstore.Get(ctx, c)
	if ipld.IsNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	links, err := blockLinks(blk)
	return links, err == nil, err
}
