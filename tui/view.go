package tui

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/charmbracelet/x/ansi"
	"github.com/ssechat/chat/client"
)

// View draws the screen: header, room bar, messages, input, status bar.
// It renders only the messages in sight (wrapped once and cached).
func (m *Model) View() string {
	if m.quitting {
		return ""
	}
	if m.phase != phaseChat {
		return m.loginView()
	}
	var b strings.Builder
	b.WriteString(m.headerView())
	b.WriteByte('\n')
	b.WriteString(m.roomBarView())
	b.WriteByte('\n')
	b.WriteString(m.paneView())
	b.WriteByte('\n')
	if m.draftHead {
		b.WriteString(m.draftHeadView())
		b.WriteByte('\n')
	}
	b.WriteString(m.input.View())
	b.WriteByte('\n')
	b.WriteString(m.statusView())
	return b.String()
}

// fit cuts a styled line to the screen width.
func (m *Model) fit(s string) string {
	if ansi.StringWidth(s) > m.width {
		return ansi.Truncate(s, m.width, "…")
	}
	return s
}

func (m *Model) headerView() string {
	r := m.cur()
	right := fmt.Sprintf("%d online", len(r.online))
	left := m.styles.header.Render(r.title(m.cfg.ASCII))
	if r.topic != "" {
		room := ansi.StringWidth(left) + 3
		avail := m.width - room - ansi.StringWidth(right) - 1
		if avail > 1 {
			left += "   " + m.styles.topic.Render(ansi.Truncate(r.topic, avail, "…"))
		}
	}
	gap := m.width - ansi.StringWidth(left) - ansi.StringWidth(right)
	if gap < 1 {
		return m.fit(left)
	}
	return left + strings.Repeat(" ", gap) + m.styles.topic.Render(right)
}

func (m *Model) roomBarView() string {
	parts := make([]string, len(m.rooms))
	for i, r := range m.rooms {
		label := r.label(m.cfg.ASCII)
		if i < 9 {
			label = fmt.Sprintf("%d:%s", i+1, label)
		}
		switch {
		case i == m.active:
			parts[i] = m.styles.roomOn.Render(" " + label + " ")
		case r.unread > 0:
			parts[i] = " " + label + m.styles.unread.Render(fmt.Sprintf(" (%d)", r.unread)) + " "
		default:
			parts[i] = m.styles.roomOff.Render(" " + label + " ")
		}
	}
	return m.fit(strings.Join(parts, " "))
}

func (m *Model) paneView() string {
	h := m.paneHeight()
	var lines []string
	if m.showHelp {
		lines = m.helpLines()
		off := max(0, min(m.helpOff, len(lines)-h))
		lines = lines[off:]
		if len(lines) > h {
			lines = lines[:h]
			lines[h-1] = m.marker(" more ↓ (PgDn) ")
		}
	} else {
		r := m.cur()
		lines, _ = r.window(m.renderer(), h)
		if r.offset > 0 && r.newCount > 0 && len(lines) > 0 {
			lines[len(lines)-1] = m.marker(fmt.Sprintf(" %d new ↓ (ctrl+end) ", r.newCount))
		}
	}
	// Messages sit at the bottom, as in every chat; help starts at the top.
	out := make([]string, h)
	pad := h - len(lines)
	if m.showHelp {
		pad = 0
	}
	for i, l := range lines {
		out[pad+i] = m.fit(l)
	}
	return strings.Join(out, "\n")
}

// draftHeadView is the first line of a draft taller than the input, and
// how many lines the draft has.
func (m *Model) draftHeadView() string {
	lines := splitLines(m.input.Value())
	tail := fmt.Sprintf(" … (%d lines)", len(lines))
	head := ansi.Truncate(lines[0], max(1, m.width-2-ansi.StringWidth(tail)), "…")
	return m.fit(m.styles.status.Render("┌ " + head + tail))
}

func (m *Model) marker(label string) string {
	w := ansi.StringWidth(label)
	if w >= m.width {
		return m.styles.newMarker.Render(ansi.Truncate(label, m.width, ""))
	}
	return strings.Repeat(" ", m.width-w) + m.styles.newMarker.Render(label)
}

