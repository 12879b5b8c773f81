package node

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
)

func TestDeepDAGsExportWholeOrFailLoudly(t *testing.T) {
	ctx := context.Background()
	t.Run("a 2000-level directory exports every block, as it was imported", func(t *testing.T) {
		n := newTestNode(t)
		root, car := chainCAR(t, 2000, 1)
		importCAR(t, n, car)
		var out bytes.Buffer
		if err := n.ExportCAR(ctx, root, &out); err != nil {
			t.Fatal(err)
		}
		if got, err := carBlocks(bytes.NewReader(out.Bytes())); err != nil || got != 2000 {
			t.Fatalf("exported %d blocks (%v), want 2000", got, err)
		}
		// The test CAR is written root first, depth first: the export's order.
		if !bytes.Equal(out.Bytes(), car) {
			t.Error("export differs from the imported CAR")
		}
	})
	t.Run("a doubling DAG exports each block once", func(t *testing.T) {
		n := newTestNode(t)
		root, car := chainCAR(t, 64, 2)
		importCAR(t, n, car)
		var out bytes.Buffer
		if err := n.ExportCAR(ctx, root, &out); err != nil {
			t.Fatal(err)
		}
		if got, err := carBlocks(bytes.NewReader(out.Bytes())); err != nil || got != 64 {
			t.Fatalf("exported %d blocks (%v), want 64", got, err)
		}
	})
	t.Run("a DAG past the depth limit fails every walk with ErrLimit", func(t *testing.T) {
		n := newTestNodeWith(t, Config{Limits: Limits{MaxDAGDepth: 100}})
		deep, car := chainCAR(t, 102, 1) // depths 0..101
		importCAR(t, n, car)
		var out bytes.Buffer
		if err := n.ExportCAR(ctx, deep, &out); !errors.Is(err, ErrLimit) {
			t.Errorf("ExportCAR: err = %v, want ErrLimit", err)
		}
		if _, err := n.DagSize(ctx, deep); !errors.Is(err, ErrLimit) {
			t.Errorf("DagSize: err = %v, want ErrLimit", err)
		}
		if _, complete, err := n.LocalDAG(ctx, deep); !errors.Is(err, ErrLimit) || complete {
			t.Errorf("LocalDAG: complete %v, err = %v; want ErrLimit", complete, err)
		}
		// Its sub-DAG one level down, depths 0..100, is within the limit.
		sub := mustChild(t, n, deep)
		if _, err := n.DagSize(ctx, sub); err != nil {
			t.Errorf("DagSize of the 101-level sub-DAG: %v", err)
		}
		if err := n.ExportCAR(ctx, sub, &bytes.Buffer{}); err != nil {
			t.Errorf("ExportCAR of the 101-level sub-DAG: %v", err)
		}
	})
	t.Run("a DAG deeper than the default limit is refused", func(t *testing.T) {
		n := newTestNode(t)
		root, car := chainCAR(t, defaultMaxDAGDepth+2, 1)
		importCAR(t, n, car)
		if _, _, err := n.LocalDAG(ctx, root); !errors.Is(err, ErrLimit) {
			t.Errorf("LocalDAG: err = %v, want ErrLimit", err)
		}
	})
	t.Run("a DAG of more blocks than the limit is refused", func(t *testing.T) {
		n := newTestNodeWith(t, Config{Limits: Limits{MaxDAGBlocks: 10}})
		file := addFile(t, n, ProfileV1, chachaReader(5, 9<<20)) // 9 leaves and a root
		if _, err := n.DagSize(ctx, file); err != nil {
			t.Errorf("DagSize of a 10-block file: %v", err)
		}
		root, car := chainCAR(t, 11, 1)
		importCAR(t, n, car)
		if _, err := n.DagSize(ctx, root); !errors.Is(err, ErrLimit) {
			t.Errorf("DagSize of 11 blocks: err = %v, want ErrLimit", err)
		}
	})
}

func TestWalksFollowDagCBORLinksAndRefuseUndecodableBlocks(t *testing.T) {
	ctx := context.Background()
	n := newTestNode(t)
	raw := func(s string) blocks.Block {
		c, err := cid.V1Builder{Codec: cid.Raw, MhType: mh.SHA2_256}.Sum([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := blocks.NewBlockWithCid([]byte(s), c)
		return b
	}
	x, y := raw("x leaf"), raw("y leaf")
	root := cborWithLinks(t, x.Cid(), y.Cid(), x.Cid())
	importCAR(t, n, blockCAR(t, root, x, y))
	t.Run("a dag-cbor root and its leaves are one DAG", func(t *testing.T) {
		size, err := n.DagSize(ctx, root.Cid())
		if want := uint64(len(root.RawData()) + len(x.RawData()) + len(y.RawData())); err != nil || size != want {
			t.Errorf("DagSize = %d, %v; want %d", size, err, want)
		}
		var out bytes.Buffer
		if err := n.ExportCAR(ctx, root.Cid(), &out); err != nil {
			t.Fatal(err)
		}
		if got, err := carBlocks(&out); err != nil || got != 3 {
			t.Errorf("exported %d blocks, %v; want 3", got, err)
		}
	})
	t.Run("a dag-pb block that does not decode is ErrBadDAG", func(t *testing.T) {
		junk := []byte("not protobuf \xff\xff\xff")
		c, err := cid.V1Builder{Codec: cid.DagProtobuf, MhType: mh.SHA2_256}.Sum(junk)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := blocks.NewBlockWithCid(junk, c)
		importCAR(t, n, blockCAR(t, b))
		if _, _, err := n.LocalDAG(ctx, c); !errors.Is(err, ErrBadDAG) {
			t.Errorf("LocalDAG: err = %v, want ErrBadDAG", err)
		}
		if err := n.ExportCAR(ctx, c, io.Discard); !errors.Is(err, ErrBadDAG) {
			t.Errorf("ExportCAR: err = %v, want ErrBadDAG", err)
		}
	})
}
