package node

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
)

// storedBlocks counts the blocks in n's store.
func storedBlocks(t *testing.T, n *Node) int {
	t.Helper()
	keys, err := n.bstore.AllKeysChan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	count := 0
	for range keys {
		count++
	}
	return count
}

func TestImportLimitsRefuseBeforeWriting(t *testing.T) {
	ctx := context.Background()
	n := newTestNodeWith(t, Config{Limits: Limits{MaxEntries: 10, MaxCARRoots: 3}})
	file := addBytes(t, n, ProfileV1, []byte("x"))
	deep := strings.Repeat("d/", 64) + "f" // 65 segments
	segs := make([]string, 17)
	for i := range segs {
		segs[i] = strings.Repeat(string(rune('a'+i)), 240)
	}
	long := strings.Join(segs, "/") // 4096 bytes in 17 segments
	name := strings.Repeat("n", 256)
	entries := func(paths ...string) []DirEntry {
		var out []DirEntry
		for _, p := range paths {
			out = append(out, DirEntry{Path: p, Cid: file, Size: 1})
		}
		return out
	}
	many := make([]string, 11)
	for i := range many {
		many[i] = string(rune('a' + i))
	}
	for _, tc := range []struct {
		name    string
		entries []DirEntry
	}{
		{"a path of 65 segments", entries(deep)},
		{"a path of 4097 bytes", entries(long + "x")},
		{"a name of 256 bytes", entries("ok.txt", "sub/"+name)},
		{"the 800,000-level path of issue 11", entries(strings.Repeat("a/", 800_000) + "f")},
		{"11 entries with a limit of 10", entries(many...)},
	} {
		t.Run(tc.name+" is refused with ErrLimit and writes nothing", func(t *testing.T) {
			before := storedBlocks(t, n)
			im := n.NewImport(ProfileV1)
			defer im.Abort()
			if _, err := im.AddDirectory(ctx, tc.entries); !errors.Is(err, ErrLimit) {
				t.Fatalf("err = %v, want ErrLimit", err)
			}
			if err := im.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			if after := storedBlocks(t, n); after != before {
				t.Errorf("%d blocks stored, %d before", after, before)
			}
		})
	}
	t.Run("paths at every limit are accepted", func(t *testing.T) {
		im := n.NewImport(ProfileV1)
		defer im.Release()
		at := strings.Repeat("d/", 63) + "f"
		if _, err := im.AddDirectory(ctx, entries(at, long, "n/"+name[:255])); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("the 11th file of an upload is refused with ErrLimit", func(t *testing.T) {
		im := n.NewImport(ProfileV1)
		defer im.Abort()
		for i := range 10 {
			if _, _, err := im.AddFile(ctx, strings.NewReader(string(rune('a'+i)))); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := im.AddFile(ctx, strings.NewReader("k")); !errors.Is(err, ErrLimit) {
			t.Fatalf("err = %v, want ErrLimit", err)
		}
	})
}

func TestCARRootsAreCountedOnceAndBounded(t *testing.T) {
	ctx := context.Background()
	n := newTestNodeWith(t, Config{Limits: Limits{MaxCARRoots: 3}})
	var roots []cid.Cid
	var nodes []ipld.Node
	for i := range 4 {
		r, nds := dirChain(t, i+1, 1)
		roots, nodes = append(roots, r), append(nodes, nds[0])
	}
	t.Run("a root named 5000 times is one root", func(t *testing.T) {
		car := carOf(t, repeatCID(roots[0], 5000), nodes[:1])
		im := newTestNode(t).NewImport(ProfileV1) // the default MaxCARRoots

		defer im.Abort()
		got, err := im.AddCAR(ctx, bytes.NewReader(car))
		if err != nil || len(got) != 1 || got[0] != roots[0] {
			t.Fatalf("roots = %v, %v; want [%s]", got, err, roots[0])
		}
	})
	t.Run("four distinct roots with a limit of three are refused with ErrLimit and write nothing", func(t *testing.T) {
		before := storedBlocks(t, n)
		car := carOf(t, roots, nodes)
		im := n.NewImport(ProfileV1)
		defer im.Abort()
		if got, err := im.AddCAR(ctx, bytes.NewReader(car)); !errors.Is(err, ErrLimit) || got != nil {
			t.Fatalf("roots %v, err = %v; want ErrLimit", got, err)
		}
		if err := im.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		if after := storedBlocks(t, n); after != before {
			t.Errorf("%d blocks stored, %d before", after, before)
		}
	})
}

func repeatCID(c cid.Cid, n int) []cid.Cid {
	out := make([]cid.Cid, n)
	for i := range out {
		out[i] = c
	}
	return out
}

func TestLimitsReportsTheDefaultsForZeroFields(t *testing.T) {
	got := newTestNodeWith(t, Config{Limits: Limits{MaxEntries: 7}}).Limits()
	want := Limits{
		MaxPathDepth: 64, MaxPathBytes: 4096, MaxNameBytes: 255, MaxEntries: 7, MaxCARRoots: 1000,
		MaxDAGDepth: 4096, MaxDAGBlocks: 2_000_000, MaxResponseBlocks: 500_000,
	}
	if got != want {
		t.Errorf("Limits() = %+v, want %+v", got, want)
	}
}
