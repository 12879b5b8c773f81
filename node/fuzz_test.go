package node

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"
)

// FuzzAddDirectory builds a directory from fuzzed entry paths (one per
// line): it must never panic, must refuse what it refuses with ErrBadPath
// or ErrLimit, and must accept only paths a file system could hold.
func FuzzAddDirectory(f *testing.F) {
	for _, seed := range []string{
		"a.txt",
		"a.txt\nsub/c.txt",
		"site/index.html\nsite/css/a.css\nsite/img/logo.png",
		"../etc/passwd", "/etc/passwd", "a//b", "a/./b", "a/", "", "a\x00b",
		"a\na", "a\na/b", "a/b\na",
		"ünïcödé/文件.txt", "with space/and\ttab",
		strings.Repeat("d/", 64) + "f",
		strings.Repeat("n", 256),
		strings.Repeat("a/", 2000) + "f",
	} {
		f.Add(seed)
	}
	n := newTestNodeWith(f, Config{Limits: Limits{MaxEntries: 256}})
	file := addBytes(f, n, ProfileV1, []byte("fuzz"))
	f.Fuzz(func(t *testing.T, paths string) {
		var entries []DirEntry
		for p := range strings.SplitSeq(paths, "\n") {
			entries = append(entries, DirEntry{Path: p, Cid: file, Size: 4})
		}
		im := n.NewImport(ProfileV1)
		defer im.Abort()
		root, err := im.AddDirectory(context.Background(), entries)
		if err != nil {
			if !errors.Is(err, ErrBadPath) && !errors.Is(err, ErrLimit) {
				t.Fatalf("err = %v, want ErrBadPath or ErrLimit", err)
			}
			return
		}
		lim := n.Limits()
		for _, e := range entries {
			if lim.checkPath(e.Path) != nil {
				t.Fatalf("accepted %q past the limits", e.Path)
			}
			for s := range strings.SplitSeq(e.Path, "/") {
				if s == "" || s == "." || s == ".." || strings.ContainsRune(s, 0) {
					t.Fatalf("accepted the segment %q of %q", s, e.Path)
				}
			}
		}
		if !root.Defined() {
			t.Fatal("no root")
		}
	})
}

// FuzzGatewayPath sends fuzzed paths, queries and Accept headers to the
// gateway over a small fixture DAG: it must never panic and never answer
// a malformed request with a server error.
func FuzzGatewayPath(f *testing.F) {
	g := newSmallGateway(f)
	dir := g.dir.String()
	for _, seed := range []struct{ path, query, accept string }{
		{"/ipfs/" + dir + "/sub/c.txt", "", ""},
		{"/ipfs/" + dir + "/", "", "text/html"},
		{"/ipfs/" + dir, "format=car", ""},
		{"/ipfs/" + dir, "format=car&dag-scope=entity&entity-bytes=0:*", ""},
		{"/ipfs/" + dir, "format=car&car-dups=y&car-order=unk", "application/vnd.ipld.car; version=1; order=dfs; dups=y"},
		{"/ipfs/" + dir, "format=tar", ""},
		{"/ipfs/" + dir, "", "application/x-tar"},
		{"/ipfs/" + dir, "format=raw", ""},
		{"/ipfs/" + dir, "format=dag-json", ""},
		{"/ipfs/" + dir + "/sub/../sub/c.txt", "", ""},
		{"/ipfs/" + dir + "/nope", "", ""},
		{"/ipfs/" + dir + "/%00", "", ""},
		{"/ipfs/not-a-cid", "", ""},
		{"/ipfs/", "", ""},
		{"/ipns/example.com", "", ""},
		{"/ipfs/" + dir, "filename=%0d%0a.car&download=true", ""},
		{"/ipfs/" + dir, "format=car&entity-bytes=-5:-99999999999999999999", ""},
	} {
		f.Add(seed.path, seed.query, seed.accept)
	}
	f.Fuzz(func(t *testing.T, path, query, accept string) {
		target := path
		if query != "" {
			target += "?" + query
		}
		u, err := url.ParseRequestURI(target)
		if err != nil || strings.ContainsAny(accept, "\r\n\x00") {
			return // net/http answers such a request itself, with a 400
		}
		req := httptest.NewRequest("GET", "/", nil)
		req.URL, req.RequestURI = u, u.RequestURI()
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		rec := httptest.NewRecorder()
		g.n.Gateway().ServeHTTP(rec, req)
		if rec.Code >= 500 && rec.Code != http.StatusNotImplemented {
			t.Fatalf("GET %s with Accept %q: status %d: %.300s", u, accept, rec.Code, rec.Body.String())
		}
	})
}

// smallGateway is a node holding a directory with one file, sub/c.txt.
type smallGateway struct {
	n   *Node
	dir cid.Cid
}

func newSmallGateway(t testing.TB) *smallGateway {
	t.Helper()
	ctx := context.Background()
	g := &smallGateway{n: newTestNode(t)}
	im := g.n.NewImport(ProfileV1)
	defer im.Release()
	c, _, err := im.AddFile(ctx, strings.NewReader("hello from sub\n"))
	if err != nil {
		t.Fatal(err)
	}
	if g.dir, err = im.AddDirectory(ctx, []DirEntry{{Path: "sub/c.txt", Cid: c}, {Path: "a.txt", Cid: c}}); err != nil {
		t.Fatal(err)
	}
	if err := im.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	return g
}
