package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"

	bolt "go.etcd.io/bbolt"
)

// A timeIndex is an index bucket whose keys are group ‖ created(8) ‖ id:
// the entries of one group (say, an account's pinned pins) sort by
// creation time, so a page is a cursor walk from a time bound.
//
// Exact counts under any time bound come from a count tree kept in
// pincounts/ beside the index, in the same transaction. Its nodes count
// the group's entries whose created time starts with a given prefix of
// 0..7 bytes (level 0 is the whole group; a level-L node spans 2^(64-8L)
// ns, so level 4 is 4.3 s and level 7 is 256 ns). A node's children are
// kept only while the node holds more than countLeafMax entries; a
// smaller node is counted by walking its at most countLeafMax index keys.
// That keeps the tree small whatever the spacing of the times: sparse
// pins (one a minute) stop at the coarse levels, a burst of uploads or a
// bulk load (one pin a nanosecond apart) descends to level 7, whose nodes
// never hold more than 256 entries of unique times. Counting the entries
// below a time t therefore reads at most 7 sibling runs of 255 counters
// and one run of 256 keys, whatever the size of the group, and inserting
// or deleting an entry rewrites at most 8 counters.
type timeIndex struct {
	bucket []byte
	tag    byte // the index's counter keys start with it
}

// countLeafMax is the largest node counted by walking its keys. A larger
// value makes fewer counters and longer walks: 64 keys are a few
// microseconds, and a node of 64 entries costs one counter.
const countLeafMax = 64

// maxLevel is the deepest count-tree level: 7 of the time's 8 bytes.
const maxLevel = 7

func entryKey(group []byte, created int64, id string) []byte {
	k := make([]byte, 0, len(group)+8+len(id))
	k = append(k, group...)
	k = binary.BigEndian.AppendUint64(k, uint64(created))
	return append(k, id...)
}

// counterKey is the key of the count-tree node of level whose times start
// with prefix; a prefix shorter than level gives the start of a run of
// such nodes.
func counterKey(tag byte, group []byte, level int, prefix []byte) []byte {
	k := make([]byte, 0, 2+len(group)+len(prefix))
	k = append(k, tag)
	k = append(k, group...)
	k = append(k, byte(level))
	return append(k, prefix...)
}

// put adds an entry and counts it.
func (ix timeIndex) put(tx *bolt.Tx, group []byte, created int64, id string, value []byte) error {
	b := tx.Bucket(ix.bucket)
	key := entryKey(group, created, id)
	if has(b, key) {
		return b.Put(key, value) // already counted: only the value changes
	}
	if err := b.Put(key, value); err != nil {
		return err
	}
	return ix.count(tx, group, created, +1)
}

// del removes an entry, if present, and uncounts it.
func (ix timeIndex) del(tx *bolt.Tx, group []byte, created int64, id string) error {
	b := tx.Bucket(ix.bucket)
	key := entryKey(group, created, id)
	if !has(b, key) {
		return nil
	}
	if err := b.Delete(key); err != nil {
		return err
	}
	return ix.count(tx, group, created, -1)
}

// count applies one entry's arrival (+1) or departure (-1) to the count
// tree; the index itself already holds the change.
func (ix timeIndex) count(tx *bolt.Tx, group []byte, created int64, delta int) error {
	cb := tx.Bucket(bucketPinCounts)
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], uint64(created))
	root := counterKey(ix.tag, group, 0, nil)
	if getU64(cb, root) == 0 {
		if delta < 0 {
			return nil // a small group: nothing counted
		}
		// A small group: count it by its keys, and start its tree once it
		// outgrows countLeafMax.
		created := ix.times(tx, group, nil, countLeafMax+1)
		if len(created) > countLeafMax {
			return ix.build(cb, group, 0, ts[:], created)
		}
		return nil
	}
	for level := 0; level <= maxLevel; level++ {
		key := counterKey(ix.tag, group, level, ts[:level])
		old := getU64(cb, key)
		if old == 0 && (delta < 0 || level == 0) {
			return fmt.Errorf("%w: count tree of %x is missing level %d", ErrCorrupt, group, level)
		}
		n := uint64(int64(old) + int64(delta))
		switch {
		case delta > 0 && n == countLeafMax+1 && level > 0 && level < maxLevel:
			// The node outgrows its keys: count its children from them.
			return ix.build(cb, group, level, ts[:], ix.times(tx, group, ts[:level], 0))
		case delta < 0 && n == countLeafMax:
			// The node shrinks back to a walk: forget its subtree.
			if err := ix.dropBelow(cb, group, level, ts[:]); err != nil {
				return err
			}
			if level == 0 {
				return cb.Delete(key) // a small group keeps no root
			}
			return cb.Put(key, u64(n))
		case n == 0:
			return cb.Delete(key)
		}
		if err := cb.Put(key, u64(n)); err != nil {
			return err
		}
		if n <= countLeafMax {
			return nil // children exist only under larger nodes
		}
	}
	return nil
}

