package node

import (
	"context"
	"fmt"
	"sync"

	"github.com/ipfs/boxo/blockstore"
	"github.com/ipfs/boxo/ipld/merkledag"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
	pool "github.com/libp2p/go-buffer-pool"
)

const (
	// batchBytes is how many bytes of blocks are buffered before a batch is
	// handed to the writer goroutine. 8 MiB amortises a datastore batch
	// commit over 8 full 1 MiB chunks (or ~2000 small blocks).
	batchBytes = 8 << 20
	// batchQueue is how many full batches may wait for the writer. With
	// batchBytes this bounds an import's buffered blocks to about
	// (batchQueue+2)*batchBytes = 32 MiB whatever the upload size, while
	// still letting the importer hash the next batch during a write.
	batchQueue = 2
	// syncEvery is how many bytes an import writes between syncs of its
	// own (see batchWriter.put).
	syncEvery = 64 << 20
)

// batchWriter is the ipld.DAGService an import writes through. Add only
// buffers; full batches go to a single background goroutine that puts them
// into the block store with one datastore batch each, so hashing (in the
// caller's goroutine) overlaps with writing. Nothing is synced here: the
// caller syncs the datastore once, at Commit.
type batchWriter struct {
	n    *Node
	bs   blockstore.Blockstore
	read ipld.DAGService // reads go to the local store, after a flush

	// written holds the multihash of every block this session has put (or
	// found already present). GC keeps them while the session is open; see
	// Import for the protocol. Guarded by the node's GC lock: added to
	// under it shared, read under it exclusive.
	written map[string]struct{}
	// unsynced counts bytes put since the writer last synced.
	unsynced int

	buf  []blocks.Block
	size int
	win  *window // this import's share of the node's buffer budget

	reqs chan writeReq
	done chan struct{}

	mu  sync.Mutex
	err error // first write error; sticky
}

// writeReq is one batch for the writer goroutine; a nil blocks slice with
// an ack channel is a flush barrier.
type writeReq struct {
	ctx    context.Context
	blocks []blocks.Block
	bytes  int // their total size, released from the window once written
	ack    chan struct{}
}

var _ ipld.DAGService = (*batchWriter)(nil)

// newBatchWriter starts the writer goroutine; stop it with close.
func newBatchWriter(n *Node) *batchWriter {
	w := &batchWriter{
		n:       n,
		bs:      n.bstore,
		read:    merkledag.NewDAGService(n.localBS),
		written: make(map[string]struct{}),
		reqs:    make(chan writeReq, batchQueue),
		done:    make(chan struct{}),
		win:     n.budget.newWindow(),
	}
	n.writersMu.Lock()
	n.writers[w] = struct{}{}
	n.writersMu.Unlock()
	go w.run()
	return w
}

// unregister stops GC from keeping this session's blocks for it: they are
// now reachable from a protected root (Commit) or garbage (Abort).
func (w *batchWriter) unregister() {
	w.n.writersMu.Lock()
	delete(w.n.writers, w)
	w.n.writersMu.Unlock()
}

// put writes one batch while holding the GC lock shared, recording every
// block first, so a GC (which takes the lock exclusively) sees either none
// of the batch or all of it, recorded as this open session's.
func (w *batchWriter) put(ctx context.Context, bs []blocks.Block) error {
	w.n.gcMu.RLock()
	defer w.n.gcMu.RUnlock()
	for _, b := range bs {
		w.written[string(b.Cid().Hash())] = struct{}{}
	}
	if err := w.bs.PutMany(ctx, bs); err != nil {
		return err
	}
	// A large import syncs as it goes, in this goroutine while the caller
	// hashes the next batches, so Commit's final sync has little left to
	// write and the disk is busy during the import, not only after it.
	for _, b := range bs {
		w.unsynced += len(b.RawData())
	}
	if w.unsynced >= syncEvery {
		w.unsynced = 0
		return syncDatastore(ctx, w.n.ds)
	}
	return nil
}

func (w *batchWriter) run() {
	defer close(w.done)
	for req := range w.reqs {
		if len(req.blocks) > 0 && w.firstErr() == nil {
			if err := w.put(req.ctx, req.blocks); err != nil {
				w.setErr(fmt.Errorf("write blocks: %w", err))
			}
		}
		recycle(req.blocks)
		w.win.release(int64(req.bytes))
		if req.ack != nil {
			close(req.ack)
		}
	}
}

