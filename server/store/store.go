// Package store defines where the chat server keeps its state: accounts,
// sessions, rooms, messages, presence, and the relay of live events to every
// node's hub. The sqlite package is the embedded default; the redis package
// serves a cluster. Both must pass the conformance suite in storetest.
//
// Store is cut into roles, one file each: Accounts, Sessions, Rooms, Membership,
// MessageLog, Presence, Relay, AccessTokens and Hooks, plus Lifecycle (Ping, Close). Each role's
// doc comment is its contract and storetest has one suite per role. A new
// capability is a new role: a file here, one in storetest and one in each
// implementation, and one line in Store. A role only some stores offer
// (Limiter, which only a store shared by several nodes needs) stays out of
// Store; the server finds it with a type assertion.
//
// A store never invents protocol rules: the caller (the server's handlers)
// validates input with package chat and applies the protocol's defaults
// before it calls a store, so every argument arrives complete. A store may
// refuse input it cannot serve (an error wrapping ErrInvalid) but never
// guesses what the caller meant.
package store

import (
	"context"
	"errors"
)

// Errors every implementation returns (wrapped or not; test with errors.Is).
var (
	ErrNotFound    = errors.New("not found")
	ErrExists      = errors.New("already exists")
	ErrTrimmed     = errors.New("resume point is older than the history kept")
	ErrUnavailable = errors.New("store unavailable") // a backend that is down or full: the server answers 503
	ErrClosed      = errors.New("store closed")
	// ErrInvalid reports input the contract rules out (a page limit below
	// 1, both bounds of a page): a bug in the caller, never a user's
	// mistake, since the caller validates first.
	ErrInvalid = errors.New("invalid store input")
)

// Store is the server's state: every role in one value. Every method is
// safe for concurrent use.
type Store interface {
	Accounts
	Sessions
	Rooms
	Membership
	MessageLog
	Search
	Presence
	Relay
	AccessTokens
	Hooks
	Lifecycle
}

// Lifecycle is what is left once the roles are served: readiness and
// shutdown.
type Lifecycle interface {
	// Ping reports whether the store can serve writes now (for /readyz): a
	// backend that answers but refuses writes (a full disk, Redis at
	// maxmemory) is not ready, and Ping returns an error wrapping
	// ErrUnavailable.
	Ping(ctx context.Context) error
	// Close stops the store's goroutines and releases its files or
	// connections; pending appends finish first. Every method returns
	// ErrClosed after it. A second Close is harmless.
	Close() error
}
