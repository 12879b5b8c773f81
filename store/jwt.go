package store

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// jtiWindow is how long a consumed jti is kept after its JWT expires: an
// expired JWT is refused before its jti is looked at, with a skew far
// smaller than this.
const jtiWindow = time.Hour

// SigningKey is an upload-signing key: the app's backend signs upload JWTs
// with its secret (HS256), so the secret itself must be stored (unlike API
// keys and tokens, which are stored as keyed hashes). The database file is
// 0600 for that reason.
type SigningKey struct {
	ID        string    `json:"kid"`
	AccountID string    `json:"accountId"`
	KeyID     string    `json:"keyId"` // the API key that created it; it dies with that key
	Name      string    `json:"name"`
	Secret    string    `json:"secret"`
	Created   time.Time `json:"createdAt"`
	RevokedAt time.Time `json:"revokedAt,omitzero"`
	Uses      int64     `json:"uses"`
}

// CreateSigningKey stores k (its ID and Secret chosen by the caller).
func (s *Store) CreateSigningKey(k SigningKey) (SigningKey, error) {
	k.Created = s.now().UTC()
	err := s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSigningKeys)
		if b.Get([]byte(k.ID)) != nil {
			return fmt.Errorf("%w: signing key %s exists", ErrConflict, k.ID)
		}
		if tx.Bucket(bucketKeys).Get([]byte(k.KeyID)) == nil {
			return fmt.Errorf("issuer key %q: %w", k.KeyID, ErrNotFound)
		}
		if err := putRecordIndex(tx, bucketSigKeysByAc, k.AccountID, k.Created, k.ID); err != nil {
			return err
		}
		return putJSON(b, []byte(k.ID), k)
	})
	if err != nil {
		return SigningKey{}, fmt.Errorf("create signing key: %w", err)
	}
	return k, nil
}

// SigningKey returns a signing key and the API key that created it.
func (s *Store) SigningKey(kid string) (SigningKey, APIKey, error) {
	var k SigningKey
	var issuer APIKey
	err := s.view(func(tx *bolt.Tx) error {
		if err := getJSON(tx.Bucket(bucketSigningKeys), []byte(kid), &k); err != nil {
			return err
		}
		return getJSON(tx.Bucket(bucketKeys), []byte(k.KeyID), &issuer)
	})
	if err != nil {
		return SigningKey{}, APIKey{}, fmt.Errorf("signing key %s: %w", kid, err)
	}
	return k, issuer, nil
}

// SigningKeys lists an account's signing keys (all accounts' when
// accountID is empty), oldest first.
func (s *Store) SigningKeys(accountID string) ([]SigningKey, error) {
	created := func(k *SigningKey) time.Time { return k.Created }
	if accountID == "" {
		return listAll(s, bucketSigningKeys, created, false)
	}
	return listAccount(s, bucketSigKeysByAc, bucketSigningKeys, accountID, created, false)
}

// ListSigningKeys returns a page of an account's signing keys, newest first.
func (s *Store) ListSigningKeys(accountID string, p Page) ([]SigningKey, string, error) {
	out, next, err := listPage[SigningKey](s, bucketSigKeysByAc, bucketSigningKeys, accountID, p)
	if err != nil {
		return nil, "", fmt.Errorf("list signing keys: %w", err)
	}
	return out, next, nil
}

// RevokeSigningKey revokes one of an account's signing keys (any account
// when accountID is empty): every JWT under its kid is refused from then on.
func (s *Store) RevokeSigningKey(accountID, kid string) (SigningKey, error) {
	var k SigningKey
	err := s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSigningKeys)
		if err := getJSON(b, []byte(kid), &k); err != nil {
			return err
		}
		if accountID != "" && k.AccountID != accountID {
			return ErrNotFound
		}
		if !k.RevokedAt.IsZero() {
			return nil
		}
		k.RevokedAt = s.now().UTC()
		return putJSON(b, []byte(kid), k)
	})
	s.creds.invalidate() // nothing of it is cached today; keep it so if that changes
	if err != nil {
		return SigningKey{}, fmt.Errorf("revoke signing key %s: %w", kid, err)
	}
	return k, nil
}

// ConsumeJTI records a single-use credential's id (an upload JWT's jti)
// as used, durably, and reports whether it was fresh: false means it was
// used before. jtis are scoped by issuer (the signing key's kid), so two
// keys' JWTs never collide. Of several concurrent calls with one jti
// exactly one gets true. The background pruner deletes entries jtiWindow
// after their JWT expired, through the jtiexpiry/ index, so this write
// does no pruning of its own.
func (s *Store) ConsumeJTI(issuer, jti string, expires time.Time) (bool, error) {
	fresh := false
	err := s.batch(func(tx *bolt.Tx) error {
		fresh = false
		b := tx.Bucket(bucketJTIs)
		key := []byte(issuer + "\x00" + jti)
		// Entries written before jtis were scoped by issuer have the bare jti.
		if b.Get(key) != nil || b.Get([]byte(jti)) != nil {
			return nil
		}
		fresh = true
		if err := tx.Bucket(bucketJTIExpiry).Put(timeIDKey(expires, key), nil); err != nil {
			return err
		}
		return b.Put(key, u64(uint64(nanos(expires))))
	})
	if err != nil {
		return false, fmt.Errorf("consume jti: %w", err)
	}
	return fresh, nil
}

