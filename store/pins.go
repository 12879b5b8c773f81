package store

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Pin statuses, as the Pinning Service API names them.
const (
	StatusQueued  = "queued"
	StatusPinning = "pinning"
	StatusPinned  = "pinned"
	StatusFailed  = "failed"
)

// statusCodes are the statuses' one-byte codes in index keys.
var statusCodes = map[string]byte{StatusQueued: 1, StatusPinning: 2, StatusPinned: 3, StatusFailed: 4}

// allStatuses are the codes of every status, for a query that does not
// filter by status.
var allStatuses = []byte{1, 2, 3, 4}

func statusCode(s string) (byte, error) {
	if c, ok := statusCodes[s]; ok {
		return c, nil
	}
	return 0, fmt.Errorf("%w: unknown pin status %q", ErrInvalid, s)
}

// Pin is one pin request: an upload or a pin-by-CID. Several pins may name
// the same CID (within or across accounts); the CID stays until the last of
// them is deleted.
type Pin struct {
	ID           string            `json:"id"`
	AccountID    string            `json:"accountId"`
	KeyID        string            `json:"keyId"`                  // API key the credential descends from
	CredentialID string            `json:"credentialId,omitempty"` // key, token or JWT id that made the request
	Prefix       string            `json:"prefix,omitempty"`       // display prefix of that credential
	CID          string            `json:"cid"`
	Name         string            `json:"name,omitempty"`
	Description  string            `json:"description,omitempty"`
	Metadata     map[string]string `json:"metadata,omitempty"`
	MimeType     string            `json:"mimeType,omitempty"`
	Size         int64             `json:"size"`    // bytes of the uploaded file(s)
	DagSize      int64             `json:"dagSize"` // bytes of every block of the DAG
	Status       string            `json:"status"`
	Origins      []string          `json:"origins,omitempty"`
	Reason       string            `json:"reason,omitempty"` // why a pin failed
	Created      time.Time         `json:"created"`
	Updated      time.Time         `json:"updated,omitzero"`
	Files        int64             `json:"files,omitempty"` // files the upload held; 0 when not known (a pin by CID)

	// JoinGroups, on a pin being added (AddPins, AddQueuedPin, ImportPins),
	// are groups of its account that it joins in the same transaction; a
	// group that does not exist fails the write with ErrNotFound. It is not
	// part of the record: memberships live in their own buckets (groups.go,
	// PinGroups).
	JoinGroups []string `json:"-"`
}

func (p *Pin) clone() Pin {
	c := *p
	c.Metadata = maps.Clone(p.Metadata)
	c.Origins = slices.Clone(p.Origins)
	c.JoinGroups = slices.Clone(p.JoinGroups)
	return c
}

// TokenUse is an upload token's use, committed with the pin records it
// produced so the use count and the pins can never disagree.
type TokenUse struct {
	TokenID string
	Bytes   int64
}

// AddPins records pins in one durable transaction, with the token use (if
// any) that produced them. IDs and unique creation times are assigned here.
// The account's quota is checked in the same transaction, so parallel
// uploads cannot pass it: a refusal is a *LimitError (LimitPins,
// LimitStorage) and writes nothing. Concurrent callers share fsyncs through
// bbolt's Batch.
func (s *Store) AddPins(pins []Pin, use *TokenUse) ([]Pin, error) {
	out, err := s.addPins(pins, use, nil)
	if err != nil {
		return nil, err
	}
	if use != nil {
		s.res.finish(use.TokenID, true, use.Bytes)
	}
	return out, nil
}

