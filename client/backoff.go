package client

import (
	"math/rand/v2"
	"time"
)

// backoff computes capped exponential delays with jitter.
type backoff struct {
	min, max time.Duration
}

// delay returns the wait before retry number attempt (0 for the first
// retry): min·2^attempt capped at max, then "equal jitter", a random point
// in its upper half, so that clients dropped together do not come back
// together, and no wait is shorter than half the nominal one.
func (b backoff) delay(attempt int) time.Duration {
	d := b.max
	if attempt < 32 {
		if n := b.min << attempt; n > 0 && n < b.max {
			d = n
		}
	}
	half := d / 2
	return half + rand.N(d-half+1)
}
