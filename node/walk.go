package node

import (
	"bytes"
	"context"
	"fmt"

	"github.com/ipfs/boxo/blockstore"
	"github.com/ipfs/boxo/ipld/merkledag"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	cidlink "github.com/ipld/go-ipld-prime/linking/cid"
	"github.com/ipld/go-ipld-prime/multicodec"
	"github.com/ipld/go-ipld-prime/node/basicnode"
	"github.com/ipld/go-ipld-prime/traversal"
	mh "github.com/multiformats/go-multihash"
)

// dagWalk is one bounded, iterative, depth-first walk of a DAG in link
// order, each block before its children: the order boxo's gateway writes
// a CAR in. It replaces recursive walks because a DAG's depth is the
// uploader's choice: boxo's traversal copies the whole path at every level
// (memory quadratic in depth) and stops at 1024 path segments, which for
// dag-pb (three segments a level, Links/i/Hash) is 341 levels, which is why
// exports of a 2000-level DAG stopped at 342 blocks.
type dagWalk struct {
	bs     blockstore.Blockstore // where blocks are read from
	limits Limits
	// sizeOnly sizes raw blocks (GetSize) instead of reading them: they
	// have no links, and a size is all DagSize needs.
	sizeOnly bool
	// dups revisits a CID each time a link names it (car-dups=y);
	// otherwise each is visited once.
	dups bool
	// byHash counts blocks with the same multihash as one (the block
	// store keys blocks by multihash); otherwise whole CIDs are compared,
	// as boxo's traversal does.
	byHash bool
}

// frame is the links of one block still to walk, and their depth.
type frame struct {
	links []cid.Cid
	depth int
}

// walk visits every block reachable from root. visit gets each block's
// CID, its bytes (nil for a raw block when sizeOnly) and its size. A block
// past Limits.MaxDAGDepth, or one more than Limits.MaxDAGBlocks, stops the
// walk with an error wrapping ErrLimit; a missing block with one for which
// ipld.IsNotFound reports true.
func (w dagWalk) walk(ctx context.Context, root cid.Cid, visit func(c cid.Cid, data []byte, size int) error) error {
	seen := make(map[string]struct{})
	visited := 0
	stack := []frame{{links: []cid.Cid{root}}}
	for len(stack) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		top := &stack[len(stack)-1]
		if len(top.links) == 0 {
			stack = stack[:len(stack)-1]
			continue
		}
		c, depth := top.links[0], top.depth
		top.links = top.links[1:]
		if !w.dups {
			key := c.KeyString()
			if w.byHash {
				key = string(c.Hash())
			}
			if _, ok := seen[key]; ok {
				continue
			}
			seen[key] = struct{}{}
		}
		if depth > w.limits.MaxDAGDepth {
			return w.limits.errDAGDepth()
		}
		if visited++; visited > w.limits.MaxDAGBlocks {
			return w.limits.errDAGBlocks()
		}
		links, err := w.visitBlock(ctx, c, visit)
		if err != nil {
			return err
		}
		if len(links) > 0 {
			stack = append(stack, frame{links: links, depth: depth + 1})
		}
	}
	return nil
}

// visitBlock reads c, calls visit and returns c's links.
func (w dagWalk) visitBlock(ctx context.Context, c cid.Cid, visit func(cid.Cid, []byte, int) error) ([]cid.Cid, error) {
	if w.sizeOnly && c.Type() == cid.Raw && c.Prefix().MhType != mh.IDENTITY {
		size, err := w.bs.GetSize(ctx, c)
		if err != nil {
			return nil, fmt.Errorf("block %s: %w", c, err)
		}
		return nil, visit(c, nil, size)
	}
	blk, err := w.bs.Get(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("block %s: %w", c, err)
	}
	links, err := blockLinks(blk)
	if err != nil {
		return nil, err
	}
	return links, visit(c, blk.RawData(), len(blk.RawData()))
}

// blockLinks returns the CIDs a block links to, in the order a traversal
// meets them. Raw blocks have none; dag-pb is decoded by boxo, as the rest
// of the node does; other codecs (dag-cbor, dag-json, …) by go-ipld-prime.
// A block that does not decode is an error wrapping ErrBadDAG.
func blockLinks(blk blocks.Block) ([]cid.Cid, error) {
	links, err := decodeLinks(blk)
	if err != nil {
		return nil, fmt.Errorf("%w: block %s: %w", ErrBadDAG, blk.Cid(), err)
	}
	return links, nil
}

func decodeLinks(blk blocks.Block) ([]cid.Cid, error) {
	c := blk.Cid()
	switch c.Type() {
	case cid.Raw:
		return nil, nil
	case cid.DagProtobuf:
		nd, err := merkledag.DecodeProtobufBlock(blk)
		if err != nil {
			return nil, err
		}
		out := make([]cid.Cid, len(nd.Links()))
		for i, l := range nd.Links() {
			out[i] = l.Cid
		}
		return out, nil
	}
	dec, err := multicodec.LookupDecoder(c.Type())
	if err != nil {
		return nil, err
	}
	nb := basicnode.Prototype.Any.NewBuilder()
	if err := dec(nb, bytes.NewReader(blk.RawData())); err != nil {
		return nil, err
	}
	lnks, err := traversal.SelectLinks(nb.Build())
	if err != nil {
		return nil, err
	}
	out := make([]cid.Cid, 0, len(lnks))
	for _, l := range lnks {
		if cl, ok := l.(cidlink.Link); ok {
			out = append(out, cl.Cid)
		}
	}
	return out, nil
}
