package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ssechat/chat/chat"
)

// ErrLimited is what AppendLimited's refusal wraps: the bucket was empty and
// nothing was stored. The error is a *LimitedError, which says how long to
// wait.
var ErrLimited = errors.New("rate limited")

// LimitedError is a refusal by a shared limit. RetryAfter is the time until
// the bucket holds a token again.
type LimitedError struct {
	RetryAfter time.Duration
}

func (e *LimitedError) Error() string {
	return fmt.Sprintf("rate limited: retry after %v", e.RetryAfter)
}

// Is makes errors.Is(err, ErrLimited) true for every *LimitedError.
func (e *LimitedError) Is(target error) bool { return target == ErrLimited }

// Bucket is the shape of a token bucket: it refills at Rate tokens a second
// up to Burst tokens, and a new (or long unused) bucket is full. "10 in 15
// minutes" is Rate 10/900, Burst 10.
type Bucket struct {
	Rate  float64
	Burst int
}

// Limiter is the role of a store shared by several server nodes (Redis) that
// keeps the per-account and per-address limits for all of them, so that two
// nodes do not give an attacker twice the guesses or twice the burst. A
// store that serves one process (SQLite) does not offer it: the server then
// keeps its limits in memory, without a round trip. The server finds the
// role with a type assertion on its store.
//
// Keys are the caller's names ("login-nick:alice"); the store only prefixes
// them. Clocks are the store's (Redis's TIME), so the nodes' clocks do not
// matter. An error wraps ErrUnavailable when the backend is down; the
// caller decides what a limit does then.
type Limiter interface {
	// Take takes one token from key's bucket. When the bucket is empty it
	// takes nothing and returns false with the time until a token is back.
	// A failure limit (logins) takes before the attempt, so attempts under
	// way count as failures on every node, and gives the token back with
	// Refund when the attempt did not fail.
	Take(ctx context.Context, key string, b Bucket) (ok bool, retryAfter time.Duration, err error)
	// Refund gives back one token that Take took from key's bucket (never
	// more than the bucket holds).
	Refund(ctx context.Context, key string, b Bucket) error
	// AppendLimited is Append after taking one token from key's bucket, in
	// the same round trip: every call costs a token, whatever Append then
	// answers (a repeated client_id, an unknown room), as a separate check
	// before Append would. An empty bucket is a *LimitedError and nothing
	// is stored.
	AppendLimited(ctx context.Context, m NewMessage, key string, b Bucket) (msg chat.Message, created bool, err error)
	// AcquireStream takes one of max places under key (open event streams
	// of an account) counted over every node, and returns release, which
	// gives it back (idempotent). ok is false, and nothing taken, when all
	// max are held. The places of a node that dies are given back by
	// themselves within a TTL (the store's presence TTL on Redis), as long
	// as no live node holds them.
	AcquireStream(ctx context.Context, key string, max int) (release func(), ok bool, err error)
}
