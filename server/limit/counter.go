package limit

import (
	"sync"
	"sync/atomic"
)

// Counter counts things held at once per key (open streams per account or
// per address) and refuses more than Max for any one key. It is safe for
// concurrent use. A key's entry lives only while its count is above zero, so
// memory follows what is held, which the total connection cap bounds.
//
// A nil *Counter allows everything.
type Counter struct {
	max int

	mu sync.Mutex
	n  map[string]int
}

// NewCounter returns a counter that allows max holders per key. It panics
// when max < 1: switch a limit off with a nil *Counter instead.
func NewCounter(max int) *Counter {
	if max < 1 {
		panic("limit: NewCounter needs max >= 1")
	}
	return &Counter{max: max, n: make(map[string]int)}
}

// Max returns the limit per key.
func (c *Counter) Max() int {
	if c == nil {
		return 0
	}
	return c.max
}

// Acquire takes one place for key. When key already holds Max it returns
// false and a no-op release. Otherwise release gives the place back; calling
// it more than once has no further effect.
func (c *Counter) Acquire(key string) (release func(), ok bool) {
	if c == nil {
		return func() {}, true
	}
	c.mu.Lock()
	if c.n[key] >= c.max {
		c.mu.Unlock()
		return func() {}, false
	}
	c.n[key]++
	c.mu.Unlock()
	var done atomic.Bool
	return func() {
		if done.Swap(true) {
			return
		}
		c.mu.Lock()
		if c.n[key] <= 1 {
			delete(c.n, key)
		} else {
			c.n[key]--
		}
		c.mu.Unlock()
	}, true
}

// Count returns how many places key holds now.
func (c *Counter) Count(key string) int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[key]
}

// Len returns the number of keys holding at least one place.
func (c *Counter) Len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.n)
}

// AcquireAll takes one place for each (counter, key) pair, all or none: when
// one is refused, the places already taken are given back and index says
// which pair refused. Release gives every place back; it is idempotent.
func AcquireAll(pairs ...Hold) (release func(), index int, ok bool) {
	releases := make([]func(), 0, len(pairs))
	releaseAll := func() {
		for _, r := range releases {
			r()
		}
	}
	for i, p := range pairs {
		r, ok := p.Counter.Acquire(p.Key)
		if !ok {
			releaseAll()
			return func() {}, i, false
		}
		releases = append(releases, r)
	}
	return releaseAll, -1, true
}

// Hold names one place to take: a key in a counter.
type Hold struct {
	Counter *Counter
	Key     string
}
