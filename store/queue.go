package store

import (
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// The pin-by-CID queue. A request is a Pin record whose status is queued or
// pinning; the pinqueue/ index (created(8, big-endian) id -> nil) lists
// them oldest first so a restart finds the unfinished ones without reading
// every pin. Every pin write keeps the index (applyQueue); QueuedPins also
// skips and prunes entries a schema-3 database may have left stale.

// AddQueuedPin records a pin-by-CID request with status queued in one
// durable transaction and returns it with its id and unique creation time.
// From this commit on its CID is a live root for GC. The account's pin and
// queue quotas are checked in the same transaction (a *LimitError:
// LimitPins, LimitQueued).
func (s *Store) AddQueuedPin(p Pin) (Pin, error) {
	out := p
	err := s.batchWrite(func(tx *wtx) error {
		out = p
		out.Created = s.nextCreated(tx.Tx)
		out.ID = newPinID(tx.Bucket(bucketPins), out.Created)
		out.Status = StatusQueued
		if err := s.checkQueueQuota(tx, out.AccountID); err != nil {
			return err
		}
		return s.insertPin(tx, &out)
	})
	if err != nil {
		return Pin{}, fmt.Errorf("add queued pin: %w", err)
	}
	return out, nil
}

// UpdateQueuedPin is UpdatePin for the pin fetcher, for any account: the
// queue index follows the status, dropping the request once it is neither
// queued nor pinning. ErrNotFound means the pin was deleted meanwhile.
func (s *Store) UpdateQueuedPin(id string, fn func(*Pin) error) (Pin, error) {
	p, err := s.updatePin("", id, fn)
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
	err := s.view(func(tx *bolt.Tx) error {
		pins := tx.Bucket(bucketPins)
		return tx.Bucket(bucketPinQueue).ForEach(func(k, _ []byte) error {
			var p Pin
			err := getJSON(pins, k[8:], &p)
			if errors.Is(err, ErrNotFound) || (err == nil && !pending(p.Status)) {
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
		err = s.update(func(tx *bolt.Tx) error {
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
