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
// pincounts/ beside the index, written in the same transaction. A node
// stands for the group's entries whose created time starts with a prefix
// of 0..6 bytes (the root is the whole group; a node at depth d spans
// 2^(64-8d) ns: depth 4 is 4.3 s, depth 6 is 65 µs) and holds how many
// there are and how many fall in each of its 256 children. A node exists
// only while it holds more than countLeafMax entries; a smaller one is
// counted by walking its index keys. So the tree stays small whatever the
// spacing of the times (sparse pins stop at coarse depths, a bulk load a
// nanosecond apart goes deep), and counting the entries before a time t
// reads at most 7 nodes and walks at most 256 keys whatever the size of
// the group, while an insert or delete rewrites at most 7 nodes.
//
// Node keys are tag ‖ group ‖ time prefix, so a node's descendants follow
// it in key order and the nodes on the path of the newest time, which
// every new pin updates, sit side by side at the end of the group: one
// commit dirties one or two pages of counters per tree, not one per depth.
// (A first layout kept a counter per node grouped by depth, and its 26
// scattered counter pages were a third of a one-pin commit at 1M pins.)
type timeIndex struct {
	bucket []byte
	tag    byte // the index's count-tree keys start with it
}

// countLeafMax is the largest node counted by walking its keys rather
// than kept: 64 keys are a few microseconds to walk.
const countLeafMax = 64

// nodeDepthMax is the deepest node: its children span 256 ns and hold at
// most 256 entries of unique times, which a walk counts.
const nodeDepthMax = 6

func entryKey(group []byte, created int64, id string) []byte {
	k := make([]byte, 0, len(group)+8+len(id))
	k = append(k, group...)
	k = binary.BigEndian.AppendUint64(k, uint64(created))
	return append(k, id...)
}

// nodeKey is the key of the count-tree node of the group's times that
// start with prefix.
func nodeKey(tag byte, group, prefix []byte) []byte {
	k := make([]byte, 0, 1+len(group)+len(prefix))
	k = append(k, tag)
	k = append(k, group...)
	return append(k, prefix...)
}

// countNode is a decoded node: its entries, and its children's.
type countNode struct {
	total uint64
	kids  [256]uint64
}

func decodeNode(v []byte) (*countNode, error) {
	n := &countNode{}
	t, w := binary.Uvarint(v)
	if w <= 0 {
		return nil, fmt.Errorf("%w: count-tree node %x does not decode", ErrCorrupt, v)
	}
	n.total, v = t, v[w:]
	for len(v) > 0 {
		b := v[0]
		c, w := binary.Uvarint(v[1:])
		if w <= 0 {
			return nil, fmt.Errorf("%w: count-tree node child %d does not decode", ErrCorrupt, b)
		}
		n.kids[b], v = c, v[1+w:]
	}
	return n, nil
}

func (n *countNode) encode() []byte {
	v := binary.AppendUvarint(make([]byte, 0, 16), n.total)
	for b, c := range n.kids {
		if c > 0 {
			v = binary.AppendUvarint(append(v, byte(b)), c)
		}
	}
	return v
}

// put adds an entry and counts it; an entry the caller knows exists only
// gets its new value.
func (ix timeIndex) put(tx *wtx, group []byte, created int64, id string, value []byte, exists bool) error {
	if err := tx.Bucket(ix.bucket).Put(entryKey(group, created, id), value); err != nil || exists {
		return err
	}
	return ix.count(tx, group, created, +1)
}

