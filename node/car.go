package node

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/ipfs/boxo/gateway"
	"github.com/ipfs/boxo/path"
	"github.com/ipfs/boxo/verifcid"
	"github.com/ipfs/go-cid"
	carv2 "github.com/ipld/go-car/v2"
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
// via Has or DagSize.
func (im *Import) AddCAR(ctx context.Context, r io.Reader) ([]cid.Cid, error) {
	if err := im.check(); err != nil {
		return nil, fmt.Errorf("import car: %w", err)
	}
	br, err := carv2.NewBlockReader(r,
		carv2.WithTrustedCAR(false), // hash every block
		carv2.MaxAllowedSectionSize(maxCARSection),
	)
	if err != nil {
		return nil, fmt.Errorf("import car: %w: %w", ErrInvalidCAR, err)
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
	if len(br.Roots) == 0 {
		return nil, fmt.Errorf("import car: %w: no roots", ErrInvalidCAR)
	}
	im.roots = append(im.roots, br.Roots...)
	return br.Roots, nil
}

// ExportCAR writes the whole DAG under c as a CARv1 from local blocks only,
// in the gateway's deterministic order (depth-first, no duplicates): the
// bytes equal GET /ipfs/{c}?format=car&dag-scope=all&car-order=dfs&car-dups=n.
// A block missing locally fails the export.
func (n *Node) ExportCAR(ctx context.Context, c cid.Cid, w io.Writer) error {
	p, err := path.NewImmutablePath(path.FromCid(c))
	if err != nil {
		return fmt.Errorf("export car: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the traversal goroutine if the copy fails
	_, rc, err := n.gateway.GetCAR(ctx, p, gateway.CarParams{
		Scope:      gateway.DagScopeAll,
		Order:      gateway.DagOrderDFS,
		Duplicates: gateway.DuplicateBlocksExcluded,
	})
	if err != nil {
		return fmt.Errorf("export car %s: %w", c, err)
	}
	defer rc.Close()
	if _, err := io.Copy(w, rc); err != nil {
		return fmt.Errorf("export car %s: %w", c, err)
	}
	return nil
}
