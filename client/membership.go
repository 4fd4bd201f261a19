package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/ssechat/chat/chat"
)

// CreateRoomKind creates room of kind (chat.KindPublic or
// chat.KindPrivate) with the session's account as its owner; created is
// false when it existed (with that kind: another kind is refused with code
// room_kind_fixed, a name taken by a room the session cannot see with
// room_name_taken).
func (c *Client) CreateRoomKind(ctx context.Context, room, kind string) (created bool, err error) {
	status, err := c.do(ctx, http.MethodPut, roomPath(room, ""), nil, chat.RoomUpdate{Kind: &kind}, nil)
	if err != nil {
		return false, fmt.Errorf("create room %s: %w", room, err)
	}
	return status == http.StatusCreated, nil
}

// DeleteRoom deletes room and its history for good (its owner only).
func (c *Client) DeleteRoom(ctx context.Context, room string) error {
	if _, err := c.do(ctx, http.MethodDelete, roomPath(room, ""), nil, nil, nil); err != nil {
		return fmt.Errorf("delete room %s: %w", room, err)
	}
	return nil
}

// SetPublicRead lets anyone read room's history without signing in, or
// stops it (the owner of a public room only).
func (c *Client) SetPublicRead(ctx context.Context, room string, on bool) error {
	if _, err := c.do(ctx, http.MethodPut, roomPath(room, ""), nil, chat.RoomUpdate{PublicRead: &on}, nil); err != nil {
		return fmt.Errorf("set public_read of %s: %w", room, err)
	}
	return nil
}

func memberPath(room, nick string) string { return roomPath(room, "/members/"+url.PathEscape(nick)) }

// me returns the session's nick, for the calls that name it.
func (c *Client) me(ctx context.Context) (string, error) {
	nick, err := c.Me(ctx)
	if err != nil {
		return "", fmt.Errorf("find own nick: %w", err)
	}
	return nick, nil
}

// Join makes the session's account a member of a public room.
func (c *Client) Join(ctx context.Context, room string) error {
	nick, err := c.me(ctx)
	if err != nil {
		return err
	}
	return c.AddMember(ctx, room, nick)
}

// Leave takes the session's account out of room (the owner cannot leave).
func (c *Client) Leave(ctx context.Context, room string) error {
	nick, err := c.me(ctx)
	if err != nil {
		return err
	}
	return c.RemoveMember(ctx, room, nick)
}

// AddMember adds nick to room (the room's owner or admins; anyone for
// oneself in a public room).
func (c *Client) AddMember(ctx context.Context, room, nick string) error {
	if _, err := c.do(ctx, http.MethodPut, memberPath(room, nick), nil, nil, nil); err != nil {
		return fmt.Errorf("add %s to %s: %w", nick, room, err)
	}
	return nil
}

// SetRole makes a member of room chat.RoleAdmin or chat.RoleMember (the
// room's owner only), adding it when it is not a member yet.
func (c *Client) SetRole(ctx context.Context, room, nick, role string) error {
	if _, err := c.do(ctx, http.MethodPut, memberPath(room, nick), nil, chat.MemberUpdate{Role: &role}, nil); err != nil {
		return fmt.Errorf("make %s %s of %s: %w", nick, role, room, err)
	}
	return nil
}

// RemoveMember removes nick from room (the room's owner or admins; anyone
// for oneself).
func (c *Client) RemoveMember(ctx context.Context, room, nick string) error {
	if _, err := c.do(ctx, http.MethodDelete, memberPath(room, nick), nil, nil, nil); err != nil {
		return fmt.Errorf("remove %s from %s: %w", nick, room, err)
	}
	return nil
}

// RoomMembers returns room's members with their roles, and who is online.
func (c *Client) RoomMembers(ctx context.Context, room string) (chat.Members, error) {
	var m chat.Members
	if _, err := c.do(ctx, http.MethodGet, roomPath(room, "/members"), nil, nil, &m); err != nil {
		return chat.Members{}, err
	}
	return m, nil
}

// MyRooms lists the rooms the session's account belongs to.
func (c *Client) MyRooms(ctx context.Context) ([]chat.MyRoom, error) {
	var m chat.MyRooms
	if _, err := c.do(ctx, http.MethodGet, "/api/me/rooms", nil, nil, &m); err != nil {
		return nil, err
	}
	return m.Rooms, nil
}

// DirectMessage returns the direct room of the session's account and
// nicks, creating it (created true) when there is none. The same set of
// accounts always gets the same room.
func (c *Client) DirectMessage(ctx context.Context, nicks ...string) (room chat.Room, created bool, err error) {
	status, err := c.do(ctx, http.MethodPost, "/api/dms", nil, chat.DirectRequest{Nicks: nicks}, &room)
	if err != nil {
		return chat.Room{}, false, fmt.Errorf("direct room with %v: %w", nicks, err)
	}
	return room, status == http.StatusCreated, nil
}
