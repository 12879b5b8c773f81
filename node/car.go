package node

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/ipfs/boxo/blockstore"
	"github.com/ipfs/boxo/verifcid"
	"github.com/ipfs/go-cid"
	carv2 "github.com/ipld/go-car/v2"
	"github.com/ipld/go-car/v2/storage"
)

// maxCARSection bounds one CAR section (CID + block). libp2p peers refuse
// blocks over 2 MiB, so a bigger block could never be served anyway, and
// the bound keeps a hostile CAR from making the reader allocate gigabytes.
const maxCARSection = 4 << 20

// AddCAR imports a CARv1 or CARv2 stream and returns its roots. Every
// block's bytes are hashed and checked against its CID; a mismatch or a
// malformed stream, or a block whose hash function the gateway would refuse
// (verifcid's default allowlist), fails with an error wrapping ErrInvalidCAR and no roots
// (blocks written before the bad one are orphans, left to GC). Roots need
// not be present in the CAR: checking completeness is the caller's call,
// via LocalDAG. The roots are returned once each, in the header's order; a
// CAR naming more than Limits.MaxCARRoots distinct roots fails with
// ErrLimit before any block is read.
func (im *Import) AddCAR(ctx context.Context, r io.Reader) ([]cid.Cid, error) {
	if err := im.check(); err != nil {
		return nil, fmt.Errorf("import car: %w", err)
	}
	lim := im.n.limits
	br, err := carv2.NewBlockReader(r,
		carv2.WithTrustedCAR(false), // hash every block
		carv2.MaxAllowedSectionSize(maxCARSection),
		// Room for the roots allowed and for some repeats of them (a root
		// is under 100 bytes), instead of go-car's 32 MiB.
		carv2.MaxAllowedHeaderSize(uint64(lim.MaxCARRoots)*256+64<<10),
	)
	if err != nil {
		return nil, fmt.Errorf("import car: %w: %w", ErrInvalidCAR, err)
	}
	roots := uniqueCIDs(br.Roots)
	switch {
	case len(roots) == 0:
		return nil, fmt.Errorf("import car: %w: no roots", ErrInvalidCAR)
	case len(roots) > lim.MaxCARRoots:
		return nil, fmt.Errorf("import car: %w: %d roots is over the %d-root limit", ErrLimit, len(roots), lim.MaxCARRoots)
	}
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("import car: %w", err)
		}
		blk, err := br.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("import car: %w: %w", ErrInvalidCAR, err)
		}
		// Hashes too weak or digests too short for the gateway and bitswap
		// to accept would be dead weight in the store: refuse the CAR.
		if err := verifcid.ValidateCid(verifcid.DefaultAllowlist, blk.Cid()); err != nil {
			return nil, fmt.Errorf("import car: %w: block %s: %w", ErrInvalidCAR, blk.Cid(), err)
		}
		if err := im.w.addBlock(ctx, blk); err != nil {
			return nil, fmt.Errorf("import car: %w", err)
		}
	}
	im.roots = append(im.roots, roots...)
	return roots, nil
}

// uniqueCIDs returns cs without repeats, in first-seen order.
func uniqueCIDs(cs []cid.Cid) []cid.Cid {
	seen := make(map[cid.Cid]struct{}, len(cs))
	out := make([]cid.Cid, 0, len(cs))
	for _, c := range cs {
		if _, dup := seen[c]; !dup {
			seen[c] = struct{}{}
			out = append(out, c)
		}
	}
	return out
}

// ExportCAR writes the whole DAG under c as a CARv1 from local blocks only,
// in the gateway's deterministic order (depth-first, no duplicates): the
// bytes equal GET /ipfs/{c}?format=car&dag-scope=all&car-order=dfs&car-dups=n.
// It walks iteratively, so a DAG as deep as Limits.MaxDAGDepth exports
// whole; a deeper or larger one (Limits.MaxDAGBlocks) fails with an error
// wrapping ErrLimit, and a block missing locally fails the export too. On
// any error what was written is not a whole CAR: discard it (check
// LocalDAG first to fail before writing anything).
func (n *Node) ExportCAR(ctx context.Context, c cid.Cid, w io.Writer) error {
	if err := n.writeCAR(ctx, n.bstore, c, false, w); err != nil {
		return fmt.Errorf("export car %s: %w", c, err)
	}
	return nil
}

// writeCAR writes the DAG under root, read from bs, to w as a CARv1 with
// root as its one root, repeating blocks each time a link names them when
// dups is set. It uses the CAR writer boxo's gateway uses, with the same
// options, so the bytes are the gateway's.
func (n *Node) writeCAR(ctx context.Context, bs blockstore.Blockstore, root cid.Cid, dups bool, w io.Writer) error {
	cw, err := storage.NewWritable(w, []cid.Cid{root}, carv2.WriteAsCarV1(true), carv2.AllowDuplicatePuts(dups))
	if err != nil {
		return err
	}
	walk := dagWalk{bs: bs, limits: n.limits, dups: dups}
	return walk.walk(ctx, root, func(c cid.Cid, data []byte, _ int) error {
		return cw.Put(ctx, c.KeyString(), data)
	})
}