// times returns the created times of the group's entries whose time starts
// with prefix, oldest first, stopping after limit (0: all).
func (ix timeIndex) times(tx *bolt.Tx, group, prefix []byte, limit int) []int64 {
	var out []int64
	start := append(append([]byte{}, group...), prefix...)
	c := tx.Bucket(ix.bucket).Cursor()
	for k, _ := c.Seek(start); k != nil && bytes.HasPrefix(k, start); k, _ = c.Next() {
		out = append(out, int64(binary.BigEndian.Uint64(k[len(group):])))
		if limit > 0 && len(out) >= limit {
			break
		}
	}
	return out
}

// build writes the node of level holding the given times (all sharing
// ts[:level]) and, while it holds more than countLeafMax, its children.
func (ix timeIndex) build(cb *bolt.Bucket, group []byte, level int, ts []byte, created []int64) error {
	if err := cb.Put(counterKey(ix.tag, group, level, ts[:level]), u64(uint64(len(created)))); err != nil {
		return err
	}
	if len(created) <= countLeafMax || level == maxLevel {
		return nil
	}
	for start := 0; start < len(created); {
		var child [8]byte
		binary.BigEndian.PutUint64(child[:], uint64(created[start]))
		end := start + 1
		for end < len(created) && byte(uint64(created[end])>>(56-8*level)) == child[level] {
			end++
		}
		if err := ix.build(cb, group, level+1, child[:], created[start:end]); err != nil {
			return err
		}
		start = end
	}
	return nil
}

// dropBelow deletes every counter under the node of level at ts.
func (ix timeIndex) dropBelow(cb *bolt.Bucket, group []byte, level int, ts []byte) error {
	for l := level + 1; l <= maxLevel; l++ {
		prefix := counterKey(ix.tag, group, l, ts[:level])
		c := cb.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
			if err := cb.Delete(k); err != nil {
				return err
			}
		}
	}
	return nil
}

// below counts the group's entries created before t (unix nanos).
func (ix timeIndex) below(tx *bolt.Tx, group []byte, t int64) int64 {
	if t <= 0 {
		return 0
	}
	cb := tx.Bucket(bucketPinCounts)
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], uint64(t))
	if t == math.MaxInt64 {
		if n := getU64(cb, counterKey(ix.tag, group, 0, nil)); n > 0 {
			return int64(n)
		}
	}
	if getU64(cb, counterKey(ix.tag, group, 0, nil)) == 0 {
		return ix.walkBelow(tx, group, nil, t)
	}
	var sum int64
	c := cb.Cursor()
	for level := 0; level < maxLevel; level++ {
		// The node at level holds more than countLeafMax: its children
		// are counted. Add those wholly before t.
		run := counterKey(ix.tag, group, level+1, ts[:level])
		for k, v := c.Seek(run); k != nil && bytes.HasPrefix(k, run) && len(k) == len(run)+1 && k[len(run)] < ts[level]; k, v = c.Next() {
			sum += int64(binary.BigEndian.Uint64(v))
		}
		n := getU64(cb, counterKey(ix.tag, group, level+1, ts[:level+1]))
		if n == 0 {
			return sum
		}
		if n <= countLeafMax || level+1 == maxLevel {
			return sum + ix.walkBelow(tx, group, ts[:level+1], t)
		}
	}
	return sum
}

// walkBelow counts, key by key, the entries under prefix created before t.
func (ix timeIndex) walkBelow(tx *bolt.Tx, group, prefix []byte, t int64) int64 {
	start := append(append([]byte{}, group...), prefix...)
	var n int64
	c := tx.Bucket(ix.bucket).Cursor()
	for k, _ := c.Seek(start); k != nil && bytes.HasPrefix(k, start); k, _ = c.Next() {
		if int64(binary.BigEndian.Uint64(k[len(group):])) >= t {
			break
		}
		n++
	}
	return n
}

// rangeCount counts the group's entries created in [lo, hi).
func (ix timeIndex) rangeCount(tx *bolt.Tx, group []byte, lo, hi int64) int64 {
	if hi <= lo {
		return 0
	}
	return ix.below(tx, group, hi) - ix.below(tx, group, lo)
}
