package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Usage is what an account holds, from counters written with every pin
// change: reading it costs one key whatever the number of pins.
type Usage struct {
	Pins        int64 `json:"pins"`        // pin records of every status
	Pinned      int64 `json:"pinned"`      // pins whose status is pinned
	Queued      int64 `json:"queued"`      // pin-by-CID requests queued or pinning
	StoredBytes int64 `json:"storedBytes"` // each pinned CID's size, once per account
	// PartialBytes is what the open resumable uploads will take (their
	// Upload-Length); quotas count it as stored (tus.go).
	PartialBytes int64 `json:"partialBytes"`
}

// AccountUsage returns an account's usage; accountID "" is the whole
// server, where Pins, Pinned and Queued are summed over accounts and
// StoredBytes counts each CID once however many accounts pin it (what the
// block store holds for pinned content).
func (s *Store) AccountUsage(accountID string) (Usage, error) {
	var u Usage
	err := s.view(func(tx *bolt.Tx) error {
		if accountID != "" && tx.Bucket(bucketAccounts).Get([]byte(accountID)) == nil {
			return fmt.Errorf("account %q: %w", accountID, ErrNotFound)
		}
		u = readUsage(tx, accountID)
		u.PartialBytes = readPartial(tx, accountID)
		return nil
	})
	if err != nil {
		return Usage{}, fmt.Errorf("account usage: %w", err)
	}
	return u, nil
}

func usageKey(accountID string) []byte { return lp(nil, accountID) }

func readUsage(tx *bolt.Tx, accountID string) Usage {
	return decodeUsage(tx.Bucket(bucketUsage).Get(usageKey(accountID)))
}

func decodeUsage(v []byte) Usage {
	var u Usage
	if len(v) == 32 {
		u.Pins = int64(binary.BigEndian.Uint64(v))
		u.Pinned = int64(binary.BigEndian.Uint64(v[8:]))
		u.Queued = int64(binary.BigEndian.Uint64(v[16:]))
		u.StoredBytes = int64(binary.BigEndian.Uint64(v[24:]))
	}
	return u
}

// usageOf reads an account's usage in a pin write, through its cache.
func usageOf(w *wtx, accountID string) Usage {
	return decodeUsage(w.cache(bucketUsage).get(usageKey(accountID)))
}

func putUsage(w *wtx, accountID string, u Usage) {
	v := make([]byte, 0, 32)
	for _, n := range []int64{u.Pins, u.Pinned, u.Queued, u.StoredBytes} {
		v = binary.BigEndian.AppendUint64(v, uint64(n))
	}
	w.cache(bucketUsage).put(usageKey(accountID), v)
}

// usageDelta is the change one pin write makes to the status counters.
type usageDelta struct{ pins, pinned, queued int64 }

func (d *usageDelta) add(p *Pin, sign int64) {
	d.pins += sign
	switch p.Status {
	case StatusPinned:
		d.pinned += sign
	case StatusQueued, StatusPinning:
		d.queued += sign
	}
}

// write applies the delta to the account and to the server's totals.
func (d usageDelta) write(w *wtx, accountID string) {
	if d == (usageDelta{}) {
		return
	}
	for _, a := range []string{accountID, ""} {
		u := usageOf(w, a)
		u.Pins += d.pins
		u.Pinned += d.pinned
		u.Queued += d.queued
		putUsage(w, a, u)
	}
}

func addStored(w *wtx, accountID string, n int64) {
	u := usageOf(w, accountID)
	u.StoredBytes += n
	putUsage(w, accountID, u)
}

// Quota is an account's limits. In an override, 0 means "use the
// default" and -1 "unlimited"; in an effective quota every field is a
// limit, or -1 for none.
type Quota struct {
	MaxStoredBytes int64 `json:"maxStoredBytes,omitempty"` // each CID once, as Usage.StoredBytes
	MaxPins        int64 `json:"maxPins,omitempty"`        // pin records of every status
	MaxQueued      int64 `json:"maxQueued,omitempty"`      // pin-by-CID requests queued or pinning
	// MaxFetchBytes bounds what one pin-by-CID fetch may pull; the store
	// only keeps it, the fetcher enforces it.
	MaxFetchBytes int64 `json:"maxFetchBytes,omitempty"`
}

// SetQuota stores an account's override (the zero Quota removes it).
func (s *Store) SetQuota(accountID string, q Quota) error {
	for _, v := range []int64{q.MaxStoredBytes, q.MaxPins, q.MaxQueued, q.MaxFetchBytes} {
		if v < -1 {
			return fmt.Errorf("set quota: %w: %d is neither a limit, 0 (default) nor -1 (unlimited)", ErrInvalid, v)
		}
	}
	err := s.update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketAccounts).Get([]byte(accountID)) == nil {
			return fmt.Errorf("account %q: %w", accountID, ErrNotFound)
		}
		b := tx.Bucket(bucketQuotas)
		if q == (Quota{}) {
			return b.Delete(usageKey(accountID))
		}
		return putJSON(b, usageKey(accountID), q)
	})
	if err != nil {
		return fmt.Errorf("set quota: %w", err)
	}
	return nil
}

// Quota returns an account's effective quota and its override.
func (s *Store) Quota(accountID string) (effective, override Quota, err error) {
	err = s.view(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketAccounts).Get([]byte(accountID)) == nil {
			return fmt.Errorf("account %q: %w", accountID, ErrNotFound)
		}
		if override, err = readQuota(tx, accountID); err != nil {
			return err
		}
		effective = s.resolveQuota(override)
		return nil
	})
	if err != nil {
		return Quota{}, Quota{}, fmt.Errorf("quota: %w", err)
	}
	return effective, override, nil
}

func readQuota(tx *bolt.Tx, accountID string) (Quota, error) {
	var q Quota
	raw := tx.Bucket(bucketQuotas).Get(usageKey(accountID))
	if raw == nil {
		return q, nil
	}
	if err := json.Unmarshal(raw, &q); err != nil {
		return q, fmt.Errorf("%w: quota of %s does not decode: %v", ErrCorrupt, accountID, err)
	}
	return q, nil
}

func (s *Store) effectiveQuota(tx *bolt.Tx, accountID string) (Quota, error) {
	o, err := readQuota(tx, accountID)
	if err != nil {
		return Quota{}, err
	}
	return s.resolveQuota(o), nil
}

// resolveQuota applies the default to an override's zero fields.
func (s *Store) resolveQuota(o Quota) Quota {
	d := s.opts.DefaultQuota
	pick := func(over, def int64) int64 {
		switch {
		case over != 0:
			return over
		case def > 0:
			return def
		}
		return -1
	}
	return Quota{
		MaxStoredBytes: pick(o.MaxStoredBytes, d.MaxStoredBytes),
		MaxPins:        pick(o.MaxPins, d.MaxPins),
		MaxQueued:      pick(o.MaxQueued, d.MaxQueued),
		MaxFetchBytes:  pick(o.MaxFetchBytes, d.MaxFetchBytes),
	}
}
