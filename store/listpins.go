package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
)

// PinFilter selects pins in ListPins. Zero fields do not filter.
type PinFilter struct {
	CIDs   []string
	Name   string
	Match  string // exact (default), iexact, partial, ipartial
	Status []string
	Before time.Time // created strictly before
	After  time.Time // created strictly after
	Meta   map[string]string
	Limit  int // 0 means no limit

	MimeType     string // exact
	CredentialID string // only pins made by this key, token or JWT
	// Ascending lists oldest first; After is then the paging cursor.
	Ascending bool
	// Offset skips that many matches first (legacy offset paging). It
	// costs a walk of Offset index entries, so it is capped at
	// MaxPinOffset: deeper pages page with Before (or After).
	Offset int
	// Group keeps only the members of one of the account's groups (an
	// indexed predicate like CIDs); NoGroup only pins in no group (checked
	// per entry, so the walk covers the range).
	Group   string
	NoGroup bool
}

// MaxPinOffset is the largest PinFilter.Offset.
const MaxPinOffset = 100_000

// ListPins returns an account's pins matching f, newest first (oldest
// first with Ascending), and the exact number that match the whole filter,
// time bounds included (ignoring Limit and Offset).
//
// How it is answered, so the cost is known: every exact predicate (CID,
// exact name, a metadata pair, MIME type, credential, each with the
// status) has an index with count trees. The query walks the one whose
// range under the time bounds is smallest (counted exactly, in O(log n)),
// and checks any other exact predicate with one index lookup per entry it
// walks. When that one index covers the whole filter, the total is the
// counted range and the walk stops after the page; otherwise the walk
// covers the range to count the matches. A partial or case-insensitive
// name (iexact, partial, ipartial) is matched against the names held in
// the account index, so without an exact predicate it walks the account's
// pins in that index, keys only. A metadata value "" also matches pins
// without the key, as it always has; that check reads the record.
func (s *Store) ListPins(accountID string, f PinFilter) ([]Pin, int, error) {
	q, err := newPinQuery(accountID, f)
	if err != nil {
		return nil, 0, fmt.Errorf("list pins: %w", err)
	}
	var out []Pin
	total := 0
	err = s.view(func(tx *bolt.Tx) error {
		if q == nil {
			return nil // nothing can match
		}
		ids, n, err := q.run(tx)
		if err != nil {
			return err
		}
		total = n
		out, err = loadPins(tx, ids)
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list pins: %w", err)
	}
	return out, total, nil
}

// pinQuery is a PinFilter normalised for planning.
type pinQuery struct {
	acct     string
	sts      []byte                 // status codes; every status when none was asked for
	dims     []dim                  // exact predicates, each served by an index
	nameFn   func(name []byte) bool // a name predicate no index answers
	metaNone []string               // metadata keys whose value must be "" or absent
	noGroup  bool                   // only pins in no group
	lo, hi   int64                  // created in [lo, hi)
	asc      bool
	offset   int
	limit    int
}

// dim is one exact predicate: the entry's value in ix is one of values.
type dim struct {
	ix     timeIndex
	values []string
	group  func(value string, st byte) []byte
}

func (d dim) groups(sts []byte) []scanGroup {
	out := make([]scanGroup, 0, len(d.values)*len(sts))
	for _, v := range d.values {
		for _, st := range sts {
			out = append(out, scanGroup{group: d.group(v, st), st: st})
		}
	}
	return out
}

// newPinQuery normalises f; a nil query matches nothing.
func newPinQuery(acct string, f PinFilter) (*pinQuery, error) {
	if f.Offset < 0 || f.Offset > MaxPinOffset {
		return nil, fmt.Errorf("%w: offset %d is not in 0..%d (page with before or after)", ErrInvalid, f.Offset, MaxPinOffset)
	}
	q := &pinQuery{acct: acct, sts: allStatuses, lo: 0, hi: maxNanos, asc: f.Ascending, offset: f.Offset, limit: f.Limit}
	if len(f.Status) > 0 {
		q.sts = nil
		for _, name := range f.Status {
			if c, ok := statusCodes[name]; ok && !slices.Contains(q.sts, c) {
				q.sts = append(q.sts, c)
			}
		}
		if len(q.sts) == 0 {
			return nil, nil // only unknown statuses
		}
	}
	if !f.Before.IsZero() {
		q.hi = nanos(f.Before)
	}
	if !f.After.IsZero() {
		q.lo = nanos(f.After)
		if q.lo < maxNanos {
			q.lo++ // strictly after
		}
	}
	if q.limit < 0 {
		q.limit = -1 // an empty page, as before; the total still counts
	}
	field := func(value string, st byte) []byte { return fieldGroup(acct, value, st) }
	if len(f.CIDs) > 0 {
		cids := slices.Compact(slices.Sorted(slices.Values(f.CIDs)))
		q.dims = append(q.dims, dim{ix: idxCID, values: cids, group: field})
	}
	if f.MimeType != "" {
		q.dims = append(q.dims, dim{ix: idxMime, values: []string{f.MimeType}, group: field})
	}
	if f.CredentialID != "" {
		q.dims = append(q.dims, dim{ix: idxCred, values: []string{f.CredentialID}, group: field})
	}
	if f.Group != "" {
		q.dims = append(q.dims, dim{ix: idxGroup, values: []string{f.Group}, group: field})
	}
	q.noGroup = f.NoGroup
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range f.Meta {
			if !yield(k) {
				return
			}
		}
	})
	for _, k := range keys {
		if v := f.Meta[k]; v == "" {
			q.metaNone = append(q.metaNone, k)
		} else {
			q.dims = append(q.dims, dim{ix: idxMeta, values: []string{v},
				group: func(value string, st byte) []byte { return metaGroup(acct, k, value, st) }})
		}
	}
	if f.Name != "" {
		q.setName(f.Name, f.Match)
	}
	return q, nil
}