func (w *batchWriter) firstErr() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *batchWriter) setErr(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		w.err = err
	}
}

// send hands the buffered blocks to the writer, blocking while the queue
// is full: that back-pressure is what keeps memory bounded.
func (w *batchWriter) send(ctx context.Context, ack chan struct{}) error {
	req := writeReq{ctx: context.WithoutCancel(ctx), blocks: w.buf, bytes: w.size, ack: ack}
	w.buf, w.size = nil, 0
	select {
	case w.reqs <- req:
		return w.firstErr()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// flush waits until every block added so far is in the block store (not
// necessarily synced).
func (w *batchWriter) flush(ctx context.Context) error {
	ack := make(chan struct{})
	if err := w.send(ctx, ack); err != nil {
		return err
	}
	select {
	case <-ack:
		return w.firstErr()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// handOver sends the partial batch to the writer, so that its bytes are
// freed once written: the window calls it before waiting for room.
func (w *batchWriter) handOver(ctx context.Context) error {
	if len(w.buf) == 0 {
		return nil
	}
	return w.send(ctx, nil)
}

// close flushes the remaining blocks, stops the writer goroutine and
// returns the import's window to the budget. It must be called exactly once.
func (w *batchWriter) close(ctx context.Context) error {
	var err error
	if len(w.buf) > 0 {
		err = w.send(ctx, nil)
	}
	close(w.reqs)
	<-w.done
	w.win.close()
	if err != nil {
		return err
	}
	return w.firstErr()
}

// recycle returns the buffers of written blocks that nothing else holds to
// the pool boxo's chunker takes its chunk buffers from, so that a steady
// import reuses a few chunk buffers instead of allocating 1 MiB per chunk
// (and the garbage collector does not let the heap grow to twice the live
// buffers between collections). Raw leaves (RawNode) and CAR blocks
// (BasicBlock) are referenced by nothing once written: the DAG builder
// keeps only their CID and size. dag-pb nodes are not recycled: a
// ProtoNode caches its encoding and the builder may still use it.
func recycle(bs []blocks.Block) {
	for _, b := range bs {
		switch b.(type) {
		case *merkledag.RawNode, *blocks.BasicBlock:
			if data := b.RawData(); cap(data) >= minRecycle {
				pool.Put(data)
			}
		}
	}
}

// minRecycle is the smallest buffer worth recycling: the chunker asks the
// pool for 256 KiB (ProfileV0) or 1 MiB (ProfileV1) buffers only.
const minRecycle = 256 << 10

// Add buffers nd, sending a batch to the writer once batchBytes are buffered.
func (w *batchWriter) Add(ctx context.Context, nd ipld.Node) error {
	return w.addBlock(ctx, nd)
}

// AddMany buffers every node of nds.
func (w *batchWriter) AddMany(ctx context.Context, nds []ipld.Node) error {
	for _, nd := range nds {
		if err := w.Add(ctx, nd); err != nil {
			return err
		}
	}
	return nil
}

// Get flushes pending blocks and reads c from the local store.
func (w *batchWriter) Get(ctx context.Context, c cid.Cid) (ipld.Node, error) {
	if err := w.flush(ctx); err != nil {
		return nil, err
	}
	return w.read.Get(ctx, c)
}

// GetMany flushes pending blocks and reads cs from the local store.
func (w *batchWriter) GetMany(ctx context.Context, cs []cid.Cid) <-chan *ipld.NodeOption {
	if err := w.flush(ctx); err != nil {
		ch := make(chan *ipld.NodeOption, 1)
		ch <- &ipld.NodeOption{Err: err}
		close(ch)
		return ch
	}
	return w.read.GetMany(ctx, cs)
}

// Remove is a no-op: an import never deletes, orphans are left to GC.
func (w *batchWriter) Remove(context.Context, cid.Cid) error { return nil }

// RemoveMany is a no-op, like Remove.
func (w *batchWriter) RemoveMany(context.Context, []cid.Cid) error { return nil }

// addBlock buffers a block, once the import's window has room for it.
func (w *batchWriter) addBlock(ctx context.Context, b blocks.Block) error {
	if err := w.win.charge(ctx, int64(len(b.RawData())), w.handOver); err != nil {
		return err
	}
	w.buf = append(w.buf, b)
	w.size += len(b.RawData())
	if w.size >= batchBytes {
		return w.send(ctx, nil)
	}
	return nil
}
