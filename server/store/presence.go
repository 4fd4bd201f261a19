package store

import "context"

// Presence counts who is connected to each room, across every node. A
// connection is (room, nick, conn), conn being unique per stream.
type Presence interface {
	// Join records one connection of nick in room and returns who is online
	// (distinct nicks, sorted). Leave removes it; leaving twice is not an
	// error. Entries of a node that dies expire (cluster stores) or vanish
	// with the process (embedded stores). A returned list never changes
	// later, but may be shared: callers must not modify it.
	Join(ctx context.Context, room, nick, conn string) (online []string, err error)
	Leave(ctx context.Context, room, nick, conn string) (online []string, err error)
	Online(ctx context.Context, room string) ([]string, error)
}

// OnlineLister is what a store shared by several nodes adds to Presence so
// that a list of rooms (GET /api/rooms) costs one round trip instead of
// one per room. The server finds it with a type assertion and otherwise
// asks Online room by room (an embedded store answers from memory).
type OnlineLister interface {
	// OnlineMany returns Online of each room, in the order given.
	OnlineMany(ctx context.Context, rooms []string) ([][]string, error)
}
