package client

import (
	"testing"
	"time"
)

func TestBackoffDelayBoundsAndCap(t *testing.T) {
	b := backoff{min: 100 * time.Millisecond, max: 3 * time.Second}
	for attempt := 0; attempt < 80; attempt++ {
		nominal := b.max
		if attempt < 5 { // 100ms·2^4 = 1.6s is the last below the cap
			nominal = b.min << attempt
		}
		for range 50 {
			d := b.delay(attempt)
			if d < nominal/2 || d > nominal {
				t.Fatalf("attempt %d: delay %v outside [%v, %v]", attempt, d, nominal/2, nominal)
			}
		}
	}
}

func TestBackoffJitterSpreads(t *testing.T) {
	b := backoff{min: time.Second, max: time.Minute}
	seen := map[time.Duration]bool{}
	for range 100 {
		seen[b.delay(3)] = true
	}
	// 100 draws from a range of 4s at ns resolution: identical values would
	// mean there is no jitter.
	if len(seen) < 90 {
		t.Fatalf("only %d distinct delays in 100 draws: no jitter", len(seen))
	}
}

func TestWithBackoffKeepsOrder(t *testing.T) {
	c := New("http://127.0.0.1:1", WithBackoff(2*time.Second, time.Second))
	if c.backoff.min != 2*time.Second || c.backoff.max != 2*time.Second {
		t.Fatalf("backoff = %+v, want max raised to min", c.backoff)
	}
	c = New("http://127.0.0.1:1", WithBackoff(0, -1))
	if c.backoff.min != DefaultMinBackoff || c.backoff.max != DefaultMaxBackoff {
		t.Fatalf("backoff = %+v, want defaults", c.backoff)
	}
}
