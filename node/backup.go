package node

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/ipfs/boxo/blockstore"
	"github.com/ipfs/boxo/datastore/dshelp"
	"github.com/ipfs/go-cid"
	ds "github.com/ipfs/go-datastore"
	"github.com/ipfs/go-datastore/query"
	ipld "github.com/ipfs/go-ipld-format"
	mh "github.com/multiformats/go-multihash"
)

// Backups copy blocks while uploads, fetches and GC go on. What keeps GC
// from deleting a block the backup still has to copy is a hold: a set of
// roots that GC keeps, with everything reachable from them, like the roots
// of a committed import (protectRoots), until the hold is released.
//
// The roots come from a database snapshot, and the hold must be in place
// before any GC can act on a newer state of the database than the
// snapshot's: a pin deleted after the snapshot would otherwise lose its
// blocks before they are copied. HoldRoots therefore announces the hold
// first (under the GC lock held shared, so no GC is marking or sweeping at
// that moment), then takes the snapshot and registers its roots, and only
// then ends the announcement. A GC that starts meanwhile waits for it
// before it reads the live roots (lockForGC), so it sees the hold's roots.
// Uploads never wait for the snapshot; only GC does, and only while the
// snapshot is being written.

// holdSet is the node's holds: the roots they keep and the holds still
// being set up.
type holdSet struct {
	mu      sync.Mutex
	roots   map[string]heldRoot // by CID bytes
	pending int                 // holds between announcement and registration
	idle    chan struct{}       // closed when pending drops to 0
	waits   int                 // times a GC waited for a hold's snapshot (tests)
}

type heldRoot struct {
	c     cid.Cid
	holds int
}

// Hold keeps roots and their DAGs from GC until Release.
type Hold struct {
	n     *Node
	roots []cid.Cid
	once  sync.Once
}

// Roots are the roots the hold keeps.
func (h *Hold) Roots() []cid.Cid { return h.roots }

// Release ends the hold; GC may then collect whatever no pin references.
func (h *Hold) Release() {
	h.once.Do(func() {
		s := &h.n.holds
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, c := range h.roots {
			k := string(c.Bytes())
			if r := s.roots[k]; r.holds <= 1 {
				delete(s.roots, k)
			} else {
				r.holds--
				s.roots[k] = r
			}
		}
	})
}

// HoldRoots calls snapshot, which must take a consistent snapshot of the
// pin records and return its roots, and holds those roots until Release:
// GC keeps every local block reachable from them. No GC acts on a state
// newer than the snapshot before the hold is in place (see above).
func (n *Node) HoldRoots(ctx context.Context, snapshot func(context.Context) ([]cid.Cid, error)) (*Hold, error) {
	n.gcMu.RLock() // waits out a GC in progress
	s := &n.holds
	s.mu.Lock()
	if s.pending == 0 {
		s.idle = make(chan struct{})
	}
	s.pending++
	s.mu.Unlock()
	n.gcMu.RUnlock()

	roots, err := snapshot(ctx)

	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		if s.roots == nil {
			s.roots = make(map[string]heldRoot)
		}
		for _, c := range roots {
			k := string(c.Bytes())
			r := s.roots[k]
			s.roots[k] = heldRoot{c: c, holds: r.holds + 1}
		}
	}
	if s.pending--; s.pending == 0 {
		close(s.idle)
	}
	if err != nil {
		return nil, fmt.Errorf("hold roots: %w", err)
	}
	return &Hold{n: n, roots: roots}, nil
}

