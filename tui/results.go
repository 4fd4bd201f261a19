package tui

import (
	"errors"
	"fmt"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/client"
)

// The on* functions take the answers of the requests net.go's commands
// make: the session check, login, join, history pages, sends, /who, /topic.

// onMe takes the answer of the saved session's check.
func (m *Model) onMe(msg meMsg) tea.Cmd {
	if m.phase != phaseCheck {
		return nil
	}
	switch {
	case msg.err == nil && chat.NickKey(msg.nick) == chat.NickKey(m.cfg.Nick):
		m.nick = msg.nick
		m.loginErr = ""
		return m.startChat()
	case msg.err == nil || errors.Is(msg.err, client.ErrUnauthorized):
		m.phase = phasePassword
		m.loginErr = "the saved session has expired: enter the password again"
		return m.password.Focus()
	default:
		m.loginErr = "cannot reach the server (" + errText(msg.err) + "): retrying"
		m.log.Warn("check session", "err", msg.err)
		return tea.Tick(retryEvery, func(time.Time) tea.Msg { return retryMsg{} })
	}
}

func (m *Model) onLogin(msg loginMsg) tea.Cmd {
	if m.phase != phaseLogin {
		return nil
	}
	if msg.err != nil {
		m.phase = phasePassword
		m.password.SetValue("")
		switch {
		case errors.Is(msg.err, client.ErrUnauthorized):
			m.loginErr = m.badCredentialsText()
		default:
			m.loginErr = "login failed: " + errText(msg.err)
		}
		m.log.Warn("login", "err", msg.err)
		return nil
	}
	m.nick = msg.info.Nick
	if m.nick == "" {
		m.nick = m.cfg.Nick
	}
	m.loginErr = ""
	return tea.Batch(m.saveTokenCmd(msg.info.Token), m.startChat())
}

// rejoinMsg asks to join room again after a join failed.
type rejoinMsg struct{ room string }

func (m *Model) onJoined(msg joinedMsg) tea.Cmd {
	r := m.room(msg.room)
	if r == nil {
		return nil // parted meanwhile
	}
	if msg.err != nil {
		m.log.Warn("join", "room", r.name, "err", msg.err)
		var apiErr *client.APIError
		if errors.Is(msg.err, client.ErrNotFound) || (errors.As(msg.err, &apiErr) && apiErr.Code == "room_name_taken") {
			// A remembered room that is gone, or not ours to read any
			// more: asking again would be refused again.
			return m.lost(r, "")
		}
		m.fail(r, fmt.Errorf("join #%s: %w", r.name, msg.err))
		if errors.Is(msg.err, client.ErrUnauthorized) {
			m.sessionExpired("the session has expired: enter the password again")
			return nil
		}
		// Try again later: the server may be restarting.
		return tea.Tick(retryEvery, func(time.Time) tea.Msg { return rejoinMsg{room: r.name} })
	}
	if msg.created {
		m.notify(r, "created #"+r.name)
	}
	for _, mm := range msg.page.Messages {
		r.addMessage(mm, m.nick)
	}
	r.hasMore = msg.page.HasMore
	r.loaded = true
	sub := m.subscribe(r)
	if r.kind == "" {
		// A room joined by name (/join, or remembered): the account's
		// rooms say its kind, for the lock or the @nicks.
		sub = tea.Batch(sub, m.myRoomsCmd())
	}
	if r == m.cur() {
		return tea.Batch(sub, m.afterScroll())
	}
	return sub
}

func (m *Model) onPage(msg pageMsg) tea.Cmd {
	r := m.room(msg.room)
	if r == nil {
		return nil
	}
	if msg.err != nil {
		r.loading = false
		m.log.Warn("history", "room", r.name, "err", msg.err)
		m.setNotice("history of #" + r.name + ": " + errText(msg.err))
		return nil
	}
	var sub tea.Cmd
	switch msg.kind {
	case pageOlder:
		r.loading = false
		r.prependPage(msg.page.Messages)
		r.hasMore = msg.page.HasMore
	case pageAfter:
		for _, mm := range msg.page.Messages {
			m.addLive(r, mm)
		}
		switch {
		case msg.after == "":
			// The newest page: HasMore speaks of older messages.
			r.hasMore = r.hasMore || msg.page.HasMore
		case msg.page.HasMore && r.newest != msg.after:
			return m.pageCmd(r.name, pageAfter, r.newest)
		}
	case pageReset:
		r.clearMessages()
		for _, mm := range msg.page.Messages {
			r.addMessage(mm, m.nick)
		}
		r.hasMore = msg.page.HasMore
		m.notify(r, "history reloaded")
		// The old stream would resume from a point the server no longer
		// replays: follow from the newest message now held instead.
		sub = m.subscribe(r)
	}
	if r == m.cur() {
		return tea.Batch(sub, m.afterScroll())
	}
	return sub
}

