package store

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// APIKey is a stored API key. The secret itself is never stored: only its
// keyed hash, which is the lookup index.
type APIKey struct {
	ID        string    `json:"id"`
	AccountID string    `json:"accountId"`
	Name      string    `json:"name"`
	Prefix    string    `json:"prefix"`
	Scopes    []string  `json:"scopes"`
	Created   time.Time `json:"created"`
	RevokedAt time.Time `json:"revokedAt,omitzero"`
	Hash      []byte    `json:"hash"`
}

// Revoked reports whether the key was revoked.
func (k APIKey) Revoked() bool { return !k.RevokedAt.IsZero() }

// CreateAPIKey stores k, assigning its ID and creation time. k.Hash must be
// the keyed hash of the secret and k.AccountID an existing account.
func (s *Store) CreateAPIKey(k APIKey) (APIKey, error) {
	k.ID = newID("key_")
	k.Created = s.now().UTC()
	err := s.update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketAccounts).Get([]byte(k.AccountID)) == nil {
			return fmt.Errorf("account %q: %w", k.AccountID, ErrNotFound)
		}
		hb := tx.Bucket(bucketKeyHash)
		if hb.Get(k.Hash) != nil {
			return fmt.Errorf("%w: duplicate key hash", ErrConflict)
		}
		if err := hb.Put(k.Hash, []byte(k.ID)); err != nil {
			return err
		}
		if err := putRecordIndex(tx, bucketKeysByAcct, k.AccountID, k.Created, k.ID); err != nil {
			return err
		}
		return putJSON(tx.Bucket(bucketKeys), []byte(k.ID), k)
	})
	if err != nil {
		return APIKey{}, fmt.Errorf("create api key: %w", err)
	}
	return k, nil
}

// APIKeyByHash finds a key by the keyed hash of its secret. Revoked keys are
// returned too; the caller decides.
func (s *Store) APIKeyByHash(hash []byte) (APIKey, error) {
	if k, ok := s.creds.key(hash); ok {
		return k, nil
	}
	// Only what was read under this generation may be cached: a
	// revocation committing meanwhile bumps it (cache.go).
	gen := s.creds.generation()
	var k APIKey
	err := s.view(func(tx *bolt.Tx) error {
		id := tx.Bucket(bucketKeyHash).Get(hash)
		if id == nil {
			return ErrNotFound
		}
		return getJSON(tx.Bucket(bucketKeys), id, &k)
	})
	if err != nil {
		return APIKey{}, fmt.Errorf("api key by hash: %w", err)
	}
	s.creds.putKey(gen, hash, k)
	return k, nil
}

// APIKey returns the key with the given id.
func (s *Store) APIKey(id string) (APIKey, error) {
	var k APIKey
	err := s.view(func(tx *bolt.Tx) error {
		return getJSON(tx.Bucket(bucketKeys), []byte(id), &k)
	})
	if err != nil {
		return APIKey{}, fmt.Errorf("api key %s: %w", id, err)
	}
	return k, nil
}

// APIKeys lists an account's keys (all accounts when accountID is empty),
// oldest first.
func (s *Store) APIKeys(accountID string) ([]APIKey, error) {
	created := func(k *APIKey) time.Time { return k.Created }
	if accountID == "" {
		return listAll(s, bucketKeys, created, false)
	}
	return listAccount(s, bucketKeysByAcct, bucketKeys, accountID, created, false)
}

// ListAPIKeys returns a page of an account's keys, newest first.
func (s *Store) ListAPIKeys(accountID string, p Page) ([]APIKey, string, error) {
	out, next, err := listPage[APIKey](s, bucketKeysByAcct, bucketKeys, accountID, p)
	if err != nil {
		return nil, "", fmt.Errorf("list api keys: %w", err)
	}
	return out, next, nil
}

// RevokeAPIKey marks a key revoked. accountID limits the revocation to that
// account's keys; empty means any account (the admin socket). Tokens issued
// by the key die with it because every token check loads its issuer.
func (s *Store) RevokeAPIKey(accountID, id string) (APIKey, error) {
	var k APIKey
	err := s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketKeys)
		if err := getJSON(b, []byte(id), &k); err != nil {
			return err
		}
		if accountID != "" && k.AccountID != accountID {
			return ErrNotFound
		}
		if k.Revoked() {
			return nil
		}
		k.RevokedAt = s.now().UTC()
		return putJSON(b, []byte(id), k)
	})
	s.creds.invalidate() // the key and every token it issued
	if err != nil {
		return APIKey{}, fmt.Errorf("revoke key %s: %w", id, err)
	}
	return k, nil
}
