package node

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ipfs/boxo/gateway"
	"github.com/ipfs/boxo/path"
	"github.com/ipfs/go-cid"
)

// newCARGateway serves a node built from cfg that holds car.
func newCARGateway(t *testing.T, cfg Config, car []byte) *gatewayFixture {
	t.Helper()
	g := &gatewayFixture{n: newTestNodeWith(t, cfg)}
	importCAR(t, g.n, car)
	g.srv = httptest.NewServer(g.n.Gateway())
	t.Cleanup(g.srv.Close)
	return g
}

func TestGatewayRefusesTarAndNames(t *testing.T) {
	g := newGatewayFixture(t)
	dir := "/ipfs/" + g.dir.String()
	for _, tc := range []struct {
		name, path, accept string
		want               int
	}{
		{"?format=tar is refused", dir + "?format=tar", "", http.StatusBadRequest},
		{"?format=tar of a file is refused", "/ipfs/" + g.fc.String() + "?format=tar", "", http.StatusBadRequest},
		{"Accept: application/x-tar is refused", dir, "application/x-tar", http.StatusBadRequest},
		{"a tar Accept after an unknown ?format is refused", dir + "?format=zip", "application/x-tar", http.StatusBadRequest},
		{"?format=car wins over a tar Accept", dir + "?format=car", "application/x-tar", http.StatusOK},
		{"a CAR named first in Accept wins over tar", dir, "application/vnd.ipld.car, application/x-tar", http.StatusOK},
		{"an /ipns/ name is not resolved", "/ipns/example.com", "", http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tc.accept != "" {
				hdr["Accept"] = tc.accept
			}
			resp, body := g.do(t, "GET", tc.path, hdr)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d: %.200s", resp.StatusCode, tc.want, body)
			}
			reason := map[int]string{http.StatusBadRequest: "BAD_REQUEST", http.StatusNotFound: "NOT_FOUND"}[tc.want]
			if reason == "" {
				return
			}
			var e struct {
				Error struct{ Reason, Details string } `json:"error"`
			}
			if err := json.Unmarshal(body, &e); err != nil || e.Error.Reason != reason || e.Error.Details == "" {
				t.Errorf("body %q (%v), want the API's %s error", body, err, reason)
			}
		})
	}
}

func TestGatewayCARsOfHostileDAGsEnd(t *testing.T) {
	t.Run("a whole-DAG CAR of a 2000-level directory is complete", func(t *testing.T) {
		root, car := chainCAR(t, 2000, 1)
		g := newCARGateway(t, Config{}, car)
		resp, body := g.do(t, "GET", "/ipfs/"+root.String()+"?format=car&dag-scope=all", nil)
		if resp.StatusCode != 200 || !bytes.Equal(body, car) {
			t.Fatalf("status %d, %d bytes; want the 2000 blocks imported", resp.StatusCode, len(body))
		}
	})
	for _, tc := range []struct {
		name   string
		cfg    Config
		levels int
		links  int
		query  string // after /ipfs/{root}
	}{
		{"car-dups=y over a doubling DAG stops at the block limit",
			Config{Limits: Limits{MaxDAGBlocks: 5000}}, 64, 2, "?format=car&car-dups=y"},
		{"car-dups=y over a doubling DAG stops at the response's read limit",
			Config{Limits: Limits{MaxResponseBlocks: 5000}}, 64, 2, "?format=car&car-dups=y"},
		{"car-dups=y for a sub-path of a doubling DAG stops at the block limit",
			Config{Limits: Limits{MaxResponseBlocks: 5000}}, 64, 2, "/d0/d1?format=car&car-dups=y"},
		{"a whole-DAG CAR past the depth limit stops there",
			Config{Limits: Limits{MaxDAGDepth: 100}}, 102, 1, "?format=car"},
		{"car-dups=y over a doubling DAG stops at the gateway timeout",
			Config{GatewayTimeout: 300 * time.Millisecond}, 64, 2, "?format=car&car-dups=y"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root, car := chainCAR(t, tc.levels, tc.links)
			g := newCARGateway(t, tc.cfg, car)
			resp, body := g.do(t, "GET", "/ipfs/"+root.String()+tc.query, nil)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %.300s", resp.StatusCode, body)
			}
			// The stream ended (g.do reads it to EOF within its timeout),
			// and no CAR reader can take it for whole.
			n, err := carBlocks(bytes.NewReader(body))
			if err == nil {
				t.Fatalf("a %d-block CAR that reads as complete", n)
			}
			if max := max(tc.cfg.Limits.MaxDAGBlocks, tc.cfg.Limits.MaxResponseBlocks); max > 0 && n > max {
				t.Errorf("%d blocks, more than the %d-block limit", n, max)
			}
		})
	}
}

func TestGatewayReadsOfAFileThatRepeatsOneChunkEnd(t *testing.T) {
	// 64 bytes repeated 2^40 times: a 64 TiB file in 41 blocks.
	root, nodes := fileDoubling(t, 40)
	g := newCARGateway(t, Config{Limits: Limits{MaxResponseBlocks: 5000}}, carOf(t, []cid.Cid{root}, nodes))
	t.Run("a byte range deep inside is served: seeking reads one path", func(t *testing.T) {
		resp, body, err := g.get(t, "/ipfs/"+root.String(), map[string]string{"Range": "bytes=1000000000000-1000000000099"})
		if err != nil || resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, bytes.Repeat([]byte("x"), 100)) {
			t.Fatalf("status %d, %q, %v", resp.StatusCode, body, err)
		}
	})
	for _, tc := range []struct{ name, query string }{
		{"a plain GET is cut off at the block limit", ""},
		{"a dag-scope=entity CAR is cut off at the block limit", "?format=car&dag-scope=entity&car-dups=y"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body, err := g.get(t, "/ipfs/"+root.String()+tc.query, nil)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if tc.query == "" {
				// Content-Length promised 64 TiB: the short body is an error.
				if err == nil || len(body) > 5000*64 {
					t.Fatalf("read %d bytes, err %v; want a cut-off body", len(body), err)
				}
				return
			}
			if n, err := carBlocks(bytes.NewReader(body)); err == nil || n > 5000 {
				t.Fatalf("%d blocks, err %v; want a truncated CAR", n, err)
			}
		})
	}
}

// get is do for bodies that may end in an error, which it returns.
func (g *gatewayFixture) get(t *testing.T, path string, hdr map[string]string) (*http.Response, []byte, error) {
	t.Helper()
	req, err := http.NewRequest("GET", g.srv.URL+path, nil)
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
	return resp, body, err
}

func TestWholeDAGCARsHaveBoxosBytes(t *testing.T) {
	g := newGatewayFixture(t)
	chain, car := chainCAR(t, 300, 1) // within boxo's 341-level reach
	importCAR(t, g.n, car)
	// dag-cbor: links in a map and a list, one repeated.
	cbor := cborWithLinks(t, g.fc, chain, g.dir, g.fc)
	importCAR(t, g.n, blockCAR(t, cbor))
	for _, c := range []cid.Cid{g.dir, g.fc, chain, cbor.Cid()} {
		_, rc, err := g.n.gateway.BlocksBackend.GetCAR(context.Background(), path.FromCid(c), gateway.CarParams{
			Scope: gateway.DagScopeAll, Order: gateway.DagOrderDFS, Duplicates: gateway.DuplicateBlocksExcluded,
		})
		if err != nil {
			t.Fatal(err)
		}
		want, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if err := g.n.ExportCAR(context.Background(), c, &got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("%s: the node's CAR (%d bytes) differs from boxo's (%d bytes)", c, got.Len(), len(want))
		}
	}
}
