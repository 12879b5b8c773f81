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
	ipld "github.com/ipfs/go-ipld-format"
)

// Import is one upload's write session. Blocks are buffered and written in
// batches by a background goroutine; nothing is durable until Commit
// returns nil, and after that a crash loses none of the session's blocks.
//
// GC safety: an open session does not hold off GC. Each batch of blocks is
// written under the node's GC lock held shared and recorded in the
// session's written set, and GC, which takes the lock exclusively, keeps
// every block in the sets of open sessions. So a GC waits at most for one
// batch write (never for a slow upload), and never deletes a block an open
// session wrote or relied on. Commit registers the session's roots (every
// CID its Add methods returned) as recently committed before it closes the
// session: GC treats them as live for recentRootsGrace, the window the
// caller has to record the pin that keeps them for good. The intended use:
//
//	im := n.NewImport(node.ProfileV1)
//	c, size, err := im.AddFile(ctx, body)
//	...
//	err = im.Commit(ctx)        // blocks durable, roots protected
//	err = store.RecordPin(c)    // pin durable
//	im.Release()                // the pin protects the roots now
//
// The methods of one Import must not be called concurrently.
type Import struct {
	n       *Node
	params  profileParams
	perr    error // an unknown profile, reported by the first Add call
	w       *batchWriter
	roots   []cid.Cid // what the Add methods returned, protected after Commit
	files   int       // AddFile calls, against Limits.MaxEntries
	sizes   map[cid.Cid]uint64
	state   importState
	release sync.Once
}

type importState int

const (
	importOpen importState = iota
	importCommitted
	importAborted
	importReleased // committed, and its roots' protection ended
)

// NewImport starts a write session using profile for AddFile and
// AddDirectory ("" means ProfileV1). Its writes pause while a GC sweeps.
func (n *Node) NewImport(profile Profile) *Import {
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
// the caller's sentinels (for example a size-limit error). A session's
// file after its Limits.MaxEntries-th fails with ErrLimit before reading r.
func (im *Import) AddFile(ctx context.Context, r io.Reader) (cid.Cid, uint64, error) {
	if err := im.check(); err != nil {
		return cid.Undef, 0, fmt.Errorf("import file: %w", err)
	}
	if im.files++; im.files > im.n.limits.MaxEntries {
		return cid.Undef, 0, fmt.Errorf("import file: %w: more than %d files in one upload", ErrLimit, im.n.limits.MaxEntries)
	}
	cr := &countingReader{ctx: ctx, r: r}
	dbp := helpers.DagBuilderParams{
		Dagserv:    im.w,
		RawLeaves:  im.params.rawLeaves,
		Maxlinks:   im.params.maxLinks,
		CidBuilder: im.params.cidBuilder,
	}
	spl := &budgetSplitter{ctx: ctx, inner: chunker.NewSizeSplitter(cr, im.params.chunkSize), w: im.w, size: im.params.chunkSize}
	db, err := dbp.New(spl)
	if err != nil {
		return cid.Undef, cr.n, fmt.Errorf("import file: %w", err)
	}
	nd, err := balanced.Layout(db)
	if err != nil {
		return cid.Undef, cr.n, fmt.Errorf("import file: %w", err)
	}
	im.addRoot(nd)
	return nd.Cid(), cr.n, nil
}

// addRoot records a root the session returned, and its DAG size.
func (im *Import) addRoot(nd ipld.Node) {
	im.roots = append(im.roots, nd.Cid())
	if size, err := nd.Size(); err == nil {
		if im.sizes == nil {
			im.sizes = make(map[cid.Cid]uint64)
		}
		im.sizes[nd.Cid()] = size
	}
}

// RootSize returns the cumulative DAG size of a root that AddFile or
// AddDirectory returned (every block's bytes as the root's links record
// them, Kubo's CumulativeSize), from the import's own nodes: no block is
// read back. A DAG with repeated blocks counts them each time. ok is false
// for other CIDs.
func (im *Import) RootSize(c cid.Cid) (size uint64, ok bool) {
	size, ok = im.sizes[c]
	return size, ok
}

// Commit writes every buffered block, makes the session's blocks durable
// (fsync) and protects its roots from GC for recentRootsGrace. The session is over after Commit, whatever its result.
func (im *Import) Commit(ctx context.Context) error {
	if err := im.check(); err != nil {
		return fmt.Errorf("commit import: %w", err)
	}
	im.state = importCommitted
	defer im.release.Do(im.w.unregister)
	if err := im.w.close(ctx); err != nil {
		return fmt.Errorf("commit import: %w", err)
	}
	if err := syncDatastore(ctx, im.n.ds); err != nil {
		return fmt.Errorf("commit import: %w", err)
	}
	// Protected before the session is unregistered, and GC reads the open
	// sessions before the protected roots, so no GC can miss both.
	im.n.protectRoots(im.roots)
	return nil
}

// Abort ends a session. An uncommitted one drops its buffered blocks;
// blocks already written stay behind as orphans for GC. After Commit it
// ends the protection of the session's roots: call it once the pin that
// keeps them is recorded (or will not be). Safe to call more than once.
func (im *Import) Abort() {
	switch im.state {
	case importOpen:
		im.state = importAborted
		im.w.buf = nil
		_ = im.w.close(context.Background())
	case importCommitted:
		im.state = importReleased
		im.n.forgetRoots(im.roots)
	}
	im.release.Do(im.w.unregister)
}

// Release is Abort, for callers that defer it: it aborts an uncommitted
// session and, after Commit, hands the roots' protection over to the pin
// the caller has recorded.
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
