package store

import (
	"context"
	"time"
)

// Session is a login. Only the hash of its token is stored.
type Session struct {
	TokenHash string
	Nick      string
	Created   time.Time
	ExpiresAt time.Time
}

// Sessions keeps logins by the hash of their token. A session past its
// ExpiresAt is gone for every method, whether or not the store has removed
// it yet.
type Sessions interface {
	CreateSession(ctx context.Context, s Session) error
	// Session returns ErrNotFound for an unknown or expired token hash.
	Session(ctx context.Context, tokenHash string) (Session, error)
	// ExtendSession moves a session's expiry (sliding sessions); ErrNotFound
	// for an unknown or expired session.
	ExtendSession(ctx context.Context, tokenHash string, expiresAt time.Time) error
	// DeleteSession revokes one session; unknown ones are not an error.
	DeleteSession(ctx context.Context, tokenHash string) error
	// DeleteSessions revokes every session of a nick, in any case (none is
	// not an error).
	DeleteSessions(ctx context.Context, nick string) error
}
