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
	err := s.update(func(tx *bolt.Tx) error {
		names := tx.Bucket(bucketAcctNames)
		if names.Get([]byte(name)) != nil {
			return fmt.Errorf("%w: account %q exists", ErrConflict, name)
		}
		if err := names.Put([]byte(name), []byte(a.ID)); err != nil {
			return err
		}
		if err := tx.Bucket(bucketAcctsByTime).Put(timeIDKey(a.Created, []byte(a.ID)), nil); err != nil {
			return err
		}
		return putJSON(tx.Bucket(bucketAccounts), []byte(a.ID), a)
	})
	if err != nil {
		return Account{}, fmt.Errorf("create account: %w", err)
	}
	return a, nil
}

// Accounts lists every account, oldest first.
func (s *Store) Accounts() ([]Account, error) {
	var out []Account
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		out, err = loadAll[Account](tx, bucketAccounts, allIDs(tx, bucketAcctsByTime, nil))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("accounts: %w", err)
	}
	return out, nil
}

// ListAccounts returns a page of accounts, newest first.
func (s *Store) ListAccounts(p Page) ([]Account, string, error) {
	var out []Account
	var next string
	err := s.view(func(tx *bolt.Tx) error {
		ids, n, err := pageIDs(tx, bucketAcctsByTime, nil, p)
		if err != nil {
			return err
		}
		next = n
		out, err = loadAll[Account](tx, bucketAccounts, ids)
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("list accounts: %w", err)
	}
	return out, next, nil
}

// Account returns the account with the given id or name.
func (s *Store) Account(idOrName string) (Account, error) {
	var a Account
	err := s.view(func(tx *bolt.Tx) error {
		id := []byte(idOrName)
		if tx.Bucket(bucketAccounts).Get(id) == nil {
			if id = tx.Bucket(bucketAcctNames).Get([]byte(idOrName)); id == nil {
				return ErrNotFound
			}
		}
		return getJSON(tx.Bucket(bucketAccounts), id, &a)
	})
	if err != nil {
		return Account{}, fmt.Errorf("account %q: %w", idOrName, err)
	}
	return a, nil
}
