package node

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// carFixture is a small CAR committed to testdata: the site fixture's
// sub directory (sub/c.txt, 10 bytes of seed 3), exported by ExportCAR.
var carFixture = filepath.Join("..", "testdata", "node", "sub.car")

func TestExportedCARImportsAndReExportsByteIdentical(t *testing.T) {
	ctx := context.Background()
	src := newTestNode(t)
	root := addFile(t, src, ProfileV0, chachaReader(31, 3<<20))
	var first bytes.Buffer
	if err := src.ExportCAR(ctx, root, &first); err != nil {
		t.Fatal(err)
	}

	dst := newTestNode(t)
	im := dst.NewImport(ProfileV1)
	defer im.Release()
	roots, err := im.AddCAR(ctx, bytes.NewReader(first.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if err := im.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if len(roots) != 1 || !roots[0].Equals(root) {
		t.Fatalf("roots = %v, want [%s]", roots, root)
	}
	var second bytes.Buffer
	if err := dst.ExportCAR(ctx, root, &second); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.Bytes(), second.Bytes()) {
		t.Errorf("re-exported CAR differs: %d vs %d bytes", first.Len(), second.Len())
	}
}

func TestCARFixtureImportsWithItsRoot(t *testing.T) {
	data, err := os.ReadFile(carFixture)
	if err != nil {
		t.Fatal(err)
	}
	f := loadFixtures(t)
	n := newTestNode(t)
	ctx := context.Background()
	im := n.NewImport(ProfileV1)
	defer im.Release()
	roots, err := im.AddCAR(ctx, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if err := im.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if len(roots) != 1 || roots[0].String() != f.Site.Sub {
		t.Fatalf("roots = %v, want [%s]", roots, f.Site.Sub)
	}
	var out bytes.Buffer
	if err := n.ExportCAR(ctx, roots[0], &out); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), data) {
		t.Error("export of the imported fixture differs from the fixture")
	}
}

func TestCARWithACorruptedBlockIsRejected(t *testing.T) {
	data, err := os.ReadFile(carFixture)
	if err != nil {
		t.Fatal(err)
	}
	n := newTestNode(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		car  []byte
	}{
		{"a flipped byte in the last block", flipByte(data, len(data)-1)},
		{"a truncated stream", data[:len(data)-3]},
		{"not a CAR at all", []byte("hello, world")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			im := n.NewImport(ProfileV1)
			defer im.Abort()
			roots, err := im.AddCAR(ctx, bytes.NewReader(tc.car))
			if !errors.Is(err, ErrInvalidCAR) {
				t.Fatalf("err = %v, want ErrInvalidCAR", err)
			}
			if roots != nil {
				t.Errorf("roots = %v, want none", roots)
			}
		})
	}
}

func flipByte(b []byte, i int) []byte {
	out := bytes.Clone(b)
	out[i] ^= 0xff
	return out
}

// TestWriteCARFixture regenerates testdata/node/sub.car; it runs only with
// NINJA_WRITE_FIXTURES=1.
func TestWriteCARFixture(t *testing.T) {
	if os.Getenv("NINJA_WRITE_FIXTURES") == "" {
		t.Skip("set NINJA_WRITE_FIXTURES=1 to regenerate")
	}
	f := loadFixtures(t)
	n := newTestNode(t)
	ctx := context.Background()
	im := n.NewImport(ProfileV1)
	defer im.Release()
	c, _, err := im.AddFile(ctx, chachaReader(3, 10))
	if err != nil {
		t.Fatal(err)
	}
	sub, err := im.AddDirectory(ctx, []DirEntry{{Path: "c.txt", Cid: c, Size: 10}})
	if err != nil {
		t.Fatal(err)
	}
	if err := im.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if sub.String() != f.Site.Sub {
		t.Fatalf("sub = %s, want %s", sub, f.Site.Sub)
	}
	var buf bytes.Buffer
	if err := n.ExportCAR(ctx, sub, &buf); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(carFixture, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

}
