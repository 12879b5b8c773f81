package store

import (
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Token is a signed upload token (sup_…). Like an API key, only the keyed
// hash of its secret is stored.
type Token struct {
	ID               string    `json:"tokenId"`
	AccountID        string    `json:"accountId"`
	KeyID            string    `json:"keyId"` // issuing API key
	Name             string    `json:"tokenName"`
	Prefix           string    `json:"tokenPrefix"`
	Hash             []byte    `json:"hash"`
	Scopes           []string  `json:"scopes"`
	Created          time.Time `json:"createdAt"`
	ExpiresAt        time.Time `json:"expiresAt,omitzero"`
	RevokedAt        time.Time `json:"revokedAt,omitzero"`
	MaxUploads       int64     `json:"maxUploads,omitempty"`
	MaxFileBytes     int64     `json:"maxFileBytes,omitempty"`
	MaxTotalBytes    int64     `json:"maxTotalBytes,omitempty"`
	AllowedMimeTypes []string  `json:"allowedMimeTypes,omitempty"`
	IPAllow          []string  `json:"ipWhitelist,omitempty"`
	AllowedOrigins   []string  `json:"allowedOrigins,omitempty"`
	// ParentJTI is the access JWT that minted the token, if any.
	ParentJTI     string            `json:"parentJti,omitempty"`
	BoundName     string            `json:"boundName,omitempty"`
	BoundMetadata map[string]string `json:"boundMetadata,omitempty"`
	BoundGroup    string            `json:"boundGroup,omitempty"`  // the group of pins every upload joins
	PublishName   string            `json:"publishName,omitempty"` // the one IPNS name it may publish to

	UseCount      int64            `json:"useCount"`
	BytesUploaded int64            `json:"bytesUploaded"`
	LastUsedAt    time.Time        `json:"lastUsedAt,omitzero"`
	Failures      map[string]int64 `json:"failures,omitempty"` // by error reason
}

// CreateToken stores t, assigning its ID and creation time.
func (s *Store) CreateToken(t Token) (Token, error) {
	t.ID = newID("tok_")
	t.Created = s.now().UTC()
	err := s.update(func(tx *bolt.Tx) error { return createToken(tx, &t) })
	if err != nil {
		return Token{}, fmt.Errorf("create token: %w", err)
	}
	return t, nil
}

// createToken writes a new token with its hash and its indexes.
func createToken(tx *bolt.Tx, t *Token) error {
	if tx.Bucket(bucketKeys).Get([]byte(t.KeyID)) == nil {
		return fmt.Errorf("issuer key %q: %w", t.KeyID, ErrNotFound)
	}
	hb := tx.Bucket(bucketTokHash)
	if hb.Get(t.Hash) != nil {
		return fmt.Errorf("%w: duplicate token hash", ErrConflict)
	}
	if err := hb.Put(t.Hash, []byte(t.ID)); err != nil {
		return err
	}
	if err := putRecordIndex(tx, bucketToksByAcct, t.AccountID, t.Created, t.ID); err != nil {
		return err
	}
	if !t.ExpiresAt.IsZero() {
		if err := tx.Bucket(bucketTokExpiry).Put(timeIDKey(t.ExpiresAt, []byte(t.ID)), nil); err != nil {
			return err
		}
	}
	return putJSON(tx.Bucket(bucketTokens), []byte(t.ID), t)
}

// TokenByHash finds a token and its issuing key by the keyed hash of the
// token's secret, in one read transaction.
// The answer may come from the credential cache: its use counts can be
// stale, everything a check reads is not.
func (s *Store) TokenByHash(hash []byte) (Token, APIKey, error) {
	if c, ok := s.creds.token(hash); ok {
		return c.token, c.key, nil
	}
	gen := s.creds.generation() // see APIKeyByHash
	var t Token
	var k APIKey
	err := s.view(func(tx *bolt.Tx) error {
		id := tx.Bucket(bucketTokHash).Get(hash)
		if id == nil {
			return ErrNotFound
		}
		if err := getJSON(tx.Bucket(bucketTokens), id, &t); err != nil {
			return err
		}
		return getJSON(tx.Bucket(bucketKeys), []byte(t.KeyID), &k)
	})
	if err != nil {
		return Token{}, APIKey{}, fmt.Errorf("token by hash: %w", err)
	}
	s.creds.putToken(gen, hash, cachedToken{token: t, key: k})
	return t, k, nil
}

// Token returns one of an account's tokens (any account when accountID is
// empty).
func (s *Store) Token(accountID, id string) (Token, error) {
	var t Token
	err := s.view(func(tx *bolt.Tx) error {
		if err := getJSON(tx.Bucket(bucketTokens), []byte(id), &t); err != nil {
			return err
		}
		if accountID != "" && t.AccountID != accountID {
			return ErrNotFound
		}
		return nil
	})
	if err != nil {
		return Token{}, fmt.Errorf("token %s: %w", id, err)
	}
	return t, nil
}

// Tokens lists an account's tokens (all accounts' when accountID is
// empty), newest first. ListTokens pages.
func (s *Store) Tokens(accountID string) ([]Token, error) {
	created := func(t *Token) time.Time { return t.Created }
	if accountID == "" {
		return listAll(s, bucketTokens, created, true)
	}
	return listAccount(s, bucketToksByAcct, bucketTokens, accountID, created, true)
}

// ListTokens returns a page of an account's tokens, newest first.
// Expired tokens are listed (as expired) until pruning deletes them,
// Options.TokenGrace after they expire.
func (s *Store) ListTokens(accountID string, p Page) ([]Token, string, error) {
	out, next, err := listPage[Token](s, bucketToksByAcct, bucketTokens, accountID, p)
	if err != nil {
		return nil, "", fmt.Errorf("list tokens: %w", err)
	}
	return out, next, nil
}

// RevokeToken marks one of an account's tokens revoked (any account when
// accountID is empty).
func (s *Store) RevokeToken(accountID, id string) (Token, error) {
	var t Token
	err := s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketTokens)
		if err := getJSON(b, []byte(id), &t); err != nil {
			return err
		}
		if accountID != "" && t.AccountID != accountID {
			return ErrNotFound
		}
		if !t.RevokedAt.IsZero() {
			return nil
		}
		t.RevokedAt = s.now().UTC()
		return putJSON(b, []byte(id), t)
	})
	s.creds.invalidate()
	if err != nil {
		return Token{}, fmt.Errorf("revoke token %s: %w", id, err)
	}
	return t, nil
}

