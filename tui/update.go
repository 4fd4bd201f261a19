package tui

import (
	tea "github.com/charmbracelet/bubbletea"
	"github.com/ssechat/chat/client"
)

// Update handles one message. It never blocks, does no I/O and starts no
// goroutine: requests and streams go out as the returned commands, and
// their answers and events come back as messages. The one-second tick runs
// only while something on screen counts down or expires, so an idle
// chat-tui neither wakes nor redraws.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if _, ok := msg.(tickMsg); ok {
		m.ticking = false
	}
	_, cmd := m.update(msg)
	if tick := m.keepTicking(); tick != nil {
		cmd = tea.Batch(cmd, tick)
	}
	return m, cmd
}

// keepTicking starts the tick when the screen holds something that changes
// with time and no tick is on its way.
func (m *Model) keepTicking() tea.Cmd {
	if m.ticking || !m.needsTick() {
		return nil
	}
	m.ticking = true
	return tickCmd()
}

// needsTick reports whether anything shown changes with time: a notice
// that expires, "is typing", a reconnect countdown.
func (m *Model) needsTick() bool {
	if m.notice != "" {
		return true
	}
	for _, r := range m.rooms {
		if len(r.typing) > 0 {
			return true
		}
	}
	c, ok := m.conn()
	return ok && c.State == client.StateReconnecting
}

func (m *Model) update(msg tea.Msg) (tea.Model, tea.Cmd) {
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
	case eventMsg:
		m.reading = false
		return m, tea.Batch(m.nextEvent(), m.event(msg))
	case meMsg:
		return m, m.onMe(msg)
	case loginMsg:
		return m, m.onLogin(msg)
	case registrationMsg:
		m.registration = msg.mode
	case retryMsg:
		if m.phase == phaseCheck {
			return m, m.meCmd()
		}
	case rejoinMsg:
		if r := m.room(msg.room); r != nil && !r.loaded && m.phase == phaseChat {
			return m, m.joinCmd(r.name, r.member)
		}
	case joinedMsg:
		return m, m.onJoined(msg)
	case pageMsg:
		return m, m.onPage(msg)
	case roomsMsg:
		m.onRooms(msg)
	case outboxMsg:
		m.readingOut = false
		return m, tea.Batch(m.nextOutbox(), m.onOutbox(client.OutboxUpdate(msg)))
	case myRoomsMsg:
		return m, m.onMyRooms(msg)
	case pollRoomsMsg:
		m.polling = false
		if m.phase == phaseChat {
			return m, tea.Batch(m.myRoomsCmd(), m.pollRooms())
		}
	case directMsg:
		return m, m.onDirect(msg)
	case memberMsg:
		m.onMember(msg)
	case leftMsg:
		return m, m.onLeft(msg)
	case createdMsg:
		return m, m.onCreated(msg)
	case membersMsg:
		m.onMembers(msg)
	case topicMsg:
		m.onTopic(msg)
	case savedMsg:
		if msg.err != nil {
			m.log.Error("save state", "err", msg.err)
			m.setNotice("could not save state: " + errText(msg.err))
		}
	case editorReadyMsg:
		return m, m.onEditorReady(msg)
	case editorDoneMsg:
		return m, m.onEditorDone(msg)
	case editedMsg:
		m.onEdited(msg)
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
