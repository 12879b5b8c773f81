package node

import (
	"context"
	"fmt"

	"github.com/ipfs/boxo/ipld/merkledag"
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
// for which ipld.IsNotFound reports true.
func (n *Node) DagSize(ctx context.Context, c cid.Cid) (uint64, error) {
	var total uint64
	err := n.walkLocal(ctx, []cid.Cid{c}, func(_ cid.Cid, size int) {
		total += uint64(size)
	})
	if err != nil {
		return 0, fmt.Errorf("dag size %s: %w", c, err)
	}
	return total, nil
}

// walkLocal visits every distinct block reachable from roots in the local
// store, depth-first, calling visit with its CID and size. Blocks are
// deduplicated by multihash, as the block store keys them.
func (n *Node) walkLocal(ctx context.Context, roots []cid.Cid, visit func(c cid.Cid, size int)) error {
	dag := merkledag.NewDAGService(n.localBS)
	seen := make(map[string]struct{})
	stack := append([]cid.Cid(nil), roots...)
	for len(stack) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if _, ok := seen[string(c.Hash())]; ok {
			continue
		}
		seen[string(c.Hash())] = struct{}{}

		if c.Prefix().MhType == mh.IDENTITY {
			// Inline data: nothing stored, nothing to count, but an
			// inlined dag-pb node may still link to stored blocks.
			if c.Type() == cid.Raw {
				continue
			}
		} else if c.Type() == cid.Raw {
			// Raw blocks have no links: their size is all we need, and the
			// store answers that without reading the data.
			size, err := n.bstore.GetSize(ctx, c)
			if err != nil {
				return fmt.Errorf("block %s: %w", c, err)
			}
			visit(c, size)
			continue
		}
		nd, err := dag.Get(ctx, c)
		if err != nil {
			return fmt.Errorf("block %s: %w", c, err)
		}
		if c.Prefix().MhType != mh.IDENTITY {
			visit(c, len(nd.RawData()))
		}
		links := nd.Links()
		// Push in reverse so children are visited in link order.
		for i := len(links) - 1; i >= 0; i-- {
			stack = append(stack, links[i].Cid)
		}
	}
	return nil
}

// localLinks returns c's links and whether c is stored locally. Raw and
// identity-raw blocks have no links and are not decoded.
func (n *Node) localLinks(ctx context.Context, c cid.Cid) ([]cid.Cid, bool, error) {
	if c.Type() == cid.Raw {
		ok, err := n.bstore.Has(ctx, c)
		return nil, ok, err
	}
	nd, err := merkledag.NewDAGService(n.localBS).Get(ctx, c)
	if ipld.IsNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	var out []cid.Cid
	for _, l := range nd.Links() {
		out = append(out, l.Cid)
	}
	return out, true, nil
}
