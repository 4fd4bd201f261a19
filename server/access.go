package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/store"
)

// caller is who asks about a room: a signed-in account, or nobody (a
// reader of a public_read room without a session).
type caller struct {
	nick     string
	signedIn bool
}

func signedIn(nick string) caller { return caller{nick: nick, signedIn: true} }

// anonymous is the caller of a request without a session.
var anonymous = caller{}

// roomAccess is the one membership rule every endpoint that names a room
// asks (history, members, typing, post, topic, membership, deletion, and
// the event stream): it returns the room and the caller's role in it ("" for
// a non-member of a public room). A room the caller cannot read answers
// exactly as a room that does not exist, errRoomNotFound, whatever the
// reason: no such room, a name that could never be one, a private or direct
// room the caller is not a member of, or, for a caller without a session,
// any room that is not a public_read public room, or a room outside the
// rooms a personal access token is limited to (tokenAllows, by the session
// in ctx).
//
// Both ways to a 404 do the same store work (one Access call, which itself
// asks the same questions whether or not the room exists), so the answer's
// time does not tell a hidden room from a missing one
// (BenchmarkRoomAccess compares them).
func (s *Server) roomAccess(ctx context.Context, c caller, name string) (store.Room, string, error) {
	if chat.ValidateRoom(name) != nil || !tokenAllows(sessionFrom(ctx), name) {
		return store.Room{}, "", errRoomNotFound
	}
	room, role, err := s.st.Access(ctx, name, c.nick)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.Room{}, "", errRoomNotFound
	case err != nil:
		return store.Room{}, "", fmt.Errorf("read room: %w", err)
	case !c.signedIn:
		if room.Kind != chat.KindPublic || !room.PublicRead {
			return store.Room{}, "", errRoomNotFound
		}
		return room, "", nil
	case room.Kind != chat.KindPublic && role == "":
		return store.Room{}, "", errRoomNotFound
	}
	return room, role, nil
}

// manager reports the caller's effective role for managing a room: its
// own, raised for a server admin (chat-server user add --admin) in a public
// room, who acts as the owner of a room without one (such as "general")
// and as an admin of the others. A server admin gains nothing in a private
// or direct room: those stay their members' alone.
func (s *Server) manager(ctx context.Context, room store.Room, nick, role string) (string, error) {
	if role == chat.RoleOwner || room.Kind != chat.KindPublic {
		return role, nil
	}
	admin, err := s.serverAdmin(ctx, nick)
	switch {
	case err != nil:
		return "", err
	case !admin:
		return role, nil
	case room.Owner == "":
		return chat.RoleOwner, nil
	default:
		return chat.RoleAdmin, nil
	}
}

// serverAdmin reports whether nick's account was made with
// chat-server user add --admin.
func (s *Server) serverAdmin(ctx context.Context, nick string) (bool, error) {
	acct, err := s.st.Account(ctx, nick)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read account: %w", err)
	}
	return acct.Admin, nil
}

// manages reports whether a role may add and remove others.
func manages(role string) bool { return role == chat.RoleOwner || role == chat.RoleAdmin }
