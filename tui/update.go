package tui

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/client"
)

// Update handles one message. It never blocks and does no I/O: requests go
// out as the returned commands and come back as messages.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.resize(msg.Width, msg.Height)
		return m, m.afterScroll()
	case tea.KeyMsg:
		return m, m.key(msg)
	case tea.MouseMsg:
		return m, m.mouse(msg)
	case tickMsg:
		m.tick()
		return m, tickCmd()
	case eventMsg:
		m.reading = false
		return m, tea.Batch(m.nextEvent(), m.event(msg))
	case meMsg:
		return m, m.onMe(msg)
	case loginMsg:
		return m, m.onLogin(msg)
	case retryMsg:
		if m.phase == phaseCheck {
			return m, m.meCmd()
		}
	case rejoinMsg:
		if r := m.room(msg.room); r != nil && !r.loaded && m.phase == phaseChat {
			return m, m.joinCmd(r.name)
		}
	case joinedMsg:
		return m, m.onJoined(msg)
	case pageMsg:
		return m, m.onPage(msg)
	case roomsMsg:
		m.onRooms(msg)
	case sentMsg:
		m.onSent(msg)
	case membersMsg:
		m.onMembers(msg)
	case topicMsg:
		m.onTopic(msg)
	case savedMsg:
		if msg.err != nil {
			m.log.Error("save state", "err", msg.err)
			m.setNotice("could not save state: " + errText(msg.err))
		}
	case typingMsg:
		if msg.err != nil {
			m.log.Debug("typing notice", "err", msg.err)
		}
	}
	return m, nil
}

func (m *Model) setNotice(s string) {
	m.notice = safeLine(s)
	m.noticeAt = m.now()
}

func (m *Model) tick() {
	now := m.now()
	if m.notice != "" && now.Sub(m.noticeAt) > noticeShown {
		m.notice = ""
	}
	for _, r := range m.rooms {
		for nick, until := range r.typing {
			if now.After(until) {
				delete(r.typing, nick)
			}
		}
	}
}

// --- keys -------------------------------------------------------------

func (m *Model) key(msg tea.KeyMsg) tea.Cmd {
	if msg.Type == tea.KeyRunes && !msg.Paste && len(msg.Runes) > 1 {
		// Bubble Tea hands runes read together (fast typing, tmux
		// send-keys, an IME, a paste without bracketed paste) over as one
		// message whose String() is the text itself; "down", "end" or
		// "ctrl+c" typed that way would match a key binding. Take them one
		// by one, as if typed slowly.
		cmds := make([]tea.Cmd, 0, len(msg.Runes))
		for _, r := range msg.Runes {
			one := msg
			one.Runes = []rune{r}
			cmds = append(cmds, m.key(one))
		}
		return tea.Batch(cmds...)
	}
	if m.phase != phaseChat {
		return m.passwordKey(msg)
	}
	if key.Matches(msg, m.keys.Quit) {
		return m.quitKey()
	}
	if msg.Paste {
		// A paste is text, even when it holds newlines or looks like a key.
		msg.Runes = []rune(strings.ReplaceAll(string(msg.Runes), "\r\n", "\n"))
		return m.editInput(msg)
	}
	helpQ := key.Matches(msg, m.keys.HelpQ) && m.input.Value() == "" // else '?' is text
	if m.showHelp && (key.Matches(msg, m.keys.Help) || key.Matches(msg, m.keys.CloseHelp) || helpQ) {
		m.showHelp = false
		return nil
	}
	switch {
	case key.Matches(msg, m.keys.Help):
		m.showHelp = true
		return nil
	case helpQ:
		m.showHelp = true
		return nil
	case key.Matches(msg, m.keys.Send):
		return m.submit()
	case key.Matches(msg, m.keys.Retry):
		return m.retry()
	case key.Matches(msg, m.keys.PageUp):
		m.cur().offset += max(1, m.paneHeight()-1)
		return m.afterScroll()
	case key.Matches(msg, m.keys.PageDown):
		m.cur().offset -= max(1, m.paneHeight()-1)
		return m.afterScroll()
	case key.Matches(msg, m.keys.Top):
		m.cur().offset = 1 << 30
		return m.afterScroll()
	case key.Matches(msg, m.keys.Bottom):
		m.cur().offset = 0
		return m.afterScroll()
	case key.Matches(msg, m.keys.LineUp) && m.inputAtFirstRow():
		m.cur().offset++
		return m.afterScroll()
	case key.Matches(msg, m.keys.LineDown) && m.inputAtLastRow():
		m.cur().offset--
		return m.afterScroll()
	case key.Matches(msg, m.keys.NextRoom):
		return m.switchRoom((m.active + 1) % len(m.rooms))
	case key.Matches(msg, m.keys.PrevRoom):
		return m.switchRoom((m.active + len(m.rooms) - 1) % len(m.rooms))
	case key.Matches(msg, m.keys.GotoRoom):
		n := int(msg.Runes[0] - '1')
		if n < len(m.rooms) {
			return m.switchRoom(n)
		}
		return nil
	}
	return m.editInput(msg)
}

