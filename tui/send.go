package tui

import (
	"errors"
	"fmt"
	"strings"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/ssechat/chat/chat"
)

// submit sends the input line (Enter): as a message, or as the /command
// of commands.go it names. A line that does not parse stays in the input
// and an error line says why.
func (m *Model) submit() tea.Cmd {
	raw := m.input.Value()
	if strings.TrimSpace(raw) == "" {
		return nil
	}
	c, err := parseInput(raw)
	if err != nil {
		m.cur().add(localEntry(entryError, err.Error(), m.now()))
		m.follow()
		return nil // the input keeps the text so it can be fixed
	}
	m.resetInput()
	remember := m.rememberInput(raw)
	if c.def == nil {
		return tea.Batch(remember, m.send(c.arg(0), chat.KindText))
	}
	return tea.Batch(remember, c.def.run(m, c.args))
}

// topic shows the current room's topic (text "") or sets it.
func (m *Model) topic(text string) tea.Cmd {
	r := m.cur()
	if text == "" {
		t := r.topic
		if t == "" {
			t = "(no topic)"
		}
		m.notify(r, "topic of #"+r.name+": "+t)
		return nil
	}
	if err := chat.ValidateTopic(text); err != nil {
		m.fail(r, err)
		return nil
	}
	return m.topicCmd(r.name, text)
}

// listCommands answers /help in the current room.
func (m *Model) listCommands() {
	for _, h := range commandHelp() {
		m.notify(m.cur(), fmt.Sprintf("%-14s %s", h.usage, h.what))
	}
}

func (m *Model) resetInput() {
	m.input.Reset()
	m.lastInput = ""
	m.fitInput()
}

// follow scrolls the current room to the newest line.
func (m *Model) follow() {
	m.cur().offset = 0
	m.cur().newCount = 0
}

func (m *Model) notify(r *room, text string) {
	r.add(localEntry(entryNotice, text, m.now()))
	if r == m.cur() {
		m.follow()
	}
}

func (m *Model) fail(r *room, err error) {
	var ve *chat.ValidationError
	text := errText(err)
	if errors.As(err, &ve) {
		text = ve.Message
	}
	r.add(localEntry(entryError, text, m.now()))
	if r == m.cur() {
		m.follow()
	}
}

func (m *Model) send(text, kind string) tea.Cmd {
	r := m.cur()
	norm, err := chat.NormalizeText(text)
	if err != nil {
		m.fail(r, err)
		return nil
	}
	// The outbox sends the room's lines one at a time in the order typed,
	// and keeps them (in the state directory) until the server has them.
	held := m.out.Queue(r.name, chat.PostMessage{Text: norm, Kind: kind})
	r.add(pendingEntry(m.nick, held.Post, m.now()))
	m.follow()
	return nil
}

// retry (Ctrl+R) sends the oldest failed message of the room again, in its
// old place in the room's queue, with its client_id.
func (m *Model) retry() tea.Cmd {
	r := m.cur()
	e := r.firstFailed()
	if e == nil {
		m.setNotice("no failed message to retry in #" + r.name)
		return nil
	}
	if !m.out.Retry(e.clientID) {
		m.setNotice("that message is no longer in the outbox")
		return nil
	}
	e.markPending()
	return nil
}

func (m *Model) join(name string) tea.Cmd {
	if err := chat.ValidateRoom(name); err != nil {
		m.fail(m.cur(), err)
		return nil
	}
	if i := m.roomIndex(name); i >= 0 {
		return m.switchRoom(i)
	}
	r := newRoom(name)
	m.seedHistory(r)
	m.rooms = append(m.rooms, r)
	m.active = len(m.rooms) - 1
	m.notify(r, "joining #"+name+" ...")
	return tea.Batch(m.joinCmd(name, false), m.saveRoomsCmd())
}
