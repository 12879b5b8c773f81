package node

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"
)

// FuzzAddCAR feeds arbitrary bytes to AddCAR: it must never panic, and
// anything it rejects for its content must be ErrInvalidCAR.
func FuzzAddCAR(f *testing.F) {
	seed, err := os.ReadFile(carFixture)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add(seed[:len(seed)/2])
	f.Add(flipByte(seed, 20))
	f.Add([]byte{})
	n := newTestNode(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		im := n.NewImport(ProfileV1)
		defer im.Abort()
		roots, err := im.AddCAR(context.Background(), bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrInvalidCAR) {
				t.Fatalf("err = %v, want ErrInvalidCAR", err)
			}
			return
		}
		if len(roots) == 0 {
			t.Fatal("accepted a CAR without roots")
		}
	})
}
