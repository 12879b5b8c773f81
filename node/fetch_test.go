package node

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
)

func TestFetchDAGLimitStopsAtItsByteCap(t *testing.T) {
	src := newTestNode(t)
	file := addFile(t, src, ProfileV1, chachaReader(15, 8<<20)) // 8 leaves of 1 MiB
	small := addFile(t, src, ProfileV1, chachaReader(16, 1000))
	im := src.NewImport(ProfileV1)
	dir, err := im.AddDirectory(context.Background(), []DirEntry{{Path: "big", Cid: file}, {Path: "small", Cid: small}})
	if err != nil {
		t.Fatal(err)
	}
	if err := im.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	im.Release()
	fileSize, err := src.DagSize(context.Background(), file)
	if err != nil {
		t.Fatal(err)
	}
	fetch := func(t *testing.T, dst *Node, root cid.Cid, maxBytes int64) (uint64, error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		return dst.FetchDAGLimit(ctx, root, src.Addrs(), maxBytes)
	}
	t.Run("a fetch past its cap fails with ErrLimit and completes nothing", func(t *testing.T) {
		dst := newTestNode(t)
		if _, err := fetch(t, dst, file, 3<<20); !errors.Is(err, ErrLimit) {
			t.Fatalf("err = %v, want ErrLimit", err)
		}
		if _, complete, err := dst.LocalDAG(context.Background(), file); err != nil || complete {
			t.Errorf("LocalDAG after a capped fetch: complete %v, %v", complete, err)
		}
	})
	t.Run("a fetch within its cap completes", func(t *testing.T) {
		dst := newTestNode(t)
		size, err := fetch(t, dst, file, int64(fileSize))
		if err != nil || size != fileSize {
			t.Fatalf("size %d, %v; want %d", size, err, fileSize)
		}
	})
	t.Run("blocks already local do not count against the cap", func(t *testing.T) {
		dst := newTestNode(t)
		if got := addFile(t, dst, ProfileV1, chachaReader(15, 8<<20)); got != file {
			t.Fatalf("re-import gave %s, want %s", got, file)
		}
		if _, err := fetch(t, dst, dir, 64<<10); err != nil {
			t.Fatalf("fetching a directory whose big file is local: %v", err)
		}
	})
}

func TestFetchDAGRefusesADAGPastTheDepthLimit(t *testing.T) {
	src := newTestNode(t)
	root, car := chainCAR(t, 150, 1)
	importCAR(t, src, car)
	dst := newTestNodeWith(t, Config{AllowPrivatePeers: true, Limits: Limits{MaxDAGDepth: 100}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := dst.FetchDAG(ctx, root, src.Addrs()); !errors.Is(err, ErrLimit) {
		t.Fatalf("err = %v, want ErrLimit", err)
	}
	if got := storedBlocks(t, dst); got > 102 {
		t.Errorf("fetched %d blocks of a DAG refused at depth 100", got)
	}
}
