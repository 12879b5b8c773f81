package node

import (
	"context"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
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
	noPins := func(context.Context) ([]cid.Cid, error) { return nil, nil }
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
	noPins := func(context.Context) ([]cid.Cid, error) { return nil, nil }
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
