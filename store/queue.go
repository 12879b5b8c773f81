package store

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// The pin-by-CID queue. A request is a Pin record whose status is queued or
// pinning; the pinqueue/ index (created(8, big-endian) id -> nil) lists
// them oldest first so a restart finds the unfinished ones without reading
// every pin. The index may hold stale entries (a pin deleted while queued):
// QueuedPins skips and prunes them, so DeletePin need not know the index.

func queueKey(p *Pin) []byte {
	k := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(p.ID)), uint64(p.Created.UnixNano()))
	return append(k, p.ID...)
}

func pending(status string) bool { return status == StatusQueued || status == StatusPinning }

// AddQueuedPin records a pin-by-CID request with status queued in one
// durable transaction and returns it with its id and unique creation time.
// From this commit on its CID is a live root for GC.
func (s *Store) AddQueuedPin(p Pin) (Pin, error) {
	out := p
	err := s.db.Batch(func(tx *bolt.Tx) error {
		out = p
		out.ID = newID("pin_")
		out.Created = s.nextCreated(tx)
		out.Status = StatusQueued
		if err := s.putPin(tx, &out, true); err != nil {
			return err
		}
		return tx.Bucket(bucketPinQueue).Put(queueKey(&out), nil)
	})
	if err != nil {
		return Pin{}, fmt.Errorf("add queued pin: %w", err)
	}
	return out, nil
}

// UpdateQueuedPin is UpdatePin for queue requests: it also keeps the queue
// index in step, dropping the request from it once its status is neither
// queued nor pinning. ErrNotFound means the pin was deleted meanwhile.
func (s *Store) UpdateQueuedPin(id string, fn func(*Pin) error) (Pin, error) {
	var p Pin
	err := s.db.Update(func(tx *bolt.Tx) error {
		if err := getJSON(tx.Bucket(bucketPins), []byte(id), &p); err != nil {
			return err
		}
		before := p
		if err := fn(&p); err != nil {
			return err
		}
		if p.ID != before.ID || p.AccountID != before.AccountID || p.CID != before.CID || !p.Created.Equal(before.Created) {
			return fmt.Errorf("identity fields changed")
		}
		p.Updated = s.now().UTC()
		if err := s.putPin(tx, &p, false); err != nil {
			return err
		}
		q := tx.Bucket(bucketPinQueue)
		if pending(p.Status) {
			return q.Put(queueKey(&p), nil)
		}
		return q.Delete(queueKey(&p))
	})
	if err != nil {
		return Pin{}, fmt.Errorf("update queued pin %s: %w", id, err)
	}
	return p, nil
}

// QueuedPins returns every request still queued or pinning, oldest first:
// what a restarted pinner must resume. Stale index entries are pruned.
func (s *Store) QueuedPins() ([]Pin, error) {
	var out []Pin
	var stale [][]byte
	err := s.db.View(func(tx *bolt.Tx) error {
		pins := tx.Bucket(bucketPins)
		return tx.Bucket(bucketPinQueue).ForEach(func(k, _ []byte) error {
			var p Pin
			err := getJSON(pins, k[8:], &p)
			if err == ErrNotFound || (err == nil && !pending(p.Status)) {
				stale = append(stale, append([]byte(nil), k...))
				return nil
			}
			if err != nil {
				return err
			}
			out = append(out, p)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("queued pins: %w", err)
	}
	if len(stale) > 0 {
		err = s.db.Update(func(tx *bolt.Tx) error {
			q := tx.Bucket(bucketPinQueue)
			for _, k := range stale {
				if err := q.Delete(k); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("prune pin queue: %w", err)
		}
	}
	return out, nil
}