// reservations counts uploads in flight per token, beside a copy of each
// token's committed use count. They live in memory on purpose: an upload in
// flight when the process dies was never acknowledged, so its reservation
// must vanish with it, and taking one costs no fsync. The committed counts
// are loaded from the database once per token and then move together with
// the in-flight count under one lock, so a check never sees a use twice.
// Resumable uploads are the exception (tus.go): each holds its use in a
// record, for as long as it lasts; durable counts those, loaded with the
// committed counts.
type reservations struct {
	mu     sync.Mutex
	now    func() time.Time
	tokens map[string]*usage
}

type usage struct {
	used, bytes, inflight int64
	durable               int64     // open resumable uploads holding a use
	touched               time.Time // last Reserve or finish, for pruning
}

func (r *reservations) init(now func() time.Time) {
	r.now = now
	r.tokens = make(map[string]*usage)
}

// pruneIdle forgets the tokens with no upload in flight that were last
// touched before cutoff; the next Reserve reloads their counts. It returns
// how many it forgot.
func (r *reservations) pruneIdle(cutoff time.Time) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for id, u := range r.tokens {
		if u.inflight == 0 && u.durable == 0 && u.touched.Before(cutoff) {
			delete(r.tokens, id)
			n++
		}
	}
	return n
}

// forget drops a deleted token's state.
func (r *reservations) forget(tokenID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.tokens, tokenID)
}

// finish ends one reservation; committed says whether its use (of n bytes)
// was written to the database.
func (r *reservations) finish(tokenID string, committed bool, n int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	u := r.tokens[tokenID]
	if u == nil {
		return
	}
	if u.inflight > 0 {
		u.inflight--
	}
	u.touched = r.now()
	if committed {
		u.used++
		u.bytes += n
	}
}

