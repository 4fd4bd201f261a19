package tui

import (
	"context"
	"errors"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/client"
)

// callTimeout bounds every request a command makes.
const callTimeout = 15 * time.Second

// Results of the commands below, as they come back to Update.
type (
	meMsg struct {
		nick string
		err  error
	}
	loginMsg struct {
		info chat.SessionInfo
		err  error
	}
	// joinedMsg is the first page of a room, after it was created if missing.
	joinedMsg struct {
		room    string
		created bool
		page    chat.MessagePage
		err     error
	}
	// pageMsg is a page of older messages (older), the messages after the
	// newest held (gap fill after a reconnect), or the newest page (reset).
	pageMsg struct {
		room  string
		kind  pageKind
		page  chat.MessagePage
		err   error
		after string
	}
	roomsMsg struct {
		rooms []chat.Room
		err   error
	}
	// outboxMsg is what became of a message of the outbox.
	outboxMsg  client.OutboxUpdate
	membersMsg struct {
		room  string
		nicks []string
		err   error
	}
	topicMsg struct {
		room  string
		topic string
		err   error
	}
	savedMsg  struct{ err error }
	tickMsg   time.Time
	retryMsg  struct{}
	typingMsg struct{ err error }
)

type pageKind int

const (
	pageOlder pageKind = iota
	pageAfter
	pageReset
)

func (m *Model) callCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(m.ctx, callTimeout)
}

func (m *Model) meCmd() tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := m.callCtx()
		defer cancel()
		nick, err := m.be.Me(ctx)
		return meMsg{nick: nick, err: err}
	}
}

func (m *Model) loginCmd(nick, password string) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := m.callCtx()
		defer cancel()
		info, err := m.be.Login(ctx, nick, password)
		return loginMsg{info: info, err: err}
	}
}

func (m *Model) saveTokenCmd(token string) tea.Cmd {
	state, server, nick := m.state, m.cfg.Server, m.cfg.Nick
	return func() tea.Msg {
		if state == nil {
			return savedMsg{}
		}
		return savedMsg{err: state.SaveToken(server, nick, token)}
	}
}

func (m *Model) saveRoomsCmd() tea.Cmd {
	names := make([]string, len(m.rooms))
	for i, r := range m.rooms {
		names[i] = r.name
	}
	state, server, nick := m.state, m.cfg.Server, m.cfg.Nick
	return func() tea.Msg {
		if state == nil {
			return savedMsg{}
		}
		return savedMsg{err: state.SaveRooms(server, nick, names)}
	}
}

// joinCmd loads a room's first page. A room the account is not known to
// belong to (/join, a room remembered from an earlier run) is created
// when missing, and joined when public: the rooms list is the account's
// rooms. A 403 of the join is a private or direct room one belongs to
// already (only owners and admins add members there); its history then
// loads as for any member.
func (m *Model) joinCmd(room string, member bool) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := m.callCtx()
		defer cancel()
		created := false
		if !member {
			var err error
			if created, err = m.be.CreateRoom(ctx, room, nil); err != nil {
				return joinedMsg{room: room, err: err}
			}
			if !created {
				if err := m.be.Join(ctx, room); err != nil && !errors.Is(err, client.ErrForbidden) {
					return joinedMsg{room: room, err: err}
				}
			}
		}
		page, err := m.be.History(ctx, room, client.HistoryQuery{Limit: m.pageSize(ctx, chat.DefaultPageSize)})
		return joinedMsg{room: room, created: created, page: page, err: err}
	}
}

// pageCmd asks for one page of history. A gap after the newest message held
// is asked in the largest pages the server allows; onPage asks for the next
// one while the server says more follow, so a gap of any length is filled.
func (m *Model) pageCmd(room string, kind pageKind, id string) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := m.callCtx()
		defer cancel()
		want := chat.DefaultPageSize
		if kind == pageAfter {
			want = chat.MaxPageSize
		}
		q := client.HistoryQuery{Limit: m.pageSize(ctx, want)}
		switch kind {
		case pageOlder:
			q.Before = id
		case pageAfter:
			q.After = id
		}
		page, err := m.be.History(ctx, room, q)
		return pageMsg{room: room, kind: kind, page: page, err: err, after: id}
	}
}

// pageSize is the page to ask for when want messages are wanted: at most
// the server's announced history_page_max, since the server refuses a
// larger one (a server run with --history-page-max 20 answers 400 to 50).
// The client library knows the limits from the stream's welcome, so this
// seldom costs a request. When even that fails, 0 lets the server choose
// its default page, which it always accepts.
func (m *Model) pageSize(ctx context.Context, want int) int {
	l, err := m.be.Limits(ctx)
	if err != nil || l.HistoryPageMax < 1 {
		m.log.Warn("server limits", "err", err)
		return 0
	}
	return min(want, l.HistoryPageMax)
}

func (m *Model) roomsCmd() tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := m.callCtx()
		defer cancel()
		rooms, err := m.be.Rooms(ctx)
		return roomsMsg{rooms: rooms, err: err}
	}
}

// nextOutbox arms the one command that reads the outbox's updates, unless
// it is armed already, so that a room's updates arrive in their order.
func (m *Model) nextOutbox() tea.Cmd {
	if m.readingOut {
		return nil
	}
	m.readingOut = true
	out, ctx := m.out, m.ctx
	return func() tea.Msg {
		select {
		case u := <-out.Updates():
			return outboxMsg(u)
		case <-ctx.Done():
			return nil
		}
	}
}

func (m *Model) saveOutboxFunc() func([]client.Outgoing) error {
	if m.state == nil {
		return nil
	}
	state, server, nick := m.state, m.cfg.Server, m.cfg.Nick
	return func(items []client.Outgoing) error { return state.SaveOutbox(server, nick, items) }
}

func (m *Model) membersCmd(room string) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := m.callCtx()
		defer cancel()
		nicks, err := m.be.Members(ctx, room)
		return membersMsg{room: room, nicks: nicks, err: err}
	}
}

func (m *Model) topicCmd(room, topic string) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := m.callCtx()
		defer cancel()
		err := m.be.SetTopic(ctx, room, topic)
		return topicMsg{room: room, topic: topic, err: err}
	}
}

func (m *Model) typingCmd(room string) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := m.callCtx()
		defer cancel()
		return typingMsg{err: m.be.Typing(ctx, room)}
	}
}

func tickCmd() tea.Cmd {
	return tea.Tick(time.Second, func(t time.Time) tea.Msg { return tickMsg(t) })
}

// errText is an error as one short, terminal-safe line for the screen. A
// server's own sentence is preferred; a network error is cut to its last
// part ("connection refused").
func errText(err error) string {
	if err == nil {
		return ""
	}
	var apiErr *client.APIError
	if errors.As(err, &apiErr) && apiErr.Message != "" {
		return safeLine(apiErr.Message)
	}
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 && i+2 < len(s) {
		s = s[i+2:]
	}
	return safeLine(s)
}
