// Package store defines where the chat server keeps its state: accounts,
// sessions, rooms, messages, presence, and the relay of live events to every
// node's hub. The sqlite package is the embedded default; the redis package
// serves a cluster. Both must pass the conformance suite in storetest.
//
// A store never invents protocol rules: callers validate input with package
// chat first.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/ssechat/chat/chat"
)

// Errors every implementation returns (wrapped or not; test with errors.Is).
var (
	ErrNotFound    = errors.New("not found")
	ErrExists      = errors.New("already exists")
	ErrTrimmed     = errors.New("resume point is older than the history kept")
	ErrUnavailable = errors.New("store unavailable") // a backend that is down: the server answers 503
	ErrClosed      = errors.New("store closed")
)

// Account is a user account. Nicks are unique without regard to case
// (chat.NickKey); lookups ignore case and return the spelling it was created
// with.
type Account struct {
	Nick         string
	PasswordHash string
	Created      time.Time
}

// Session is a login. Only the hash of its token is stored.
type Session struct {
	TokenHash string
	Nick      string
	Created   time.Time
	ExpiresAt time.Time
}

// Room is a chat room. LastID is the newest message's id, "" when empty.
type Room struct {
	Name    string
	Topic   string
	LastID  string
	Created time.Time
}

// NewMessage is a message to append; the store assigns ID, and TS if zero.
type NewMessage struct {
	Room     string
	Nick     string
	Kind     string
	Text     string
	ClientID string // optional idempotency key, scoped to (Room, Nick)
	TS       time.Time
}

// PageQuery selects a page of history. Before and After are message ids
// (at most one is set); neither selects the newest page. Limit is 1 to
// chat.MaxPageSize.
type PageQuery struct {
	Before string
	After  string
	Limit  int
}

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
	RoomInfo *chat.RoomInfo
	Reset    *chat.Reset
}

// Store is the server's state. Every method is safe for concurrent use.
type Store interface {
	// CreateAccount returns ErrExists when the nick is taken in any case.
	CreateAccount(ctx context.Context, a Account) error
	// Account returns ErrNotFound for an unknown nick.
	Account(ctx context.Context, nick string) (Account, error)
	// SetPassword returns ErrNotFound for an unknown nick.
	SetPassword(ctx context.Context, nick, passwordHash string) error
	// DeleteAccount removes the account and all its sessions; ErrNotFound
	// for an unknown nick.
	DeleteAccount(ctx context.Context, nick string) error

	CreateSession(ctx context.Context, s Session) error
	// Session returns ErrNotFound for an unknown or expired token hash.
	Session(ctx context.Context, tokenHash string) (Session, error)
	// ExtendSession moves a session's expiry (sliding sessions); ErrNotFound
	// for an unknown or expired session.
	ExtendSession(ctx context.Context, tokenHash string, expiresAt time.Time) error
	// DeleteSession revokes one session; unknown ones are not an error.
	DeleteSession(ctx context.Context, tokenHash string) error
	// DeleteSessions revokes every session of a nick (none is not an error).
	DeleteSessions(ctx context.Context, nick string) error

	// PutRoom creates the room (created is true) or returns the existing one;
	// a non-nil topic replaces the room's topic either way.
	PutRoom(ctx context.Context, name string, topic *string) (r Room, created bool, err error)
	// Room returns ErrNotFound for an unknown room.
	Room(ctx context.Context, name string) (Room, error)
	// Rooms lists every room, sorted by name.
	Rooms(ctx context.Context) ([]Room, error)

	// Append stores a message durably and returns it with its id. Ids
	// strictly increase per room in the order of acceptance. When
	// m.ClientID is set and (room, nick, client_id) was stored before, it
	// returns that first message with created false and relays nothing.
	// ErrNotFound: the room does not exist.
	Append(ctx context.Context, m NewMessage) (msg chat.Message, created bool, err error)
	// Page returns a page of history, oldest first, and whether more
	// messages lie beyond it in the direction asked (older ones for the
	// newest page and for Before, newer ones for After). An unknown room is
	// ErrNotFound; an id that is not one of this store's wraps chat.ErrBadID.
	Page(ctx context.Context, room string, q PageQuery) (msgs []chat.Message, hasMore bool, err error)
	// Since returns up to max messages with ids after the given one, oldest
	// first, and whether more follow; after "" or "0" reads from the start.
	// ErrTrimmed: messages after that id were dropped by retention, or the id
	// lies beyond anything this store issued (its data was replaced), so a
	// replay would have a gap and the client must reload.
	Since(ctx context.Context, room, after string, max int) (msgs []chat.Message, more bool, err error)

	// Join records one connection of nick in room and returns who is online
	// (distinct nicks, sorted). Leave removes it. Entries of a node that dies
	// expire (cluster stores) or vanish with the process (embedded stores).
	// A returned list never changes later, but may be shared: callers must
	// not modify it.
	Join(ctx context.Context, room, nick, conn string) (online []string, err error)
	Leave(ctx context.Context, room, nick, conn string) (online []string, err error)
	Online(ctx context.Context, room string) ([]string, error)

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

	// Ping reports whether the backend answers (for /readyz).
	Ping(ctx context.Context) error
	// Close stops the store's goroutines and releases its files or
	// connections; pending appends finish first. A second Close is harmless.
	Close() error
}
