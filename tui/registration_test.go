package tui

import (
	"path/filepath"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/client"
	"github.com/ssechat/chat/server"
	"github.com/ssechat/chat/server/servertest"
)

// TestLoginWordingFollowsRegistration: the prompt promises that a new nick
// registers only on a server that says its registration is open, and a
// refused login on a closed server names both causes instead of "wrong
// password".
func TestLoginWordingFollowsRegistration(t *testing.T) {
	refused := &client.APIError{Status: 401, Code: "bad_credentials", Message: "refused"}
	for _, c := range []struct {
		mode           string
		hint, notHint  string
		refusal, notIt string
	}{
		{chat.RegistrationOpen, "a new nick registers", "no new accounts", "wrong password for alice", "operator"},
		{chat.RegistrationClosed, "makes no new accounts", "a new nick registers", "unknown nick or wrong password: this server does not create", "a new nick registers"},
		{"", "Enter logs in", "registers", "wrong password for alice", "operator"},
	} {
		t.Run("mode "+c.mode, func(t *testing.T) {
			m := New(t.Context(), Config{Server: "http://127.0.0.1:1", Nick: "alice", Room: "general"}, &offline{})
			t.Cleanup(m.Close)
			m.Update(tea.WindowSizeMsg{Width: 200, Height: 12})
			m.Update(registrationMsg{mode: c.mode})
			if v := m.View(); !strings.Contains(v, c.hint) || strings.Contains(v, c.notHint) {
				t.Fatalf("prompt with registration %q: want %q and not %q:\n%s", c.mode, c.hint, c.notHint, v)
			}
			typeText(m, "a long password")
			m.Update(keyType(tea.KeyEnter))
			m.Update(loginMsg{err: refused})
			if v := m.View(); m.phase != phasePassword || !strings.Contains(v, c.refusal) || strings.Contains(v, c.notIt) {
				t.Fatalf("refusal with registration %q: phase %v, want %q and not %q:\n%s", c.mode, m.phase, c.refusal, c.notIt, v)
			}
		})
	}
}

// TestClosedServerLoginWithRealServer runs the model in a real program
// against a real server with closed registration: the prompt learns the
// mode before any login, and an unknown nick is told plainly that the
// server makes no account at login.
func TestClosedServerLoginWithRealServer(t *testing.T) {
	srv := servertest.Start(t, servertest.WithConfig(func(c *server.Config) { c.Registration = server.RegistrationClosed }))
	state := OpenState(filepath.Join(t.TempDir(), "chat-tui"))
	tm, _, stop := startTUI(t, srv.URL, "stranger", state)
	defer stop()
	waitScreen(t, tm, "the prompt saying no accounts are made", func(s string) bool {
		return strings.Contains(s, "Password:") && strings.Contains(s, "makes no new accounts")
	})
	sendKeys(tm, "a password of mine")
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	// At 100 columns the refusal wraps rather than losing its advice.
	screen := waitScreen(t, tm, "the refusal", func(s string) bool {
		return strings.Contains(strings.Join(strings.Fields(s), " "), "does not create accounts at login; ask its operator for one")
	})
	if strings.Contains(screen, "a new nick registers") {
		t.Fatalf("a closed server's prompt promises registration:\n%s", screen)
	}
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
}