func (q *pinQuery) setName(name, match string) {
	want := []byte(name)
	switch match {
	case "iexact":
		q.nameFn = func(n []byte) bool { return bytes.EqualFold(n, want) }
	case "partial":
		q.nameFn = func(n []byte) bool { return bytes.Contains(n, want) }
	case "ipartial":
		lower := []byte(strings.ToLower(name))
		q.nameFn = func(n []byte) bool { return containsFold(n, lower) }
	default:
		q.dims = append(q.dims, dim{ix: idxName, values: []string{name},
			group: func(value string, st byte) []byte { return fieldGroup(q.acct, value, st) }})
		return
	}
}

// containsFold reports whether lower-cased n contains lower, without
// allocating when n is ASCII (the case-folding of non-ASCII text is
// strings.ToLower's, as it has always been).
func containsFold(n, lower []byte) bool {
	for _, c := range n {
		if c >= utf8.RuneSelf {
			return strings.Contains(strings.ToLower(string(n)), string(lower))
		}
	}
	if len(lower) == 0 {
		return true
	}
	for i := 0; i+len(lower) <= len(n); i++ {
		j := 0
		for ; j < len(lower); j++ {
			c := n[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != lower[j] {
				break
			}
		}
		if j == len(lower) {
			return true
		}
	}
	return false
}

// run plans and answers the query: the page's ids and the total.
func (q *pinQuery) run(tx *bolt.Tx) ([]string, int, error) {
	ix, groups, rest, size, err := q.plan(tx)
	if err != nil {
		return nil, 0, err
	}
	if len(rest) == 0 && q.nameFn == nil && len(q.metaNone) == 0 && !q.noGroup {
		// The driving index covers the filter: its counted range is the total.
		ids := mergeScan(tx, ix, groups, q.lo, q.hi, q.asc, func(entry) bool { return true }, q.offset, q.limit)
		return ids, int(size), nil
	}
	keep := q.residual(tx, ix, rest)
	var ids []string
	total, offset := 0, q.offset
	walk(tx, ix, groups, q.lo, q.hi, q.asc, func(e entry) bool {
		ok, kerr := keep(e)
		if kerr != nil {
			err = kerr
			return false
		}
		if !ok {
			return true
		}
		total++
		if offset > 0 {
			offset--
		} else if q.limit == 0 || len(ids) < q.limit {
			ids = append(ids, e.id)
		}
		return true
	})
	return ids, total, err
}

// plan picks the index to walk: the exact predicate whose range is
// smallest, else the status index (the account's pins of those statuses).
// It returns the predicates left to check per entry and the walked range's
// size.
func (q *pinQuery) plan(tx *bolt.Tx) (timeIndex, []scanGroup, []dim, int64, error) {
	if len(q.dims) == 0 {
		g := make([]scanGroup, len(q.sts))
		for i, st := range q.sts {
			g[i] = scanGroup{group: statusGroup(q.acct, st), st: st}
		}
		size, err := q.size(tx, idxStatus, g)
		return idxStatus, g, nil, size, err
	}
	best, bestSize := 0, int64(-1)
	for i, d := range q.dims {
		size, err := q.size(tx, d.ix, d.groups(q.sts))
		if err != nil {
			return timeIndex{}, nil, nil, 0, err
		}
		if bestSize < 0 || size < bestSize {
			best, bestSize = i, size
		}
	}
	rest := slices.Concat(q.dims[:best], q.dims[best+1:])
	// Check the most selective of the others first.
	sort.SliceStable(rest, func(i, j int) bool { return len(rest[i].values) < len(rest[j].values) })
	d := q.dims[best]
	return d.ix, d.groups(q.sts), rest, bestSize, nil
}

func (q *pinQuery) size(tx *bolt.Tx, ix timeIndex, groups []scanGroup) (int64, error) {
	var n int64
	for _, g := range groups {
		c, err := ix.rangeCount(tx, g.group, q.lo, q.hi)
		if err != nil {
			return 0, err
		}
		n += c
	}
	return n, nil
}

// residual returns the check of the predicates the walked index does not
// answer.
func (q *pinQuery) residual(tx *bolt.Tx, walked timeIndex, rest []dim) func(entry) (bool, error) {
	type lookup struct {
		d dim
		c *bolt.Cursor
	}
	looks := make([]lookup, len(rest))
	for i, d := range rest {
		looks[i] = lookup{d, tx.Bucket(d.ix.bucket).Cursor()}
	}
	byStatus := tx.Bucket(bucketPinsByStat)
	pins := tx.Bucket(bucketPins)
	var inGroups *bolt.Cursor
	if q.noGroup {
		inGroups = tx.Bucket(bucketPinGroups).Cursor()
	}
	return func(e entry) (bool, error) {
		for _, l := range looks {
			found := false
			for _, v := range l.d.values {
				key := entryKey(l.d.group(v, e.st), e.created, e.id)
				if k, _ := l.c.Seek(key); k != nil && bytes.Equal(k, key) {
					found = true
					break
				}
			}
			if !found {
				return false, nil
			}
		}
		if q.nameFn != nil {
			name := e.value
			if walked.tag != idxStatus.tag {
				name = byStatus.Get(entryKey(statusGroup(q.acct, e.st), e.created, e.id))
			}
			if !q.nameFn(name) {
				return false, nil
			}
		}
		if q.noGroup {
			prefix := lp(nil, e.id)
			if k, _ := inGroups.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) {
				return false, nil
			}
		}
		if len(q.metaNone) > 0 {
			var p struct {
				Metadata map[string]string `json:"metadata"`
			}
			if err := json.Unmarshal(pins.Get([]byte(e.id)), &p); err != nil {
				return false, fmt.Errorf("%w: pin %s does not decode: %v", ErrCorrupt, e.id, err)
			}
			for _, k := range q.metaNone {
				if p.Metadata[k] != "" {
					return false, nil
				}
			}
		}
		return true, nil
	}
}
