package store

import (
	"context"
	"time"
)

// Room is a chat room. LastID is the newest message's id, "" when empty.
type Room struct {
	Name    string
	Topic   string
	LastID  string
	Created time.Time
}

// Rooms keeps the rooms and their topics. A new store holds none: creating
// "general" is the server's business. The caller validates names and topics.
type Rooms interface {
	// PutRoom creates the room (created is true) or returns the existing one;
	// a non-nil topic replaces the room's topic either way. Of concurrent
	// calls for one new room exactly one says created.
	PutRoom(ctx context.Context, name string, topic *string) (r Room, created bool, err error)
	// Room returns ErrNotFound for an unknown room.
	Room(ctx context.Context, name string) (Room, error)
	// Rooms lists every room, sorted by name.
	Rooms(ctx context.Context) ([]Room, error)
}