// del removes an entry, if present, and uncounts it.
func (ix timeIndex) del(tx *wtx, group []byte, created int64, id string) error {
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
func (ix timeIndex) count(tx *wtx, group []byte, created int64, delta int) error {
	nodes := tx.nodes()
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], uint64(created))
	node, err := nodes.get(nodeKey(ix.tag, group, nil))
	if err != nil {
		return err
	}
	if node == nil {
		if delta > 0 {
			// A small group: count it by its keys, and start its tree
			// once it outgrows countLeafMax.
			if times := ix.times(tx.Tx, group, nil, countLeafMax+1); len(times) > countLeafMax {
				ix.build(nodes, group, 0, ts[:], times)
			}
		}
		return nil
	}
	for depth := 0; ; depth++ {
		key := nodeKey(ix.tag, group, ts[:depth])
		b := ts[depth]
		if delta < 0 && (node.total == 0 || node.kids[b] == 0) {
			return fmt.Errorf("%w: count tree of %x misses an entry at depth %d", ErrCorrupt, group, depth)
		}
		node.total = uint64(int64(node.total) + int64(delta))
		node.kids[b] = uint64(int64(node.kids[b]) + int64(delta))
		if depth == 0 && node.total <= countLeafMax {
			return nodes.drop(key) // a small group keeps no tree
		}
		nodes.put(key, node)
		child := node.kids[b]
		switch {
		case depth == nodeDepthMax, child <= countLeafMax && delta > 0:
			return nil // the child is walked
		case delta > 0 && child == countLeafMax+1:
			// The child outgrows its keys: build it from them.
			ix.build(nodes, group, depth+1, ts[:], ix.times(tx.Tx, group, ts[:depth+1], 0))
			return nil
		case delta < 0 && child == countLeafMax:
			return nodes.drop(nodeKey(ix.tag, group, ts[:depth+1])) // it shrinks back to a walk
		case delta < 0 && child < countLeafMax:
			return nil
		}
		if node, err = nodes.get(nodeKey(ix.tag, group, ts[:depth+1])); err != nil {
			return err
		}
		if node == nil {
			return fmt.Errorf("%w: count tree of %x misses a node at depth %d", ErrCorrupt, group, depth+1)
		}
	}
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

// build writes the node at depth holding the given times (all sharing
// ts[:depth]), and its children that hold more than countLeafMax.
func (ix timeIndex) build(nodes *nodeCache, group []byte, depth int, ts []byte, created []int64) {
	node := &countNode{total: uint64(len(created))}
	shift := 56 - 8*depth
	for _, c := range created {
		node.kids[byte(uint64(c)>>shift)]++
	}
	nodes.put(nodeKey(ix.tag, group, ts[:depth]), node)
	if depth == nodeDepthMax {
		return
	}
	for start := 0; start < len(created); {
		b := byte(uint64(created[start]) >> shift)
		end := start + int(node.kids[b])
		if end-start > countLeafMax {
			var child [8]byte
			binary.BigEndian.PutUint64(child[:], uint64(created[start]))
			ix.build(nodes, group, depth+1, child[:], created[start:end])
		}
		start = end
	}
}

// below counts the group's entries created before t (unix nanos).
func (ix timeIndex) below(tx *bolt.Tx, group []byte, t int64) (int64, error) {
	if t <= 0 {
		return 0, nil
	}
	b := tx.Bucket(bucketPinCounts)
	node, err := readNode(b, nodeKey(ix.tag, group, nil))
	if err != nil || node == nil {
		return ix.walkBelow(tx, group, nil, t), err
	}
	if t == math.MaxInt64 {
		return int64(node.total), nil
	}
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], uint64(t))
	var sum int64
	for depth := 0; ; depth++ {
		for c := range ts[depth] {
			sum += int64(node.kids[c])
		}
		child := node.kids[ts[depth]]
		switch {
		case child == 0:
			return sum, nil
		case child <= countLeafMax || depth == nodeDepthMax:
			return sum + ix.walkBelow(tx, group, ts[:depth+1], t), nil
		}
		if node, err = readNode(b, nodeKey(ix.tag, group, ts[:depth+1])); err != nil {
			return 0, err
		}
		if node == nil {
			return 0, fmt.Errorf("%w: count tree of %x misses a node at depth %d", ErrCorrupt, group, depth+1)
		}
	}
}

func readNode(b *bolt.Bucket, key []byte) (*countNode, error) {
	v := b.Get(key)
	if v == nil {
		return nil, nil
	}
	return decodeNode(v)
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
func (ix timeIndex) rangeCount(tx *bolt.Tx, group []byte, lo, hi int64) (int64, error) {
	if hi <= lo {
		return 0, nil
	}
	h, err := ix.below(tx, group, hi)
	if err != nil {
		return 0, err
	}
	l, err := ix.below(tx, group, lo)
	return h - l, err
}
