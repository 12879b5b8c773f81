package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// importChunk is how many pins one ImportPins transaction writes: large
// enough that the fsync per commit is amortised, small enough that a
// transaction's dirty pages (and the free pages its commit leaves, which
// every later commit writes out in the freelist) stay a few megabytes.
const importChunk = 2000

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
		err := s.update(func(tx *bolt.Tx) error {
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

func (s *Store) importPin(tx *bolt.Tx, p *Pin) error {
	if p.ID == "" {
		p.ID = newID("pin_")
	} else if tx.Bucket(bucketPins).Get([]byte(p.ID)) != nil {
		return fmt.Errorf("%w: pin %s exists", ErrConflict, p.ID)
	}
	if p.Status == "" {
		p.Status = StatusPinned
	}
	if p.Created.IsZero() {
		p.Created = s.nextCreated(tx)
	} else {
		p.Created = uniqueCreated(tx, p.AccountID, p.Created.UTC())
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
	group := acctGroup(accountID)
	c := tx.Bucket(bucketPinsByAcct).Cursor()
	t := nanos(at)
	for {
		prefix := binary.BigEndian.AppendUint64(bytes.Clone(group), uint64(t))
		if k, _ := c.Seek(prefix); k == nil || !bytes.HasPrefix(k, prefix) {
			break
		}
		t++
	}
	meta := tx.Bucket(bucketMeta)
	if last := int64(getU64(meta, keyLastCreated)); t > last {
		meta.Put(keyLastCreated, u64(uint64(t)))
	}
	return time.Unix(0, t).UTC()
}
