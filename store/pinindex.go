package store

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The pin indexes. Every one carries the status in its group, so a status
// filter never costs a lookup, and each has its count tree (timeindex.go),
// so a filter on one of them plus status and time bounds is counted
// exactly without a walk. The status index is also the account's index
// (all statuses are its four groups merged) and holds the pin's name, so a
// partial name is matched without reading a record.
var (
	idxStatus = timeIndex{bucket: bucketPinsByStat, tag: 's'} // value: the name
	idxCID    = timeIndex{bucket: bucketPinsByCID, tag: 'c'}
	idxName   = timeIndex{bucket: bucketPinsByName, tag: 'n'}
	idxMeta   = timeIndex{bucket: bucketPinsByMeta, tag: 'm'}
	idxMime   = timeIndex{bucket: bucketPinsByMime, tag: 't'}
	idxCred   = timeIndex{bucket: bucketPinsByCred, tag: 'k'}
)

func statusGroup(accountID string, st byte) []byte { return append(lp(nil, accountID), st) }

// fieldGroup is the group of the CID, name, MIME type and credential
// indexes: one field's value and a status.
func fieldGroup(accountID, value string, st byte) []byte {
	return append(lp(lp(nil, accountID), value), st)
}

func metaGroup(accountID, key, value string, st byte) []byte {
	return append(lp(lp(lp(nil, accountID), key), value), st)
}

type indexEntry struct {
	ix    timeIndex
	group []byte
	value []byte
}

// pinEntries lists every index entry of p.
func pinEntries(p *Pin) []indexEntry {
	st := statusCodes[p.Status]
	a := p.AccountID
	e := []indexEntry{
		{ix: idxStatus, group: statusGroup(a, st), value: []byte(p.Name)},
		{ix: idxCID, group: fieldGroup(a, p.CID, st)},
	}
	if p.Name != "" {
		e = append(e, indexEntry{ix: idxName, group: fieldGroup(a, p.Name, st)})
	}
	if p.MimeType != "" {
		e = append(e, indexEntry{ix: idxMime, group: fieldGroup(a, p.MimeType, st)})
	}
	if p.CredentialID != "" {
		e = append(e, indexEntry{ix: idxCred, group: fieldGroup(a, p.CredentialID, st)})
	}
	for k, v := range p.Metadata {
		e = append(e, indexEntry{ix: idxMeta, group: metaGroup(a, k, v, st)})
	}
	return e
}

// applyPin moves every index and counter from pin old to pin new: old nil
// is an insert, new nil a delete. The pin record itself is the caller's.
func (s *Store) applyPin(tx *wtx, old, new *Pin) error {
	if s.opts.ClusterOutbox {
		p := new
		if p == nil {
			p = old
		}
		before, err := heldCID(tx.Tx, p.CID)
		if err != nil {
			return err
		}
		if err := s.applyPinNoEdge(tx, old, new); err != nil {
			return err
		}
		return s.clusterEdge(tx.Tx, p.CID, before, p)
	}
	return s.applyPinNoEdge(tx, old, new)
}

func (s *Store) applyPinNoEdge(tx *wtx, old, new *Pin) error {
	if err := applyIndexes(tx, old, new); err != nil {
		return err
	}
	if err := s.applyMemberships(tx, old, new); err != nil {
		return err
	}
	var u usageDelta
	if old != nil {
		u.add(old, -1)
	}
	if new != nil {
		u.add(new, +1)
	}
	u.write(tx, pinAccount(old, new))
	// The owners live in the reference record: a new pin's reference comes
	// before its ownership, a deleted pin's ownership goes before it.
	if old == nil {
		if err := addRef(tx.Tx, new.CID, 1); err != nil {
			return err
		}
	}
	if err := s.applyOwnership(tx, old, new); err != nil {
		return err
	}
	if new == nil {
		if err := addRef(tx.Tx, old.CID, -1); err != nil {
			return err
		}
	}
	return applyQueue(tx.Tx, old, new)
}

func pinAccount(old, new *Pin) string {
	if new != nil {
		return new.AccountID
	}
	return old.AccountID
}

// applyIndexes deletes the entries of old that new does not have and puts
// those of new that old did not have (or had with another value).
func applyIndexes(tx *wtx, old, new *Pin) error {
	switch { // the common cases, without the diff
	case old == nil:
		for _, e := range pinEntries(new) {
			if err := e.ix.put(tx, e.group, new.Created.UnixNano(), new.ID, e.value, false); err != nil {
				return err
			}
		}
		return nil
	case new == nil:
		for _, e := range pinEntries(old) {
			if err := e.ix.del(tx, e.group, old.Created.UnixNano(), old.ID); err != nil {
				return err
			}
		}
		return nil
	}
	type at struct {
		tag   byte
		group string
	}
	var oldE, newE []indexEntry
	var p *Pin
	if old != nil {
		oldE, p = pinEntries(old), old
	}
	if new != nil {
		newE, p = pinEntries(new), new
	}
	created := p.Created.UnixNano()
	kept := make(map[at]string, len(newE))
	for _, e := range newE {
		kept[at{e.ix.tag, string(e.group)}] = string(e.value)
	}
	had := make(map[at]string, len(oldE))
	for _, e := range oldE {
		k := at{e.ix.tag, string(e.group)}
		had[k] = string(e.value)
		if _, ok := kept[k]; !ok {
			if err := e.ix.del(tx, e.group, created, p.ID); err != nil {
				return err
			}
		}
	}
	for _, e := range newE {
		v, exists := had[at{e.ix.tag, string(e.group)}]
		if exists && v == string(e.value) {
			continue
		}
		if err := e.ix.put(tx, e.group, created, p.ID, e.value, exists); err != nil {
			return err
		}
	}
	return nil
}

