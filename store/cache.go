package store

import "sync"

// maxCachedCredentials bounds the credential cache; past it the cache
// starts over (a miss costs one read transaction, so a coarse bound is
// enough).
const maxCachedCredentials = 16384

// credCache keeps API keys and upload tokens resolved by the keyed hash of
// their secret, so that checking a credential a client keeps presenting
// costs no read transaction or JSON decoding. Only fields that change on
// revocation matter to a check, and every revocation (the only writer of
// those fields, and always in this process, which holds the database lock)
// clears the cache. Use counts are not served from here.
type credCache struct {
	mu     sync.RWMutex
	keys   map[string]APIKey
	tokens map[string]cachedToken
}

type cachedToken struct {
	token Token
	key   APIKey
}

func (c *credCache) init() {
	c.keys = make(map[string]APIKey)
	c.tokens = make(map[string]cachedToken)
}

func (c *credCache) key(hash []byte) (APIKey, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	k, ok := c.keys[string(hash)]
	return k, ok
}

func (c *credCache) putKey(hash []byte, k APIKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.keys) >= maxCachedCredentials {
		c.keys = make(map[string]APIKey)
	}
	c.keys[string(hash)] = k
}

func (c *credCache) token(hash []byte) (cachedToken, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	t, ok := c.tokens[string(hash)]
	return t, ok
}

func (c *credCache) putToken(hash []byte, t cachedToken) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.tokens) >= maxCachedCredentials {
		c.tokens = make(map[string]cachedToken)
	}
	c.tokens[string(hash)] = t
}

// clear forgets everything: called after any revocation commits.
func (c *credCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.init()
}
