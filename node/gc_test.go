package node

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
)

func TestGCKeepsLiveDAGsAndDeletesTheRest(t *testing.T) {
	n := newTestNode(t)
	ctx := context.Background()
	keep := addFile(t, n, ProfileV1, chachaReader(51, 2<<20+5))
	drop := addFile(t, n, ProfileV0, chachaReader(52, 1<<20))
	keepSize, err := n.DagSize(ctx, keep)
	if err != nil {
		t.Fatal(err)
	}
	dropSize, err := n.DagSize(ctx, drop)
	if err != nil {
		t.Fatal(err)
	}

	// Both imports are past the grace period that protects fresh commits.
	n.now = func() time.Time { return time.Now().Add(recentRootsGrace + time.Minute) }
	stats, err := n.GC(ctx, []cid.Cid{keep})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Bytes != int64(dropSize) {
		t.Errorf("gc freed %d bytes, want %d", stats.Bytes, dropSize)
	}
	if got, err := n.DagSize(ctx, keep); err != nil || got != keepSize {
		t.Errorf("live dag after gc: size %d, %v; want %d", got, err, keepSize)
	}
	if ok, _ := n.Has(ctx, drop); ok {
		t.Error("unreferenced root survived gc")
	}
}

func TestGCKeepsAnOpenImportsBlocksWithoutWaitingForIt(t *testing.T) {
	n := newTestNode(t)
	ctx := context.Background()
	clock := time.Now()
	n.now = func() time.Time { return clock }

	im := n.NewImport(ProfileV1)
	defer im.Abort()
	c, _, err := im.AddFile(ctx, chachaReader(53, 3<<20))
	if err != nil {
		t.Fatal(err)
	}
	noPins := RootList()
	// A GC while the import is open (a slow upload) finishes at once and
	// deletes nothing the import wrote.
	done := make(chan error, 1)
	go func() {
		_, err := n.GCFunc(ctx, noPins)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("gc waited for an open import")
	}
	// The import goes on after the GC, and commits a whole DAG.
	c2, _, err := im.AddFile(ctx, chachaReader(54, 1<<20+7))
	if err != nil {
		t.Fatal(err)
	}
	if err := im.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	for _, root := range []cid.Cid{c, c2} {
		if _, err := n.DagSize(ctx, root); err != nil {
			t.Fatalf("gc during the import damaged %s: %v", root, err)
		}
	}
	// No pin recorded yet, but the roots were committed just now.
	if _, err := n.GCFunc(ctx, noPins); err != nil {
		t.Fatal(err)
	}
	if _, err := n.DagSize(ctx, c); err != nil {
		t.Fatalf("gc right after commit damaged the import: %v", err)
	}

	// Past the grace period, an import whose pin was never recorded is garbage.
	clock = clock.Add(recentRootsGrace + time.Minute)
	stats, err := n.GCFunc(ctx, noPins)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Blocks != 7 {
		t.Errorf("gc deleted %d blocks, want the 7 of the unpinned import", stats.Blocks)
	}
}

func TestReleaseHandsProtectionToThePinAndCountsSessions(t *testing.T) {
	n := newTestNode(t)
	ctx := context.Background()
	noPins := RootList()
	commit := func() (*Import, cid.Cid) {
		im := n.NewImport(ProfileV1)
		c, _, err := im.AddFile(ctx, chachaReader(77, 2<<20))
		if err != nil {
			t.Fatal(err)
		}
		if err := im.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		return im, c
	}
	a, c := commit()
	b, _ := commit() // the same content, uploaded twice
	a.Release()
	if _, err := n.GCFunc(ctx, noPins); err != nil {
		t.Fatal(err)
	}
	if _, err := n.DagSize(ctx, c); err != nil {
		t.Fatalf("a root another session still protects was collected: %v", err)
	}
	b.Release()
	stats, err := n.GCFunc(ctx, noPins)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Blocks != 3 {
		t.Fatalf("gc deleted %d blocks after both sessions released an unpinned root, want 3", stats.Blocks)
	}
}

