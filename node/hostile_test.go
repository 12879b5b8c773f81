package node

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/ipfs/boxo/ipld/merkledag"
	ft "github.com/ipfs/boxo/ipld/unixfs"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
	carv2 "github.com/ipld/go-car/v2"
	"github.com/ipld/go-car/v2/storage"
	"github.com/ipld/go-ipld-prime/codec/dagcbor"
	cidlink "github.com/ipld/go-ipld-prime/linking/cid"
	"github.com/ipld/go-ipld-prime/node/basicnode"
	mh "github.com/multiformats/go-multihash"
)

// Hostile DAGs, built in code so that their size is a parameter: the
// attacks of issue 11 were a 2000-level directory (exports stopped at 342
// blocks), a directory whose every level links twice to the same child
// (a 5.4 KB CAR whose tar and car-dups=y responses never end), and DAGs
// a million levels deep.

// dirChain returns the blocks of a UnixFS directory chain levels deep, root
// first: each directory holds one entry "d", the next directory; the last
// is empty. links sets how many entries of each level name the same child
// ("d0", "d1", …): 2 makes the doubling DAG, whose paths number 2^levels.
func dirChain(t testing.TB, levels, links int) (cid.Cid, []ipld.Node) {
	t.Helper()
	prefix := merkledag.V1CidPrefix()
	var nodes []ipld.Node
	var child ipld.Node
	for range levels {
		nd := merkledag.NodeWithData(ft.FolderPBData())
		if err := nd.SetCidBuilder(prefix); err != nil {
			t.Fatal(err)
		}
		for i := 0; child != nil && i < links; i++ {
			name := "d"
			if links > 1 {
				name = "d" + string(rune('0'+i))
			}
			// Tsize is the child block's own size: the true cumulative
			// size of a doubling DAG overflows uint64 by level 58.
			l := &ipld.Link{Cid: child.Cid(), Size: uint64(len(child.RawData()))}
			if err := nd.AddRawLink(name, l); err != nil {
				t.Fatal(err)
			}
		}
		nodes = append(nodes, nd)
		child = nd
	}
	// Root first, as a CAR in DFS order has it.
	for i, j := 0, len(nodes)-1; i < j; i, j = i+1, j-1 {
		nodes[i], nodes[j] = nodes[j], nodes[i]
	}
	return nodes[0].Cid(), nodes
}

// fileDoubling returns the blocks of a UnixFS file levels deep, root
// first, whose every node links twice to the same child and whose one
// leaf is 64 raw bytes: a file of 64 x 2^levels bytes in levels+1 blocks.
func fileDoubling(t testing.TB, levels int) (cid.Cid, []ipld.Node) {
	t.Helper()
	prefix := merkledag.V1CidPrefix()
	leafPrefix := prefix
	leafPrefix.Codec = cid.Raw
	var child ipld.Node
	child, err := merkledag.NewRawNodeWPrefix(bytes.Repeat([]byte("x"), 64), leafPrefix)
	if err != nil {
		t.Fatal(err)
	}
	nodes := []ipld.Node{child}
	size := uint64(64)
	for range levels {
		fsn := ft.NewFSNode(ft.TFile)
		fsn.AddBlockSize(size)
		fsn.AddBlockSize(size)
		data, err := fsn.GetBytes()
		if err != nil {
			t.Fatal(err)
		}
		nd := merkledag.NodeWithData(data)
		if err := nd.SetCidBuilder(prefix); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := nd.AddRawLink("", &ipld.Link{Cid: child.Cid(), Size: uint64(len(child.RawData()))}); err != nil {
				t.Fatal(err)
			}
		}
		nodes = append(nodes, nd)
		child, size = nd, 2*size
	}
	for i, j := 0, len(nodes)-1; i < j; i, j = i+1, j-1 {
		nodes[i], nodes[j] = nodes[j], nodes[i]
	}
	return nodes[0].Cid(), nodes
}

// carOf writes nodes as a CARv1 with the given roots.
func carOf(t testing.TB, roots []cid.Cid, nodes []ipld.Node) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := storage.NewWritable(&buf, roots, carv2.WriteAsCarV1(true))
	if err != nil {
		t.Fatal(err)
	}
	for _, nd := range nodes {
		if err := w.Put(context.Background(), nd.Cid().KeyString(), nd.RawData()); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Finalize(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// chainCAR is dirChain as a CAR with its root.
func chainCAR(t testing.TB, levels, links int) (cid.Cid, []byte) {
	t.Helper()
	root, nodes := dirChain(t, levels, links)
	return root, carOf(t, []cid.Cid{root}, nodes)
}

// importCAR imports and commits car into n, returning its roots.
func importCAR(t testing.TB, n *Node, car []byte) []cid.Cid {
	t.Helper()
	ctx := context.Background()
	im := n.NewImport(ProfileV1)
	defer im.Release()
	roots, err := im.AddCAR(ctx, bytes.NewReader(car))
	if err != nil {
		t.Fatal(err)
	}
	if err := im.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	return roots
}

// carBlocks counts the blocks of a CAR stream and reports its first error.
func carBlocks(r io.Reader) (int, error) {
	br, err := carv2.NewBlockReader(r)
	if err != nil {
		return 0, err
	}
	n := 0
	for {
		_, err := br.Next()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n++
	}
}

// mustChild returns the first link of the local dag-pb block c.
func mustChild(t testing.TB, n *Node, c cid.Cid) cid.Cid {
	t.Helper()
	links, ok, err := n.localLinks(context.Background(), c)
	if err != nil || !ok || len(links) == 0 {
		t.Fatalf("links of %s: %v, %v, %v", c, links, ok, err)
	}
	return links[0]
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// cborWithLinks returns a dag-cbor block {"a": links[0], "b": [links[1:]…]}.
func cborWithLinks(t testing.TB, links ...cid.Cid) blocks.Block {
	t.Helper()
	nb := basicnode.Prototype.Map.NewBuilder()
	ma, err := nb.BeginMap(2)
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(ma.AssembleKey().AssignString("a"))
	must(ma.AssembleValue().AssignLink(cidlink.Link{Cid: links[0]}))
	must(ma.AssembleKey().AssignString("b"))
	la, err := ma.AssembleValue().BeginList(int64(len(links) - 1))
	must(err)
	for _, l := range links[1:] {
		must(la.AssembleValue().AssignLink(cidlink.Link{Cid: l}))
	}
	must(la.Finish())
	must(ma.Finish())
	var buf bytes.Buffer
	must(dagcbor.Encode(nb.Build(), &buf))
	c, err := cid.V1Builder{Codec: cid.DagCBOR, MhType: mh.SHA2_256}.Sum(buf.Bytes())
	must(err)
	blk, err := blocks.NewBlockWithCid(buf.Bytes(), c)
	must(err)
	return blk
}

// blockCAR writes blks as a CARv1 with the first as its root.
func blockCAR(t testing.TB, blks ...blocks.Block) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := storage.NewWritable(&buf, []cid.Cid{blks[0].Cid()}, carv2.WriteAsCarV1(true))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range blks {
		if err := w.Put(context.Background(), b.Cid().KeyString(), b.RawData()); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}
