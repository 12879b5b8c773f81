package node

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"

	"github.com/ipfs/go-cid"
)

// FuzzAddCAR feeds arbitrary bytes to AddCAR: it must never panic,
// anything it rejects for its content must be ErrInvalidCAR or ErrLimit,
// the roots it returns are distinct, and the walk that checks a root's
// DAG ends within the node's limits whatever the blocks link to. The
// corpus holds the hostile DAGs of issue 11: a deep directory chain, a
// DAG whose levels link twice to one child, a file that repeats one
// chunk, and a header naming one root many times.
func FuzzAddCAR(f *testing.F) {
	seed, err := os.ReadFile(carFixture)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add(seed[:len(seed)/2])
	f.Add(flipByte(seed, 20))
	f.Add([]byte{})
	_, deep := chainCAR(f, 200, 1)
	f.Add(deep)
	_, doubling := chainCAR(f, 64, 2)
	f.Add(doubling)
	fileRoot, fileNodes := fileDoubling(f, 40)
	f.Add(carOf(f, []cid.Cid{fileRoot}, fileNodes))
	repeated, nodes := dirChain(f, 3, 1)
	f.Add(carOf(f, repeatCID(repeated, 500), nodes))

	// Small limits keep each run short and make the fuzzer reach them.
	n := newTestNodeWith(f, Config{Limits: Limits{MaxDAGDepth: 100, MaxDAGBlocks: 1000, MaxCARRoots: 10}})
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx := context.Background()
		im := n.NewImport(ProfileV1)
		defer im.Abort()
		roots, err := im.AddCAR(ctx, bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrInvalidCAR) && !errors.Is(err, ErrLimit) {
				t.Fatalf("err = %v, want ErrInvalidCAR or ErrLimit", err)
			}
			return
		}
		if len(roots) == 0 {
			t.Fatal("accepted a CAR without roots")
		}
		if len(uniqueCIDs(roots)) != len(roots) {
			t.Fatalf("roots %v repeat", roots)
		}
		for _, r := range roots {
			if _, _, err := n.LocalDAG(ctx, r); err != nil && !errors.Is(err, ErrLimit) && !errors.Is(err, ErrBadDAG) {
				t.Fatalf("LocalDAG(%s): %v, want ErrLimit, ErrBadDAG or none", r, err)
			}
		}
	})
}
