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

func TestGCWaitsForAnOpenImportAndKeepsItsRootsUntilPinned(t *testing.T) {
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
	done := make(chan error, 1)
	go func() {
		_, err := n.GCFunc(ctx, noPins)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("gc finished (%v) while an import was open", err)
	case <-time.After(100 * time.Millisecond):
	}
	if err := im.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// No pin recorded yet, but the root was committed just now.
	if _, err := n.DagSize(ctx, c); err != nil {
		t.Fatalf("gc right after commit damaged the import: %v", err)
	}

	// Past the grace period, an import whose pin was never recorded is garbage.
	clock = clock.Add(recentRootsGrace + time.Minute)
	stats, err := n.GCFunc(ctx, noPins)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Blocks != 4 {
		t.Errorf("gc deleted %d blocks, want the 4 of the unpinned import", stats.Blocks)
	}
}