// editInput passes a key to the input and tells the room we are typing.
func (m *Model) editInput(msg tea.KeyMsg) tea.Cmd {
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(msg)
	m.fitInput()
	v := m.input.Value()
	if v == m.lastInput {
		return cmd
	}
	m.lastInput = v
	now := m.now()
	if v != "" && !strings.HasPrefix(v, "/") && now.Sub(m.lastTyping) >= typingEvery {
		m.lastTyping = now
		return tea.Batch(cmd, m.typingCmd(m.cur().name))
	}
	return cmd
}

func (m *Model) inputAtFirstRow() bool {
	return m.input.Value() == "" || (m.input.Line() == 0 && m.input.LineInfo().RowOffset == 0)
}

func (m *Model) inputAtLastRow() bool {
	if m.input.Value() == "" {
		return true
	}
	li := m.input.LineInfo()
	return m.input.Line() == m.input.LineCount()-1 && li.RowOffset >= li.Height-1
}

func (m *Model) quitKey() tea.Cmd {
	now := m.now()
	if m.input.Value() == "" || (!m.ctrlCAt.IsZero() && now.Sub(m.ctrlCAt) <= quitWindow) {
		m.quitting = true
		return tea.Quit
	}
	m.ctrlCAt = now
	m.setNotice("the input holds a draft: Ctrl+C again within 2 s quits")
	return nil
}

func (m *Model) mouse(msg tea.MouseMsg) tea.Cmd {
	if m.phase != phaseChat || !m.cfg.Mouse || msg.Action != tea.MouseActionPress {
		return nil
	}
	switch msg.Button {
	case tea.MouseButtonWheelUp:
		m.cur().offset += 3
	case tea.MouseButtonWheelDown:
		m.cur().offset -= 3
	default:
		return nil
	}
	return m.afterScroll()
}

// afterScroll keeps the offset in range and, when the top of what is held
// shows and the server has more, asks for the previous page.
func (m *Model) afterScroll() tea.Cmd {
	if m.phase != phaseChat {
		return nil
	}
	r := m.cur()
	atTop := r.clamp(m.renderer(), m.paneHeight())
	if atTop && r.loaded && r.hasMore && !r.loading && r.oldest != "" {
		r.loading = true
		return m.pageCmd(r.name, pageOlder, r.oldest)
	}
	return nil
}

func (m *Model) switchRoom(i int) tea.Cmd {
	if i == m.active {
		return nil
	}
	m.active = i
	m.cur().unread = 0
	m.showHelp = false
	return m.afterScroll()
}

func (m *Model) passwordKey(msg tea.KeyMsg) tea.Cmd {
	switch msg.Type {
	case tea.KeyCtrlC, tea.KeyEsc:
		m.quitting = true
		return tea.Quit
	case tea.KeyEnter:
		if m.phase != phasePassword {
			return nil
		}
		pw := m.password.Value()
		if err := chat.ValidatePassword(pw); err != nil {
			var ve *chat.ValidationError
			if errors.As(err, &ve) {
				m.loginErr = ve.Message
			}
			return nil
		}
		m.phase = phaseLogin
		m.loginErr = ""
		return m.loginCmd(m.cfg.Nick, pw)
	}
	if m.phase != phasePassword {
		return nil
	}
	var cmd tea.Cmd
	m.password, cmd = m.password.Update(msg)
	return cmd
}