// AccessJWT is the server's record of an access JWT it issued: revocable
// and use-counted by jti. The JWT itself is not stored.
type AccessJWT struct {
	JTI       string    `json:"jti"`
	AccountID string    `json:"accountId"`
	KeyID     string    `json:"keyId"`
	Name      string    `json:"name"`
	Scopes    []string  `json:"scopes"`
	Created   time.Time `json:"createdAt"`
	ExpiresAt time.Time `json:"expiresAt"`
	RevokedAt time.Time `json:"revokedAt,omitzero"`
	MaxUses   int64     `json:"maxUses,omitempty"`
	Uses      int64     `json:"uses"`
	// PublishName is the one IPNS name the JWT may publish to.
	PublishName string `json:"publishName,omitempty"`
}

// CreateAccessJWT records an issued access JWT.
func (s *Store) CreateAccessJWT(j AccessJWT) (AccessJWT, error) {
	j.Created = s.now().UTC()
	err := s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAccessJWTs)
		if b.Get([]byte(j.JTI)) != nil {
			return fmt.Errorf("%w: access jwt %s exists", ErrConflict, j.JTI)
		}
		if err := putRecordIndex(tx, bucketJWTsByAcct, j.AccountID, j.Created, j.JTI); err != nil {
			return err
		}
		return putJSON(b, []byte(j.JTI), j)
	})
	if err != nil {
		return AccessJWT{}, fmt.Errorf("create access jwt: %w", err)
	}
	return j, nil
}

// AccessJWT returns the record of an access JWT and the key that issued it.
func (s *Store) AccessJWT(jti string) (AccessJWT, APIKey, error) {
	var j AccessJWT
	var k APIKey
	err := s.view(func(tx *bolt.Tx) error {
		if err := getJSON(tx.Bucket(bucketAccessJWTs), []byte(jti), &j); err != nil {
			return err
		}
		return getJSON(tx.Bucket(bucketKeys), []byte(j.KeyID), &k)
	})
	if err != nil {
		return AccessJWT{}, APIKey{}, fmt.Errorf("access jwt %s: %w", jti, err)
	}
	return j, k, nil
}

// AccessJWTs lists an account's access JWTs (all accounts' when accountID
// is empty), newest first.
func (s *Store) AccessJWTs(accountID string) ([]AccessJWT, error) {
	created := func(j *AccessJWT) time.Time { return j.Created }
	if accountID == "" {
		return listAll(s, bucketAccessJWTs, created, true)
	}
	return listAccount(s, bucketJWTsByAcct, bucketAccessJWTs, accountID, created, true)
}

// ListAccessJWTs returns a page of an account's access JWTs, newest first.
func (s *Store) ListAccessJWTs(accountID string, p Page) ([]AccessJWT, string, error) {
	out, next, err := listPage[AccessJWT](s, bucketJWTsByAcct, bucketAccessJWTs, accountID, p)
	if err != nil {
		return nil, "", fmt.Errorf("list access jwts: %w", err)
	}
	return out, next, nil
}

// RevokeAccessJWT revokes one of an account's access JWTs (any account when
// accountID is empty); the next request with it is refused.
func (s *Store) RevokeAccessJWT(accountID, jti string) (AccessJWT, error) {
	var j AccessJWT
	err := s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAccessJWTs)
		if err := getJSON(b, []byte(jti), &j); err != nil {
			return err
		}
		if accountID != "" && j.AccountID != accountID {
			return ErrNotFound
		}
		if !j.RevokedAt.IsZero() {
			return nil
		}
		j.RevokedAt = s.now().UTC()
		return putJSON(b, []byte(jti), j)
	})
	s.creds.invalidate() // tokens it minted (ParentJTI) may be cached
	if err != nil {
		return AccessJWT{}, fmt.Errorf("revoke access jwt %s: %w", jti, err)
	}
	return j, nil
}

// UseAccessJWT counts one use of an access JWT that has maxUses and
// reports whether one was left. The check and the count are one
// transaction, so k uses left admit exactly k requests.
func (s *Store) UseAccessJWT(jti string) (bool, error) {
	ok := false
	err := s.batch(func(tx *bolt.Tx) error {
		ok = false
		b := tx.Bucket(bucketAccessJWTs)
		var j AccessJWT
		if err := getJSON(b, []byte(jti), &j); err != nil {
			return err
		}
		if j.MaxUses > 0 && j.Uses >= j.MaxUses {
			return nil
		}
		ok = true
		j.Uses++
		return putJSON(b, []byte(jti), j)
	})
	if err != nil {
		return false, fmt.Errorf("use access jwt %s: %w", jti, err)
	}
	return ok, nil
}