// queueKey is the pin-by-CID queue's key: t(created) id.
func queueKey(p *Pin) []byte {
	return append(timeKey(make([]byte, 0, 8+len(p.ID)), p.Created), p.ID...)
}

// applyQueue keeps the pin-by-CID queue index: a pin is in it while its
// status is queued or pinning.
func applyQueue(tx *bolt.Tx, old, new *Pin) error {
	q := tx.Bucket(bucketPinQueue)
	if new != nil && pending(new.Status) {
		return q.Put(queueKey(new), nil)
	}
	if old != nil && pending(old.Status) {
		return q.Delete(queueKey(old))
	}
	return nil
}

func pending(status string) bool { return status == StatusQueued || status == StatusPinning }

// applyOwnership keeps the by-CID owners, the stored bytes and the
// per-prefix usage in step when a pin becomes, or stops being, pinned.
// Storage growth goes to the day the pin was created when it is new, and
// to today when an existing pin changes or goes.
func (s *Store) applyOwnership(tx *wtx, old, new *Pin) error {
	oldOwns := old != nil && old.Status == StatusPinned
	newOwns := new != nil && new.Status == StatusPinned
	if oldOwns && newOwns && old.Prefix == new.Prefix {
		return nil
	}
	day := dayOf(s.now())
	if old == nil {
		day = dayOf(new.Created)
	}
	if oldOwns {
		if err := disown(tx, old, day); err != nil {
			return err
		}
	}
	if newOwns {
		return own(tx, new, day)
	}
	return nil
}

// checkPinQuota refuses pins that would take their account past its pin
// or storage quota; it runs in the transaction that writes them.
func (s *Store) checkPinQuota(tx *wtx, pins []Pin) error {
	type add struct {
		pins, queued, bytes int64
		cids                map[string]bool
	}
	adds := map[string]*add{}
	for i := range pins {
		p := &pins[i]
		a := adds[p.AccountID]
		if a == nil {
			a = &add{cids: map[string]bool{}}
			adds[p.AccountID] = a
		}
		a.pins++
		if pending(p.Status) {
			a.queued++
		}
		if p.Status == StatusPinned && !a.cids[p.CID] {
			owned, err := ownsCID(tx.Tx, p.AccountID, p.CID)
			if err != nil {
				return err
			}
			if !owned {
				a.cids[p.CID] = true
				a.bytes += p.Size
			}
		}
	}
	for acct, a := range adds {
		q, err := s.effectiveQuota(tx.Tx, acct)
		if err != nil {
			return err
		}
		u := usageOf(tx, acct)
		if q.MaxPins >= 0 && u.Pins+a.pins > q.MaxPins {
			return &LimitError{Limit: LimitPins, Max: q.MaxPins, Used: u.Pins}
		}
		if q.MaxQueued >= 0 && a.queued > 0 && u.Queued+a.queued > q.MaxQueued {
			return &LimitError{Limit: LimitQueued, Max: q.MaxQueued, Used: u.Queued}
		}
		// Open resumable uploads' lengths count as stored (tus.go).
		stored := u.StoredBytes + partialOf(tx, acct)
		if q.MaxStoredBytes >= 0 && a.bytes > 0 && stored+a.bytes > q.MaxStoredBytes {
			return &LimitError{Limit: LimitStorage, Max: q.MaxStoredBytes, Used: stored}
		}
	}
	return nil
}

// checkQueueQuota refuses a pin-by-CID request past the pin or queue quota.
func (s *Store) checkQueueQuota(tx *wtx, accountID string) error {
	q, err := s.effectiveQuota(tx.Tx, accountID)
	if err != nil {
		return err
	}
	u := usageOf(tx, accountID)
	if q.MaxPins >= 0 && u.Pins+1 > q.MaxPins {
		return &LimitError{Limit: LimitPins, Max: q.MaxPins, Used: u.Pins}
	}
	if q.MaxQueued >= 0 && u.Queued+1 > q.MaxQueued {
		return &LimitError{Limit: LimitQueued, Max: q.MaxQueued, Used: u.Queued}
	}
	return nil
}

// validatePin refuses a pin the indexes cannot hold.
func validatePin(p *Pin) error {
	if _, err := statusCode(p.Status); err != nil {
		return err
	}
	if p.AccountID == "" || p.ID == "" {
		return fmt.Errorf("%w: a pin needs an id and an account", ErrInvalid)
	}
	if p.Created.Before(time.Unix(0, 1)) {
		return fmt.Errorf("%w: pin %s was created before 1970", ErrInvalid, p.ID)
	}
	return nil
}
