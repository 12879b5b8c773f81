package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
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
}

// TokenUse is an upload token's use, committed with the pin records it
// produced so the use count and the pins can never disagree.
type TokenUse struct {
	TokenID string
	Bytes   int64
}

// AddPins records pins in one durable transaction, with the token use (if
// any) that produced them. IDs and unique creation times are assigned here.
// Concurrent callers share fsyncs through bbolt's Batch.
func (s *Store) AddPins(pins []Pin, use *TokenUse) ([]Pin, error) {
	out := make([]Pin, len(pins))
	err := s.db.Batch(func(tx *bolt.Tx) error {
		// Batch may run fn again after a sibling failed; start from the input.
		copy(out, pins)
		if use != nil {
			if err := s.completeUse(tx, *use); err != nil {
				return err
			}
		}
		for i := range out {
			p := &out[i]
			p.ID = newID("pin_")
			p.Created = s.nextCreated(tx)
			if p.Status == "" {
				p.Status = StatusPinned
			}
			if err := s.putPin(tx, p, true); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("add pins: %w", err)
	}
	if use != nil {
		s.res.finish(use.TokenID, true, use.Bytes)
	}
	return out, nil
}

// nextCreated returns now, or one nanosecond after the last pin's creation
// time when the clock has not moved, so `created` is unique and usable as a
// paging cursor.
func (s *Store) nextCreated(tx *bolt.Tx) time.Time {
	meta := tx.Bucket(bucketMeta)
	now := s.now().UTC().UnixNano()
	if v := meta.Get(keyLastCreated); v != nil {
		if last := int64(binary.BigEndian.Uint64(v)); now <= last {
			now = last + 1
		}
	}
	meta.Put(keyLastCreated, u64(uint64(now)))
	return time.Unix(0, now).UTC()
}

func acctKey(accountID string, created time.Time, id string) []byte {
	k := make([]byte, 0, len(accountID)+1+8+len(id))
	k = append(k, accountID...)
	k = append(k, 0)
	k = binary.BigEndian.AppendUint64(k, uint64(created.UnixNano()))
	return append(k, id...)
}

func cidKey(accountID, cid, id string) []byte {
	return []byte(accountID + "\x00" + cid + "\x00" + id)
}

// putPin writes p and, when isNew, its indexes and the CID's reference count.
func (s *Store) putPin(tx *bolt.Tx, p *Pin, isNew bool) error {
	if err := putJSON(tx.Bucket(bucketPins), []byte(p.ID), p); err != nil {
		return err
	}
	if !isNew {
		return nil
	}
	if err := tx.Bucket(bucketPinsByAcct).Put(acctKey(p.AccountID, p.Created, p.ID), nil); err != nil {
		return err
	}
	if err := tx.Bucket(bucketPinsByCID).Put(cidKey(p.AccountID, p.CID, p.ID), nil); err != nil {
		return err
	}
	return addRef(tx, p.CID, 1)
}

func addRef(tx *bolt.Tx, cid string, delta int64) error {
	b := tx.Bucket(bucketCIDRefs)
	var n int64
	if v := b.Get([]byte(cid)); v != nil {
		n = int64(binary.BigEndian.Uint64(v))
	}
	n += delta
	if n <= 0 {
		return b.Delete([]byte(cid))
	}
	return b.Put([]byte(cid), u64(uint64(n)))
}

// Pin returns one of an account's pins by id.
func (s *Store) Pin(accountID, id string) (Pin, error) {
	var p Pin
	err := s.db.View(func(tx *bolt.Tx) error {
		if err := getJSON(tx.Bucket(bucketPins), []byte(id), &p); err != nil {
			return err
		}
		if accountID != "" && p.AccountID != accountID {
			return ErrNotFound
		}
		return nil
	})
	return p, err
}

// PinsByCID returns an account's pins of one CID, oldest first.
func (s *Store) PinsByCID(accountID, cid string) ([]Pin, error) {
	var out []Pin
	err := s.db.View(func(tx *bolt.Tx) error {
		prefix := []byte(accountID + "\x00" + cid + "\x00")
		c := tx.Bucket(bucketPinsByCID).Cursor()
		pins := tx.Bucket(bucketPins)
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			var p Pin
			if err := getJSON(pins, k[len(prefix):], &p); err != nil {
				return err
			}
			out = append(out, p)
		}
		return nil
	})
	sortByCreated(out, func(p *Pin) time.Time { return p.Created }, false)
	return out, err
}

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
}

