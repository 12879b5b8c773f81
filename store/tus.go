package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Resumable (tus) uploads. Unlike a single-request upload, whose token use
// is reserved in memory (an upload cut short by a crash was never
// acknowledged), a resumable upload lives across requests and restarts, so
// its reservation is a record: the token's use stays reserved for as long
// as the record is open, and is released when it is deleted (termination,
// expiry) or counted when it completes (in the commit of its pin).
//
//	tusuploads/  id -> TusUpload (JSON)
//	tusexpiry/   t(expiresAt) id -> nil              (the sweeper's order)
//	tusbytoken/  lp(tokenID) id -> int64 length      (open uploads holding a use of the token)
//	tususage/    lp(account) -> int64 bytes           (Upload-Length of the account's open uploads; lp("") the server's)
var (
	bucketTusUploads = []byte("tusuploads")
	bucketTusExpiry  = []byte("tusexpiry")
	bucketTusByToken = []byte("tusbytoken")
	bucketTusUsage   = []byte("tususage")
)

// createTusBuckets is the migration that adds the resumable uploads'
// buckets; it touches nothing else, so it can run in any order with the
// other migrations appended after schema 4.
func createTusBuckets(tx *bolt.Tx) error {
	return createBuckets(tx, bucketTusUploads, bucketTusExpiry, bucketTusByToken, bucketTusUsage)
}

// TusUpload is a resumable upload's record. The bytes live in a file the
// domain keeps; the record holds what the upload was created with, and,
// once it is pinned, its CID.
type TusUpload struct {
	ID           string `json:"id"`
	AccountID    string `json:"accountId"`
	KeyID        string `json:"keyId"`        // API key the credential descends from
	CredentialID string `json:"credentialId"` // the only credential that may continue it
	// TokenID is the upload token whose use the upload holds ("" for
	// other credentials).
	TokenID string `json:"tokenId,omitempty"`
	Length  int64  `json:"length"`
	// Metadata is the client's Upload-Metadata, decoded, as sent (echoed
	// by HEAD); the fields below are what the domain read from it.
	Metadata    map[string]string `json:"metadata,omitempty"`
	Name        string            `json:"name,omitempty"`
	Description string            `json:"description,omitempty"`
	PinMetadata map[string]string `json:"pinMetadata,omitempty"`
	Type        string            `json:"type,omitempty"` // the declared media type
	CIDVersion  *int              `json:"cidVersion,omitempty"`
	CAR         bool              `json:"car,omitempty"` // the bytes are a CAR to import
	Created     time.Time         `json:"created"`
	// ExpiresAt is when an incomplete upload is deleted, and when a
	// completed one's record (kept so a client that lost the final response
	// can still learn its CID) goes.
	ExpiresAt time.Time `json:"expiresAt"`
	Completed time.Time `json:"completed,omitzero"`
	CID       string    `json:"cid,omitempty"`
	PinID     string    `json:"pinId,omitempty"`
}

// Open reports whether the upload is still receiving bytes (not pinned).
func (u TusUpload) Open() bool { return u.Completed.IsZero() }

// CreateTusUpload records a new resumable upload, assigning its ID and
// creation time. An upload token's upload must hold a reservation from
// Reserve, which becomes the record's (durable) one; the caller releases it
// with Release if this fails. In the same transaction the account's quota
// is checked with the upload's length counted as stored (LimitStorage), a
// pin more (LimitPins), and the token's total bytes with its other open
// uploads' lengths counted (LimitTokenBytes).
func (s *Store) CreateTusUpload(u TusUpload) (TusUpload, error) {
	u.ID = newID("tus_")
	u.Created = s.now().UTC()
	err := s.write(func(w *wtx) error {
		if err := s.checkTusQuota(w, u); err != nil {
			return err
		}
		if err := putJSON(w.Bucket(bucketTusUploads), []byte(u.ID), u); err != nil {
			return err
		}
		if err := w.Bucket(bucketTusExpiry).Put(timeIDKey(u.ExpiresAt, []byte(u.ID)), nil); err != nil {
			return err
		}
		if u.TokenID != "" {
			if err := w.Bucket(bucketTusByToken).Put(tusTokenKey(u.TokenID, u.ID), u64(uint64(u.Length))); err != nil {
				return err
			}
		}
		addPartial(w, u.AccountID, u.Length)
		return nil
	})
	if err != nil {
		return TusUpload{}, fmt.Errorf("create tus upload: %w", err)
	}
	if u.TokenID != "" {
		s.res.persist(u.TokenID)
	}
	return u, nil
}

func (s *Store) checkTusQuota(w *wtx, u TusUpload) error {
	q, err := s.effectiveQuota(w.Tx, u.AccountID)
	if err != nil {
		return err
	}
	us := usageOf(w, u.AccountID)
	partial := partialOf(w, u.AccountID)
	if q.MaxStoredBytes >= 0 && us.StoredBytes+partial+u.Length > q.MaxStoredBytes {
		return &LimitError{Limit: LimitStorage, Max: q.MaxStoredBytes, Used: us.StoredBytes + partial}
	}
	if q.MaxPins >= 0 && us.Pins+1 > q.MaxPins {
		return &LimitError{Limit: LimitPins, Max: q.MaxPins, Used: us.Pins}
	}
	if u.TokenID == "" {
		return nil
	}
	var t Token
	if err := getJSON(w.Bucket(bucketTokens), []byte(u.TokenID), &t); err != nil {
		return fmt.Errorf("token %s: %w", u.TokenID, err)
	}
	if t.MaxTotalBytes > 0 {
		_, open := tokenTusUploads(w.Tx, u.TokenID)
		if used := t.BytesUploaded + open; used+u.Length > t.MaxTotalBytes {
			return &LimitError{Limit: LimitTokenBytes, Max: t.MaxTotalBytes, Used: used}
		}
	}
	return nil
}

