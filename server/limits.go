package server

import (
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// Limits holds the server's limits. The per-account and per-address limits
// (message rate, login attempts, streams per account and address) are hooks
// below that answer "allowed" until the limiter is wired in; the total
// stream cap is enforced here.
type Limits struct {
	// Enabled turns the per-account and per-address limits on. Defaults
	// to true; --rate-limits=false turns them off for benchmarks. Sizes,
	// timeouts and MaxStreams stay either way.
	Enabled bool
	// MaxStreams caps the open event streams of this process (503 beyond).
	// Defaults to 50000.
	MaxStreams int
}

// DefaultLimits returns the limits documented on each field.
func DefaultLimits() Limits {
	return Limits{Enabled: true, MaxStreams: 50000}
}

func (l Limits) validate() error {
	if l.MaxStreams < 1 {
		return fmt.Errorf("max streams must be at least 1")
	}
	return nil
}

// limiter applies Limits. Its zero value allows everything but the total
// stream cap.
type limiter struct {
	cfg     Limits
	streams atomic.Int64
}

// clientAddr is the address limits are keyed by: the peer's IP. (Behind a
// trusted proxy this is where X-Forwarded-For would be read.)
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// allowLogin is asked before a password is checked; an error (429) refuses
// the attempt without checking it.
func (l *limiter) allowLogin(r *http.Request, nick string) error { return nil }

// loginFailed records a failed attempt against the nick and the address.
func (l *limiter) loginFailed(r *http.Request, nick string) {}

// allowPost is asked before a message is stored; an error (429 with
// Retry-After) refuses it and nothing is stored.
func (l *limiter) allowPost(r *http.Request, nick string) error { return nil }

// acquireStream is asked before a stream starts; release must be called when
// it ends.
func (l *limiter) acquireStream(r *http.Request, nick string) (release func(), err error) {
	if l.streams.Add(1) > int64(l.cfg.MaxStreams) {
		l.streams.Add(-1)
		return nil, &errHTTP{Status: http.StatusServiceUnavailable, Code: "too_many_streams",
			Message: "The server has as many open streams as it serves; try again later.", RetryAfter: 10 * time.Second}
	}
	return func() { l.streams.Add(-1) }, nil
}
