package tui

import (
	"errors"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/client"
)

// event takes one event of a room's stream (subs.go), or a change of the
// stream's state, and drops those of rooms left and streams replaced.
func (m *Model) event(msg eventMsg) tea.Cmd {
	ev := msg.ev
	r := m.room(ev.Room)
	if r == nil || msg.gen != r.gen || m.phase != phaseChat {
		return nil // a room we left, or a stream we replaced
	}
	switch {
	case ev.State != nil:
		r.conn, r.hasCon = *ev.State, true
		if ev.State.State == client.StateConnected {
			// The server is back: what the outbox holds goes now.
			m.out.Wake()
		}
		m.log.Info("stream state", "room", r.name, "state", ev.State.State.String(), "err", ev.State.Err)
		switch {
		case ev.State.State == client.StateUnauthorized:
			m.sessionExpired("the session has expired: enter the password again")
		case ev.State.State == client.StateClosed && errors.Is(ev.State.Err, client.ErrNotFound):
			// The room answers 404: it was deleted, or we were removed
			// while the removed event did not reach us. Retrying would
			// only be refused again.
			return m.lost(r, "")
		}
	case ev.Removed != nil:
		// The server ends the stream after this; the room is no longer
		// ours to read.
		return m.lost(r, ev.Removed.By)
	case ev.Welcome != nil:
		r.online = ev.Welcome.Online
		r.welcomed(ev.Welcome.Online, m.now())
		// The server resumes from our last id without a gap; this catches
		// what a stream started without an id (an empty room) missed.
		// After is "" for a room that was empty: then the newest page.
		return tea.Batch(m.pageCmd(r.name, pageAfter, r.newest), m.roomsCmd())
	case ev.Message != nil:
		delete(r.typing, ev.Message.Nick)
		if m.addLive(r, *ev.Message) != nil {
			return m.alert(r, *ev.Message)
		}
	case ev.Presence != nil:
		// The event carries the changes since the last one (several when
		// the server coalesced them); the welcome's list, kept up to date
		// here, is who is online.
		p := ev.Presence
		r.online = p.ApplyTo(r.online)
		for _, c := range p.All() {
			// Only news gets a line: after a server restart every
			// stream joins again, and those joins are not; nor is our
			// own join, which a welcome may list or not.
			join, news := c.State == chat.PresenceJoin, false
			switch c.State {
			case chat.PresenceJoin:
				news = r.joined(c.Nick, m.now())
			case chat.PresenceLeave:
				news = r.left(c.Nick, r.online)
			}
			if !news || chat.NickKey(c.Nick) == chat.NickKey(m.nick) {
				continue
			}
			if r.presence(c.Nick, join, m.now()) && r == m.cur() && r.offset > 0 {
				r.offset++
			}
		}
	case ev.Typing != nil:
		if chat.NickKey(ev.Typing.Nick) != chat.NickKey(m.nick) {
			r.typing[ev.Typing.Nick] = m.now().Add(typingShown)
		}
	case ev.Topic != nil:
		// Someone changed the topic: the header shows it at once. Our own
		// change already said "topic set" when the PUT answered.
		r.topic = safeLine(ev.Topic.Topic)
		if chat.NickKey(ev.Topic.Nick) != chat.NickKey(m.nick) {
			line := safeLine(ev.Topic.Nick) + " cleared the topic"
			if r.topic != "" {
				line = safeLine(ev.Topic.Nick) + " set the topic: " + r.topic
			}
			r.add(localEntry(entryTopic, line, m.now()))
			if r == m.cur() && r.offset > 0 {
				r.offset++
			}
		}
	case ev.Reset != nil:
		m.log.Info("reset", "room", r.name, "reason", ev.Reset.Reason)
		return m.pageCmd(r.name, pageReset, "")
	}
	return nil
}
