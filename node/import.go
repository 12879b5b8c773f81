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
// GC safety: from NewImport until Commit or Abort the session holds the
// node's GC lock shared, so no GC runs while its blocks are being written.
// Commit releases it and registers the session's roots (every CID its Add
// methods returned) as recently committed: GC treats them as live for
// recentRootsGrace (an hour), which is the window the caller has to record
// the pin that keeps them for good. The intended use is:
//
//	im := n.NewImport(node.ProfileV1)
//	defer im.Abort()            // no-op once Commit has run
//	c, size, err := im.AddFile(ctx, body)
//	...
//	err = im.Commit(ctx)        // blocks durable, GC lock released
//	err = store.RecordPin(c)    // pin durable
//
// The methods of one Import must not be called concurrently.
type Import struct {
	n       *Node
	params  profileParams
	perr    error // an unknown profile, reported by the first Add call
	w       *batchWriter
	roots   []cid.Cid // what the Add methods returned, protected after Commit
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
	im.roots = append(im.roots, nd.Cid())
	return nd.Cid(), cr.n, nil
}

// Commit writes every buffered block, makes the session's blocks durable
// (fsync), protects its roots from GC for recentRootsGrace and releases the
// GC lock. The session is over after Commit, whatever its result.
func (im *Import) Commit(ctx context.Context) error {
	if err := im.check(); err != nil {
		return fmt.Errorf("commit import: %w", err)
	}
	im.state = importCommitted
	defer im.release.Do(im.n.gcMu.RUnlock)
	if err := im.w.close(ctx); err != nil {
		return fmt.Errorf("commit import: %w", err)
	}
	if err := syncDatastore(ctx, im.n.ds); err != nil {
		return fmt.Errorf("commit import: %w", err)
	}
	// Registered while the GC lock is still held, so no GC can start
	// between the release and the registration.
	im.n.protectRoots(im.roots)
	return nil
}

// Abort ends an uncommitted session: its buffered blocks are dropped and
// the GC lock is released. Blocks already written stay behind as orphans
// for GC. After Commit, Abort does nothing. Safe to call more than once.
func (im *Import) Abort() {
	if im.state == importOpen {
		im.state = importAborted
		im.w.buf = nil
		_ = im.w.close(context.Background())
	}
	im.release.Do(im.n.gcMu.RUnlock)
}

// Release is Abort, for callers that defer it: it aborts an uncommitted
// session and does nothing after Commit.
func (im *Import) Release() { im.Abort() }

// countingReader counts the bytes read and stops early once ctx is done,
// because boxo's chunker has no context of its own.
type countingReader struct {
	ctx context.Context
	r   io.Reader
	n   uint64
}

// Read reads from the underlying reader unless ctx is done.
func (c *countingReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.r.Read(p)
	c.n += uint64(n)
	return n, err
}
