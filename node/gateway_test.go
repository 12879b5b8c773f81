package node

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	carv2 "github.com/ipld/go-car/v2"
)

// gatewayFixture is a node holding a 3 MiB file and a small site directory.
type gatewayFixture struct {
	n    *Node
	srv  *httptest.Server
	file []byte
	fc   cid.Cid // the file
	dir  cid.Cid // big.bin and sub/c.txt
	c    []byte  // sub/c.txt's bytes
}

func newGatewayFixture(t *testing.T) *gatewayFixture {
	t.Helper()
	ctx := context.Background()
	g := &gatewayFixture{n: newTestNode(t)}
	g.file = chachaBytes(t, 21, 3<<20+7)
	g.c = []byte("hello from sub\n")
	im := g.n.NewImport(ProfileV1)
	defer im.Release()
	var err error
	if g.fc, _, err = im.AddFile(ctx, bytes.NewReader(g.file)); err != nil {
		t.Fatal(err)
	}
	cc, _, err := im.AddFile(ctx, bytes.NewReader(g.c))
	if err != nil {
		t.Fatal(err)
	}
	g.dir, err = im.AddDirectory(ctx, []DirEntry{
		{Path: "big.bin", Cid: g.fc}, {Path: "sub/c.txt", Cid: cc},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := im.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	g.srv = httptest.NewServer(g.n.Gateway())
	t.Cleanup(g.srv.Close)
	return g
}

func (g *gatewayFixture) do(t *testing.T, method, path string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, g.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func TestGatewayServesImportedContent(t *testing.T) {
	g := newGatewayFixture(t)
	fileURL := "/ipfs/" + g.fc.String()

	t.Run("a whole file with immutable caching headers", func(t *testing.T) {
		resp, body := g.do(t, "GET", fileURL, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		if !bytes.Equal(body, g.file) {
			t.Errorf("body differs (%d bytes, want %d)", len(body), len(g.file))
		}
		if etag := resp.Header.Get("Etag"); !strings.Contains(etag, g.fc.String()) {
			t.Errorf("ETag = %q, want it to name the CID", etag)
		}
		if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
			t.Errorf("Cache-Control = %q, want immutable", cc)
		}
	})
	t.Run("a byte range", func(t *testing.T) {
		resp, body := g.do(t, "GET", fileURL, map[string]string{"Range": "bytes=1048570-1048589"})
		if resp.StatusCode != http.StatusPartialContent {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if want := g.file[1048570:1048590]; !bytes.Equal(body, want) {
			t.Errorf("range body = %x, want %x", body, want)
		}
	})
	t.Run("HEAD of a file", func(t *testing.T) {
		resp, body := g.do(t, "HEAD", fileURL, nil)
		if resp.StatusCode != 200 || len(body) != 0 {
			t.Fatalf("status %d, %d body bytes", resp.StatusCode, len(body))
		}
		if resp.Header.Get("Etag") == "" {
			t.Error("HEAD has no ETag")
		}
	})
	t.Run("a path inside a directory", func(t *testing.T) {
		resp, body := g.do(t, "GET", "/ipfs/"+g.dir.String()+"/sub/c.txt", nil)
		if resp.StatusCode != 200 || !bytes.Equal(body, g.c) {
			t.Fatalf("status %d, body %q", resp.StatusCode, body)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
			t.Errorf("Content-Type = %q, want text/plain", ct)
		}
	})
	t.Run("a directory listing", func(t *testing.T) {
		resp, body := g.do(t, "GET", "/ipfs/"+g.dir.String()+"/", map[string]string{"Accept": "text/html"})
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("Content-Type = %q", ct)
		}
		for _, name := range []string{"big.bin", "sub"} {
			if !bytes.Contains(body, []byte(name)) {
				t.Errorf("listing does not mention %s", name)
			}
		}
	})
	t.Run("a raw block", func(t *testing.T) {
		resp, body := g.do(t, "GET", "/ipfs/"+g.dir.String()+"?format=raw", nil)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		got, err := g.dir.Prefix().Sum(body)
		if err != nil || !got.Equals(g.dir) {
			t.Errorf("raw block hashes to %s, want %s", got, g.dir)
		}
	})
	for _, tc := range []struct {
		name, query string
		hdr         map[string]string
	}{
		{"a CAR by query", "?format=car", nil},
		{"a CAR by Accept", "", map[string]string{"Accept": "application/vnd.ipld.car"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := g.do(t, "GET", "/ipfs/"+g.dir.String()+tc.query, tc.hdr)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			br, err := carv2.NewBlockReader(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if len(br.Roots) != 1 || !br.Roots[0].Equals(g.dir) {
				t.Errorf("roots = %v, want [%s]", br.Roots, g.dir)
			}
			blocks := 0
			for {
				_, err := br.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				blocks++
			}
			// dir, big.bin root + 4 leaves, sub, c.txt
			if blocks != 8 {
				t.Errorf("car has %d blocks, want 8", blocks)
			}
		})
	}
	t.Run("an unknown CID is a quick 404", func(t *testing.T) {
		unknown, err := cid.V1Builder{Codec: cid.Raw, MhType: 0x12}.Sum([]byte("never imported"))
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		resp, _ := g.do(t, "GET", "/ipfs/"+unknown.String(), nil)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("status %d, want 404", resp.StatusCode)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("took %v", d)
		}
	})
	t.Run("an invalid CID is a 400", func(t *testing.T) {
		resp, _ := g.do(t, "GET", "/ipfs/not-a-cid", nil)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("status %d, want 400", resp.StatusCode)
		}
	})
}

func TestExportCARMatchesTheGatewaysCAR(t *testing.T) {
	g := newGatewayFixture(t)
	var exported bytes.Buffer
	if err := g.n.ExportCAR(context.Background(), g.dir, &exported); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"?format=car", "?format=car&dag-scope=all&car-order=dfs&car-dups=n"} {
		resp, body := g.do(t, "GET", "/ipfs/"+g.dir.String()+q, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: status %d", q, resp.StatusCode)
		}
		if !bytes.Equal(body, exported.Bytes()) {
			t.Errorf("%s: gateway CAR (%d bytes) differs from ExportCAR (%d bytes)", q, len(body), exported.Len())
		}
	}
}

func TestGatewayIsBuiltOnceAndTwoNodesServeSideBySide(t *testing.T) {
	a, b := newGatewayFixture(t), newGatewayFixture(t)
	if allocs := testing.AllocsPerRun(10, func() { _ = a.n.Gateway() }); allocs != 0 {
		t.Errorf("Gateway allocates %.0f times per call; want it built once, in New", allocs)
	}
	// Each node registers boxo's metrics in its own registry: a second
	// node in the process neither panics nor breaks the first.
	for _, g := range []*gatewayFixture{a, b} {
		resp, body := g.do(t, "GET", "/ipfs/"+g.fc.String(), nil)
		if resp.StatusCode != 200 || !bytes.Equal(body, g.file) {
			t.Errorf("status %d, %d bytes", resp.StatusCode, len(body))
		}
	}
}
