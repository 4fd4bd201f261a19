package tui

import (
	tea "github.com/charmbracelet/bubbletea"

	"github.com/ssechat/chat/chat"
)

// registrationMsg carries the server's registration mode ("open",
// "closed", or "" when the server does not say or cannot be asked), which
// the login prompt uses to say whether a new nick registers.
type registrationMsg struct{ mode string }

// registrationCmd asks the server's announced limits, which need no
// session, for its registration mode. A failure is not worth a message of
// its own: the prompt then simply makes no promise either way, and the
// login's own answer says what went wrong.
func (m *Model) registrationCmd() tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := m.callCtx()
		defer cancel()
		l, err := m.be.Limits(ctx)
		if err != nil {
			m.log.Debug("registration mode", "err", err)
			return registrationMsg{}
		}
		return registrationMsg{mode: l.Registration}
	}
}

// loginHint is the help line under the password prompt. It promises that a
// new nick registers only when the server says so.
func (m *Model) loginHint() string {
	switch m.registration {
	case chat.RegistrationOpen:
		return "Enter logs in (a new nick registers) · Ctrl+C quits"
	case chat.RegistrationClosed:
		return "Enter logs in (this server makes no new accounts at login) · Ctrl+C quits"
	}
	return "Enter logs in · Ctrl+C quits"
}

// badCredentialsText says why a login was refused with 401. On a closed
// server the refusal is the same whether the nick is unknown or the
// password wrong, so it names both and says how to get an account.
func (m *Model) badCredentialsText() string {
	if m.registration == chat.RegistrationClosed {
		return "unknown nick or wrong password: this server does not create accounts at login; ask its operator for one"
	}
	return "wrong password for " + m.cfg.Nick
}
