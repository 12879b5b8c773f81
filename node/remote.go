package node

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
	"github.com/libp2p/go-libp2p/core/peer"
)

// RemoteSource lets the gateway read blocks the node no longer stores
// (a CID replicated to an IPFS Cluster whose local blocks GC dropped,
// --local-retention) from other peers over bitswap. Peers is asked once
// per gateway request, with the request's root CID: ok false (a root no
// pin names) keeps the request local-only, so the gateway never fetches
// arbitrary CIDs from the network; otherwise the node dials addrs (the
// peers holding the root) and asks bitswap for every missing block under
// it. Fetched is told the size of each block fetched: the blocks land in
// the block store, unpinned, and the next GC drops them again, so the
// caller bounds this read-through cache by collecting once enough bytes
// came in.
type RemoteSource struct {
	Peers   func(ctx context.Context, root cid.Cid) (addrs []string, ok bool)
	Fetched func(bytes int)
}

// remoteBlockTimeout bounds one block fetched back from a remote peer.
const remoteBlockTimeout = 30 * time.Second

// SetRemoteSource enables (or, with a zero RemoteSource, disables)
// remote reads for the gateway. It may be called once the node runs.
func (n *Node) SetRemoteSource(rs RemoteSource) {
	if rs.Peers == nil {
		n.remote.Store(nil)
		return
	}
	n.remote.Store(&rs)
}

type remoteKey struct{}

// remoteRead is one gateway request's permission to read remotely.
type remoteRead struct {
	n    *Node
	rs   *RemoteSource
	root cid.Cid
	once sync.Once
	ok   bool
}

// withRemote marks a gateway request for root as one that may read
// remotely, if a source is set and the node has a network.
func (n *Node) withRemote(ctx context.Context, root cid.Cid) context.Context {
	rs := n.remote.Load()
	if rs == nil || n.host == nil || n.bitswap == nil {
		return ctx
	}
	return context.WithValue(ctx, remoteKey{}, &remoteRead{n: n, rs: rs, root: root})
}

// allowed asks the source once and dials its peers.
func (r *remoteRead) allowed(ctx context.Context) bool {
	r.once.Do(func() {
		addrs, ok := r.rs.Peers(ctx, r.root)
		if !ok {
			return
		}
		r.ok = true
		infos := map[peer.ID]*peer.AddrInfo{}
		for _, a := range addrs {
			pi, err := peer.AddrInfoFromString(a)
			if err != nil || pi.ID == r.n.host.ID() {
				continue
			}
			if have, ok := infos[pi.ID]; ok {
				have.Addrs = append(have.Addrs, pi.Addrs...)
			} else {
				infos[pi.ID] = pi
			}
		}
		var wg sync.WaitGroup
		var connected atomic.Int32
		for _, pi := range infos {
			wg.Go(func() {
				cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				defer cancel()
				if err := r.n.host.Connect(cctx, *pi); err != nil {
					r.n.log.Debug("remote read: dial", "peer", pi.ID, "err", err)
					return
				}
				connected.Add(1)
			})
		}
		wg.Wait()
		r.n.log.Debug("remote read", "root", r.root, "peers", len(infos), "connected", connected.Load())
	})
	return r.ok
}

// remoteBlockstore reads a block that is not stored locally from the
// request's remote source, when the request has one.
type remoteBlockstore struct {
	budgetedBlockstore
	n *Node
}

func (b remoteBlockstore) fetch(ctx context.Context, c cid.Cid) (blocks.Block, bool) {
	r, ok := ctx.Value(remoteKey{}).(*remoteRead)
	if !ok || !r.allowed(ctx) {
		return nil, false
	}
	fctx, cancel := context.WithTimeout(ctx, remoteBlockTimeout)
	defer cancel()
	blk, err := b.n.bitswap.GetBlock(fctx, c)
	if err != nil {
		b.n.log.Debug("remote read: block", "cid", c, "err", err)
		return nil, false
	}
	if f := r.rs.Fetched; f != nil {
		f(len(blk.RawData()))
	}
	return blk, true
}

func (b remoteBlockstore) Get(ctx context.Context, c cid.Cid) (blocks.Block, error) {
	blk, err := b.budgetedBlockstore.Get(ctx, c)
	if err == nil || !ipld.IsNotFound(err) {
		return blk, err
	}
	if rb, ok := b.fetch(ctx, c); ok {
		return rb, nil
	}
	return nil, err
}

func (b remoteBlockstore) GetSize(ctx context.Context, c cid.Cid) (int, error) {
	n, err := b.budgetedBlockstore.GetSize(ctx, c)
	if err == nil || !ipld.IsNotFound(err) {
		return n, err
	}
	if rb, ok := b.fetch(ctx, c); ok {
		return len(rb.RawData()), nil
	}
	return 0, err
}

func (b remoteBlockstore) Has(ctx context.Context, c cid.Cid) (bool, error) {
	has, err := b.budgetedBlockstore.Has(ctx, c)
	if err != nil || has {
		return has, err
	}
	if _, ok := b.fetch(ctx, c); ok {
		return true, nil
	}
	return false, nil
}
