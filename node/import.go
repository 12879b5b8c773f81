package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	chunker "github.com/ipfs/boxo/chunker"
	"github.com/ipfs/boxo/ipld/unixfs/importer/balanced"
	"github.com/ipfs/boxo/ipld/unixfs/importer/helpers"
	"github.com/ipfs/go-cid"
)

// Import is one upload's write session. Blocks are buffered and written in
// batches by a background goroutine; nothing is durable until Commit
// returns nil, and after that a crash loses none of the session's blocks.
//
// An Import holds the node's GC lock shared from NewImport until Release
// (or Abort), so GC cannot delete its blocks before the caller has
// recorded a pin for them. The intended use is:
//
//	im := n.NewImport(node.ProfileV1)
//	defer im.Release()          // aborts if Commit was not reached
//	c, size, err := im.AddFile(ctx, body)
//	...
//	err = im.Commit(ctx)        // blocks durable
//	err = store.RecordPin(c)    // pin durable; the deferred Release lets GC run
//
// The methods of one Import must not be called concurrently.
type Import struct {
	n       *Node
	params  profileParams
	perr    error // an unknown profile, reported by the first Add call
	w       *batchWriter
	state   importState
	release sync.Once
}

type importState int

const (
	importOpen importState = iota
	importCommitted
	importAborted
)

// NewImport starts a write session using profile for AddFile and
// AddDirectory ("" means ProfileV1). It blocks while a GC is running.
func (n *Node) NewImport(profile Profile) *Import {
	n.gcMu.RLock()
	p, err := profile.params()
	return &Import{n: n, params: p, perr: err, w: newBatchWriter(n)}
}

// check reports why the session cannot take more data, if it cannot.
func (im *Import) check() error {
	if im.perr != nil {
		return im.perr
	}
	if im.state != importOpen {
		return errors.New("import session already finished")
	}
	return nil
}

// AddFile imports the stream r as one UnixFS file, exactly as `ipfs add`
// with the session's profile would, and returns its CID and the number of
// bytes read. An error from r is returned wrapped, so errors.Is works for
// the caller's sentinels (for example a size-limit error).
func (im *Import) AddFile(ctx context.Context, r io.Reader) (cid.Cid, uint64, error) {
	if err := im.check(); err != nil {
		return cid.Undef, 0, fmt.Errorf("import file: %w", err)
	}
	cr := &countingReader{ctx: ctx, r: r}
	dbp := helpers.DagBuilderParams{
		Dagserv:    im.w,
		RawLeaves:  im.params.rawLeaves,
		Maxlinks:   im.params.maxLinks,
		CidBuilder: im.params.cidBuilder,
	}
	db, err := dbp.New(chunker.NewSizeSplitter(cr, im.params.chunkSize))
	if err != nil {
		return cid.Undef, cr.n, fmt.Errorf("import file: %w", err)
	}
	nd, err := balanced.Layout(db)
	if err != nil {
		return cid.Undef, cr.n, fmt.Errorf("import file: %w", err)
	}
	return nd.Cid(), cr.n, nil
}

// Commit writes every buffered block and makes the session's blocks
// durable (fsync). It does not release the GC lock: call Release once the
// pin that references the blocks is recorded.
func (im *Import) Commit(ctx context.Context) error {
	if err := im.check(); err != nil {
		return fmt.Errorf("commit import: %w", err)
	}
	im.state = importCommitted
	if err := im.w.close(ctx); err != nil {
		return fmt.Errorf("commit import: %w", err)
	}
	if err := syncDatastore(ctx, im.n.ds); err != nil {
		return fmt.Errorf("commit import: %w", err)
	}
	return nil
}

// Abort ends an uncommitted session: its buffered blocks are dropped and
// the GC lock is released. Blocks already written stay behind as orphans
// for GC. After Commit, Abort only releases the GC lock. Safe to call
// more than once.
func (im *Import) Abort() {
	if im.state == importOpen {
		im.state = importAborted
		im.w.buf = nil
		_ = im.w.close(context.Background())
	}
	im.release.Do(im.n.gcMu.RUnlock)
}

// Release ends the session: it is Abort, named for the committed case
// where all it does is let GC run again. Safe to call more than once.
func (im *Import) Release() { im.Abort() }

// countingReader counts the bytes read and stops early once ctx is done,
// because boxo's chunker has no context of its own.
type countingReader struct {
	ctx context.Context
	r   io.Reader
	n   uint64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.r.Read(p)
	c.n += uint64(n)
	return n, err
}
