package store

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// raceRevocations is how many credentials each race test revokes.
const raceRevocations = 10_000

// raceRevoke revokes credentials 0..n-1 in order while lookups run in
// parallel on the one being revoked and the next, and counts the lookups
// that started after Revoke returned yet saw the credential unrevoked.
func raceRevoke(t *testing.T, n int, revoke func(i int), revoked func(i int) bool) int64 {
	t.Helper()
	done := make([]atomic.Bool, n)
	begin := make([]chan struct{}, n)
	for i := range begin {
		begin[i] = make(chan struct{})
	}
	var started atomic.Int64 // lookups begun on the credential being revoked
	var stale, lookups atomic.Int64
	const workers = 4
	var wg sync.WaitGroup
	// Each worker looks a credential up a few times while it is being
	// revoked, the moment the race is about: the previous revocation has
	// just emptied the cache, so these lookups miss and read the database
	// as the revocation commits. Half of them also look up the next one,
	// which is cached unrevoked when its revocation starts.
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				<-begin[i]
				started.Add(1)
				for _, j := range []int{i, i + w%2} {
					if j >= n {
						continue
					}
					after := done[j].Load() // before the lookup starts
					if !revoked(j) && after {
						stale.Add(1)
					}
					lookups.Add(1)
				}
			}
		}()
	}
	for i := range n {
		started.Store(0)
		close(begin[i])
		for started.Load() == 0 { // revoke while a lookup is under way
			runtime.Gosched()
		}
		revoke(i)
		done[i].Store(true)
		if !revoked(i) {
			stale.Add(1) // the revoker's own next lookup
		}
	}
	wg.Wait()
	t.Logf("%d revocations, %d parallel lookups", n, lookups.Load())
	return stale.Load()
}

// createCredentials writes n keys, each with one token, in one
// transaction (the store's own writers, without n fsyncs).
func createCredentials(t *testing.T, s *Store, acct string, n int) ([]APIKey, []Token) {
	t.Helper()
	keys := make([]APIKey, n)
	tokens := make([]Token, n)
	err := s.update(func(tx *bolt.Tx) error {
		for i := range n {
			keys[i] = APIKey{ID: fmt.Sprintf("key_%06d", i), AccountID: acct, Hash: []byte(fmt.Sprint("k", i))}
			tokens[i] = Token{ID: fmt.Sprintf("tok_%06d", i), AccountID: acct, KeyID: keys[i].ID, Hash: []byte(fmt.Sprint("t", i))}
			if err := putJSON(tx.Bucket(bucketKeys), []byte(keys[i].ID), keys[i]); err != nil {
				return err
			}
			if err := putJSON(tx.Bucket(bucketTokens), []byte(tokens[i].ID), tokens[i]); err != nil {
				return err
			}
			tx.Bucket(bucketKeyHash).Put(keys[i].Hash, []byte(keys[i].ID))
			tx.Bucket(bucketTokHash).Put(tokens[i].Hash, []byte(tokens[i].ID))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys, tokens
}

func TestNoLookupAfterRevokeTokenReturnsSeesTheTokenUnrevoked(t *testing.T) {
	s := openFast(t, nil)
	a, _ := s.CreateAccount("a")
	_, tokens := createCredentials(t, s, a.ID, raceRevocations)
	stale := raceRevoke(t, raceRevocations,
		func(i int) {
			if _, err := s.RevokeToken(a.ID, tokens[i].ID); err != nil {
				t.Error(err)
			}
		},
		func(i int) bool {
			tok, _, err := s.TokenByHash(tokens[i].Hash)
			return err == nil && !tok.RevokedAt.IsZero()
		})
	if stale != 0 {
		t.Fatalf("%d lookups that started after RevokeToken returned saw the token unrevoked", stale)
	}
}

func TestNoLookupAfterRevokeAPIKeyReturnsSeesTheKeyUnrevoked(t *testing.T) {
	s := openFast(t, nil)
	a, _ := s.CreateAccount("a")
	keys, tokens := createCredentials(t, s, a.ID, raceRevocations)
	stale := raceRevoke(t, raceRevocations,
		func(i int) {
			if _, err := s.RevokeAPIKey(a.ID, keys[i].ID); err != nil {
				t.Error(err)
			}
		},
		func(i int) bool {
			// Both ways a key is checked: by its own hash, and as the
			// issuer loaded with a token.
			k, err := s.APIKeyByHash(keys[i].Hash)
			_, issuer, err2 := s.TokenByHash(tokens[i].Hash)
			return err == nil && err2 == nil && k.Revoked() && issuer.Revoked()
		})
	if stale != 0 {
		t.Fatalf("%d lookups that started after RevokeAPIKey returned saw the key unrevoked", stale)
	}
}