// helpLines is the F1 screen: every key, in two columns when they fit,
// then the commands.
func (m *Model) helpLines() []string {
	var keys []string
	for _, col := range m.keys.FullHelp() {
		for _, b := range col {
			h := b.Help()
			keys = append(keys, fmt.Sprintf("  %-17s %s", h.Key, h.Desc))
		}
	}
	colW := 0
	for _, k := range keys {
		colW = max(colW, ansi.StringWidth(k))
	}
	out := []string{m.styles.header.Render("Keys") + "  (F1 or Esc closes, PgUp/PgDn scroll)"}
	if 2*colW+2 <= m.width {
		half := (len(keys) + 1) / 2
		for i := 0; i < half; i++ {
			line := keys[i]
			if i+half < len(keys) {
				line += strings.Repeat(" ", colW+2-ansi.StringWidth(line)) + keys[i+half]
			}
			out = append(out, line)
		}
	} else {
		out = append(out, keys...)
	}
	out = append(out, "", m.styles.header.Render("Commands"))
	for _, c := range commandHelp() {
		out = append(out, fmt.Sprintf("  %-17s %s", c.usage, c.what))
	}
	return out
}

func (m *Model) statusView() string {
	var parts []string
	parts = append(parts, m.connView())
	parts = append(parts, safeLine(m.nick))
	r := m.cur()
	switch {
	case m.notice != "":
		parts = append(parts, m.notice)
	case len(r.typing) > 0:
		nicks := make([]string, 0, len(r.typing))
		for n := range r.typing {
			nicks = append(nicks, safeLine(n))
		}
		slices.Sort(nicks)
		verb := " is typing…"
		if len(nicks) > 1 {
			verb = " are typing…"
		}
		parts = append(parts, strings.Join(nicks, ", ")+verb)
	}
	if r.loading {
		parts = append(parts, "loading older messages…")
	} else if r.offset > 0 {
		parts = append(parts, "scrolled up")
	}
	left := strings.Join(parts, m.styles.status.Render(" · "))
	// The key hints when they fit, else just the way to the full help.
	right := m.help.ShortHelpView(m.keys.ShortHelp())
	if ansi.StringWidth(left)+ansi.StringWidth(right)+2 > m.width {
		right = m.styles.status.Render("F1 help")
	}
	gap := m.width - ansi.StringWidth(left) - ansi.StringWidth(right)
	if gap < 1 {
		return m.fit(left)
	}
	return left + strings.Repeat(" ", gap) + right
}

// connView says how the current room's stream is doing.
func (m *Model) connView() string {
	c, ok := m.conn()
	if !ok {
		return m.styles.status.Render("connecting…")
	}
	switch c.State {
	case client.StateConnected:
		return m.styles.statusOK.Render("● connected")
	case client.StateReconnecting:
		secs := int(math.Ceil(c.NextTry.Sub(m.now()).Seconds()))
		s := fmt.Sprintf("reconnecting in %d s", max(0, secs))
		if c.Err != nil {
			s += " (" + errText(c.Err) + ")"
		}
		return m.styles.statusBad.Render(s)
	case client.StateUnauthorized:
		return m.styles.statusBad.Render("unauthorized")
	case client.StateClosed:
		s := "closed"
		if c.Err != nil {
			s += " (" + errText(c.Err) + ")"
		}
		return m.styles.statusBad.Render(s)
	}
	return m.styles.status.Render("connecting…")
}

func (m *Model) loginView() string {
	lines := []string{
		m.styles.header.Render("chat-tui"),
		"",
		"server  " + safeLine(m.cfg.Server),
		"nick    " + safeLine(m.cfg.Nick),
		"",
	}
	switch m.phase {
	case phaseCheck:
		lines = append(lines, "checking the saved session…")
	case phaseLogin:
		lines = append(lines, "logging in…")
	default:
		lines = append(lines, m.password.View())
	}
	lines = append(lines, "")
	if m.loginErr != "" {
		// Wrapped, not cut: the closed server's refusal says what to do
		// at its end.
		for _, l := range strings.Split(ansi.Wordwrap(m.loginErr, max(1, m.width), ""), "\n") {
			lines = append(lines, m.styles.errorLine.Render(l))
		}
	}
	lines = append(lines, m.styles.status.Render(m.loginHint()))
	for i, l := range lines {
		lines[i] = m.fit(l)
	}
	for len(lines) < m.height {
		lines = append(lines, "")
	}
	return strings.Join(lines[:m.height], "\n")
}