// --- sending and commands ---------------------------------------------

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
	switch c.name {
	case "":
		return m.send(c.arg, chat.KindText)
	case "me":
		return m.send(c.arg, chat.KindAction)
	case "join":
		return m.join(c.arg)
	case "part":
		return m.part(c.arg)
	case "topic":
		r := m.cur()
		if c.arg == "" {
			t := r.topic
			if t == "" {
				t = "(no topic)"
			}
			m.notify(r, "topic of #"+r.name+": "+t)
			return nil
		}
		if err := chat.ValidateTopic(c.arg); err != nil {
			m.fail(r, err)
			return nil
		}
		return m.topicCmd(r.name, c.arg)
	case "who":
		return m.membersCmd(m.cur().name)
	case "help":
		for _, h := range commandHelp {
			m.notify(m.cur(), fmt.Sprintf("%-14s %s", h.usage, h.what))
		}
		return nil
	case "quit":
		m.quitting = true
		return tea.Quit
	}
	return nil
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
	post := chat.PostMessage{Text: norm, Kind: kind, ClientID: client.NewClientID()}
	r.add(&entry{
		kind: entryMessage, clientID: post.ClientID, nick: safeLine(m.nick),
		text: safeText(norm), action: kind == chat.KindAction, ts: m.now(),
		state: statePending, post: post,
	})
	m.follow()
	return m.sendCmd(r.name, post)
}

func (m *Model) retry() tea.Cmd {
	r := m.cur()
	e := r.lastFailed()
	if e == nil {
		m.setNotice("no failed message to retry in #" + r.name)
		return nil
	}
	e.state = statePending
	e.reason = ""
	e.invalidate()
	return m.sendCmd(r.name, e.post)
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
	m.rooms = append(m.rooms, r)
	m.active = len(m.rooms) - 1
	m.notify(r, "joining #"+name+" ...")
	return tea.Batch(m.joinCmd(name), m.saveRoomsCmd())
}

func (m *Model) part(name string) tea.Cmd {
	if name == "" {
		name = m.cur().name
	}
	i := m.roomIndex(name)
	if i < 0 {
		m.notify(m.cur(), "you are not in #"+safeLine(name))
		return nil
	}
	if len(m.rooms) == 1 {
		m.notify(m.cur(), "#"+name+" is the only room you are in: /join another first, or /quit")
		return nil
	}
	m.subs.stop(name)
	m.rooms = append(m.rooms[:i], m.rooms[i+1:]...)
	if m.active >= i && m.active > 0 {
		m.active--
	}
	m.cur().unread = 0
	return tea.Batch(m.saveRoomsCmd(), m.afterScroll())
}

// --- results of commands ------------------------------------------------

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
			m.loginErr = "wrong password for " + m.cfg.Nick
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

func (m *Model) onJoined(msg joinedMsg) tea.Cmd {
	r := m.room(msg.room)
	if r == nil {
		return nil // parted meanwhile
	}
	if msg.err != nil {
		m.fail(r, fmt.Errorf("join #%s: %w", r.name, msg.err))
		m.log.Warn("join", "room", r.name, "err", msg.err)
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
	m.subscribe(r)
	if r == m.cur() {
		return m.afterScroll()
	}
	return nil
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
		m.subscribe(r)
	}
	if r == m.cur() {
		return m.afterScroll()
	}
	return nil
}

func (m *Model) onRooms(msg roomsMsg) {
	if msg.err != nil {
		m.log.Warn("list rooms", "err", msg.err)
		return
	}
	for _, info := range msg.rooms {
		if r := m.room(info.Name); r != nil {
			r.topic = safeLine(info.Topic)
		}
	}
}

func (m *Model) onSent(msg sentMsg) {
	r := m.room(msg.room)
	if r == nil {
		return
	}
	if msg.err == nil {
		m.addLive(r, msg.msg)
		return
	}
	m.log.Warn("send", "room", r.name, "err", msg.err)
	if e := r.findPending(msg.clientID); e != nil {
		e.state = stateFailed
		e.reason = errText(msg.err)
		e.invalidate()
	}
	if errors.Is(msg.err, client.ErrUnauthorized) {
		m.sessionExpired("the session has expired: enter the password again")
	}
}

