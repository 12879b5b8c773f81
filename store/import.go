package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// importChunk is how many pins one ImportPins transaction writes. A pin
// lands on a different leaf of the random-keyed indexes (CIDs, names), so
// a transaction dirties about 8 pages a pin at 1M pins, and the pages it
// frees stay in the freelist, which bbolt writes out on every later
// commit until the file has grown past them: after importing 1M pins in
// transactions of 1000, 8,000 free pages were 16 of the 46 pages each
// one-pin upload commit wrote. Measured adding 40,000 pins to 1M (CPU per
// pin, two runs): 250 a transaction 168-174 µs, 500 134-154 µs, 1000
// 122-141 µs. 500 halves the pages left behind for a tenth more time.
const importChunk = 500

// ImportPins writes pins in bulk, importChunk per transaction, with every
// index and counter, for bulk loads (benchmarks, other packages' fixtures)
// and restores. A pin keeps its ID and Created time when it has them (a
// Created time already taken in the account moves on by a nanosecond, so
// paging cursors stay unique); an empty Status is pinned. The IDs and
// times assigned are written back into pins. Quotas are not checked: the
// operator is restoring, not a client uploading. A failure leaves the
// chunks before it written.
func (s *Store) ImportPins(pins []Pin) error {
	for start := 0; start < len(pins); start += importChunk {
		chunk := pins[start:min(start+importChunk, len(pins))]
		err := s.write(func(tx *wtx) error {
			for i := range chunk {
				if err := s.importPin(tx, &chunk[i]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("import pins: %w", err)
		}
	}
	return nil
}

func (s *Store) importPin(tx *wtx, p *Pin) error {
	if p.ID != "" && tx.Bucket(bucketPins).Get([]byte(p.ID)) != nil {
		return fmt.Errorf("%w: pin %s exists", ErrConflict, p.ID)
	}
	if p.Status == "" {
		p.Status = StatusPinned
	}
	if p.Created.IsZero() {
		p.Created = s.nextCreated(tx.Tx)
	} else {
		p.Created = uniqueCreated(tx.Tx, p.AccountID, p.Created.UTC())
	}
	if p.ID == "" {
		p.ID = newPinID(tx.Bucket(bucketPins), p.Created)
	}
	if err := validatePin(p); err != nil {
		return err
	}
	return s.insertPin(tx, p)
}

// uniqueCreated returns at, or the first nanosecond after it that no pin
// of the account was created at, and keeps the store's last creation time
// at least that late.
func uniqueCreated(tx *bolt.Tx, accountID string, at time.Time) time.Time {
	c := tx.Bucket(bucketPinsByStat).Cursor()
	taken := func(t int64) bool {
		for _, st := range allStatuses {
			prefix := binary.BigEndian.AppendUint64(statusGroup(accountID, st), uint64(t))
			if k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) {
				return true
			}
		}
		return false
	}
	t := nanos(at)
	for taken(t) {
		t++
	}
	meta := tx.Bucket(bucketMeta)
	if last := int64(getU64(meta, keyLastCreated)); t > last {
		meta.Put(keyLastCreated, u64(uint64(t)))
	}
	return time.Unix(0, t).UTC()
}
