package tui

import (
	"errors"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/ssechat/chat/chat"
)

// key does what a key press means: the chat's own bindings (keys.go),
// scrolling and switching rooms here, the password prompt before the chat;
// every other key edits the input.
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
	// Ctrl+X Ctrl+E opens $EDITOR; Ctrl+X followed by anything else is
	// forgotten, and the other key does what it does.
	if m.ctrlX {
		m.ctrlX = false
		if key.Matches(msg, m.keys.Editor) {
			return m.openEditor()
		}
	}
	if msg.Type == tea.KeyCtrlX {
		m.ctrlX = true
		return nil
	}
	if m.showHelp {
		if cmd, done := m.helpKey(msg); done {
			return cmd
		}
	}
	switch {
	case key.Matches(msg, m.keys.Help):
		m.showHelp, m.helpOff = true, 0
		return nil
	case key.Matches(msg, m.keys.Reconnect):
		return m.reconnect()
	case key.Matches(msg, m.keys.Complete):
		m.complete()
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
		m.recallInput(-1)
		return nil
	case key.Matches(msg, m.keys.LineDown) && m.inputAtLastRow():
		m.recallInput(+1)
		return nil
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

// helpKey takes the keys of the help screen: F1 and Esc close it; PgUp,
// PgDn, Up and Down scroll it (it is longer than a 20-row screen). done is
// false for every other key, which does what it always does.
func (m *Model) helpKey(msg tea.KeyMsg) (cmd tea.Cmd, done bool) {
	step := max(1, m.paneHeight()-1)
	switch {
	case key.Matches(msg, m.keys.Help), key.Matches(msg, m.keys.CloseHelp):
		m.showHelp = false
	case key.Matches(msg, m.keys.PageUp):
		m.helpOff -= step
	case key.Matches(msg, m.keys.PageDown):
		m.helpOff += step
	case key.Matches(msg, m.keys.LineUp):
		m.helpOff--
	case key.Matches(msg, m.keys.LineDown):
		m.helpOff++
	default:
		return nil, false
	}
	m.helpOff = max(0, min(m.helpOff, len(m.helpLines())-m.paneHeight()))
	return nil, true
}

// reconnect (F5) starts every room's stream again now, and the outbox's
// next attempt, instead of waiting out the backoff.
func (m *Model) reconnect() tea.Cmd {
	m.out.Wake()
	switch m.phase {
	case phaseCheck:
		return m.meCmd()
	case phaseChat:
	default:
		return nil
	}
	m.setNotice("reconnecting now")
	cmds := []tea.Cmd{m.roomsCmd()}
	for _, r := range m.rooms {
		if r.loaded {
			cmds = append(cmds, m.subscribe(r))
		} else {
			cmds = append(cmds, m.joinCmd(r.name, r.member))
		}
	}
	return tea.Batch(cmds...)
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