// lockForGC takes the GC lock exclusively once no hold is being set up,
// so GC never reads live roots older than a hold's snapshot without that
// hold's roots.
func (n *Node) lockForGC(ctx context.Context) error {
	for {
		n.gcMu.Lock()
		s := &n.holds
		s.mu.Lock()
		pending, idle := s.pending, s.idle
		s.mu.Unlock()
		if pending == 0 {
			return nil
		}
		s.mu.Lock()
		s.waits++
		s.mu.Unlock()
		n.gcMu.Unlock()
		select {
		case <-idle:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// heldRoots are the roots every hold keeps.
func (n *Node) heldRoots() []cid.Cid {
	s := &n.holds
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]cid.Cid, 0, len(s.roots))
	for _, r := range s.roots {
		out = append(out, r.c)
	}
	return out
}

// CopyStats reports what CopyBlocks copied.
type CopyStats struct {
	Blocks      int64 // distinct blocks reachable from the roots and stored here
	Bytes       int64 // their size
	Copied      int64 // of those, copied by this call (the rest were there already)
	CopiedBytes int64
	Missing     int64 // reachable blocks not stored here (a pin still fetching)
	Corrupt     int64 // reachable blocks stored here whose bytes do not hash to their CID: left out
}

// CopyBlocks copies every local block reachable from roots into the
// flatfs block store at dir (created if needed, in the data directory's
// layout), skipping blocks already there: blocks are content-addressed, so
// a file with a block's name holds that block (VerifyBlocks checks it).
// Each block copied is checked against its CID first: a corrupt one is
// left out and counted, never copied as if it were the block. Blocks that are not here are counted
// as missing, not an error: a pin still fetching holds part of a DAG.
// progress, if set, is called every 1,000 blocks.
func (n *Node) CopyBlocks(ctx context.Context, dir string, roots []cid.Cid, progress func(CopyStats)) (CopyStats, error) {
	var st CopyStats
	dst, err := openFlatfs(dir)
	if err != nil {
		return st, fmt.Errorf("copy blocks: open %s: %w", dir, err)
	}
	defer dst.Close()
	seen := make(map[string]struct{})
	stack := append([]cid.Cid(nil), roots...)
	for len(stack) > 0 {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if _, ok := seen[string(c.Hash())]; ok || c.Prefix().MhType == mh.IDENTITY {
			continue
		}
		seen[string(c.Hash())] = struct{}{}
		links, err := n.copyBlock(ctx, dst, c, &st)
		if err != nil {
			return st, err
		}
		stack = append(stack, links...)
		if progress != nil && (st.Blocks+st.Missing+st.Corrupt)%1000 == 0 {
			progress(st)
		}
	}
	if err := dst.Sync(ctx, ds.NewKey("/")); err != nil {
		return st, fmt.Errorf("copy blocks: %w", err)
	}
	return st, nil
}

// copyBlock copies c unless dst has it and returns its links. A raw block
// dst has already is not read at all: it has no links, and skipping it is
// what makes an incremental backup cheap.
func (n *Node) copyBlock(ctx context.Context, dst ds.Batching, c cid.Cid, st *CopyStats) ([]cid.Cid, error) {
	key := dsKeyOf(c)
	if c.Type() == cid.Raw {
		if size, err := dst.GetSize(ctx, key); err == nil {
			st.Blocks++
			st.Bytes += int64(size)
			return nil, nil
		}
	}
	blk, err := n.bstore.Get(ctx, c)
	if ipld.IsNotFound(err) {
		st.Missing++
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("copy blocks: read %s: %w", c, err)
	}
	if err := checkHash(c, blk.RawData()); err != nil {
		// The best copy leaves a corrupt block out (and what only it
		// links to) and says so, rather than failing the whole backup.
		st.Corrupt++
		return nil, nil
	}
	size := int64(len(blk.RawData()))
	st.Blocks++
	st.Bytes += size
	if has, err := dst.Has(ctx, key); err != nil {
		return nil, fmt.Errorf("copy blocks: %w", err)
	} else if !has {
		if err := dst.Put(ctx, key, blk.RawData()); err != nil {
			return nil, fmt.Errorf("copy blocks: write %s: %w", c, err)
		}
		st.Copied++
		st.CopiedBytes += size
	}
	links, err := blockLinks(blk)
	if err != nil {
		return nil, fmt.Errorf("copy blocks: %w", err)
	}
	return links, nil
}

// checkHash reports whether data hashes to c's multihash.
func checkHash(c cid.Cid, data []byte) error {
	return checkMultihash(c.Hash(), data)
}

func checkMultihash(want mh.Multihash, data []byte) error {
	dec, err := mh.Decode(want)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	got, err := mh.Sum(data, dec.Code, dec.Length)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrCorrupt, want.B58String(), err)
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("%w: the bytes stored as %s hash to %s", ErrCorrupt, want.B58String(), got.B58String())
	}
	return nil
}

// VerifyReport is what VerifyBlocks found.
type VerifyReport struct {
	Blocks, Bytes int64
	// Corrupt are the files whose bytes do not hash to their name.
	Corrupt []string
	// Incomplete are the roots of complete whose DAG lacks blocks (or has
	// a corrupt one), with how many blocks are missing under each.
	Incomplete map[string]int
}

// OK reports a store with every block intact and every DAG whole.
func (r VerifyReport) OK() bool { return len(r.Corrupt) == 0 && len(r.Incomplete) == 0 }

