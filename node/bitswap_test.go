package node

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/boxo/bitswap"
	bsnet "github.com/ipfs/boxo/bitswap/network/bsnet"
	"github.com/ipfs/boxo/blockservice"
	"github.com/ipfs/boxo/blockstore"
	"github.com/ipfs/boxo/ipld/merkledag"
	uio "github.com/ipfs/boxo/ipld/unixfs/io"
	ds "github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/peer"
)

func TestAPlainBitswapPeerFetchesAFileFromTheNode(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	n := newTestNode(t)
	want := chachaBytes(t, 11, 3<<20+12345)
	root := addBytes(t, n, ProfileV1, want)

	// A separate libp2p host with its own in-memory block store.
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	bstore := blockstore.NewBlockstore(dssync.MutexWrap(ds.NewMapDatastore()))
	client := bitswap.New(ctx, bsnet.NewFromIpfsHost(h), nil, bstore, bitswap.WithServerEnabled(false))
	defer client.Close()

	pi, err := peer.AddrInfoFromString(n.Addrs()[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Connect(ctx, *pi); err != nil {
		t.Fatal(err)
	}

	dag := merkledag.NewDAGService(blockservice.New(bstore, client))
	if err := merkledag.FetchGraph(ctx, root, dag); err != nil {
		t.Fatalf("fetch graph: %v", err)
	}
	// Every block is now local to the client: read offline.
	offlineDag := merkledag.NewDAGService(blockservice.New(bstore, nil))
	nd, err := offlineDag.Get(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	r, err := uio.NewDagReader(ctx, nd, offlineDag)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("reassembled %d bytes differ from the %d imported", len(got), len(want))
	}
	if got, want := len(n.Peers()), 1; got != want {
		t.Errorf("node has %d peers, want %d", got, want)
	}
}

func TestFetchPullsADAGFromAnotherNode(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	src := newTestNode(t)
	dst := newTestNode(t)
	root := addFile(t, src, ProfileV0, chachaReader(12, 2<<20))

	if err := dst.Fetch(ctx, root, src.Addrs()); err != nil {
		t.Fatal(err)
	}
	got, err := dst.DagSize(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	want, err := src.DagSize(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("fetched dag size %d, want %d", got, want)
	}
}

func TestAGivenIdentityIsThePeerID(t *testing.T) {
	id, err := NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var ids []string
	for range 2 {
		n, err := New(ctx, Config{DataDir: t.TempDir(), Identity: id, ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"}, Offline: true, AllowPrivatePeers: true})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, n.PeerID())
		n.Close(ctx)
	}
	if ids[0] != ids[1] || ids[0] == "" {
		t.Fatalf("peer ids %v from one identity", ids)
	}
	if err := ValidIdentity([]byte("not a key")); err == nil {
		t.Error("ValidIdentity accepted garbage")
	}
}

func TestAddrsEndInThePeerID(t *testing.T) {
	n := newTestNode(t)
	addrs := n.Addrs()
	if len(addrs) == 0 {
		t.Fatal("no addrs")
	}
	for _, a := range addrs {
		if !strings.HasSuffix(a, "/p2p/"+n.PeerID()) {
			t.Errorf("addr %s does not end in /p2p/%s", a, n.PeerID())
		}
	}
}

func TestFetchDAGReportsSizeAndLocalDAGSeesItComplete(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	src := newTestNode(t)
	dst := newTestNode(t)
	root := addFile(t, src, ProfileV1, chachaReader(13, 3<<20))
	if _, complete, err := dst.LocalDAG(ctx, root); err != nil || complete {
		t.Fatalf("LocalDAG before fetch = complete %v, err %v; want incomplete", complete, err)
	}
	size, err := dst.FetchDAG(ctx, root, src.Addrs())
	if err != nil {
		t.Fatal(err)
	}
	want, err := src.DagSize(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	if size != want {
		t.Errorf("FetchDAG size = %d, want %d", size, want)
	}
	if got, complete, err := dst.LocalDAG(ctx, root); err != nil || !complete || got != want {
		t.Errorf("LocalDAG after fetch = %d, %v, %v", got, complete, err)
	}
}

func TestOnlineNodeWithQUICStartsAndStops(t *testing.T) {
	ctx := context.Background()
	n, err := New(ctx, Config{
		DataDir:     t.TempDir(),
		ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"},
		Logger:      slog.New(slog.DiscardHandler),
		// Its peers listen on loopback.
		AllowPrivatePeers: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !n.Online() {
		t.Error("node without Offline is not running the DHT")
	}
	var quic bool
	for _, a := range n.Addrs() {
		quic = quic || strings.Contains(a, "/quic-v1/")
	}
	if !quic {
		t.Errorf("no QUIC address among %v", n.Addrs())
	}
	// A second node dials the first over QUIC only.
	other := newTestNode(t)
	for _, a := range n.Addrs() {
		if strings.Contains(a, "/quic-v1/") {
			if err := other.Connect(ctx, a); err != nil {
				t.Fatalf("connect over quic: %v", err)
			}
		}
	}
	if err := n.Close(ctx); err != nil {
		t.Fatal(err)
	}
}
