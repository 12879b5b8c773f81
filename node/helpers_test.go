package node

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/ipfs/go-cid"
)

// chachaReader streams the deterministic fixture bytes of shared/fixtures:
// ChaCha8 keyed by seed (8 little-endian bytes, then 24 zero bytes),
// truncated to size. It never holds more than one Read's worth.
func chachaReader(seed uint64, size int64) io.Reader {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:8], seed)
	return io.LimitReader(rand.NewChaCha8(key), size)
}

// chachaBytes is chachaReader read into memory, for small inputs.
func chachaBytes(t testing.TB, seed uint64, size int64) []byte {
	t.Helper()
	b, err := io.ReadAll(chachaReader(seed, size))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixtures mirrors testdata/node/cids.json.
type fixtures struct {
	Files []struct {
		Seed   uint64 `json:"seed"`
		Size   int64  `json:"size"`
		V1, V0 string
	} `json:"files"`
	Large struct {
		Seed   uint64 `json:"seed"`
		Size   int64  `json:"size"`
		V1, V0 string
	} `json:"large"`
	Site struct {
		Files []struct {
			Path string `json:"path"`
			Seed uint64 `json:"seed"`
			Size int64  `json:"size"`
			Cid  string `json:"cid"`
		} `json:"files"`
		Sub       string `json:"sub"`
		Root      string `json:"root"`
		WrappedAB string `json:"wrappedAB"`
	} `json:"site"`
	JSON struct {
		Content string `json:"content"`
		V1      string `json:"v1"`
	} `json:"json"`
}

func loadFixtures(t testing.TB) fixtures {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", "node", "cids.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f fixtures
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

// newTestNode starts an offline node on loopback in a temp dir. It may
// dial loopback peers (AllowPrivatePeers): the test nodes live there.
func newTestNode(t testing.TB) *Node {
	t.Helper()
	return newTestNodeIn(t, t.TempDir())
}

func newTestNodeIn(t testing.TB, dir string) *Node {
	t.Helper()
	return newTestNodeWith(t, Config{DataDir: dir, AllowPrivatePeers: true})
}

// newTestNodeWith starts an offline node on loopback from cfg, filling in
// a temp DataDir, the listen address and a silent logger where unset.
// AllowPrivatePeers is as cfg says: such a node cannot dial other test
// nodes unless it is set.
func newTestNodeWith(t testing.TB, cfg Config) *Node {
	t.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	if cfg.ListenAddrs == nil {
		cfg.ListenAddrs = []string{"/ip4/127.0.0.1/tcp/0"}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Offline = true
	n, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return n
}

// addFile imports data as one committed file and returns its CID.
func addFile(t testing.TB, n *Node, p Profile, r io.Reader) cid.Cid {
	t.Helper()
	ctx := context.Background()
	im := n.NewImport(p)
	defer im.Release()
	c, _, err := im.AddFile(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if err := im.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	return c
}

func addBytes(t testing.TB, n *Node, p Profile, b []byte) cid.Cid {
	t.Helper()
	return addFile(t, n, p, bytes.NewReader(b))
}
