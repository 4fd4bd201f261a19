package limit

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/time/rate"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestKeyedAllowBurstThenRate(t *testing.T) {
	clock := newFakeClock()
	k := NewKeyed(5, 20, WithClock(clock.Now))
	for i := range 20 {
		if ok, _ := k.Allow("alice"); !ok {
			t.Fatalf("message %d of the burst refused", i+1)
		}
	}
	ok, wait := k.Allow("alice")
	if ok {
		t.Fatal("message 21 allowed at once; the burst is 20")
	}
	if wait != 200*time.Millisecond {
		t.Fatalf("retry after %v, want 200ms (one token at 5/s)", wait)
	}
	if ok, _ := k.Allow("bob"); !ok {
		t.Fatal("bob refused because alice used her burst")
	}
	clock.Advance(199 * time.Millisecond)
	if ok, _ := k.Allow("alice"); ok {
		t.Fatal("allowed before the token was there")
	}
	clock.Advance(time.Millisecond)
	if ok, _ := k.Allow("alice"); !ok {
		t.Fatal("refused although the retry time passed")
	}
	// Over a long run the rate holds: 10 s at 5/s is 50 more messages.
	allowed := 0
	for range 1000 {
		clock.Advance(10 * time.Millisecond)
		if ok, _ := k.Allow("alice"); ok {
			allowed++
		}
	}
	if allowed != 50 {
		t.Fatalf("%d messages allowed in 10 s, want 50", allowed)
	}
}

func TestKeyedDropsOnlyFullBuckets(t *testing.T) {
	clock := newFakeClock()
	k := NewKeyed(5, 20, WithClock(clock.Now)) // full again 4 s after the last use
	k.Allow("alice")
	for range 20 {
		k.Allow("bob")
	}
	clock.Advance(2 * time.Second)
	k.Allow("carol") // a call past the sweep time looks for idle buckets
	if n := k.Len(); n != 3 {
		t.Fatalf("%d keys after 2 s, want 3: nobody has refilled yet", n)
	}
	clock.Advance(2*time.Second + 10*time.Millisecond)
	k.Allow("carol")
	// alice refilled long ago; bob is full now; carol was just used.
	if n := k.Len(); n != 1 {
		t.Fatalf("%d keys after bob refilled, want 1 (carol)", n)
	}
	// A dropped bucket comes back full, exactly as it would have been.
	for i := range 20 {
		if ok, _ := k.Allow("bob"); !ok {
			t.Fatalf("bob refused at %d after his bucket was dropped", i+1)
		}
	}
	if ok, _ := k.Allow("bob"); ok {
		t.Fatal("bob got more than a burst after his bucket was dropped")
	}
}

func TestKeyedBoundedUnderKeyFlood(t *testing.T) {
	clock := newFakeClock()
	k := NewKeyed(rate.Every(time.Hour), 3, WithClock(clock.Now), WithMaxKeys(1000))
	for i := range 20_000 {
		k.Allow(fmt.Sprintf("addr-%d", i))
		if n := k.Len(); n > 1000 {
			t.Fatalf("%d keys tracked after %d new ones; the bound is 1000", n, i+1)
		}
	}
	if k.Evicted() == 0 {
		t.Fatal("no bucket evicted although 20 000 busy keys passed a bound of 1000")
	}
	// A key used right now stays limited even during the flood.
	for range 3 {
		k.Allow("victim")
	}
	if ok, _ := k.Allow("victim"); ok {
		t.Fatal("victim allowed a 4th time right after the burst of 3")
	}
}