func (m *Model) onRooms(msg roomsMsg) {
	if msg.err != nil {
		m.log.Warn("list rooms", "err", msg.err)
		return
	}
	m.serverRooms = m.serverRooms[:0]
	for _, info := range msg.rooms {
		if chat.ValidateRoom(info.Name) == nil { // it goes into the input: no hostile text
			m.serverRooms = append(m.serverRooms, info.Name)
		}
		if r := m.room(info.Name); r != nil {
			r.topic = safeLine(info.Topic)
		}
	}
}

// onOutbox takes what became of a message of the outbox: stored (shown
// like its echo, once), waiting (the outbox keeps trying; a 401 asks for
// the password, and the outbox sends once the new session is there), or
// refused for good (failed, with the reason; Ctrl+R retries).
func (m *Model) onOutbox(u client.OutboxUpdate) tea.Cmd {
	r := m.room(u.Room)
	var e *entry
	if r != nil {
		e = r.findPending(u.ClientID)
	}
	switch u.State {
	case client.OutSent:
		if r != nil {
			m.addLive(r, u.Message)
		}
	case client.OutWaiting:
		m.log.Info("send: waiting", "room", u.Room, "client_id", u.ClientID, "retry_in", u.RetryIn, "err", u.Err)
		if e != nil {
			e.markWaiting(u.Reason)
		}
		if errors.Is(u.Err, client.ErrUnauthorized) && m.phase == phaseChat {
			m.sessionExpired("the session has expired: enter the password again")
		}
	case client.OutFailed:
		m.log.Warn("send: refused", "room", u.Room, "client_id", u.ClientID, "err", u.Err)
		if e != nil {
			e.markFailed(safeLine(u.Reason))
		}
	}
	return nil
}

// answered returns the room a /command's answer is for, or nil when there
// is nothing more to do: the room was left meanwhile, or the answer is an
// error, which it shows in the room.
func (m *Model) answered(room string, err error) *room {
	r := m.room(room)
	if r == nil {
		return nil
	}
	if err != nil {
		m.fail(r, err)
		return nil
	}
	return r
}

func (m *Model) onMembers(msg membersMsg) {
	r := m.answered(msg.room, msg.err)
	if r == nil {
		return
	}
	nicks := make([]string, len(msg.nicks))
	for i, n := range msg.nicks {
		nicks[i] = safeLine(n)
	}
	m.notify(r, fmt.Sprintf("%d online in #%s: %s", len(nicks), r.name, strings.Join(nicks, ", ")))
}

func (m *Model) onTopic(msg topicMsg) {
	r := m.answered(msg.room, msg.err)
	if r == nil {
		return
	}
	r.topic = safeLine(msg.topic)
	m.notify(r, "topic set: "+r.topic)
}

// addLive adds a message that is new to us (from the stream, an answer to
// our POST, or a gap fill), keeping the view still when scrolled up. It
// returns the new entry, nil when the message was held already.
func (m *Model) addLive(r *room, mm chat.Message) *entry {
	e := r.addMessage(mm, m.nick)
	if e == nil {
		return nil
	}
	mine := chat.NickKey(mm.Nick) == chat.NickKey(m.nick)
	if r != m.cur() {
		if !mine {
			if r.unread == 0 {
				r.markNew(e)
			}
			r.unread++
		}
		return e
	}
	if r.offset > 0 {
		r.offset += len(e.lines(m.renderer(), false))
		if !mine {
			r.newCount++
		}
	}
	return e
}