// addPins is AddPins without ending the reservation in memory; also, when
// set, in the same transaction, once the pins have their ids (a resumable
// upload's completion).
func (s *Store) addPins(pins []Pin, use *TokenUse, also func(w *wtx, out []Pin) error) ([]Pin, error) {
	out := make([]Pin, len(pins))
	err := s.batchWrite(func(tx *wtx) error {
		// Batch may run fn again after a sibling failed; start from the input.
		copy(out, pins)
		for i := range out {
			p := &out[i]
			p.Created = s.nextCreated(tx.Tx)
			p.ID = newPinID(tx.Bucket(bucketPins), p.Created)
			if p.Status == "" {
				p.Status = StatusPinned
			}
			if _, err := statusCode(p.Status); err != nil {
				return err
			}
		}
		if also != nil {
			if err := also(tx, out); err != nil {
				return err
			}
		}
		if err := s.checkPinQuota(tx, out); err != nil {
			return err
		}
		if use != nil {
			if err := s.completeUse(tx.Tx, *use); err != nil {
				return err
			}
		}
		for i := range out {
			if err := s.insertPin(tx, &out[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("add pins: %w", err)
	}
	return out, nil
}

// newPinID returns "pin_" and 16 hex digits: the creation time in
// milliseconds (12 digits) and 4 random ones, retried until unique. Ids
// that grow with time make pins/ a log written at its end, whose pages
// fill to the append FillPercent instead of being split at random (the
// records are half the database, and random ids left its pages 63% full)
// and whose commit touches one leaf that the previous one touched too.
func newPinID(pins *bolt.Bucket, created time.Time) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(created.UnixMilli())<<16)
	for {
		if _, err := rand.Read(b[6:]); err != nil {
			panic(err) // crypto/rand never fails on supported platforms
		}
		id := "pin_" + hex.EncodeToString(b[:])
		if pins.Get([]byte(id)) == nil {
			return id
		}
	}
}

// nextCreated returns now, or one nanosecond after the last pin's creation
// time when the clock has not moved, so `created` is unique and usable as a
// paging cursor.
func (s *Store) nextCreated(tx *bolt.Tx) time.Time {
	return s.reserveCreated(tx, s.now().UTC().UnixNano())
}

// reserveCreated returns at, or the first nanosecond after the last
// creation time handed out, and records it as the last.
func (s *Store) reserveCreated(tx *bolt.Tx, at int64) time.Time {
	meta := tx.Bucket(bucketMeta)
	if v := meta.Get(keyLastCreated); len(v) == 8 {
		if last := int64(binary.BigEndian.Uint64(v)); at <= last {
			at = last + 1
		}
	}
	meta.Put(keyLastCreated, u64(uint64(at)))
	return time.Unix(0, at).UTC()
}

// insertPin writes a new pin record with its indexes and counters.
func (s *Store) insertPin(tx *wtx, p *Pin) error {
	if err := putJSON(tx.Bucket(bucketPins), []byte(p.ID), p); err != nil {
		return err
	}
	return s.applyPin(tx, nil, p)
}

// Pin returns one of an account's pins by id (any account's when
// accountID is empty).
func (s *Store) Pin(accountID, id string) (Pin, error) {
	var p Pin
	err := s.view(func(tx *bolt.Tx) error {
		if err := getJSON(tx.Bucket(bucketPins), []byte(id), &p); err != nil {
			return err
		}
		if accountID != "" && p.AccountID != accountID {
			return ErrNotFound
		}
		return nil
	})
	if err != nil {
		return Pin{}, fmt.Errorf("pin %s: %w", id, err)
	}
	return p, nil
}

// PinsByCID returns an account's pins of one CID, oldest first.
func (s *Store) PinsByCID(accountID, cid string) ([]Pin, error) {
	var out []Pin
	err := s.view(func(tx *bolt.Tx) error {
		groups := make([]scanGroup, len(allStatuses))
		for i, st := range allStatuses {
			groups[i] = scanGroup{group: fieldGroup(accountID, cid, st), st: st}
		}
		ids := mergeScan(tx, idxCID, groups, 0, maxNanos, true, func(entry) bool { return true }, 0, 0)
		var err error
		out, err = loadPins(tx, ids)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pins by cid: %w", err)
	}
	return out, nil
}

func loadPins(tx *bolt.Tx, ids []string) ([]Pin, error) {
	pins := tx.Bucket(bucketPins)
	out := make([]Pin, len(ids))
	for i, id := range ids {
		if err := getJSON(pins, []byte(id), &out[i]); err != nil {
			if err == ErrNotFound {
				return nil, fmt.Errorf("%w: index names pin %s, which has no record", ErrCorrupt, id)
			}
			return nil, err
		}
	}
	return out, nil
}

// DeletePin removes one of an account's pins and drops its CID reference.
func (s *Store) DeletePin(accountID, id string) (Pin, error) {
	var p Pin
	err := s.write(func(tx *wtx) error {
		pins := tx.Bucket(bucketPins)
		if err := getJSON(pins, []byte(id), &p); err != nil {
			return err
		}
		if accountID != "" && p.AccountID != accountID {
			return ErrNotFound
		}
		if err := pins.Delete([]byte(id)); err != nil {
			return err
		}
		return s.applyPin(tx, &p, nil)
	})
	if err != nil {
		return Pin{}, fmt.Errorf("delete pin %s: %w", id, err)
	}
	return p, nil
}

// UpdatePin edits one of an account's pins (any account's when accountID
// is empty) in one transaction: fn changes the name, description,
// metadata or any other field but the pin's identity (id, account, CID,
// created), and every index and counter follows. The status may change
// too (UpdateQueuedPin is the pin fetcher's way). ErrNotFound means the
// pin does not exist (or was deleted meanwhile).
func (s *Store) UpdatePin(accountID, id string, fn func(*Pin) error) (Pin, error) {
	p, err := s.updatePin(accountID, id, fn)
	if err != nil {
		return Pin{}, fmt.Errorf("update pin %s: %w", id, err)
	}
	return p, nil
}

func (s *Store) updatePin(accountID, id string, fn func(*Pin) error) (Pin, error) {
	var p Pin
	err := s.write(func(tx *wtx) error {
		if err := getJSON(tx.Bucket(bucketPins), []byte(id), &p); err != nil {
			return err
		}
		if accountID != "" && p.AccountID != accountID {
			return ErrNotFound
		}
		before := p.clone()
		if err := fn(&p); err != nil {
			return err
		}
		if p.ID != before.ID || p.AccountID != before.AccountID || p.CID != before.CID || !p.Created.Equal(before.Created) {
			return fmt.Errorf("%w: a pin's id, account, cid and created time cannot change", ErrInvalid)
		}
		if _, err := statusCode(p.Status); err != nil {
			return err
		}
		p.Updated = s.now().UTC()
		if err := putJSON(tx.Bucket(bucketPins), []byte(p.ID), &p); err != nil {
			return err
		}
		return s.applyPin(tx, &before, &p)
	})
	return p, err
}

// LiveCIDs calls fn with every CID that at least one pin record references,
// whatever its status, as the reference index has them. LiveRoots is the
// checked root set for garbage collection.
func (s *Store) LiveCIDs(fn func(cid string) error) error {
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketCIDRefs).ForEach(func(k, _ []byte) error { return fn(string(k)) })
	})
	if err != nil {
		return fmt.Errorf("live cids: %w", err)
	}
	return nil
}

// RefCount returns how many pin records reference cid across all accounts.
func (s *Store) RefCount(cid string) (int64, error) {
	var n int64
	err := s.view(func(tx *bolt.Tx) error {
		r, err := readCID(tx, cid)
		n = r.refs
		return err
	})
	return n, err
}

// addRef changes the number of pin records that name cid.
func addRef(tx *bolt.Tx, cid string, delta int64) error {
	r, err := readCID(tx, cid)
	if err != nil {
		return err
	}
	r.refs += delta
	return writeCID(tx, cid, r)
}