// TusUpload returns a resumable upload's record.
func (s *Store) TusUpload(id string) (TusUpload, error) {
	var u TusUpload
	err := s.view(func(tx *bolt.Tx) error { return getJSON(tx.Bucket(bucketTusUploads), []byte(id), &u) })
	if err != nil {
		return TusUpload{}, fmt.Errorf("tus upload %s: %w", id, err)
	}
	return u, nil
}

// DeleteTusUpload deletes a resumable upload's record: an open one's
// reservation of its token's use is released (not counted) and its length
// no longer counts as stored.
func (s *Store) DeleteTusUpload(id string) (TusUpload, error) {
	var u TusUpload
	// The token's in-memory count is loaded before the write (and stays,
	// since it counts this upload), so a load cannot see the deletion and
	// then have it subtracted again.
	if rec, err := s.TusUpload(id); err == nil && rec.Open() && rec.TokenID != "" {
		if err := s.res.load(s, rec.TokenID); err != nil {
			return TusUpload{}, fmt.Errorf("delete tus upload %s: %w", id, err)
		}
	}
	err := s.write(func(w *wtx) error {
		if err := getJSON(w.Bucket(bucketTusUploads), []byte(id), &u); err != nil {
			return err
		}
		if err := w.Bucket(bucketTusUploads).Delete([]byte(id)); err != nil {
			return err
		}
		if err := w.Bucket(bucketTusExpiry).Delete(timeIDKey(u.ExpiresAt, []byte(id))); err != nil {
			return err
		}
		return closeTus(w, u)
	})
	if err != nil {
		return TusUpload{}, fmt.Errorf("delete tus upload %s: %w", id, err)
	}
	if u.Open() && u.TokenID != "" {
		s.res.unpersist(u.TokenID, false, 0)
	}
	return u, nil
}

// closeTus ends an open upload's holds: its token's use and its length.
func closeTus(w *wtx, u TusUpload) error {
	if !u.Open() {
		return nil
	}
	if u.TokenID != "" {
		if err := w.Bucket(bucketTusByToken).Delete(tusTokenKey(u.TokenID, u.ID)); err != nil {
			return err
		}
	}
	addPartial(w, u.AccountID, -u.Length)
	return nil
}

// CompleteTusUpload records the pins a resumable upload produced (exactly
// as AddPins does, quota and token use included) and marks the upload
// completed in the same durable transaction: its reservation becomes the
// counted use, its length is no longer counted twice. An upload already
// completed is ErrConflict, so it is never pinned twice.
func (s *Store) CompleteTusUpload(id string, pins []Pin, use *TokenUse) ([]Pin, error) {
	if use != nil {
		if err := s.res.load(s, use.TokenID); err != nil {
			return nil, fmt.Errorf("complete tus upload %s: %w", id, err)
		}
	}
	out, err := s.addPins(pins, use, func(w *wtx, out []Pin) error {
		var u TusUpload
		b := w.Bucket(bucketTusUploads)
		if err := getJSON(b, []byte(id), &u); err != nil {
			return fmt.Errorf("tus upload %s: %w", id, err)
		}
		if !u.Open() {
			return fmt.Errorf("%w: tus upload %s is already complete", ErrConflict, id)
		}
		if err := closeTus(w, u); err != nil {
			return err
		}
		u.Completed, u.CID, u.PinID = s.now().UTC(), out[0].CID, out[0].ID
		return putJSON(b, []byte(id), u)
	})
	if err != nil {
		return nil, fmt.Errorf("complete tus upload %s: %w", id, err)
	}
	if use != nil {
		s.res.unpersist(use.TokenID, true, use.Bytes)
	}
	return out, nil
}

// ExpiredTusUploads returns up to limit uploads whose ExpiresAt is before
// t, soonest first.
func (s *Store) ExpiredTusUploads(t time.Time, limit int) ([]TusUpload, error) {
	var out []TusUpload
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketTusExpiry).Cursor()
		b := tx.Bucket(bucketTusUploads)
		for k, _ := c.First(); k != nil && len(out) < limit && leadingTime(bucketTusExpiry, k) < nanos(t); k, _ = c.Next() {
			var u TusUpload
			if err := getJSON(b, k[8:], &u); err != nil {
				return fmt.Errorf("expired tus upload %s: %w", k[8:], err)
			}
			out = append(out, u)
		}
		return nil
	})
	return out, err
}

func tusTokenKey(tokenID, id string) []byte { return append(lp(nil, tokenID), id...) }

// tokenTusUploads counts a token's open resumable uploads and sums their
// lengths.
func tokenTusUploads(tx *bolt.Tx, tokenID string) (n, bytesOpen int64) {
	prefix := lp(nil, tokenID)
	c := tx.Bucket(bucketTusByToken).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		n++
		if len(v) == 8 {
			bytesOpen += int64(binary.BigEndian.Uint64(v))
		}
	}
	return n, bytesOpen
}

// partialOf is the bytes an account's open resumable uploads will take
// (their Upload-Length), read through a pin write's cache.
func partialOf(w *wtx, accountID string) int64 {
	return int64(w.cache(bucketTusUsage).getU64(usageKey(accountID)))
}

func addPartial(w *wtx, accountID string, n int64) {
	for _, a := range []string{accountID, ""} {
		c := w.cache(bucketTusUsage)
		c.setU64(usageKey(a), uint64(max(int64(c.getU64(usageKey(a)))+n, 0)))
	}
}

func readPartial(tx *bolt.Tx, accountID string) int64 {
	return int64(getU64(tx.Bucket(bucketTusUsage), usageKey(accountID)))
}
