package store

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// treeFixture is one group of a time index in a scratch database, with
// the times it holds.
type treeFixture struct {
	t     *testing.T
	db    *bolt.DB
	ix    timeIndex
	group []byte
	live  []int64
	rng   *rand.Rand
}

func newTreeFixture(t *testing.T) *treeFixture {
	db, err := bolt.Open(filepath.Join(t.TempDir(), "t.db"), 0o600, &bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.Update(func(tx *bolt.Tx) error {
		tx.CreateBucket([]byte("idx"))
		_, err := tx.CreateBucket(bucketPinCounts)
		return err
	})
	return &treeFixture{t: t, db: db, ix: timeIndex{bucket: []byte("idx"), tag: 'x'}, group: lp(nil, "g"), rng: rand.New(rand.NewPCG(1, 2))}
}

func (f *treeFixture) insert(w *wtx, at int64) {
	f.live = append(f.live, at)
	if err := f.ix.put(w, f.group, at, "id", nil, false); err != nil {
		f.t.Fatal(err)
	}
}

// deleteShare deletes each entry with probability share/4.
func (f *treeFixture) deleteShare(w *wtx, share int) {
	for i := 0; i < len(f.live); {
		if f.rng.IntN(4) < share {
			if err := f.ix.del(w, f.group, f.live[i], "id"); err != nil {
				f.t.Fatal(err)
			}
			f.live = slices.Delete(f.live, i, i+1)
			continue
		}
		i++
	}
}

// check compares the counts before 20 random times, and the total, with
// the times held.
func (f *treeFixture) check(tx *bolt.Tx, latest int64) {
	f.t.Helper()
	for range 20 {
		probe := latest - f.rng.Int64N(latest-1_700_000_000e9+2)
		if len(f.live) > 0 && f.rng.IntN(2) == 0 {
			probe = f.live[f.rng.IntN(len(f.live))] + f.rng.Int64N(3) - 1
		}
		want := int64(0)
		for _, c := range f.live {
			if c < probe {
				want++
			}
		}
		if got := mustBelow(f.t, f.ix, tx, f.group, probe); got != want {
			f.t.Fatalf("below(%d) = %d, want %d (%d live)", probe, got, want, len(f.live))
		}
	}
	if got := mustBelow(f.t, f.ix, tx, f.group, 1<<63-1); got != int64(len(f.live)) {
		f.t.Fatalf("total %d, want %d", got, len(f.live))
	}
}

// checkEvery probes at and after every entry, so every node of the tree,
// whatever its size, is met.
func (f *treeFixture) checkEvery(tx *bolt.Tx) {
	f.t.Helper()
	sorted := slices.Sorted(slices.Values(f.live))
	for i, c := range sorted {
		for _, probe := range []int64{c, c + 1} {
			want, _ := slices.BinarySearch(sorted, probe)
			if got := mustBelow(f.t, f.ix, tx, f.group, probe); got != int64(want) {
				f.t.Fatalf("below(%d) = %d, want %d (entry %d of %d)", probe, got, want, i, len(f.live))
			}
		}
	}
}

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
			f := newTreeFixture(t)
			at := int64(1_700_000_000e9)
			for round := range 30 {
				err := f.db.Update(func(tx *bolt.Tx) error {
					w := newWtx(tx)
					for range f.rng.IntN(400) {
						if at += tc.spacing; tc.spacing < 0 {
							at += -tc.spacing + 1 + f.rng.Int64N(-tc.spacing)
						}
						f.insert(w, at)
					}
					if f.rng.IntN(2) == 0 { // nodes written between inserts and deletes, or not
						w.flush()
					}
					// A random share, sometimes most, so nodes shrink back
					// below the leaf size.
					f.deleteShare(w, f.rng.IntN(3))
					if err := w.flush(); err != nil {
						return err
					}
					f.check(tx, at)
					if round%5 == 4 {
						f.checkEvery(tx)
					}
					return nil
				})
				if err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
			}
			// Deleting everything leaves no node behind.
			err := f.db.Update(func(tx *bolt.Tx) error {
				if keyCount(tx.Bucket(bucketPinCounts)) == 0 {
					t.Error("no nodes: the tree was never built")
				}
				w := newWtx(tx)
				f.deleteShare(w, 4)
				if err := w.flush(); err != nil {
					return err
				}
				f.check(tx, at)
				if n := keyCount(tx.Bucket(bucketPinCounts)); n != 0 {
					t.Errorf("%d nodes left after deleting every entry", n)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
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

func keyCount(b *bolt.Bucket) int {
	n := 0
	c := b.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		n++
	}
	return n
}
