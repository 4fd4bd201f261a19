package limit

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// DefaultMaxKeys is how many keys a Keyed tracks at most unless told
// otherwise. About 200 bytes each, so the default bounds a limiter near 20 MB.
const DefaultMaxKeys = 100_000

// Keyed is a set of token buckets (golang.org/x/time/rate limiters), one per
// key, all with the same rate and burst. It is safe for concurrent use.
//
// A bucket that has refilled completely and has no attempt under way is
// indistinguishable from a new one, so it is dropped: memory follows the keys
// active within one refill period, not every key ever seen. Dropping happens
// lazily inside the calls (no goroutine to stop). If more than MaxKeys keys
// are busy at once (someone inventing keys), a sixteenth of the busy buckets,
// chosen at random, is dropped too: their owners get a fresh burst, which is
// the price of bounded memory.
//
// A nil *Keyed allows everything.
type Keyed struct {
	limit   rate.Limit
	burst   int
	now     func() time.Time
	maxKeys int
	sweep   time.Duration // how often idle buckets are looked for

	mu        sync.Mutex
	buckets   map[string]*bucket
	nextSweep time.Time
	evicted   uint64 // busy buckets dropped to stay under maxKeys
}

type bucket struct {
	lim     *rate.Limiter
	pending int // attempts begun and not yet ended (Begin/End)
}

// Option configures a Keyed or a Counter.
type Option func(*options)

type options struct {
	now     func() time.Time
	maxKeys int
}

// WithClock sets the clock the limiter reads; tests inject a fake one.
// Defaults to time.Now.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// WithMaxKeys bounds the number of keys tracked at once. Defaults to
// DefaultMaxKeys.
func WithMaxKeys(n int) Option {
	return func(o *options) { o.maxKeys = n }
}

func buildOptions(opts []Option) options {
	o := options{now: time.Now, maxKeys: DefaultMaxKeys}
	for _, opt := range opts {
		opt(&o)
	}
	if o.maxKeys < 1 {
		o.maxKeys = 1
	}
	return o
}

// NewKeyed returns buckets that refill at r tokens per second and hold at
// most burst tokens. Use rate.Every(15*time.Minute/10) for "10 per 15
// minutes". It panics when burst < 1 or r <= 0, which would refuse
// everything forever: switch a limit off with a nil *Keyed instead.
func NewKeyed(r rate.Limit, burst int, opts ...Option) *Keyed {
	if burst < 1 || r <= 0 || math.IsNaN(float64(r)) {
		panic("limit: NewKeyed needs a positive rate and burst")
	}
	o := buildOptions(opts)
	refill := time.Duration(float64(burst) / float64(r) * float64(time.Second))
	if r == rate.Inf {
		refill = 0
	}
	return &Keyed{
		limit:   r,
		burst:   burst,
		now:     o.now,
		maxKeys: o.maxKeys,
		sweep:   min(max(refill, time.Second), time.Minute),
		buckets: make(map[string]*bucket),
	}
}

// Allow takes one token from key's bucket. When the bucket is empty it takes
// nothing and returns false with the time until a token will be there.
func (k *Keyed) Allow(key string) (ok bool, retryAfter time.Duration) {
	if k == nil {
		return true, 0
	}
	now := k.now()
	k.mu.Lock()
	defer k.mu.Unlock()
	b := k.get(key, now)
	if b.lim.AllowN(now, 1) {
		return true, 0
	}
	return false, k.wait(b, now, 1)
}

// Attempt is one try at something whose failures are limited (a login). End
// it exactly once.
type Attempt struct {
	k   *Keyed
	key string
	b   *bucket
}

// Begin starts an attempt for key if a failure could still be afforded,
// counting the attempts already under way as failures; so a burst of
// parallel tries cannot get past the limit before the first one fails.
// When not, it returns false and the time until one could be.
func (k *Keyed) Begin(key string) (a Attempt, ok bool, retryAfter time.Duration) {
	if k == nil {
		return Attempt{}, true, 0
	}
	now := k.now()
	k.mu.Lock()
	defer k.mu.Unlock()
	b := k.get(key, now)
	need := float64(b.pending + 1)
	if b.lim.TokensAt(now) < need {
		return Attempt{}, false, k.wait(b, now, need)
	}
	b.pending++
	return Attempt{k: k, key: key, b: b}, true, 0
}

// End finishes the attempt; a failure takes a token from the bucket.
func (a Attempt) End(failed bool) {
	if a.k == nil {
		return
	}
	now := a.k.now()
	a.k.mu.Lock()
	defer a.k.mu.Unlock()
	a.b.pending--
	if failed {
		// ReserveN always succeeds for n <= burst; the bucket may go below
		// zero, so a flood of failures pushes the next try further out.
		a.b.lim.ReserveN(now, 1)
	}
}

// Len returns the number of keys tracked now.
func (k *Keyed) Len() int {
	if k == nil {
		return 0
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.buckets)
}

// Evicted returns how many busy buckets were dropped to stay under the key
// bound since the limiter was made.
func (k *Keyed) Evicted() uint64 {
	if k == nil {
		return 0
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.evicted
}

// get returns key's bucket, making it (and room for it) when needed.
// k.mu is held.
func (k *Keyed) get(key string, now time.Time) *bucket {
	if !now.Before(k.nextSweep) {
		k.dropIdle(now)
		k.nextSweep = now.Add(k.sweep)
	}
	if b, ok := k.buckets[key]; ok {
		return b
	}
	if len(k.buckets) >= k.maxKeys {
		k.dropIdle(now)
		k.nextSweep = now.Add(k.sweep)
		if len(k.buckets) >= k.maxKeys {
			k.dropBusy()
		}
	}
	b := &bucket{lim: rate.NewLimiter(k.limit, k.burst)}
	k.buckets[key] = b
	return b
}

// dropIdle removes every bucket that is full and has no attempt under way.
func (k *Keyed) dropIdle(now time.Time) {
	full := float64(k.burst)
	for key, b := range k.buckets {
		if b.pending == 0 && b.lim.TokensAt(now) >= full {
			delete(k.buckets, key)
		}
	}
}

// dropBusy removes about a sixteenth of the buckets, in map order (which Go
// randomises), sparing those with attempts under way. Dropping many at once
// keeps the cost per new key constant under a flood of new keys.
func (k *Keyed) dropBusy() {
	n := max(len(k.buckets)/16, 1)
	for key, b := range k.buckets {
		if n == 0 {
			break
		}
		if b.pending > 0 {
			continue
		}
		delete(k.buckets, key)
		k.evicted++
		n--
	}
}

// wait returns how long until b holds need tokens.
func (k *Keyed) wait(b *bucket, now time.Time, need float64) time.Duration {
	missing := need - b.lim.TokensAt(now)
	if missing <= 0 {
		return 0
	}
	if need > float64(k.burst) {
		// More attempts under way than the bucket can ever hold: ask the
		// client to come back after a full refill.
		missing = float64(k.burst)
	}
	d := time.Duration(missing / float64(k.limit) * float64(time.Second))
	if d < 0 || d > 365*24*time.Hour {
		d = 365 * 24 * time.Hour
	}
	return d
}
