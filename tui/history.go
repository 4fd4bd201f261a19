package tui

import (
	"slices"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/ssechat/chat/chat"
)

// inputHistory is what was typed in one room, oldest first, as Up and Down
// recall it (as in irssi, WeeChat and every shell). pos is the line shown
// while browsing (len(lines): not browsing), draft what the input held
// before browsing began, given back by Down past the newest line.
type inputHistory struct {
	lines []string
	pos   int
	draft string
}

// remember adds a line that was sent, unless it repeats the newest one,
// keeping maxHistory lines, and ends browsing.
func (h *inputHistory) remember(line string) {
	if n := len(h.lines); n == 0 || h.lines[n-1] != line {
		h.lines = append(h.lines, line)
	}
	if len(h.lines) > maxHistory {
		h.lines = slices.Clone(h.lines[len(h.lines)-maxHistory:])
	}
	h.pos, h.draft = len(h.lines), ""
}

// recall moves through the history (dir -1: older, +1: newer) from the
// input's text cur, and returns the text to show and whether it moved.
func (h *inputHistory) recall(dir int, cur string) (string, bool) {
	if h.pos > len(h.lines) || h.pos < 0 {
		h.pos = len(h.lines)
	}
	next := h.pos + dir
	if next < 0 || next > len(h.lines) {
		return "", false
	}
	if h.pos == len(h.lines) {
		h.draft = cur
	}
	h.pos = next
	if next == len(h.lines) {
		return h.draft, true
	}
	return h.lines[next], true
}

// recallInput shows an older (dir -1) or newer (dir +1) line sent in this
// room; it reports whether the key was used.
func (m *Model) recallInput(dir int) bool {
	text, ok := m.cur().history.recall(dir, m.input.Value())
	if !ok {
		return false
	}
	m.setInput(text)
	if dir < 0 {
		// Up again must go on to the older line: start from the top.
		for i := 0; i < 10*maxInputLines+chat.MaxTextLen && !m.inputAtFirstRow(); i++ {
			m.input.CursorUp()
		}
		m.input.SetCursor(0)
	}
	return true
}

// rememberInput adds a line to the room's history and saves it.
func (m *Model) rememberInput(line string) tea.Cmd {
	r := m.cur()
	r.history.remember(line)
	lines := slices.Clone(r.history.lines)
	state, server, nick, room := m.state, m.cfg.Server, m.cfg.Nick, r.name
	return func() tea.Msg {
		if state == nil {
			return savedMsg{}
		}
		return savedMsg{err: state.SaveHistory(server, nick, room, lines)}
	}
}

// seedHistory gives a room the lines typed in it in earlier runs.
func (m *Model) seedHistory(r *room) {
	if len(r.history.lines) == 0 {
		r.history.lines = slices.Clone(m.history[r.name])
		r.history.pos = len(r.history.lines)
	}
}

// WithHistory sets the lines typed in each room before (State.History).
func WithHistory(h map[string][]string) Option {
	return func(m *Model) { m.history = h }
}
