package store

import (
	"bytes"
	"encoding/binary"
	"math"

	bolt "go.etcd.io/bbolt"
)

const maxNanos = math.MaxInt64

// scanGroup is one group of a time index that a query walks, with the
// status its entries have.
type scanGroup struct {
	group []byte
	st    byte
}

// entry is one index entry met by a walk.
type entry struct {
	created int64
	id      string
	st      byte
	value   []byte // the status index's value (the name); nil for the others
}

// groupCursor walks one group's entries created in [lo, hi) in one
// direction.
type groupCursor struct {
	c      *bolt.Cursor
	g      scanGroup
	lo, hi int64
	asc    bool
	k, v   []byte
}

func newGroupCursor(b *bolt.Bucket, g scanGroup, lo, hi int64, asc bool) *groupCursor {
	gc := &groupCursor{c: b.Cursor(), g: g, lo: lo, hi: hi, asc: asc}
	if asc {
		gc.k, gc.v = gc.c.Seek(binary.BigEndian.AppendUint64(bytes.Clone(g.group), uint64(lo)))
	} else {
		k, _ := gc.c.Seek(binary.BigEndian.AppendUint64(bytes.Clone(g.group), uint64(hi)))
		if k == nil {
			gc.k, gc.v = gc.c.Last()
		} else {
			gc.k, gc.v = gc.c.Prev()
		}
	}
	gc.settle()
	return gc
}

// settle clears the cursor once it leaves its group or range.
func (gc *groupCursor) settle() {
	if gc.k == nil || !bytes.HasPrefix(gc.k, gc.g.group) || len(gc.k) < len(gc.g.group)+8 {
		gc.k = nil
		return
	}
	t := gc.created()
	if t < gc.lo || t >= gc.hi {
		gc.k = nil
	}
}

func (gc *groupCursor) created() int64 {
	return int64(binary.BigEndian.Uint64(gc.k[len(gc.g.group):]))
}

func (gc *groupCursor) entry() entry {
	return entry{created: gc.created(), id: string(gc.k[len(gc.g.group)+8:]), st: gc.g.st, value: gc.v}
}

func (gc *groupCursor) next() {
	if gc.asc {
		gc.k, gc.v = gc.c.Next()
	} else {
		gc.k, gc.v = gc.c.Prev()
	}
	gc.settle()
}

// walk calls fn with the entries of every group created in [lo, hi),
// merged into one time order (newest first unless asc), until fn returns
// false. Groups are few (statuses times at most a few values), so the
// merge picks the head by a linear look.
func walk(tx *bolt.Tx, ix timeIndex, groups []scanGroup, lo, hi int64, asc bool, fn func(entry) bool) {
	b := tx.Bucket(ix.bucket)
	cursors := make([]*groupCursor, 0, len(groups))
	for _, g := range groups {
		if gc := newGroupCursor(b, g, lo, hi, asc); gc.k != nil {
			cursors = append(cursors, gc)
		}
	}
	for len(cursors) > 0 {
		best := 0
		for i := 1; i < len(cursors); i++ {
			if before(cursors[i], cursors[best], asc) {
				best = i
			}
		}
		if !fn(cursors[best].entry()) {
			return
		}
		cursors[best].next()
		if cursors[best].k == nil {
			cursors = append(cursors[:best], cursors[best+1:]...)
		}
	}
}

// before reports whether a's head comes before b's in the walk's order
// (time, then id, so the order is total).
func before(a, b *groupCursor, asc bool) bool {
	ta, tb := a.created(), b.created()
	if ta == tb {
		c := bytes.Compare(a.k[len(a.g.group)+8:], b.k[len(b.g.group)+8:])
		return (c < 0) == asc
	}
	return (ta < tb) == asc
}

// mergeScan walks the groups and returns the ids of the entries keep
// accepts, after skipping offset of them, at most limit (0: all).
func mergeScan(tx *bolt.Tx, ix timeIndex, groups []scanGroup, lo, hi int64, asc bool, keep func(entry) bool, offset, limit int) []string {
	var ids []string
	if limit < 0 {
		return nil
	}
	walk(tx, ix, groups, lo, hi, asc, func(e entry) bool {
		if !keep(e) {
			return true
		}
		if offset > 0 {
			offset--
			return true
		}
		ids = append(ids, e.id)
		return limit == 0 || len(ids) < limit
	})
	return ids
}

// has reports whether b holds key. (Get cannot tell a missing key from an
// empty value, and index entries have empty values.)
func has(b *bolt.Bucket, key []byte) bool {
	k, _ := b.Cursor().Seek(key)
	return k != nil && bytes.Equal(k, key)
}
