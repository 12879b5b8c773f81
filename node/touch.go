package node

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/ipfs/boxo/blockstore"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
)

// touchSet records the multihashes of the blocks read or written while a
// GC sweeps without the exclusive lock (see GCFunc): a block the sweep
// found unmarked but someone has used since the mark (an upload that
// wrote it again or found it present, a fetch, a DAG walk behind a new
// pin) is kept, to be judged again by the next GC.
type touchSet struct {
	active atomic.Bool
	mu     sync.Mutex
	keys   map[string]struct{}
}

// start begins recording. The caller holds the GC lock exclusively, so no
// writer under the shared lock is between its touch and its write.
func (t *touchSet) start() {
	t.mu.Lock()
	t.keys = make(map[string]struct{})
	t.mu.Unlock()
	t.active.Store(true)
}

// stop ends recording and forgets what was recorded.
func (t *touchSet) stop() {
	t.active.Store(false)
	t.mu.Lock()
	t.keys = nil
	t.mu.Unlock()
}

func (t *touchSet) touch(c cid.Cid) {
	if !t.active.Load() {
		return
	}
	t.mu.Lock()
	if t.keys != nil {
		t.keys[string(c.Hash())] = struct{}{}
	}
	t.mu.Unlock()
}

func (t *touchSet) touchMany(bs []blocks.Block) {
	if !t.active.Load() {
		return
	}
	t.mu.Lock()
	if t.keys != nil {
		for _, b := range bs {
			t.keys[string(b.Cid().Hash())] = struct{}{}
		}
	}
	t.mu.Unlock()
}

// touched reports whether c was used since start. The sweep calls it
// under the exclusive GC lock.
func (t *touchSet) touched(c cid.Cid) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.keys[string(c.Hash())]
	return ok
}

// touchingBlockstore is the node's block store as everything but GC sees
// it: each call records its block in the touch set before it runs, so a
// use that completes before a sweep batch takes the lock is seen by it.
type touchingBlockstore struct {
	blockstore.Blockstore
	t *touchSet
}

var _ blockstore.Viewer = touchingBlockstore{}

func (b touchingBlockstore) Has(ctx context.Context, c cid.Cid) (bool, error) {
	b.t.touch(c)
	return b.Blockstore.Has(ctx, c)
}

func (b touchingBlockstore) Get(ctx context.Context, c cid.Cid) (blocks.Block, error) {
	b.t.touch(c)
	return b.Blockstore.Get(ctx, c)
}

func (b touchingBlockstore) GetSize(ctx context.Context, c cid.Cid) (int, error) {
	b.t.touch(c)
	return b.Blockstore.GetSize(ctx, c)
}

func (b touchingBlockstore) Put(ctx context.Context, blk blocks.Block) error {
	b.t.touch(blk.Cid())
	return b.Blockstore.Put(ctx, blk)
}

func (b touchingBlockstore) PutMany(ctx context.Context, bs []blocks.Block) error {
	b.t.touchMany(bs)
	return b.Blockstore.PutMany(ctx, bs)
}

// View keeps the inner store's zero-copy read where it has one.
func (b touchingBlockstore) View(ctx context.Context, c cid.Cid, fn func([]byte) error) error {
	b.t.touch(c)
	if v, ok := b.Blockstore.(blockstore.Viewer); ok {
		return v.View(ctx, c, fn)
	}
	blk, err := b.Blockstore.Get(ctx, c)
	if err != nil {
		return err
	}
	return fn(blk.RawData())
}
