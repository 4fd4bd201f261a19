package tui

import (
	"io"
	"regexp"
	"strings"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/ssechat/chat/chat"
)

// WithTerminal sets where the bell and desktop notifications (config.toml's
// bell and notify) are written: the terminal, which Run passes. Nil, the
// default, rings nothing.
func WithTerminal(w io.Writer) Option { return func(m *Model) { m.term = w } }

// mentions reports whether text names nick as a word, in any case.
func mentions(text, nick string) bool {
	if nick == "" {
		return false
	}
	re, err := regexp.Compile(`(?i)(^|[^\pL\pN_-])` + regexp.QuoteMeta(nick) + `($|[^\pL\pN_-])`)
	return err == nil && re.MatchString(text)
}

// alert is the command that rings the bell and sends a desktop
// notification for a message that just arrived in r, as the config asks:
// the bell on a mention of our nick (bell = "mention") or on every message
// (bell = "all"), the notification on a mention (notify = true). Our own
// messages never alert.
func (m *Model) alert(r *room, msg chat.Message) tea.Cmd {
	if m.term == nil || chat.NickKey(msg.Nick) == chat.NickKey(m.nick) {
		return nil
	}
	mention := mentions(msg.Text, m.nick)
	var out strings.Builder
	if m.cfg.Bell == "all" || (m.cfg.Bell == "mention" && mention) {
		out.WriteString("\a")
	}
	if m.cfg.Notify && mention {
		out.WriteString(notification("#"+r.name+" "+msg.Nick, msg.Text))
	}
	if out.Len() == 0 {
		return nil
	}
	w, s := m.term, out.String()
	return func() tea.Msg {
		_, _ = io.WriteString(w, s)
		return nil
	}
}

// notification is an OSC 777 desktop notification (foot, kitty, WezTerm,
// urxvt, VTE). Title and body are another user's text: only printable
// characters go out, without the ';' that separates the fields, so nothing
// can end the sequence early.
func notification(title, body string) string {
	clean := func(s string, n int) string {
		s = strings.ReplaceAll(safeLine(s), ";", ",")
		s = strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
				return -1
			}
			return r
		}, s)
		return ansi.Truncate(s, n, "…")
	}
	return "\x1b]777;notify;" + clean(title, 60) + ";" + clean(body, 200) + "\x1b\\"
}