// Reserve takes one use of a token for an upload about to start and
// reports whether there was one: with k uses left, k parallel callers get
// true and the rest false. A reservation ends with AddPins (the use is
// counted) or Release (it is not), or becomes a resumable upload's with
// CreateTusUpload.
func (s *Store) Reserve(tokenID string) (bool, error) {
	s.res.mu.Lock()
	defer s.res.mu.Unlock()
	u, t, err := s.res.loadLocked(s, tokenID)
	if err != nil {
		return false, fmt.Errorf("reserve %s: %w", tokenID, err)
	}
	if t.MaxUploads > 0 && u.used+u.inflight+u.durable >= t.MaxUploads {
		return false, nil
	}
	if t.MaxTotalBytes > 0 && u.bytes >= t.MaxTotalBytes {
		return false, nil
	}
	u.inflight++
	u.touched = s.res.now()
	return true, nil
}

// loadLocked returns a token's counts, loading them from the database
// (the token record and its open resumable uploads, in one read) when they
// are not in memory. r.mu must be held.
func (r *reservations) loadLocked(s *Store, tokenID string) (*usage, Token, error) {
	var t Token
	var durable int64
	if err := s.view(func(tx *bolt.Tx) error {
		if err := getJSON(tx.Bucket(bucketTokens), []byte(tokenID), &t); err != nil {
			return err
		}
		durable, _ = tokenTusUploads(tx, tokenID)
		return nil
	}); err != nil {
		return nil, Token{}, err
	}
	u := r.tokens[tokenID]
	if u == nil {
		u = &usage{used: t.UseCount, bytes: t.BytesUploaded, durable: durable, touched: r.now()}
		r.tokens[tokenID] = u
	}
	return u, t, nil
}

// load makes sure a token's counts are in memory. Called before a write
// that ends a resumable upload's reservation: the counts then include it
// and stay loaded (pruneIdle keeps tokens with durable reservations) until
// the write is reflected by unpersist.
func (r *reservations) load(s *Store, tokenID string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, _, err := r.loadLocked(s, tokenID)
	return err
}

// persist turns an in-flight reservation into a resumable upload's.
func (r *reservations) persist(tokenID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if u := r.tokens[tokenID]; u != nil {
		u.inflight = max(u.inflight-1, 0)
		u.durable++
		u.touched = r.now()
	}
}

// unpersist ends a resumable upload's reservation; committed says whether
// its use (of n bytes) was counted.
func (r *reservations) unpersist(tokenID string, committed bool, n int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	u := r.tokens[tokenID]
	if u == nil {
		return
	}
	u.durable = max(u.durable-1, 0)
	u.touched = r.now()
	if committed {
		u.used++
		u.bytes += n
	}
}

// Release ends a reservation whose upload failed and counts the failure
// under reason (e.g. SIZE_EXCEEDED). The failure count is batched, not
// fsynced per request.
func (s *Store) Release(tokenID, reason string) {
	s.res.finish(tokenID, false, 0)
	if reason != "" {
		s.RecordFailure(tokenID, reason)
	}
}

// RecordFailure counts a refused or failed upload against a token.
func (s *Store) RecordFailure(tokenID, reason string) {
	s.enqueue(Event{kind: eventTokenFailure, TokenID: tokenID, Reason: reason})
}

// Remaining returns the bytes a token may still upload in total (-1: no
// limit): its completed uses' bytes and its open resumable uploads'
// lengths (tus.go) are taken.
func (s *Store) Remaining(tokenID string) (int64, error) {
	var t Token
	var open int64
	err := s.view(func(tx *bolt.Tx) error {
		if err := getJSON(tx.Bucket(bucketTokens), []byte(tokenID), &t); err != nil {
			return err
		}
		_, open = tokenTusUploads(tx, tokenID)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("token %s: %w", tokenID, err)
	}
	if t.MaxTotalBytes == 0 {
		return -1, nil
	}
	return max(t.MaxTotalBytes-t.BytesUploaded-open, 0), nil
}

func (s *Store) completeUse(tx *bolt.Tx, use TokenUse) error {
	b := tx.Bucket(bucketTokens)
	var t Token
	if err := getJSON(b, []byte(use.TokenID), &t); err != nil {
		return fmt.Errorf("token %s: %w", use.TokenID, err)
	}
	if t.MaxTotalBytes > 0 && t.BytesUploaded+use.Bytes > t.MaxTotalBytes {
		return &LimitError{Limit: LimitTokenBytes, Max: t.MaxTotalBytes, Used: t.BytesUploaded}
	}
	t.UseCount++
	t.BytesUploaded += use.Bytes
	t.LastUsedAt = s.now().UTC()
	return putJSON(b, []byte(t.ID), t)
}