// VerifyBlocks checks the flatfs block store at dir without a node: every
// block file hashes to its name, and every root in complete has its whole
// DAG there.
func VerifyBlocks(ctx context.Context, dir string, complete []cid.Cid) (VerifyReport, error) {
	rep := VerifyReport{Incomplete: map[string]int{}}
	if _, err := os.Stat(filepath.Join(dir, "SHARDING")); err != nil {
		return rep, fmt.Errorf("verify blocks: %s is not a block store: %w", dir, err)
	}
	d, err := openFlatfs(dir)
	if err != nil {
		return rep, fmt.Errorf("verify blocks: open %s: %w", dir, err)
	}
	defer d.Close()
	bad := make(map[string]bool) // multihashes of corrupt blocks
	err = eachBlock(ctx, d, func(k mh.Multihash, key ds.Key, data []byte) error {
		rep.Blocks++
		rep.Bytes += int64(len(data))
		if checkMultihash(k, data) != nil {
			rep.Corrupt = append(rep.Corrupt, blockFile(dir, key))
			bad[string(k)] = true
		}
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("verify blocks: %w", err)
	}
	bs := blockstore.NewIdStore(blockstore.NewBlockstore(d, blockstore.NoPrefix()))
	missing := make(map[string]bool) // by multihash, across roots
	for _, root := range complete {
		if n := missingUnder(ctx, bs, root, bad, missing); n > 0 {
			rep.Incomplete[root.String()] = n
		}
	}
	return rep, ctx.Err()
}

// missingUnder counts the blocks of root's DAG that bs lacks (or holds
// corrupt); missing remembers them across calls.
func missingUnder(ctx context.Context, bs blockstore.Blockstore, root cid.Cid, bad, missing map[string]bool) int {
	n := 0
	seen := make(map[string]struct{})
	stack := []cid.Cid{root}
	for len(stack) > 0 && ctx.Err() == nil {
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		h := string(c.Hash())
		if _, ok := seen[h]; ok {
			continue
		}
		seen[h] = struct{}{}
		if missing[h] || bad[h] {
			n++
			continue
		}
		if c.Type() == cid.Raw && c.Prefix().MhType != mh.IDENTITY {
			if ok, err := bs.Has(ctx, c); err != nil || !ok {
				missing[h] = true
				n++
			}
			continue
		}
		blk, err := bs.Get(ctx, c)
		if err != nil {
			missing[h] = true
			n++
			continue
		}
		links, err := blockLinks(blk)
		if err != nil {
			bad[h] = true
			n++
			continue
		}
		stack = append(stack, links...)
	}
	return n
}

// eachBlock calls fn with every block of the flatfs store d.
func eachBlock(ctx context.Context, d ds.Datastore, fn func(k mh.Multihash, key ds.Key, data []byte) error) error {
	res, err := d.Query(ctx, query.Query{})
	if err != nil {
		return err
	}
	defer res.Close()
	for r := range res.Next() {
		if r.Error != nil {
			return r.Error
		}
		key := ds.NewKey(r.Key)
		k, err := dshelp.DsKeyToMultihash(key)
		if err != nil {
			continue // not a block: flatfs keeps only blocks, but be safe
		}
		if err := fn(k, key, r.Value); err != nil {
			return err
		}
	}
	return nil
}

// blockFile is where flatfs (next-to-last/2) keeps the block under key.
func blockFile(dir string, key ds.Key) string {
	name := key.Name()
	shard := "__"
	if len(name) >= 3 {
		shard = name[len(name)-3 : len(name)-1]
	}
	return filepath.Join(dir, shard, name+".data")
}

// RestoreStats reports what RestoreBlocks restored.
type RestoreStats struct {
	Blocks, Bytes int64
	// Corrupt are the files of the source left out: their bytes do not
	// hash to their name.
	Corrupt []string
}

// RestoreBlocks copies every block of the flatfs store at src into the
// block store of the data directory dataDir (created as New would), each
// checked against its name first: a corrupt block is left out and
// reported. The data directory's block store should be new.
func RestoreBlocks(ctx context.Context, src, dataDir string) (RestoreStats, error) {
	var st RestoreStats
	if _, err := os.Stat(filepath.Join(src, "SHARDING")); err != nil {
		return st, fmt.Errorf("restore blocks: %s is not a block store: %w", src, err)
	}
	from, err := openFlatfs(src)
	if err != nil {
		return st, fmt.Errorf("restore blocks: open %s: %w", src, err)
	}
	defer from.Close()
	to, err := openDatastore(dataDir, storeFlatfs)
	if err != nil {
		return st, fmt.Errorf("restore blocks: %w", err)
	}
	defer to.Close()
	err = eachBlock(ctx, from, func(k mh.Multihash, key ds.Key, data []byte) error {
		if checkMultihash(k, data) != nil {
			st.Corrupt = append(st.Corrupt, blockFile(src, key))
			return nil
		}
		if err := to.Put(ctx, key, data); err != nil {
			return fmt.Errorf("write %s: %w", k.B58String(), err)
		}
		st.Blocks++
		st.Bytes += int64(len(data))
		return ctx.Err()
	})
	if err != nil {
		return st, fmt.Errorf("restore blocks: %w", err)
	}
	if err := syncDatastore(ctx, to); err != nil {
		return st, fmt.Errorf("restore blocks: %w", err)
	}
	return st, nil
}

// dsKeyOf is the block store key of c (its multihash).
func dsKeyOf(c cid.Cid) ds.Key { return dshelp.MultihashToDsKey(c.Hash()) }