func (f PinFilter) match(p *Pin) bool {
	if len(f.CIDs) > 0 && !contains(f.CIDs, p.CID) {
		return false
	}
	if len(f.Status) > 0 && !contains(f.Status, p.Status) {
		return false
	}
	if !f.After.IsZero() && !p.Created.After(f.After) {
		return false
	}
	if f.Name != "" {
		switch f.Match {
		case "iexact":
			if !strings.EqualFold(p.Name, f.Name) {
				return false
			}
		case "partial":
			if !strings.Contains(p.Name, f.Name) {
				return false
			}
		case "ipartial":
			if !strings.Contains(strings.ToLower(p.Name), strings.ToLower(f.Name)) {
				return false
			}
		default:
			if p.Name != f.Name {
				return false
			}
		}
	}
	for k, v := range f.Meta {
		if p.Metadata[k] != v {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ListPins returns an account's pins matching f, newest first, and the total
// number that match (ignoring Limit).
func (s *Store) ListPins(accountID string, f PinFilter) ([]Pin, int, error) {
	var out []Pin
	total := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		prefix := []byte(accountID + "\x00")
		c := tx.Bucket(bucketPinsByAcct).Cursor()
		pins := tx.Bucket(bucketPins)
		// Walk newest first: seek just past the newest possible key, or to
		// the Before cursor, and step back.
		var seek []byte
		if f.Before.IsZero() {
			seek = append(append([]byte{}, prefix...), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
		} else {
			seek = binary.BigEndian.AppendUint64(append([]byte{}, prefix...), uint64(f.Before.UnixNano()))
		}
		k, _ := c.Seek(seek)
		if k == nil {
			k, _ = c.Last()
		} else {
			k, _ = c.Prev()
		}
		for ; k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Prev() {
			if len(k) < len(prefix)+8 {
				continue
			}
			created := int64(binary.BigEndian.Uint64(k[len(prefix):]))
			if !f.Before.IsZero() && created >= f.Before.UnixNano() {
				continue
			}
			if !f.After.IsZero() && created <= f.After.UnixNano() {
				break
			}
			var p Pin
			if err := getJSON(pins, k[len(prefix)+8:], &p); err != nil {
				return err
			}
			if !f.match(&p) {
				continue
			}
			total++
			if f.Limit == 0 || len(out) < f.Limit {
				out = append(out, p)
			}
		}
		return nil
	})
	return out, total, err
}

// DeletePin removes one of an account's pins and drops its CID reference.
func (s *Store) DeletePin(accountID, id string) (Pin, error) {
	var p Pin
	err := s.db.Update(func(tx *bolt.Tx) error {
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
		if err := tx.Bucket(bucketPinsByAcct).Delete(acctKey(p.AccountID, p.Created, p.ID)); err != nil {
			return err
		}
		if err := tx.Bucket(bucketPinsByCID).Delete(cidKey(p.AccountID, p.CID, p.ID)); err != nil {
			return err
		}
		return addRef(tx, p.CID, -1)
	})
	if err != nil {
		return Pin{}, fmt.Errorf("delete pin %s: %w", id, err)
	}
	return p, nil
}

// LiveCIDs calls fn with every CID that at least one pin record references,
// whatever its status. It is the root set for garbage collection.
func (s *Store) LiveCIDs(fn func(cid string) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketCIDRefs).ForEach(func(k, _ []byte) error { return fn(string(k)) })
	})
}

// RefCount returns how many pin records reference cid across all accounts.
func (s *Store) RefCount(cid string) (int64, error) {
	var n int64
	err := s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketCIDRefs).Get([]byte(cid)); v != nil {
			n = int64(binary.BigEndian.Uint64(v))
		}
		return nil
	})
	return n, err
}
