package node

import (
	"context"
	"testing"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
)

func TestIdentityCIDsArePresentWithoutBeingStored(t *testing.T) {
	n := newTestNode(t)
	h, err := mh.Sum([]byte("inline"), mh.IDENTITY, -1)
	if err != nil {
		t.Fatal(err)
	}
	c := cid.NewCidV1(cid.Raw, h)
	ok, err := n.Has(context.Background(), c)
	if err != nil || !ok {
		t.Fatalf("Has(identity) = %v, %v; want true", ok, err)
	}
	size, err := n.DagSize(context.Background(), c)
	if err != nil || size != 0 {
		t.Errorf("DagSize(identity) = %d, %v; want 0 (nothing stored)", size, err)
	}
}

func TestDagSizeCountsEveryBlockOnce(t *testing.T) {
	n := newTestNode(t)
	ctx := context.Background()
	// 3 MiB + 1 under ProfileV1: four raw leaves (3 full, 1 of one byte)
	// and one dag-pb root.
	c := addFile(t, n, ProfileV1, chachaReader(41, 3<<20+1))
	got, err := n.DagSize(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if got <= 3<<20+1 || got > 3<<20+1+512 {
		t.Errorf("dag size = %d, want file bytes plus a small root", got)
	}
	missing, err := cid.V1Builder{Codec: cid.DagProtobuf, MhType: mh.SHA2_256}.Sum([]byte("absent"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.DagSize(ctx, missing); err == nil {
		t.Error("DagSize of a missing CID succeeded")
	}
}

func TestHasReportsOnlyImportedRoots(t *testing.T) {
	n := newTestNode(t)
	ctx := context.Background()
	c := addFile(t, n, ProfileV0, chachaReader(42, 1000))
	if ok, err := n.Has(ctx, c); err != nil || !ok {
		t.Errorf("Has(imported) = %v, %v", ok, err)
	}
	other, _ := cid.V0Builder{}.Sum([]byte("other"))
	if ok, err := n.Has(ctx, other); err != nil || ok {
		t.Errorf("Has(other) = %v, %v", ok, err)
	}
}
