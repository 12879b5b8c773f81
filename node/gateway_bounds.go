package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"sync/atomic"

	"github.com/ipfs/boxo/blockstore"
	"github.com/ipfs/boxo/gateway"
	"github.com/ipfs/boxo/path"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
)

// gatewayBackend is boxo's BlocksBackend with the node's bounds on top:
//
//   - every request gets a read budget of Limits.MaxResponseBlocks block reads
//     (WrapContextForRequest), charged by the budgeted block store under
//     the backend, so no response, however its DAG repeats blocks
//     (car-dups=y, a file whose nodes link one chunk many times), reads
//     more than that;
//   - a whole-DAG CAR (/ipfs/{cid} with dag-scope=all, what exports and
//     `ninja export` ask for) is written by the node's own iterative walk
//     (writeCAR), so it is complete up to Limits.MaxDAGDepth instead of
//     stopping where boxo's traversal does (341 dag-pb levels) and costs
//     memory linear, not quadratic, in depth. Other CARs (a sub-path,
//     dag-scope=entity or block) stay boxo's, within the read budget.
type gatewayBackend struct {
	*gateway.BlocksBackend
	n  *Node
	bs blockstore.Blockstore // the budgeted block store BlocksBackend reads
}

// WrapContextForRequest gives the request its block-read budget, on top
// of boxo's per-request block service session.
func (b *gatewayBackend) WrapContextForRequest(ctx context.Context) context.Context {
	ctx = b.BlocksBackend.WrapContextForRequest(ctx)
	return context.WithValue(ctx, readBudgetKey{}, newReadBudget(b.n.limits.MaxResponseBlocks))
}

// GetCAR serves whole-DAG CARs with writeCAR and leaves the rest to boxo.
func (b *gatewayBackend) GetCAR(ctx context.Context, p path.ImmutablePath, params gateway.CarParams) (gateway.ContentPathMetadata, io.ReadCloser, error) {
	if params.Scope != gateway.DagScopeAll || len(p.Segments()) != 2 {
		return b.BlocksBackend.GetCAR(ctx, p, params)
	}
	md, err := b.ResolvePath(ctx, p)
	if err != nil {
		// boxo answers a missing root with an empty CAR, and the rest
		// with the error: keep its behaviour.
		return b.BlocksBackend.GetCAR(ctx, p, params)
	}
	root := md.LastSegment.RootCid()
	pr, pw := io.Pipe()
	go func() {
		// Links are decoded with whatever codec a CID names; a panic on
		// this goroutine would end the process, not the response.
		defer func() {
			if rec := recover(); rec != nil {
				b.n.log.Error("panic writing a car", "cid", root, "panic", rec, "stack", string(debug.Stack()))
				_ = pw.CloseWithError(errors.New("internal error writing the car"))
			}
		}()
		err := b.n.writeCAR(ctx, b.bs, root, params.Duplicates.Bool(), pw)
		if err != nil && !errors.Is(err, io.ErrClosedPipe) {
			b.n.log.Info("gateway car cut short", "cid", root, "err", err)
		}
		_ = pw.CloseWithError(err) // always nil
	}()
	return md, pr, nil
}

// readBudget is how many more block reads a gateway request may make.
type readBudget struct {
	max  int
	left atomic.Int64
}

type readBudgetKey struct{}

func newReadBudget(limit int) *readBudget {
	rb := &readBudget{max: limit}
	rb.left.Store(int64(limit))
	return rb
}

// budgetedBlockstore charges every Get and GetSize to the read budget of
// the request whose context it is called with, if that has one; calls
// without one (imports, walks, bitswap) are not counted. A request past
// its budget gets an error wrapping ErrLimit, answered with 410 Gone when
// nothing was sent yet (as boxo answers its own response-size cap) and as
// a truncated body otherwise.
type budgetedBlockstore struct {
	blockstore.Blockstore
}

func (b budgetedBlockstore) charge(ctx context.Context) error {
	rb, ok := ctx.Value(readBudgetKey{}).(*readBudget)
	if !ok || rb.left.Add(-1) >= 0 {
		return nil
	}
	err := fmt.Errorf("%w: the response would read more than %d blocks", ErrLimit, rb.max)
	return gateway.NewErrorStatusCode(err, http.StatusGone)
}

// Get reads a block if the request's budget allows.
func (b budgetedBlockstore) Get(ctx context.Context, c cid.Cid) (blocks.Block, error) {
	if err := b.charge(ctx); err != nil {
		return nil, err
	}
	return b.Blockstore.Get(ctx, c)
}

// GetSize sizes a block if the request's budget allows.
func (b budgetedBlockstore) GetSize(ctx context.Context, c cid.Cid) (int, error) {
	if err := b.charge(ctx); err != nil {
		return 0, err
	}
	return b.Blockstore.GetSize(ctx, c)
}
