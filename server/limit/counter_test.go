package limit

import (
	"sync"
	"testing"
)

func TestCounterPerKey(t *testing.T) {
	c := NewCounter(2)
	r1, ok1 := c.Acquire("alice")
	_, ok2 := c.Acquire("alice")
	_, ok3 := c.Acquire("alice")
	if !ok1 || !ok2 || ok3 {
		t.Fatalf("acquires for alice = %v %v %v, want true true false", ok1, ok2, ok3)
	}
	if _, ok := c.Acquire("bob"); !ok {
		t.Fatal("bob refused because alice is full")
	}
	r1()
	r1() // a second release must not free a second place
	if n := c.Count("alice"); n != 1 {
		t.Fatalf("alice holds %d after one release (called twice), want 1", n)
	}
	if _, ok := c.Acquire("alice"); !ok {
		t.Fatal("alice refused after a release")
	}
	if _, ok := c.Acquire("alice"); ok {
		t.Fatal("alice got a third place")
	}
}

func TestCounterForgetsReleasedKeys(t *testing.T) {
	c := NewCounter(5)
	var releases []func()
	for _, k := range []string{"a", "b", "c", "a"} {
		r, _ := c.Acquire(k)
		releases = append(releases, r)
	}
	if c.Len() != 3 {
		t.Fatalf("Len = %d, want 3", c.Len())
	}
	for _, r := range releases {
		r()
	}
	if c.Len() != 0 {
		t.Fatalf("Len = %d after every release, want 0: memory must follow what is held", c.Len())
	}
}

func TestCounterConcurrent(t *testing.T) {
	c := NewCounter(10)
	var mu sync.Mutex
	held := 0
	var releases []func()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				if r, ok := c.Acquire("k"); ok {
					mu.Lock()
					held++
					releases = append(releases, r)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if held != 10 || c.Count("k") != 10 {
		t.Fatalf("%d places granted (count %d) to 800 concurrent tries, want exactly 10", held, c.Count("k"))
	}
	var rwg sync.WaitGroup
	for _, r := range releases {
		rwg.Go(func() { r(); r() })
	}
	rwg.Wait()
	if c.Count("k") != 0 || c.Len() != 0 {
		t.Fatalf("after concurrent double releases count=%d len=%d, want 0 0", c.Count("k"), c.Len())
	}
}

func TestAcquireAllIsAllOrNothing(t *testing.T) {
	perAccount := NewCounter(1)
	perAddr := NewCounter(2)
	release, _, ok := AcquireAll(Hold{perAccount, "alice"}, Hold{perAddr, "192.0.2.1"})
	if !ok {
		t.Fatal("first stream refused")
	}
	// alice is at her limit: the address place must not be kept.
	_, idx, ok := AcquireAll(Hold{perAccount, "alice"}, Hold{perAddr, "192.0.2.1"})
	if ok || idx != 0 {
		t.Fatalf("second stream for alice: ok=%v index=%d, want refused by pair 0", ok, idx)
	}
	if n := perAddr.Count("192.0.2.1"); n != 1 {
		t.Fatalf("address holds %d places, want 1", n)
	}
	// bob from the same address: the account is free, the address takes its 2nd.
	r2, _, ok := AcquireAll(Hold{perAccount, "bob"}, Hold{perAddr, "192.0.2.1"})
	if !ok {
		t.Fatal("bob refused")
	}
	_, idx, ok = AcquireAll(Hold{perAccount, "carol"}, Hold{perAddr, "192.0.2.1"})
	if ok || idx != 1 {
		t.Fatalf("carol from a full address: ok=%v index=%d, want refused by pair 1", ok, idx)
	}
	if perAccount.Count("carol") != 0 {
		t.Fatal("carol's account place was kept although the address refused")
	}
	release()
	r2()
	if perAccount.Len() != 0 || perAddr.Len() != 0 {
		t.Fatal("places left after releasing everything")
	}
}
