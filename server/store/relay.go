package store

import (
	"context"

	"github.com/ssechat/chat/chat"
)

// Event is what the store relays to every node's hub: a committed message,
// an ephemeral typing, presence or room (topic) event, or a reset. Exactly
// one of the pointers is set.
//
// Reset says the store could not deliver the room's messages without a gap:
// some it had not relayed yet were deleted by retention first (a cluster
// node cut off from the others for longer than the history lasts). Every
// open stream of the room then has a gap that only a reload of history
// mends, so the hub sends them the reset and goes on with the messages that
// follow. Embedded stores, which relay every message as it commits, never
// send one.
type Event struct {
	Room     string
	Message  *chat.Message
	Typing   *chat.Typing
	Presence *chat.Presence
	Topic    *chat.TopicChange
	Reset    *chat.Reset
	// Member says an account gained or lost the room, or the room was
	// deleted: streams of that account (or every stream of the room) must
	// end or be told. Published by the server, never stored.
	Member *MemberChange
}

// Relay carries live events to every node's listener: each committed
// message once, per room in id order, and the ephemeral events published.
type Relay interface {
	// Publish relays an ephemeral event (typing, presence, room) to every node's
	// listener, this node's included. Best effort: not stored.
	Publish(ctx context.Context, e Event) error
	// Listen sets the function the store calls with every committed message
	// (per room in id order, each once) and every published event of the
	// rooms being watched, and with a Reset event, in its place among the
	// room's messages, when it cannot deliver a room's messages without a
	// gap (embedded stores never do). Call it once, before anything is
	// appended. fn is called from one goroutine at a time and must not block.
	Listen(fn func(Event))
	// Watch makes sure the room's events reach the listener from the moment
	// it returns until stop is called; watches nest. Embedded stores relay
	// every room and may treat it as a no-op.
	Watch(ctx context.Context, room string) (stop func(), err error)
}
