package tui

import (
	"errors"
	"slices"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/client"
)

// Membership (protocol version 2): the rooms list follows the rooms the
// account belongs to, /create, /msg, /invite, /kick and /leave change
// them, and a room the account loses (removed, left on another device,
// deleted) closes its view with a line that says so.

// The answers of the membership requests, as they come back to Update.
type (
	myRoomsMsg struct {
		rooms []chat.MyRoom
		err   error
	}
	pollRoomsMsg struct{}
	// directMsg is the direct room of /msg NICK, and the text to send there.
	directMsg struct {
		nick, text string
		room       chat.Room
		err        error
	}
	// memberMsg is the answer of /invite (add) or /kick.
	memberMsg struct {
		room, nick string
		add        bool
		err        error
	}
	leftMsg struct {
		room string
		err  error
	}
	createdMsg struct {
		room, kind string
		created    bool
		err        error
	}
)

func (m *Model) myRoomsCmd() tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := m.callCtx()
		defer cancel()
		rooms, err := m.be.MyRooms(ctx)
		return myRoomsMsg{rooms: rooms, err: err}
	}
}

// pollRooms arms the next ask of the account's rooms, unless it is armed:
// the room streams say nothing of a room one was added to, so a private
// room appears within roomsEvery. It wakes the program twice a minute and
// redraws only when a room came.
func (m *Model) pollRooms() tea.Cmd {
	if m.polling || m.roomsEvery <= 0 {
		return nil
	}
	m.polling = true
	return tea.Tick(m.roomsEvery, func(time.Time) tea.Msg { return pollRoomsMsg{} })
}

// onMyRooms takes the list of the account's rooms: the kinds (and a direct
// room's members) of the rooms shown, and a room not shown yet is added
// to the bar and loaded. After the first list a new room is news.
func (m *Model) onMyRooms(msg myRoomsMsg) tea.Cmd {
	if msg.err != nil {
		m.log.Warn("list my rooms", "err", msg.err)
		return nil
	}
	if m.phase != phaseChat {
		return nil
	}
	var cmds []tea.Cmd
	added := false
	for _, info := range msg.rooms {
		if chat.ValidateRoom(info.Name) != nil {
			continue
		}
		r := m.room(info.Name)
		isNew := r == nil
		if isNew {
			r = newRoom(info.Name)
			m.seedHistory(r)
			m.rooms = append(m.rooms, r)
			cmds = append(cmds, m.joinCmd(r.name, true))
			added = true
		}
		r.member = true
		r.topic = safeLine(info.Topic)
		r.setKind(info.Kind, info.Members, m.nick)
		if isNew && m.synced {
			// Its first page comes as history, not as news: the server's
			// count is what the bar shows as unread.
			r.unread = max(0, info.Unread)
			m.setNotice("you are now in " + r.title(m.cfg.ASCII))
		}
	}
	m.synced = true
	if added {
		cmds = append(cmds, m.saveRoomsCmd())
	}
	return tea.Batch(cmds...)
}

// open shows the room name, adding it to the bar (as a room the account
// belongs to) and loading it when it is not there yet.
func (m *Model) open(name, kind string, members []string) (*room, tea.Cmd) {
	if i := m.roomIndex(name); i >= 0 {
		r := m.rooms[i]
		r.setKind(kind, members, m.nick)
		return r, m.switchRoom(i)
	}
	r := newRoom(name)
	r.member = true
	r.setKind(kind, members, m.nick)
	m.seedHistory(r)
	m.rooms = append(m.rooms, r)
	m.active = len(m.rooms) - 1
	return r, tea.Batch(m.joinCmd(name, true), m.saveRoomsCmd(), m.afterScroll())
}

