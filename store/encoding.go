package store

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Keys are built from fields, never from separators, so that no name, CID
// or metadata value can forge another key: a string field is its length as
// a uvarint followed by its bytes (lp), a time is its unix nanoseconds as 8
// big-endian bytes (so keys sort by time), and an id closes the key.

// lp appends the length-prefixed s to k.
func lp(k []byte, s string) []byte {
	k = binary.AppendUvarint(k, uint64(len(s)))
	return append(k, s...)
}

// readLP splits a length-prefixed string off the front of k.
func readLP(k []byte) (s, rest []byte, ok bool) {
	n, w := binary.Uvarint(k)
	if w <= 0 || uint64(len(k)-w) < n {
		return nil, nil, false
	}
	return k[w : w+int(n)], k[w+int(n):], true
}

func u64(v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return b[:]
}

func uint64FromBytes(v []byte) uint64 { return binary.BigEndian.Uint64(v) }

func getU64(b *bolt.Bucket, key []byte) uint64 {
	if v := b.Get(key); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

// nanos is t as unix nanoseconds clamped to [0, MaxInt64]: a zero time is
// 0, and times outside what a key can hold sort at the ends.
func nanos(t time.Time) int64 {
	if t.IsZero() || t.Before(time.Unix(0, 0)) {
		return 0
	}
	if t.After(time.Unix(0, math.MaxInt64)) {
		return math.MaxInt64
	}
	return t.UnixNano()
}

// timeKey appends an 8-byte big-endian time to k.
func timeKey(k []byte, t time.Time) []byte {
	return binary.BigEndian.AppendUint64(k, uint64(nanos(t)))
}

// dayOf is t's UTC day as days since the unix epoch.
func dayOf(t time.Time) uint32 {
	return uint32(max(nanos(t), 0) / int64(24*time.Hour))
}

func dayTime(d uint32) time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

func dayKey(k []byte, d uint32) []byte { return binary.BigEndian.AppendUint32(k, d) }

// recordKey is the per-account creation-time index key of a record:
// lp(account) created(8) id. It is also the paging cursor.
func recordKey(accountID string, created time.Time, id string) []byte {
	k := lp(make([]byte, 0, 1+len(accountID)+8+len(id)), accountID)
	return append(timeKey(k, created), id...)
}

// encodeCursor makes the opaque paging cursor for the record whose index
// key ends in tail (created and id).
func encodeCursor(tail []byte) string { return base64.RawURLEncoding.EncodeToString(tail) }

func decodeCursor(c string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) < 8 {
		return nil, fmt.Errorf("%w: bad page cursor", ErrInvalid)
	}
	return b, nil
}

func getJSON(b *bolt.Bucket, key []byte, v any) error {
	raw := b.Get(key)
	if raw == nil {
		return ErrNotFound
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%w: record %q does not decode: %v", ErrCorrupt, key, err)
	}
	return nil
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, raw)
}
