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