func TestKeyedFailedLogins(t *testing.T) {
	clock := newFakeClock()
	every := 15 * time.Minute / 10
	k := NewKeyed(rate.Every(every), 10, WithClock(clock.Now))

	// Successful logins cost nothing.
	for range 100 {
		a, ok, _ := k.Begin("alice")
		if !ok {
			t.Fatal("a login refused after only successes")
		}
		a.End(false)
	}
	for i := range 10 {
		a, ok, _ := k.Begin("alice")
		if !ok {
			t.Fatalf("attempt %d refused; 10 failures are allowed", i+1)
		}
		a.End(true)
	}
	_, ok, wait := k.Begin("alice")
	if ok {
		t.Fatal("11th attempt allowed after 10 failures")
	}
	if wait != every {
		t.Fatalf("retry after %v, want %v (one failure's worth of refill)", wait, every)
	}
	clock.Advance(every)
	a, ok, _ := k.Begin("alice")
	if !ok {
		t.Fatal("refused after the retry time passed")
	}
	a.End(true)
	if _, ok, _ := k.Begin("alice"); ok {
		t.Fatal("allowed again at once after one more failure")
	}
	// 15 minutes after the failures stopped, all 10 tries are back.
	clock.Advance(15 * time.Minute)
	for i := range 10 {
		a, ok, _ := k.Begin("alice")
		if !ok {
			t.Fatalf("attempt %d refused 15 minutes after the last failure", i+1)
		}
		a.End(true)
	}
}

func TestKeyedBeginCountsAttemptsUnderWay(t *testing.T) {
	clock := newFakeClock()
	k := NewKeyed(rate.Every(time.Minute), 10, WithClock(clock.Now), WithMaxKeys(1))
	var open []Attempt
	for i := range 10 {
		a, ok, _ := k.Begin("mallory")
		if !ok {
			t.Fatalf("parallel attempt %d refused; 10 may run", i+1)
		}
		open = append(open, a)
	}
	if _, ok, _ := k.Begin("mallory"); ok {
		t.Fatal("an 11th parallel attempt was allowed before any ended")
	}
	// A flood of other keys must not evict a bucket with attempts under way
	// (the bound is 1 key here).
	clock.Advance(time.Hour)
	for i := range 100 {
		k.Allow(fmt.Sprintf("other-%d", i))
	}
	for _, a := range open {
		a.End(true)
	}
	if _, ok, _ := k.Begin("mallory"); ok {
		t.Fatal("allowed after 10 failures that were under way during a key flood")
	}
}

func TestKeyedConcurrentAllowExactBurst(t *testing.T) {
	clock := newFakeClock() // frozen: no refill during the test
	k := NewKeyed(5, 20, WithClock(clock.Now))
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if ok, _ := k.Allow("alice"); ok {
					allowed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if n := allowed.Load(); n != 20 {
		t.Fatalf("%d of 400 concurrent messages allowed, want exactly the burst of 20", n)
	}
}

func TestNilLimitersAllowEverything(t *testing.T) {
	var k *Keyed
	for range 1000 {
		if ok, _ := k.Allow("x"); !ok {
			t.Fatal("nil Keyed refused")
		}
		a, ok, _ := k.Begin("x")
		if !ok {
			t.Fatal("nil Keyed refused an attempt")
		}
		a.End(true)
	}
	var c *Counter
	for range 1000 {
		if _, ok := c.Acquire("x"); !ok {
			t.Fatal("nil Counter refused")
		}
	}
}

func TestNewKeyedRefusesNonsense(t *testing.T) {
	for _, tc := range []struct {
		r rate.Limit
		b int
	}{{0, 1}, {1, 0}, {-1, 5}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewKeyed(%v, %d) did not panic", tc.r, tc.b)
				}
			}()
			NewKeyed(tc.r, tc.b)
		}()
	}
}

func BenchmarkKeyedAllow(b *testing.B) {
	k := NewKeyed(5, 20)
	keys := make([]string, 10_000)
	for i := range keys {
		keys[i] = fmt.Sprintf("user-%d", i)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			k.Allow(keys[i%len(keys)])
			i++
		}
	})
}

func BenchmarkKeyedNewKeys(b *testing.B) {
	k := NewKeyed(rate.Every(time.Minute), 10, WithMaxKeys(100_000))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		k.Allow(fmt.Sprintf("addr-%d", i))
	}
}
