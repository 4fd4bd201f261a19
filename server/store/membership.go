package store

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/ssechat/chat/chat"
)

// Member is one member of a room: its nick as the account spells it and its
// role (chat.RoleOwner, chat.RoleAdmin or chat.RoleMember).
type Member struct {
	Nick   string
	Role   string
	Joined time.Time
}

// MemberRoom is one room of an account, with the account's role in it.
type MemberRoom struct {
	Room Room
	Role string
}

// NewRoom is a room to create, complete as the caller's rules made it: Kind
// is chat.KindPublic or chat.KindPrivate (direct rooms come from
// DirectRoom), Owner an existing account or "" for none.
type NewRoom struct {
	Name  string
	Kind  string
	Owner string
	Topic string
}

// MemberChange is what the server publishes (Relay) when an account gains
// or loses a room, or a room is deleted, so that every node's streams can
// act on it: State is "joined", "left", "removed" or "deleted" (the whole
// room: Nick is ""); By is who did it.
type MemberChange struct {
	Room  string
	Nick  string
	State string
	By    string
}

// Member change states.
const (
	MemberJoined  = "joined"
	MemberLeft    = "left"
	MemberRemoved = "removed"
	RoomDeleted   = "deleted"
)

// DirectKey is the key of a direct room: the sorted, distinct nick keys of
// its accounts. The same set of accounts gives the same key whatever the
// order or case the nicks come in, which is what makes one set one room.
func DirectKey(nicks []string) string {
	keys := make([]string, 0, len(nicks))
	for _, n := range nicks {
		keys = append(keys, chat.NickKey(n))
	}
	slices.Sort(keys)
	return strings.Join(slices.Compact(keys), ",")
}

// Membership keeps who belongs to which room and with what role, the rooms'
// kinds, and the direct rooms by their set of accounts. Rooms made by
// Rooms.PutRoom are public and have no owner (the server's "general", rooms
// of a store written before membership existed). The caller checks the
// protocol's rules (who may add whom); the store keeps the data and makes
// the two races the protocol cares about impossible: two creations of one
// room, and two creations of one direct conversation.
//
// A store written before membership opens with every room public and every
// account that posted in a room a member of it. CreateAccount makes a new
// account a member of chat.DefaultRoom when that room exists, and
// DeleteAccount removes the account from every room (so a new account of
// the same nick inherits nothing).
type Membership interface {
	// CreateRoom creates the room with r's kind, topic and owner (also a
	// member, with chat.RoleOwner) and says created; a room of that name
	// that exists already is returned unchanged with created false. Of
	// concurrent calls for one name exactly one creates it.
	CreateRoom(ctx context.Context, r NewRoom) (room Room, created bool, err error)
	// DirectRoom returns the direct room of exactly the accounts nicks
	// (DirectKey; 2 to chat.MaxDirectMembers distinct accounts, all
	// existing), creating it under name with every one of them a member
	// when there is none. Of concurrent calls for one set, in any order
	// and case, exactly one creates it; the others return its room.
	DirectRoom(ctx context.Context, name string, nicks []string) (room Room, created bool, err error)
	// SetPublicRead sets whether the room's history is readable without
	// signing in. ErrNotFound: no such room.
	SetPublicRead(ctx context.Context, room string, on bool) (Room, error)
	// Access returns the room and nick's role in it ("" when nick is not a
	// member). ErrNotFound: no such room. It does the same store work
	// whether or not the room exists, so that its time tells nothing.
	Access(ctx context.Context, room, nick string) (r Room, role string, err error)
	// PutMember makes nick a member of room with role, or changes the role
	// of a member; role "" adds with chat.RoleMember and keeps an existing
	// member's role. created says nick was not a member before.
	// ErrNotFound: no such room or account.
	PutMember(ctx context.Context, room, nick, role string) (created bool, err error)
	// RemoveMember removes nick from room. ErrNotFound: nick was not a
	// member (or there is no such room).
	RemoveMember(ctx context.Context, room, nick string) error
	// Members lists the room's members sorted by nick key. ErrNotFound: no
	// such room.
	Members(ctx context.Context, room string) ([]Member, error)
	// RoomsOf lists the rooms nick belongs to, sorted by name.
	RoomsOf(ctx context.Context, nick string) ([]MemberRoom, error)
	// DeleteRoom removes the room with its messages, members and direct
	// key, for good. ErrNotFound: no such room. Events already relayed are
	// not recalled.
	DeleteRoom(ctx context.Context, room string) error
}