// directMessage is /msg NICK [TEXT]: the direct room with NICK, made when
// there is none, then TEXT sent there through the outbox.
func (m *Model) directMessage(nick, text string) tea.Cmd {
	if err := chat.ValidateNick(nick); err != nil {
		m.fail(m.cur(), err)
		return nil
	}
	if chat.NickKey(nick) == chat.NickKey(m.nick) {
		m.notify(m.cur(), "a direct conversation needs someone else: /msg NICK")
		return nil
	}
	return func() tea.Msg {
		ctx, cancel := m.callCtx()
		defer cancel()
		room, _, err := m.be.DirectMessage(ctx, nick)
		return directMsg{nick: nick, text: text, room: room, err: err}
	}
}

func (m *Model) onDirect(msg directMsg) tea.Cmd {
	if msg.err != nil {
		m.failLine(m.cur(), membershipErrText(msg.err, "/msg", msg.nick, nil))
		return nil
	}
	if chat.ValidateRoom(msg.room.Name) != nil {
		m.log.Warn("direct room with a bad name", "room", msg.room.Name)
		m.failLine(m.cur(), "the server answered with a bad room name")
		return nil
	}
	kind := msg.room.Kind
	if kind == "" {
		kind = chat.KindDirect
	}
	members := msg.room.Members
	if len(members) == 0 {
		members = []string{msg.nick}
	}
	_, cmd := m.open(msg.room.Name, kind, members)
	if msg.text == "" {
		return cmd
	}
	return tea.Batch(cmd, m.send(msg.text, chat.KindText))
}

// member is /invite NICK (add) and /kick NICK in the current room.
func (m *Model) member(nick string, add bool) tea.Cmd {
	if err := chat.ValidateNick(nick); err != nil {
		m.fail(m.cur(), err)
		return nil
	}
	room := m.cur().name
	return func() tea.Msg {
		ctx, cancel := m.callCtx()
		defer cancel()
		var err error
		if add {
			err = m.be.AddMember(ctx, room, nick)
		} else {
			err = m.be.RemoveMember(ctx, room, nick)
		}
		return memberMsg{room: room, nick: nick, add: add, err: err}
	}
}

func (m *Model) onMember(msg memberMsg) {
	r := m.room(msg.room)
	if r == nil {
		return
	}
	what := "/kick"
	if msg.add {
		what = "/invite"
	}
	if msg.err != nil {
		m.failLine(r, membershipErrText(msg.err, what, msg.nick, r))
		return
	}
	nick := safeLine(msg.nick)
	if msg.add {
		m.notify(r, nick+" is a member of "+r.title(m.cfg.ASCII))
		return
	}
	m.notify(r, "removed "+nick+" from "+r.title(m.cfg.ASCII))
}

// leave is /leave [ROOM] (and /part): the account leaves the room on the
// server, then its view closes. The last room shown stays: there is
// always one.
func (m *Model) leave(name string) tea.Cmd {
	if name == "" {
		name = m.cur().name
	}
	if m.roomIndex(name) < 0 {
		m.notify(m.cur(), "you are not in #"+safeLine(name))
		return nil
	}
	if len(m.rooms) == 1 {
		m.notify(m.cur(), "#"+name+" is the only room you are in: /join another first, or /quit")
		return nil
	}
	return func() tea.Msg {
		ctx, cancel := m.callCtx()
		defer cancel()
		return leftMsg{room: name, err: m.be.Leave(ctx, name)}
	}
}

func (m *Model) onLeft(msg leftMsg) tea.Cmd {
	i := m.roomIndex(msg.room)
	if i < 0 {
		return nil // closed meanwhile, by the stream's removed event
	}
	r := m.rooms[i]
	if msg.err != nil && !errors.Is(msg.err, client.ErrNotFound) {
		m.failLine(m.cur(), membershipErrText(msg.err, "/leave", "", r))
		return nil
	}
	return m.closeRoom(i, "you left "+r.title(m.cfg.ASCII))
}

