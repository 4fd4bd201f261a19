package store

import (
	"context"
	"time"
)

// Room is a chat room. LastID is the newest message's id, "" when empty.
// Kind is one of chat's kinds (a room made by PutRoom is public); Owner is
// the nick of the account that created it, "" for none; PublicRead says
// its history may be read without signing in.
type Room struct {
	Name       string
	Topic      string
	LastID     string
	Created    time.Time
	Kind       string
	Owner      string
	PublicRead bool
}

// Rooms keeps the rooms and their topics. A new store holds none: creating
// "general" is the server's business. The caller validates names and topics.
type Rooms interface {
	// PutRoom creates a public room without owner (created is true) or
	// returns the existing one;
	// a non-nil topic replaces the room's topic either way. Of concurrent
	// calls for one new room exactly one says created.
	PutRoom(ctx context.Context, name string, topic *string) (r Room, created bool, err error)
	// Room returns ErrNotFound for an unknown room.
	Room(ctx context.Context, name string) (Room, error)
	// Rooms lists every room, sorted by name.
	Rooms(ctx context.Context) ([]Room, error)
}
