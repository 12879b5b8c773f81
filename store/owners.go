package store

import (
	"bytes"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// An owner is one account's hold on one CID: how many of its pinned pins
// name the CID, the size its storage was counted at (the first pin's), and
// the same count per credential prefix. It is what makes storage count
// each CID once per account and once per prefix, and what attributes an
// anonymous gateway read to the accounts and prefixes that pin the CID.
type owner struct {
	pins     int64
	size     int64
	prefixes []prefixCount
}

type prefixCount struct {
	prefix string
	pins   int64
}

func ownerKey(cid, accountID string) []byte { return lp(lp(nil, cid), accountID) }

func decodeOwner(v []byte) (owner, error) {
	var o owner
	n, w := binary.Uvarint(v)
	if w <= 0 {
		return o, fmt.Errorf("%w: owner record %x does not decode", ErrCorrupt, v)
	}
	o.pins, v = int64(n), v[w:]
	size, w := binary.Varint(v)
	if w <= 0 {
		return o, fmt.Errorf("%w: owner record %x does not decode", ErrCorrupt, v)
	}
	o.size, v = size, v[w:]
	for len(v) > 0 {
		p, rest, ok := readLP(v)
		if !ok {
			return o, fmt.Errorf("%w: owner record prefix does not decode", ErrCorrupt)
		}
		c, w := binary.Uvarint(rest)
		if w <= 0 {
			return o, fmt.Errorf("%w: owner record count does not decode", ErrCorrupt)
		}
		o.prefixes = append(o.prefixes, prefixCount{string(p), int64(c)})
		v = rest[w:]
	}
	return o, nil
}

func (o *owner) encode() []byte {
	v := binary.AppendUvarint(nil, uint64(o.pins))
	v = binary.AppendVarint(v, o.size)
	for _, p := range o.prefixes {
		v = binary.AppendUvarint(lp(v, p.prefix), uint64(p.pins))
	}
	return v
}

// addPrefix changes a prefix's count and returns the new count.
func (o *owner) addPrefix(prefix string, delta int64) int64 {
	for i := range o.prefixes {
		if o.prefixes[i].prefix == prefix {
			o.prefixes[i].pins += delta
			n := o.prefixes[i].pins
			if n <= 0 {
				o.prefixes = append(o.prefixes[:i], o.prefixes[i+1:]...)
			}
			return n
		}
	}
	if delta > 0 {
		o.prefixes = append(o.prefixes, prefixCount{prefix, delta})
	}
	return delta
}

func readOwner(tx *bolt.Tx, cid, accountID string) (owner, bool, error) {
	v := tx.Bucket(bucketOwners).Get(ownerKey(cid, accountID))
	if v == nil {
		return owner{}, false, nil
	}
	o, err := decodeOwner(v)
	return o, err == nil, err
}

// ownsCID reports whether the account has a pinned pin of cid.
func ownsCID(tx *bolt.Tx, accountID, cid string) bool {
	return tx.Bucket(bucketOwners).Get(ownerKey(cid, accountID)) != nil
}

// ownedElsewhere reports whether an account other than accountID pins cid.
func ownedElsewhere(tx *bolt.Tx, cid, accountID string) bool {
	start := lp(nil, cid)
	mine := ownerKey(cid, accountID)
	c := tx.Bucket(bucketOwners).Cursor()
	for k, _ := c.Seek(start); k != nil && bytes.HasPrefix(k, start); k, _ = c.Next() {
		if !bytes.Equal(k, mine) {
			return true
		}
	}
	return false
}

// own counts p, a pinned pin, as a holder of its CID; day is where its
// storage growth goes.
func own(w *wtx, p *Pin, day uint32) error {
	tx := w.Tx
	o, _, err := readOwner(tx, p.CID, p.AccountID)
	if err != nil {
		return err
	}
	if o.pins == 0 {
		o.size = p.Size
		storageChange(w, p.AccountID, "", day, o.size)
		if !ownedElsewhere(tx, p.CID, p.AccountID) {
			addStored(w, "", o.size)
		}
	}
	o.pins++
	if p.Prefix != "" {
		first := o.addPrefix(p.Prefix, 1) == 1
		prefixChange(w, p.AccountID, p.Prefix, day, 1, first, o.size)
	}
	return tx.Bucket(bucketOwners).Put(ownerKey(p.CID, p.AccountID), o.encode())
}

// disown is own undone.
func disown(w *wtx, p *Pin, day uint32) error {
	tx := w.Tx
	o, ok, err := readOwner(tx, p.CID, p.AccountID)
	if err != nil {
		return err
	}
	if !ok || o.pins <= 0 {
		return fmt.Errorf("%w: pin %s of %s has no owner record", ErrCorrupt, p.ID, p.CID)
	}
	if p.Prefix != "" {
		last := o.addPrefix(p.Prefix, -1) <= 0
		prefixChange(w, p.AccountID, p.Prefix, day, -1, last, -o.size)
	}
	o.pins--
	key := ownerKey(p.CID, p.AccountID)
	if o.pins > 0 {
		return tx.Bucket(bucketOwners).Put(key, o.encode())
	}
	if err := tx.Bucket(bucketOwners).Delete(key); err != nil {
		return err
	}
	storageChange(w, p.AccountID, "", day, -o.size)
	if !ownedElsewhere(tx, p.CID, p.AccountID) {
		addStored(w, "", -o.size)
	}
	return nil
}

// storageChange adds n stored bytes to an account's (or an account's
// prefix's) usage and to that day's growth.
func storageChange(w *wtx, accountID, prefix string, day uint32, n int64) {
	if prefix == "" {
		addStored(w, accountID, n)
	}
	c := w.cache(bucketStorageDays)
	key := dayKey(lp(lp(nil, accountID), prefix), day)
	c.setU64(key, uint64(int64(c.getU64(key))+n))
}

// prefixChange counts one pinned pin more or less for a credential prefix
// and, when it is the first or last pin of its CID under that prefix, the
// CID's bytes.
func prefixChange(w *wtx, accountID, prefix string, day uint32, pins int64, edge bool, bytes int64) {
	pu := decodePrefixUsage(w.cache(bucketPrefixes).get(prefixKey(accountID, prefix)))
	pu.pinned += pins
	if edge {
		pu.stored += bytes
		storageChange(w, accountID, prefix, day, bytes)
	}
	putPrefixUsage(w, accountID, prefix, pu)
}

// prefixUsage is what the pins made by one credential prefix hold; its key
// also lists the prefix for Rollup's prefix matching, so events add it too.
type prefixUsage struct{ pinned, stored int64 }

func prefixKey(accountID, prefix string) []byte { return append(lp(nil, accountID), prefix...) }

func readPrefixUsage(tx *bolt.Tx, accountID, prefix string) prefixUsage {
	return decodePrefixUsage(tx.Bucket(bucketPrefixes).Get(prefixKey(accountID, prefix)))
}

func decodePrefixUsage(v []byte) prefixUsage {
	if len(v) != 16 {
		return prefixUsage{}
	}
	return prefixUsage{int64(binary.BigEndian.Uint64(v)), int64(binary.BigEndian.Uint64(v[8:]))}
}

func putPrefixUsage(w *wtx, accountID, prefix string, pu prefixUsage) {
	v := binary.BigEndian.AppendUint64(make([]byte, 0, 16), uint64(pu.pinned))
	v = binary.BigEndian.AppendUint64(v, uint64(pu.stored))
	w.cache(bucketPrefixes).put(prefixKey(accountID, prefix), v)
}

// cidOwners calls fn with every account pinning cid and its owner record.
func cidOwners(tx *bolt.Tx, cid string, fn func(accountID string, o owner) error) error {
	start := lp(nil, cid)
	c := tx.Bucket(bucketOwners).Cursor()
	for k, v := c.Seek(start); k != nil && bytes.HasPrefix(k, start); k, v = c.Next() {
		acct, _, ok := readLP(k[len(start):])
		if !ok {
			return fmt.Errorf("%w: owner key %x does not decode", ErrCorrupt, k)
		}
		o, err := decodeOwner(v)
		if err != nil {
			return err
		}
		if err := fn(string(acct), o); err != nil {
			return err
		}
	}
	return nil
}
