package node

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
)

// pastGrace makes every import so far unprotected by the grace period
// that keeps fresh commits, as GC tests do.
func pastGrace(n *Node) {
	n.now = func() time.Time { return time.Now().Add(recentRootsGrace + time.Minute) }
}

func TestAHoldKeepsItsRootsFromGCUntilReleased(t *testing.T) {
	n := newTestNode(t)
	ctx := context.Background()
	root := addFile(t, n, ProfileV1, chachaReader(61, 2<<20+7))
	pastGrace(n)
	h, err := n.HoldRoots(ctx, func(context.Context) ([]cid.Cid, error) { return []cid.Cid{root}, nil })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.GC(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, complete, err := n.LocalDAG(ctx, root); err != nil || !complete {
		t.Fatalf("a held DAG after GC: complete %v, %v", complete, err)
	}
	h.Release()
	h.Release() // twice is once
	if _, err := n.GC(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if ok, _ := n.Has(ctx, root); ok {
		t.Fatal("a released root survived GC")
	}
}

func TestAGCStartedDuringASnapshotWaitsAndSeesItsRoots(t *testing.T) {
	n := newTestNode(t)
	ctx := context.Background()
	root := addFile(t, n, ProfileV1, chachaReader(62, 3<<20))
	pastGrace(n)
	gcDone := make(chan error, 1)
	_, err := n.HoldRoots(ctx, func(context.Context) ([]cid.Cid, error) {
		// The pin is deleted right after the snapshot (GC's live roots are
		// empty), and a GC starts before the hold is registered.
		go func() { _, err := n.GC(ctx, nil); gcDone <- err }()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
			n.holds.mu.Lock()
			waited := n.holds.waits > 0
			n.holds.mu.Unlock()
			if waited {
				break
			}
			if time.Now().After(deadline) {
				t.Error("GC did not wait for the snapshot")
				break
			}
		}
		return []cid.Cid{root}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-gcDone; err != nil {
		t.Fatal(err)
	}
	if _, complete, err := n.LocalDAG(ctx, root); err != nil || !complete {
		t.Fatalf("the snapshot's DAG after a GC that ran during the snapshot: complete %v, %v", complete, err)
	}
}

func TestCopyBlocksIsIncrementalAndVerifyAndRestoreCheckEveryBlock(t *testing.T) {
	n := newTestNode(t)
	ctx := context.Background()
	a := addFile(t, n, ProfileV1, chachaReader(63, 3<<20+1)) // 4 leaves + a root
	b := addFile(t, n, ProfileV0, chachaReader(64, 300<<10)) // 2 leaves + a root
	unknown, _ := cid.Decode("bafkreiebkc43mwodb44b6ijmpawyzkgw4rrfwvva7nfy6wfqgcomt4eu6u")
	dest := filepath.Join(t.TempDir(), "blocks")

	first, err := n.CopyBlocks(ctx, dest, []cid.Cid{a, unknown}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if first.Blocks != 5 || first.Copied != 5 || first.Missing != 1 {
		t.Fatalf("first copy: %+v, want 5 blocks copied and 1 missing", first)
	}
	second, err := n.CopyBlocks(ctx, dest, []cid.Cid{a, b}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if second.Blocks != 8 || second.Copied != 3 {
		t.Fatalf("second copy: %+v, want 8 blocks of which only b's 3 copied", second)
	}
	rep, err := VerifyBlocks(ctx, dest, []cid.Cid{a, b})
	if err != nil || !rep.OK() || rep.Blocks != 8 {
		t.Fatalf("verify a good copy: %+v, %v", rep, err)
	}

	// Corrupt one of a's leaves on disk.
	leaf := firstBlockFile(t, dest, a, n)
	if err := os.WriteFile(leaf, []byte("not the block"), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err = VerifyBlocks(ctx, dest, []cid.Cid{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Corrupt) != 1 || rep.Corrupt[0] != leaf || rep.Incomplete[a.String()] != 1 || rep.Incomplete[b.String()] != 0 {
		t.Fatalf("verify with %s corrupt: %+v", leaf, rep)
	}

	restored := t.TempDir()
	st, err := RestoreBlocks(ctx, dest, restored)
	if err != nil {
		t.Fatal(err)
	}
	if st.Blocks != 7 || len(st.Corrupt) != 1 {
		t.Fatalf("restore: %+v, want 7 blocks and the corrupt one left out", st)
	}
	m := newTestNodeIn(t, restored)
	if _, complete, err := m.LocalDAG(ctx, b); err != nil || !complete {
		t.Fatalf("restored DAG b: complete %v, %v", complete, err)
	}
}

// firstBlockFile is the file of a leaf of root in the flatfs store dir.
func firstBlockFile(t *testing.T, dir string, root cid.Cid, n *Node) string {
	t.Helper()
	links, _, err := n.localLinks(context.Background(), root)
	if err != nil || len(links) == 0 {
		t.Fatalf("links of %s: %v", root, err)
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "*", "*.data"))
	for _, m := range matches {
		if filepath.Base(m) == blockFileName(links[0]) {
			return m
		}
	}
	t.Fatalf("no file for %s in %s", links[0], dir)
	return ""
}

func blockFileName(c cid.Cid) string {
	return filepath.Base(blockFile("", dsKeyOf(c)))
}
