package store

import (
	"bytes"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// wtx is a write transaction that changes pins, with write-back caches of
// the buckets whose few keys every pin write changes: the count-tree
// nodes, the usage counters, the storage days and the prefix usage.
// They are written once when the transaction ends. Measured on an import
// of 2000 pins per transaction: a Get and a Put per counter per pin were
// 40% of the CPU, since every pin touches the upper levels of the same few
// count trees and the same two usage keys.
//
// Everything a pin write reads from those buckets goes through the caches
// (quota checks too: a Batch runs several callers in one transaction, and
// each must see the usage the earlier ones added). Reads outside write
// transactions read the buckets.
type wtx struct {
	*bolt.Tx
	caches map[string]*kvCache
	tree   *nodeCache
}

// nodeCache caches count-tree nodes (timeindex.go), decoded.
type nodeCache struct {
	b     *bolt.Bucket
	nodes map[string]*cachedNode
}

type cachedNode struct {
	n     *countNode // nil: absent
	dirty bool
}

// nodes is the transaction's count-tree node cache.
func (w *wtx) nodes() *nodeCache {
	if w.tree == nil {
		w.tree = &nodeCache{b: w.Bucket(bucketPinCounts), nodes: map[string]*cachedNode{}}
	}
	return w.tree
}

// get returns the node at key (nil when absent); the caller may change it
// and put it back.
func (c *nodeCache) get(key []byte) (*countNode, error) {
	if cn, ok := c.nodes[string(key)]; ok {
		return cn.n, nil
	}
	n, err := readNode(c.b, key)
	if err != nil {
		return nil, err
	}
	c.nodes[string(key)] = &cachedNode{n: n}
	return n, nil
}

func (c *nodeCache) put(key []byte, n *countNode) {
	c.nodes[string(key)] = &cachedNode{n: n, dirty: true}
}

// drop deletes the node at prefix and every node under it.
func (c *nodeCache) drop(prefix []byte) error {
	for k := range c.nodes {
		if len(k) >= len(prefix) && k[:len(prefix)] == string(prefix) {
			delete(c.nodes, k)
		}
	}
	cur := c.b.Cursor()
	for k, _ := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = cur.Seek(prefix) {
		if err := c.b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

func (c *nodeCache) flush() error {
	keys := make([]string, 0, len(c.nodes))
	for k, cn := range c.nodes {
		if cn.dirty {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		var err error
		if n := c.nodes[k].n; n == nil {
			err = c.b.Delete([]byte(k))
		} else {
			err = c.b.Put([]byte(k), n.encode())
		}
		if err != nil {
			return err
		}
	}
	clear(c.nodes)
	return nil
}

// kvCache caches one bucket's keys for one transaction.
type kvCache struct {
	b    *bolt.Bucket
	vals map[string]*cachedVal
}

type cachedVal struct {
	v     []byte // nil: absent
	dirty bool
}

func newWtx(tx *bolt.Tx) *wtx { return &wtx{Tx: tx, caches: map[string]*kvCache{}} }

// cache returns the transaction's cache of bucket.
func (w *wtx) cache(bucket []byte) *kvCache {
	c := w.caches[string(bucket)]
	if c == nil {
		c = &kvCache{b: w.Bucket(bucket), vals: map[string]*cachedVal{}}
		w.caches[string(bucket)] = c
	}
	return c
}

func (c *kvCache) get(key []byte) []byte {
	if cv, ok := c.vals[string(key)]; ok {
		return cv.v
	}
	v := c.b.Get(key)
	if v != nil {
		v = bytes.Clone(v) // bbolt's slice is only valid until the next write
	}
	c.vals[string(key)] = &cachedVal{v: v}
	return v
}

// put sets key to v (nil deletes it); the cache keeps v.
func (c *kvCache) put(key, v []byte) {
	if cv, ok := c.vals[string(key)]; ok {
		cv.v, cv.dirty = v, true
		return
	}
	c.vals[string(key)] = &cachedVal{v: v, dirty: true}
}

func (c *kvCache) getU64(key []byte) uint64 {
	if v := c.get(key); len(v) == 8 {
		return uint64FromBytes(v)
	}
	return 0
}

// setU64 sets a counter; 0 deletes it.
func (c *kvCache) setU64(key []byte, n uint64) {
	if n == 0 {
		c.put(key, nil)
		return
	}
	c.put(key, u64(n))
}

// drop deletes every key that starts with prefix.
func (c *kvCache) drop(prefix []byte) error {
	for k := range c.vals {
		if len(k) >= len(prefix) && k[:len(prefix)] == string(prefix) {
			delete(c.vals, k)
		}
	}
	cur := c.b.Cursor()
	for k, _ := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = cur.Seek(prefix) {
		if err := c.b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// flush writes the changed keys, in key order.
func (c *kvCache) flush() error {
	keys := make([]string, 0, len(c.vals))
	for k, cv := range c.vals {
		if cv.dirty {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		var err error
		if v := c.vals[k].v; v == nil {
			err = c.b.Delete([]byte(k))
		} else {
			err = c.b.Put([]byte(k), v)
		}
		if err != nil {
			return err
		}
	}
	clear(c.vals)
	return nil
}

// flush writes every cache.
func (w *wtx) flush() error {
	if w.tree != nil {
		if err := w.tree.flush(); err != nil {
			return err
		}
	}
	names := make([]string, 0, len(w.caches))
	for name := range w.caches {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if err := w.caches[name].flush(); err != nil {
			return err
		}
	}
	return nil
}

// write runs fn in a write transaction for pins (see update).
func (s *Store) write(fn func(w *wtx) error) error {
	return s.update(func(tx *bolt.Tx) error {
		w := newWtx(tx)
		if err := fn(w); err != nil {
			return err
		}
		return w.flush()
	})
}

// batchWrite is write through bbolt's Batch: concurrent callers share a
// commit, and fn may run more than once.
func (s *Store) batchWrite(fn func(w *wtx) error) error {
	return s.batch(func(tx *bolt.Tx) error {
		w := newWtx(tx)
		if err := fn(w); err != nil {
			return err
		}
		return w.flush()
	})
}
