package tui

import (
	"context"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/client"
)

// Backend is the part of *client.Client the TUI uses. Every call is made
// from a tea.Cmd or from the subscription goroutines, never from Update.
type Backend interface {
	Login(ctx context.Context, nick, password string) (chat.SessionInfo, error)
	Token() string
	Me(ctx context.Context) (string, error)
	Limits(ctx context.Context) (chat.ServerLimits, error)
	CreateRoom(ctx context.Context, room string, topic *string) (bool, error)
	SetTopic(ctx context.Context, room, topic string) error
	Rooms(ctx context.Context) ([]chat.Room, error)
	Members(ctx context.Context, room string) ([]string, error)
	History(ctx context.Context, room string, q client.HistoryQuery) (chat.MessagePage, error)
	Typing(ctx context.Context, room string) error
	// SendOnce posts one message once; the outbox (client.Outbox) retries.
	SendOnce(ctx context.Context, room string, m chat.PostMessage) (chat.Message, error)
	Subscribe(ctx context.Context, room, lastID string) <-chan client.Event

	// Membership (protocol version 2): the rooms the account belongs to,
	// and the calls behind /create, /join, /leave, /invite, /kick, /msg.
	MyRooms(ctx context.Context) ([]chat.MyRoom, error)
	CreateRoomKind(ctx context.Context, room, kind string) (bool, error)
	Join(ctx context.Context, room string) error
	Leave(ctx context.Context, room string) error
	AddMember(ctx context.Context, room, nick string) error
	RemoveMember(ctx context.Context, room, nick string) error
	DirectMessage(ctx context.Context, nicks ...string) (chat.Room, bool, error)
}

var _ Backend = (*client.Client)(nil)
