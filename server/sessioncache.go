package server

import (
	"sync"
	"time"
)

// sessionCacheMax bounds the entries of one generation of the session
// cache; with two generations it holds at most twice this many (about
// 200 bytes each).
const sessionCacheMax = 10000

// cachedSession is what the cache keeps of a session it read from the store.
type cachedSession struct {
	nick      string
	expiresAt time.Time // the session's own expiry, as last read or extended here
	until     time.Time // when the entry stops being trusted: read time + lifetime
}

// sessionCache keeps sessions read from the store for a short lifetime, so
// that a client's burst of requests costs one store lookup, not one each.
// The price is that a revocation made elsewhere (another process on the
// same SQLite file, another node on the same Redis) is seen only once the
// entry's lifetime has passed; revocations made through this server (drop)
// take effect at once.
//
// It is bounded without a goroutine: entries go into the current
// generation, and when that generation is a lifetime old or full it
// becomes the previous one and the older previous one is forgotten.
type sessionCache struct {
	ttl time.Duration // an entry's lifetime; 0 disables the cache

	mu        sync.Mutex
	cur, prev map[string]cachedSession
	rotated   time.Time // when cur was started
	// drops counts drop calls. A lookup that began before a drop must not
	// put what it read (perhaps just before the revocation) into the cache
	// after it: put compares the count it was given by epoch.
	drops uint64
}

func newSessionCache(ttl time.Duration) *sessionCache {
	return &sessionCache{ttl: ttl, cur: map[string]cachedSession{}, prev: map[string]cachedSession{}}
}

// get returns the cached session of a token hash, if its entry is still
// trusted at now. It does not check the session's own expiry: the caller
// does, with the same clock.
func (c *sessionCache) get(hash string, now time.Time) (cachedSession, bool) {
	if c.ttl <= 0 {
		return cachedSession{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.cur[hash]
	if !ok {
		e, ok = c.prev[hash]
	}
	if !ok || !now.Before(e.until) {
		return cachedSession{}, false
	}
	return e, true
}

// epoch returns the count of drops so far; pass it to put after the store
// lookup.
func (c *sessionCache) epoch() uint64 {
	if c.ttl <= 0 {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.drops
}

// put caches a session read from the store at now, unless a session was
// dropped since epoch (the read may predate that revocation).
func (c *sessionCache) put(hash, nick string, expiresAt, now time.Time, epoch uint64) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.drops != epoch {
		return
	}
	if now.Sub(c.rotated) >= c.ttl || len(c.cur) >= sessionCacheMax {
		c.prev, c.cur, c.rotated = c.cur, make(map[string]cachedSession, len(c.cur)), now
	}
	delete(c.prev, hash)
	c.cur[hash] = cachedSession{nick: nick, expiresAt: expiresAt, until: now.Add(c.ttl)}
}

// extended records that this server moved a cached session's expiry, so
// that the next hits see it and do not extend it again.
func (c *sessionCache) extended(hash string, expiresAt time.Time) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range []map[string]cachedSession{c.cur, c.prev} {
		if e, ok := m[hash]; ok {
			e.expiresAt = expiresAt
			m[hash] = e
		}
	}
}

// drop forgets a session at once: it was revoked, or found gone.
func (c *sessionCache) drop(hash string) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.drops++
	delete(c.cur, hash)
	delete(c.prev, hash)
}
