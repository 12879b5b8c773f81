package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Page asks for one page of a list, newest first.
type Page struct {
	// Limit is the page size: 0 means DefaultPageLimit, at most MaxPageLimit.
	Limit int
	// Cursor is the next value of the previous page; "" is the first page.
	// It is opaque.
	Cursor string
}

// Page sizes.
const (
	DefaultPageLimit = 100
	MaxPageLimit     = 1000
)

func (p Page) limit() (int, error) {
	switch {
	case p.Limit == 0:
		return DefaultPageLimit, nil
	case p.Limit < 0 || p.Limit > MaxPageLimit:
		return 0, fmt.Errorf("%w: page limit %d is not in 1..%d", ErrInvalid, p.Limit, MaxPageLimit)
	}
	return p.Limit, nil
}

// pageIDs walks the index bucket's keys that start with prefix (then
// t(created) id), newest first from the page's cursor, and returns the
// ids of one page and the cursor of the next ("" when there is none).
func pageIDs(tx *bolt.Tx, bucket, prefix []byte, p Page) ([]string, string, error) {
	limit, err := p.limit()
	if err != nil {
		return nil, "", err
	}
	from := append(bytes.Clone(prefix), 0xff) // past every time of the prefix
	if p.Cursor != "" {
		tail, err := decodeCursor(p.Cursor)
		if err != nil {
			return nil, "", err
		}
		from = append(bytes.Clone(prefix), tail...)
	}
	c := tx.Bucket(bucket).Cursor()
	k, _ := c.Seek(from)
	if k == nil {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev()
	}
	var ids []string
	var last []byte
	for ; k != nil && bytes.HasPrefix(k, prefix) && len(k) >= len(prefix)+8; k, _ = c.Prev() {
		if len(ids) == limit {
			return ids, encodeCursor(last), nil
		}
		ids = append(ids, string(k[len(prefix)+8:]))
		last = k[len(prefix):]
	}
	return ids, "", nil
}

// allIDs returns the ids of the index keys that start with prefix, oldest
// first (ties by id).
func allIDs(tx *bolt.Tx, bucket, prefix []byte) []string {
	var ids []string
	c := tx.Bucket(bucket).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if len(k) >= len(prefix)+8 {
			ids = append(ids, string(k[len(prefix)+8:]))
		}
	}
	return ids
}

// loadAll decodes the records of ids from bucket.
func loadAll[T any](tx *bolt.Tx, bucket []byte, ids []string) ([]T, error) {
	b := tx.Bucket(bucket)
	out := make([]T, len(ids))
	for i, id := range ids {
		if err := getJSON(b, []byte(id), &out[i]); err != nil {
			if err == ErrNotFound {
				return nil, fmt.Errorf("%w: index names %s, which has no record", ErrCorrupt, id)
			}
			return nil, err
		}
	}
	return out, nil
}

// listPage is one page of an account's records through its index.
func listPage[T any](s *Store, index, records []byte, accountID string, p Page) ([]T, string, error) {
	var out []T
	var next string
	err := s.view(func(tx *bolt.Tx) error {
		ids, n, err := pageIDs(tx, index, lp(nil, accountID), p)
		if err != nil {
			return err
		}
		next = n
		out, err = loadAll[T](tx, records, ids)
		return err
	})
	return out, next, err
}

// listAccount lists every record of an account through its index, oldest
// first or newest first; ties keep id order, as the schema-3 lists did.
func listAccount[T any](s *Store, index, records []byte, accountID string, created func(*T) time.Time, newestFirst bool) ([]T, error) {
	var out []T
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		out, err = loadAll[T](tx, records, allIDs(tx, index, lp(nil, accountID)))
		return err
	})
	if newestFirst {
		slices.SortStableFunc(out, func(a, b T) int { return created(&b).Compare(created(&a)) })
	}
	return out, err
}

// listAll decodes every record of a bucket (every account's: an operator's
// listing) and orders them by creation time.
func listAll[T any](s *Store, bucket []byte, created func(*T) time.Time, newestFirst bool) ([]T, error) {
	var out []T
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(k, v []byte) error {
			var rec T
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("%w: record %q does not decode: %v", ErrCorrupt, k, err)
			}
			out = append(out, rec)
			return nil
		})
	})
	slices.SortStableFunc(out, func(a, b T) int {
		c := created(&a).Compare(created(&b))
		if newestFirst {
			return -c
		}
		return c
	})
	return out, err
}

// putRecordIndex and delRecordIndex keep a per-account creation index.
func putRecordIndex(tx *bolt.Tx, bucket []byte, accountID string, created time.Time, id string) error {
	return tx.Bucket(bucket).Put(recordKey(accountID, created, id), nil)
}

func delRecordIndex(tx *bolt.Tx, bucket []byte, accountID string, created time.Time, id string) error {
	return tx.Bucket(bucket).Delete(recordKey(accountID, created, id))
}

// timeIDKey is t(at) id: the key of the time-ordered pruning indexes.
func timeIDKey(at time.Time, id []byte) []byte {
	return append(binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(id)), uint64(nanos(at))), id...)
}
