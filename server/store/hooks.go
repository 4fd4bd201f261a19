package store

import (
	"context"
	"time"
)

// Hook is an incoming webhook: a URL that posts to one room without a
// login. Only the hash of its secret is stored.
type Hook struct {
	ID         string // public, part of its URL
	SecretHash string // the hash of the secret in its URL
	Room       string
	Name       string // the nick its messages carry
	Creator    string // the nick that made it
	Created    time.Time
}

// Hooks keeps incoming webhooks by id. A hook lives until it is deleted.
type Hooks interface {
	// CreateHook stores a hook. ErrNotFound when its room does not exist,
	// ErrExists when its id is taken.
	CreateHook(ctx context.Context, h Hook) error
	// Hook returns the hook of an id, or ErrNotFound.
	Hook(ctx context.Context, id string) (Hook, error)
	// RoomHooks lists a room's hooks, oldest first; none is an empty list,
	// not an error (an unknown room has none).
	RoomHooks(ctx context.Context, room string) ([]Hook, error)
	// DeleteHook removes the hook id of room; ErrNotFound for an unknown id
	// or one of another room.
	DeleteHook(ctx context.Context, room, id string) error
}