func (m *Model) onMembers(msg membersMsg) {
	r := m.room(msg.room)
	if r == nil {
		return
	}
	if msg.err != nil {
		m.fail(r, msg.err)
		return
	}
	nicks := make([]string, len(msg.nicks))
	for i, n := range msg.nicks {
		nicks[i] = safeLine(n)
	}
	m.notify(r, fmt.Sprintf("%d online in #%s: %s", len(nicks), r.name, strings.Join(nicks, ", ")))
}

func (m *Model) onTopic(msg topicMsg) {
	r := m.room(msg.room)
	if r == nil {
		return
	}
	if msg.err != nil {
		m.fail(r, msg.err)
		return
	}
	r.topic = safeLine(msg.topic)
	m.notify(r, "topic set: "+r.topic)
}

// addLive adds a message that is new to us (from the stream, an answer to
// our POST, or a gap fill), keeping the view still when scrolled up.
func (m *Model) addLive(r *room, mm chat.Message) {
	e := r.addMessage(mm, m.nick)
	if e == nil {
		return
	}
	mine := chat.NickKey(mm.Nick) == chat.NickKey(m.nick)
	if r != m.cur() {
		if !mine {
			r.unread++
		}
		return
	}
	if r.offset > 0 {
		r.offset += len(e.render(m.renderer(), false))
		if !mine {
			r.newCount++
		}
	}
}

// --- events -------------------------------------------------------------

type rejoinMsg struct{ room string }

func (m *Model) event(msg eventMsg) tea.Cmd {
	ev := msg.ev
	r := m.room(ev.Room)
	if r == nil || msg.gen != r.gen || m.phase != phaseChat {
		return nil // a room we left, or a stream we replaced
	}
	switch {
	case ev.State != nil:
		r.conn, r.hasCon = *ev.State, true
		m.log.Info("stream state", "room", r.name, "state", ev.State.State.String(), "err", ev.State.Err)
		if ev.State.State == client.StateUnauthorized {
			m.sessionExpired("the session has expired: enter the password again")
		}
	case ev.Welcome != nil:
		r.online = ev.Welcome.Online
		r.welcomed(ev.Welcome.Online, m.now())
		// The server resumes from our last id without a gap; this catches
		// what a stream started without an id (an empty room) missed.
		// After is "" for a room that was empty: then the newest page.
		return tea.Batch(m.pageCmd(r.name, pageAfter, r.newest), m.roomsCmd())
	case ev.Message != nil:
		m.addLive(r, *ev.Message)
		delete(r.typing, ev.Message.Nick)
	case ev.Presence != nil:
		p := ev.Presence
		r.online = p.Online
		// Only news gets a line: after a server restart every stream
		// joins again, and those joins are not.
		kind, verb, news := entryJoin, "joined", false
		switch p.State {
		case chat.PresenceJoin:
			news = r.joined(p.Nick, m.now())
		case chat.PresenceLeave:
			kind, verb = entryLeave, "left"
			news = r.left(p.Nick, p.Online)
		}
		if news {
			r.add(localEntry(kind, safeLine(p.Nick)+" "+verb, m.now()))
			if r == m.cur() && r.offset > 0 {
				r.offset++
			}
		}
	case ev.Typing != nil:
		if chat.NickKey(ev.Typing.Nick) != chat.NickKey(m.nick) {
			r.typing[ev.Typing.Nick] = m.now().Add(typingShown)
		}
	case ev.RoomInfo != nil:
		// Someone changed the topic: the header shows it at once. Our own
		// change already said "topic set" when the PUT answered.
		r.topic = safeLine(ev.RoomInfo.Topic)
		if chat.NickKey(ev.RoomInfo.Nick) != chat.NickKey(m.nick) {
			line := safeLine(ev.RoomInfo.Nick) + " cleared the topic"
			if r.topic != "" {
				line = safeLine(ev.RoomInfo.Nick) + " set the topic: " + r.topic
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
