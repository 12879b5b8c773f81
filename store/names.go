package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// IPNS names: an account's named keys and the record each one last
// published (schema 8; the whole migration is createNameBuckets, one
// entry of the migrations list):
//
//	ipnsnames/    name ("k51…") -> Name (JSON), key and current record included
//	ipnsbyacct/   lp(account) t(created) name -> nil
//	ipnslabels/   lp(account) lp(label) -> name
//
// The private key is kept in the record, in ninja.db (0600, like the
// upload-signing secrets), rather than in a file of its own: the key and
// the record it signed are written in one transaction, a backup of the
// database (hot, tx.WriteTo) carries both, and a name whose key were lost
// could never be moved again.
var (
	bucketNames      = []byte("ipnsnames")
	bucketNamesByAc  = []byte("ipnsbyacct")
	bucketNameLabels = []byte("ipnslabels")
)

// MaxNames bounds the names of one account.
const MaxNames = 1000

// LimitNames is the LimitError of an account with MaxNames names.
const LimitNames = "names"

func createNameBuckets(tx *bolt.Tx) error {
	return createBuckets(tx, bucketNames, bucketNamesByAc, bucketNameLabels)
}

// Name is an IPNS name of an account: its key, its label in the account,
// and the record last published (empty until the first publish).
type Name struct {
	Name      string    `json:"name"` // the IPNS name, CIDv1 libp2p-key base36
	AccountID string    `json:"accountId"`
	Label     string    `json:"label"` // the account's name for it, unique in the account
	Key       []byte    `json:"key"`   // crypto.MarshalPrivateKey bytes; never leaves the server
	Created   time.Time `json:"created"`

	Record    []byte    `json:"record,omitempty"` // the signed record's protobuf bytes
	Value     string    `json:"value,omitempty"`
	Sequence  uint64    `json:"sequence"`
	Validity  time.Time `json:"validity,omitzero"`
	TTL       int64     `json:"ttlNs,omitempty"`
	Lifetime  int64     `json:"lifetimeNs,omitempty"` // what the publisher asked for, kept by republishing
	Published time.Time `json:"published,omitzero"`
	// External is set when the record came signed by someone else
	// (a delegated routing PUT): republishing then puts the same bytes
	// again rather than re-signing.
	External bool `json:"external,omitempty"`
}

// CreateName stores n (its Name, Key and Label chosen by the caller). A
// label the account already uses is ErrConflict.
func (s *Store) CreateName(n Name) (Name, error) {
	n.Created = s.now().UTC()
	err := s.update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketAccounts).Get([]byte(n.AccountID)) == nil {
			return fmt.Errorf("account %q: %w", n.AccountID, ErrNotFound)
		}
		labels := tx.Bucket(bucketNameLabels)
		lk := lp(lp(nil, n.AccountID), n.Label)
		if labels.Get(lk) != nil {
			return fmt.Errorf("%w: the account has a name %q", ErrConflict, n.Label)
		}
		if c := countPrefix(tx.Bucket(bucketNamesByAc), lp(nil, n.AccountID)); c >= MaxNames {
			return &LimitError{Limit: LimitNames, Max: MaxNames, Used: int64(c)}
		}
		if tx.Bucket(bucketNames).Get([]byte(n.Name)) != nil {
			return fmt.Errorf("%w: name %s exists", ErrConflict, n.Name)
		}
		if err := labels.Put(lk, []byte(n.Name)); err != nil {
			return err
		}
		if err := putRecordIndex(tx, bucketNamesByAc, n.AccountID, n.Created, n.Name); err != nil {
			return err
		}
		return putJSON(tx.Bucket(bucketNames), []byte(n.Name), n)
	})
	if err != nil {
		return Name{}, fmt.Errorf("create name: %w", err)
	}
	return n, nil
}

func countPrefix(b *bolt.Bucket, prefix []byte) int {
	n := 0
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		n++
	}
	return n
}

