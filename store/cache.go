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
// invalidates the cache after it commits. Use counts are not served from
// here.
//
// A lookup that misses reads the database and then caches what it read.
// Without care, a lookup that read a credential just before a revocation
// committed could cache it just after the revocation cleared the cache,
// and the revoked credential would be accepted until the next clear. So
// the cache has a generation: a lookup takes it before its read
// transaction, and caches only if no invalidation happened since. Any
// lookup that starts after a revocation returns then reads either the
// cache as it was cleared (and only refilled by reads that began after
// the commit) or the database itself.
type credCache struct {
	mu     sync.RWMutex
	gen    uint64
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

// generation is taken before a lookup's read transaction.
func (c *credCache) generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

func (c *credCache) key(hash []byte) (APIKey, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	k, ok := c.keys[string(hash)]
	return k, ok
}

// putKey caches k if nothing was invalidated since gen.
func (c *credCache) putKey(gen uint64, hash []byte, k APIKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
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

// putToken caches t if nothing was invalidated since gen.
func (c *credCache) putToken(gen uint64, hash []byte, t cachedToken) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if len(c.tokens) >= maxCachedCredentials {
		c.tokens = make(map[string]cachedToken)
	}
	c.tokens[string(hash)] = t
}

// invalidate forgets everything and starts a new generation: called after
// any revocation (or deletion) commits, and before it returns.
func (c *credCache) invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.init()
}
