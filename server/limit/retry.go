package limit

import (
	"math"
	"net/http"
	"strconv"
	"time"
)

// RetryAfterSeconds turns a wait into the whole seconds of a Retry-After
// header: rounded up, so a client that obeys is never early, and at least 1,
// since "0" invites an immediate retry that would be refused again.
func RetryAfterSeconds(d time.Duration) int {
	if d <= 0 {
		return 1
	}
	s := math.Ceil(d.Seconds())
	if s > math.MaxInt32 {
		return math.MaxInt32
	}
	return max(int(s), 1)
}

// SetRetryAfter sets the Retry-After header for a wait of d.
func SetRetryAfter(h http.Header, d time.Duration) {
	h.Set("Retry-After", strconv.Itoa(RetryAfterSeconds(d)))
}
