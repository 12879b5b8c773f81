package store

import (
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Account owns keys, tokens and pins.
type Account struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
}

// CreateAccount adds an account with a unique name.
func (s *Store) CreateAccount(name string) (Account, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return Account{}, fmt.Errorf("create account: %w: empty name", ErrConflict)
	}
	a := Account{ID: newID("acc_"), Name: name, Created: s.now().UTC()}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAccounts)
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			var other Account
			if err := getJSONRaw(v, &other); err != nil {
				return err
			}
			if other.Name == name {
				return fmt.Errorf("%w: account %q exists", ErrConflict, name)
			}
		}
		return putJSON(b, []byte(a.ID), a)
	})
	if err != nil {
		return Account{}, fmt.Errorf("create account: %w", err)
	}
	return a, nil
}

// Accounts lists every account, oldest first.
func (s *Store) Accounts() ([]Account, error) {
	return list(s.db, bucketAccounts, nil, func(a *Account) time.Time { return a.Created }, false)
}

// Account returns the account with the given id or name.
func (s *Store) Account(idOrName string) (Account, error) {
	all, err := s.Accounts()
	if err != nil {
		return Account{}, err
	}
	for _, a := range all {
		if a.ID == idOrName || a.Name == idOrName {
			return a, nil
		}
	}
	return Account{}, fmt.Errorf("account %q: %w", idOrName, ErrNotFound)
}