// NameOf returns the account's name with that label or IPNS name; ""
// for accountID means any account (the gateway, delegated routing, with
// an IPNS name).
func (s *Store) NameOf(accountID, labelOrName string) (Name, error) {
	var n Name
	err := s.view(func(tx *bolt.Tx) error {
		return getName(tx, accountID, labelOrName, &n)
	})
	return n, err
}

func getName(tx *bolt.Tx, accountID, labelOrName string, n *Name) error {
	key := []byte(labelOrName)
	if accountID != "" {
		if v := tx.Bucket(bucketNameLabels).Get(lp(lp(nil, accountID), labelOrName)); v != nil {
			key = v
		}
	}
	if err := getJSON(tx.Bucket(bucketNames), key, n); err != nil {
		return err
	}
	if accountID != "" && n.AccountID != accountID {
		*n = Name{}
		return ErrNotFound
	}
	return nil
}

// ListNames lists a page of the account's names, newest first, and the
// next page's cursor.
func (s *Store) ListNames(accountID string, p Page) ([]Name, string, error) {
	var out []Name
	var next string
	err := s.view(func(tx *bolt.Tx) error {
		ids, nx, err := pageIDs(tx, bucketNamesByAc, lp(nil, accountID), p)
		if err != nil {
			return err
		}
		next = nx
		out, err = loadAll[Name](tx, bucketNames, ids)
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("list names: %w", err)
	}
	return out, next, nil
}

// UpdateName changes one name (by label or IPNS name; accountID "" for
// any account) with fn in one transaction: fn sees the stored record, and
// an error from it writes nothing. The key, account, label and creation
// time cannot change.
func (s *Store) UpdateName(accountID, labelOrName string, fn func(*Name) error) (Name, error) {
	var n Name
	err := s.update(func(tx *bolt.Tx) error {
		if err := getName(tx, accountID, labelOrName, &n); err != nil {
			return err
		}
		before := n
		if err := fn(&n); err != nil {
			return err
		}
		n.Name, n.AccountID, n.Label, n.Key, n.Created = before.Name, before.AccountID, before.Label, before.Key, before.Created
		return putJSON(tx.Bucket(bucketNames), []byte(n.Name), n)
	})
	return n, err
}

// DeleteName deletes one of the account's names, key and record.
func (s *Store) DeleteName(accountID, labelOrName string) (Name, error) {
	var n Name
	err := s.update(func(tx *bolt.Tx) error {
		if err := getName(tx, accountID, labelOrName, &n); err != nil {
			return err
		}
		if err := tx.Bucket(bucketNameLabels).Delete(lp(lp(nil, n.AccountID), n.Label)); err != nil {
			return err
		}
		if err := delRecordIndex(tx, bucketNamesByAc, n.AccountID, n.Created, n.Name); err != nil {
			return err
		}
		return tx.Bucket(bucketNames).Delete([]byte(n.Name))
	})
	return n, err
}

// PublishedNames returns a batch of the names with a record, of every
// account, in name order after the name `after` ("" from the first), at
// most limit of them, and the name to continue after ("" at the end):
// the domain's republisher walks them a batch per read transaction.
func (s *Store) PublishedNames(after string, limit int) ([]Name, string, error) {
	var out []Name
	next := ""
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketNames).Cursor()
		k, v := c.Seek([]byte(after))
		if k != nil && string(k) == after {
			k, v = c.Next()
		}
		for ; k != nil; k, v = c.Next() {
			if len(out) == limit {
				next = out[len(out)-1].Name
				return nil
			}
			var n Name
			if err := json.Unmarshal(v, &n); err != nil {
				return fmt.Errorf("%w: name %q does not decode: %v", ErrCorrupt, k, err)
			}
			if len(n.Record) > 0 {
				out = append(out, n)
			}
		}
		return nil
	})
	return out, next, err
}
