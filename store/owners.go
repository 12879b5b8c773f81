package store

import (
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

// cidRecord is a cidrefs/ value: the number of pin records of any status
// that name the CID (8 bytes, first, so the GC root count reads as it
// always has), then each account whose pinned pins hold it, with its
// owner record: lp(account) uvarint(len) owner. Keeping the owners in the
// reference record, rather than in a bucket of their own, saves a tree
// every pin write walks: CIDs are random, so that was another leaf and its
// branch pages (five pages a commit at 1M pins).
type cidRecord struct {
	refs   int64
	owners []cidOwner
}

type cidOwner struct {
	account string
	owner
}

func readCID(tx *bolt.Tx, cid string) (cidRecord, error) {
	v := tx.Bucket(bucketCIDRefs).Get([]byte(cid))
	if v == nil {
		return cidRecord{}, nil
	}
	if len(v) < 8 {
		return cidRecord{}, fmt.Errorf("%w: cidrefs entry %q has a damaged count %x", ErrCorrupt, cid, v)
	}
	r := cidRecord{refs: int64(binary.BigEndian.Uint64(v))}
	for v = v[8:]; len(v) > 0; {
		acct, rest, ok := readLP(v)
		n, w := binary.Uvarint(rest)
		if !ok || w <= 0 || uint64(len(rest)-w) < n {
			return cidRecord{}, fmt.Errorf("%w: cidrefs entry %q has a damaged owner", ErrCorrupt, cid)
		}
		o, err := decodeOwner(rest[w : w+int(n)])
		if err != nil {
			return cidRecord{}, err
		}
		r.owners = append(r.owners, cidOwner{string(acct), o})
		v = rest[w+int(n):]
	}
	return r, nil
}

func writeCID(tx *bolt.Tx, cid string, r cidRecord) error {
	b := tx.Bucket(bucketCIDRefs)
	if r.refs <= 0 {
		if len(r.owners) > 0 {
			return fmt.Errorf("%w: %q is pinned by %d accounts but no pin names it", ErrCorrupt, cid, len(r.owners))
		}
		return b.Delete([]byte(cid))
	}
	v := u64(uint64(r.refs))
	for _, o := range r.owners {
		enc := o.encode()
		v = append(binary.AppendUvarint(lp(v, o.account), uint64(len(enc))), enc...)
	}
	return b.Put([]byte(cid), v)
}

// find returns the account's owner record, adding an empty one if asked.
func (r *cidRecord) find(accountID string, add bool) *owner {
	for i := range r.owners {
		if r.owners[i].account == accountID {
			return &r.owners[i].owner
		}
	}
	if !add {
		return nil
	}
	r.owners = append(r.owners, cidOwner{account: accountID})
	return &r.owners[len(r.owners)-1].owner
}

func (r *cidRecord) drop(accountID string) {
	for i := range r.owners {
		if r.owners[i].account == accountID {
			r.owners = append(r.owners[:i], r.owners[i+1:]...)
			return
		}
	}
}

// ownsCID reports whether the account has a pinned pin of cid.
func ownsCID(tx *bolt.Tx, accountID, cid string) (bool, error) {
	r, err := readCID(tx, cid)
	return r.find(accountID, false) != nil, err
}

// own counts p, a pinned pin, as a holder of its CID; day is where its
// storage growth goes.
func own(w *wtx, p *Pin, day uint32) error {
	r, err := readCID(w.Tx, p.CID)
	if err != nil {
		return err
	}
	o := r.find(p.AccountID, true)
	if o.pins == 0 {
		o.size = p.Size
		storageChange(w, p.AccountID, "", day, o.size)
		if len(r.owners) == 1 { // no other account holds it
			addStored(w, "", o.size)
		}
	}
	o.pins++
	if p.Prefix != "" {
		first := o.addPrefix(p.Prefix, 1) == 1
		prefixChange(w, p.AccountID, p.Prefix, day, 1, first, o.size)
	}
	return writeCID(w.Tx, p.CID, r)
}

// disown is own undone.
func disown(w *wtx, p *Pin, day uint32) error {
	r, err := readCID(w.Tx, p.CID)
	if err != nil {
		return err
	}
	o := r.find(p.AccountID, false)
	if o == nil || o.pins <= 0 {
		return fmt.Errorf("%w: pin %s of %s has no owner record", ErrCorrupt, p.ID, p.CID)
	}
	if p.Prefix != "" {
		last := o.addPrefix(p.Prefix, -1) <= 0
		prefixChange(w, p.AccountID, p.Prefix, day, -1, last, -o.size)
	}
	if o.pins--; o.pins == 0 {
		storageChange(w, p.AccountID, "", day, -o.size)
		r.drop(p.AccountID)
		if len(r.owners) == 0 { // no other account holds it
			addStored(w, "", -o.size)
		}
	}
	return writeCID(w.Tx, p.CID, r)
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
	r, err := readCID(tx, cid)
	if err != nil {
		return err
	}
	for _, o := range r.owners {
		if err := fn(o.account, o.owner); err != nil {
			return err
		}
	}
	return nil
}
