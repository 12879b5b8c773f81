package store

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestTheCountTreeAgreesWithAWalkWhateverTheSpacing inserts and deletes
// entries spaced from a nanosecond to hours apart and checks every count
// against a brute-force count.
func TestTheCountTreeAgreesWithAWalkWhateverTheSpacing(t *testing.T) {
	for _, tc := range []struct {
		name    string
		spacing int64
	}{
		{"one nanosecond apart", 1},
		{"a microsecond apart", 1000},
		{"a second apart", 1e9},
		{"random, up to an hour apart", -3600e9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := bolt.Open(filepath.Join(t.TempDir(), "t.db"), 0o600, &bolt.Options{NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			ix := timeIndex{bucket: []byte("idx"), tag: 'x'}
			group := lp(nil, "g")
			rng := rand.New(rand.NewPCG(1, 2))
			var live []int64
			at := int64(1_700_000_000e9)
			step := func() int64 {
				if tc.spacing < 0 {
					return 1 + rng.Int64N(-tc.spacing)
				}
				return tc.spacing
			}
			check := func(tx *bolt.Tx) {
				t.Helper()
				for range 20 {
					var probe int64
					if len(live) > 0 && rng.IntN(2) == 0 {
						probe = live[rng.IntN(len(live))] + rng.Int64N(3) - 1
					} else {
						probe = at - rng.Int64N(at-1_700_000_000e9+2)
					}
					want := int64(0)
					for _, c := range live {
						if c < probe {
							want++
						}
					}
					if got := mustBelow(t, ix, tx, group, probe); got != want {
						t.Fatalf("below(%d) = %d, want %d (%d live)", probe, got, want, len(live))
					}
				}
				if got := mustBelow(t, ix, tx, group, 1<<63-1); got != int64(len(live)) {
					t.Fatalf("total %d, want %d", got, len(live))
				}
			}
			// every probes at and after every entry, so every node of the
			// tree, whatever its size, is met.
			every := func(tx *bolt.Tx) {
				t.Helper()
				sorted := slices.Sorted(slices.Values(live))
				for i, c := range sorted {
					for _, probe := range []int64{c, c + 1} {
						want, _ := slices.BinarySearch(sorted, probe)
						if got := mustBelow(t, ix, tx, group, probe); got != int64(want) {
							t.Fatalf("below(%d) = %d, want %d (entry %d of %d)", probe, got, want, i, len(live))
						}
					}
				}
			}
			for round := range 30 {
				err := db.Update(func(tx *bolt.Tx) error {
					tx.CreateBucketIfNotExists(ix.bucket)
					tx.CreateBucketIfNotExists(bucketPinCounts)
					w := newWtx(tx)
					for range rng.IntN(400) {
						at += step()
						live = append(live, at)
						if err := ix.put(w, group, at, "id", nil, false); err != nil {
							return err
						}
					}
					if rng.IntN(2) == 0 { // counters written between inserts and deletes, or not
						w.flush()
					}
					// Delete a random share, sometimes most of them, so nodes
					// shrink back below the leaf size.
					share := rng.IntN(3)
					for i := 0; i < len(live); {
						if rng.IntN(4) < share {
							if err := ix.del(w, group, live[i], "id"); err != nil {
								return err
							}
							live = slices.Delete(live, i, i+1)
							continue
						}
						i++
					}
					if err := w.flush(); err != nil {
						return err
					}
					check(tx)
					if round%5 == 4 {
						every(tx)
					}
					return nil
				})
				if err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
			}
			// Deleting everything leaves no counter behind.
			err = db.Update(func(tx *bolt.Tx) error {
				if keyCount(tx.Bucket(bucketPinCounts)) == 0 {
					t.Error("no counters: the tree was never built")
				}
				w := newWtx(tx)
				for _, c := range live {
					if err := ix.del(w, group, c, "id"); err != nil {
						return err
					}
				}
				live = nil
				if err := w.flush(); err != nil {
					return err
				}
				check(tx)
				if n := keyCount(tx.Bucket(bucketPinCounts)); n != 0 {
					t.Errorf("%d counters left after deleting every entry", n)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

func keyCount(b *bolt.Bucket) int {
	n := 0
	c := b.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		n++
	}
	return n
}

// TestACountTreeNodeAtTheLeafSizeIsWalked puts exactly countLeafMax-1 to
// countLeafMax+2 entries in one node (under a root that has children),
// by inserts and by deletes, and checks the count at every entry.
func TestACountTreeNodeAtTheLeafSizeIsWalked(t *testing.T) {
	for _, n := range []int{countLeafMax - 1, countLeafMax, countLeafMax + 1, countLeafMax + 2} {
		for _, byDelete := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d entries, by delete %v", n, byDelete), func(t *testing.T) {
				db, err := bolt.Open(filepath.Join(t.TempDir(), "t.db"), 0o600, &bolt.Options{NoSync: true})
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				ix := timeIndex{bucket: []byte("idx"), tag: 'x'}
				group := lp(nil, "g")
				base := int64(1) << 60 // a depth-6 node (65536 ns) starts here
				var live []int64
				err = db.Update(func(tx *bolt.Tx) error {
					tx.CreateBucket(ix.bucket)
					tx.CreateBucket(bucketPinCounts)
					w := newWtx(tx)
					put := func(c int64) {
						live = append(live, c)
						if err := ix.put(w, group, c, "id", nil, false); err != nil {
							t.Fatal(err)
						}
					}
					extra := 0
					if byDelete {
						extra = 3
					}
					for i := range n + extra {
						put(base + int64(i)*500)
					}
					for i := range 2 * countLeafMax { // the next node keeps the root large
						put(base + 1<<16 + int64(i))
					}
					for range extra {
						if err := ix.del(w, group, live[0], "id"); err != nil {
							t.Fatal(err)
						}
						live = live[1:]
					}
					w.flush()
					sorted := slices.Sorted(slices.Values(live))
					for _, c := range sorted {
						for _, probe := range []int64{c, c + 1} {
							want, _ := slices.BinarySearch(sorted, probe)
							if got := mustBelow(t, ix, tx, group, probe); got != int64(want) {
								t.Fatalf("below(%d) = %d, want %d", probe, got, want)
							}
						}
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

func mustBelow(t *testing.T, ix timeIndex, tx *bolt.Tx, group []byte, at int64) int64 {
	t.Helper()
	n, err := ix.below(tx, group, at)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