// deadRawBlocks stores count unreferenced raw blocks of 64 random bytes
// each and returns them, plus one more block holding extra (also dead).
func deadRawBlocks(t testing.TB, n *Node, count int, extra []byte) []blocks.Block {
	t.Helper()
	ctx := context.Background()
	out := make([]blocks.Block, 0, count+1)
	r := chachaReader(91, int64(count)*64)
	for range count {
		data := make([]byte, 64)
		if _, err := io.ReadFull(r, data); err != nil {
			t.Fatal(err)
		}
		out = append(out, rawBlock(t, data))
	}
	out = append(out, rawBlock(t, extra))
	for i := 0; i < len(out); i += 4096 {
		if err := n.bstore.PutMany(ctx, out[i:min(i+4096, len(out))]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func rawBlock(t testing.TB, data []byte) blocks.Block {
	t.Helper()
	h, err := mh.Sum(data, mh.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := blocks.NewBlockWithCid(data, cid.NewCidV1(cid.Raw, h))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestUploadsGoOnWhileGCSweeps(t *testing.T) {
	n := newTestNode(t)
	ctx := context.Background()
	n.now = func() time.Time { return time.Now().Add(recentRootsGrace + time.Minute) }
	// The upload's first 1 MiB chunk is, byte for byte, one of the dead
	// blocks: the sweep must not delete it from under the upload that
	// found it present (or must let the upload write it again).
	content := chachaBytes(t, 92, 2<<20+3)
	dead := deadRawBlocks(t, n, 4*sweepBatch, content[:1<<20])

	var (
		root      cid.Cid
		uploadErr error
		batches   int
	)
	n.afterSweepBatch = func() {
		batches++
		if batches != 1 {
			return
		}
		// Between the first batch and the second, the GC holds no lock:
		// a whole upload commits here, or the test fails below.
		done := make(chan struct{})
		go func() {
			defer close(done)
			im := n.NewImport(ProfileV1)
			var err error
			if root, _, err = im.AddFile(ctx, bytes.NewReader(content)); err == nil {
				err = im.Commit(ctx)
			}
			uploadErr = err
		}()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			uploadErr = errors.New("the upload was still waiting 30 s into the sweep")
			<-done
		}
	}
	noPins := RootList()
	stats, err := n.GCFunc(ctx, noPins)
	if err != nil {
		t.Fatal(err)
	}
	if uploadErr != nil {
		t.Fatalf("upload during the sweep: %v", uploadErr)
	}
	if batches < 4 {
		t.Fatalf("sweep ran %d batches, want at least 4", batches)
	}
	// Every dead block is gone except, possibly, the one the upload used.
	shared := dead[len(dead)-1].Cid()
	for _, b := range dead[:len(dead)-1] {
		if ok, _ := n.rawBS.Has(ctx, b.Cid()); ok {
			t.Fatalf("dead block %s survived the sweep", b.Cid())
		}
	}
	want := int64(len(dead) - 1)
	if ok, _ := n.rawBS.Has(ctx, shared); !ok {
		want++ // deleted in the first batch, before the upload wrote it again
	}
	if stats.Blocks != want {
		t.Errorf("gc reported %d blocks deleted, want %d", stats.Blocks, want)
	}
	// The upload that committed during the sweep is whole and reads back.
	size, complete, err := n.LocalDAG(ctx, root)
	if err != nil || !complete {
		t.Fatalf("upload committed during the sweep is incomplete: complete=%v err=%v", complete, err)
	}
	if size < uint64(len(content)) {
		t.Fatalf("upload DAG size %d < content %d", size, len(content))
	}
	// A second GC with the upload pinned keeps it and finds nothing else.
	pinned := RootList(root)
	stats, err = n.GCFunc(ctx, pinned)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Blocks != 0 {
		t.Errorf("second gc deleted %d blocks, want 0", stats.Blocks)
	}
	if _, complete, _ := n.LocalDAG(ctx, root); !complete {
		t.Fatal("second gc damaged the pinned upload")
	}
}