// create is /create ROOM [--private].
func (m *Model) create(name, flag string) tea.Cmd {
	kind := chat.KindPublic
	switch flag {
	case "":
	case "--private", "-p", "private":
		kind = chat.KindPrivate
	default:
		m.notify(m.cur(), "usage: /create ROOM [--private]")
		return nil
	}
	if err := chat.ValidateRoom(name); err != nil {
		m.fail(m.cur(), err)
		return nil
	}
	return func() tea.Msg {
		ctx, cancel := m.callCtx()
		defer cancel()
		created, err := m.be.CreateRoomKind(ctx, name, kind)
		return createdMsg{room: name, kind: kind, created: created, err: err}
	}
}

func (m *Model) onCreated(msg createdMsg) tea.Cmd {
	if msg.err != nil {
		m.failLine(m.cur(), membershipErrText(msg.err, "/create", "", nil))
		return nil
	}
	if !msg.created {
		// It was there, of this kind, and visible to us: open it as /join
		// would.
		return m.join(msg.room)
	}
	r, cmd := m.open(msg.room, msg.kind, nil)
	m.notify(r, "created "+r.title(m.cfg.ASCII))
	return cmd
}

// lost closes the view of a room the account no longer belongs to: the
// stream's removed event, or a room that now answers 404.
func (m *Model) lost(r *room, by string) tea.Cmd {
	i := slices.Index(m.rooms, r)
	if i < 0 {
		return nil
	}
	title := r.title(m.cfg.ASCII)
	var line string
	switch {
	case by == "":
		line = title + " is gone: it was deleted, or you were removed from it"
	case chat.NickKey(by) == chat.NickKey(m.nick):
		line = "you left " + title
	default:
		line = safeLine(by) + " removed you from " + title
	}
	return m.closeRoom(i, line)
}

// closeRoom stops room i's stream and takes it out of the bar; line goes
// to the room the user lands on and to the status bar. When it was the
// only room, the configured first room (general) is opened in its place;
// when it was that room, its view stays with the line and no stream.
func (m *Model) closeRoom(i int, line string) tea.Cmd {
	r := m.rooms[i]
	m.subs.stop(r.name, r.gen)
	r.gen = -1 // events of the stopped stream still on their way are dropped
	var cmds []tea.Cmd
	if len(m.rooms) == 1 {
		if r.name == m.cfg.Room {
			r.hasCon = false
			m.notify(r, line)
			m.setNotice(line)
			return nil
		}
		next := newRoom(m.cfg.Room)
		m.seedHistory(next)
		m.rooms = append(m.rooms, next)
		cmds = append(cmds, m.joinCmd(next.name, false))
	}
	m.rooms = slices.Delete(m.rooms, i, i+1)
	if m.active > i || (m.active == i && m.active > 0) {
		m.active--
	}
	m.active = min(m.active, len(m.rooms)-1)
	m.cur().unread = 0
	m.notify(m.cur(), line)
	m.setNotice(line)
	return tea.Batch(append(cmds, m.saveRoomsCmd(), m.afterScroll())...)
}

// membershipErrText says in plain words why a membership request was
// refused: the server's codes, read for what the user tried (what is the
// command, nick the one it named, r the room, nil when none).
func membershipErrText(err error, what, nick string, r *room) string {
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) {
		return what + ": " + errText(err)
	}
	switch apiErr.Code {
	case "not_allowed":
		switch {
		case what == "/leave":
			return "you own this room: the owner cannot leave it"
		case r != nil && r.kind == chat.KindDirect:
			return "a direct conversation keeps its members: /msg starts another"
		}
		return "only the room's owner or admins can do that"
	case "user_not_found":
		if what == "/kick" {
			return safeLine(nick) + " is not a member here (or there is no such user)"
		}
		return "no such user: " + safeLine(nick)
	}
	return what + ": " + errText(err)
}

// failLine shows an error line already in plain words (fail would cut a
// text with ": " in it to its last part, as it does for a wrapped error).
func (m *Model) failLine(r *room, text string) {
	r.add(localEntry(entryError, text, m.now()))
	if r == m.cur() {
		m.follow()
	}
}
