package tui

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/client"
)

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestConfigFileSetsEverySetting(t *testing.T) {
	path := writeConfig(t, `
server = "https://chat.example.com"
nick = "bob"
room = "dev"
mouse = true
theme = "light"
time_format = "15:04:05"
bell = "mention"
notify = true
hyperlinks = "off"

[keys]
retry = ["ctrl+t"]

[colours]
notice = "#00ff00"
`)
	c := DefaultConfig()
	if err := ApplyConfigFile(&c, path); err != nil {
		t.Fatal(err)
	}
	if c.Server != "https://chat.example.com" || c.Nick != "bob" || c.Room != "dev" || !c.Mouse ||
		c.Theme != "light" || c.TimeFormat != "15:04:05" || c.Bell != "mention" || !c.Notify || c.Links != "off" ||
		c.Keys["retry"][0] != "ctrl+t" || c.Colours["notice"] != "#00ff00" {
		t.Fatalf("config from the file: %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	// What --print-config prints reads back as the same settings.
	out, err := PrintConfig(c)
	if err != nil {
		t.Fatal(err)
	}
	back := DefaultConfig()
	if err := ApplyConfigFile(&back, writeConfig(t, out)); err != nil {
		t.Fatalf("the printed config does not read back: %v\n%s", err, out)
	}
	if back.Server != c.Server || back.Theme != c.Theme || back.Keys["retry"][0] != "ctrl+t" || len(back.Keys["send"]) == 0 {
		t.Fatalf("printed and read back: %+v\n%s", back, out)
	}
}

func TestConfigFileMistakesAreRefused(t *testing.T) {
	c := DefaultConfig()
	if err := ApplyConfigFile(&c, filepath.Join(t.TempDir(), "missing.toml")); err != nil {
		t.Fatalf("a missing file: %v", err)
	}
	for text, want := range map[string]string{
		`nikc = "bob"`:                     "unknown setting nikc",
		`theme = "neon"`:                   "theme",
		`bell = "loud"`:                    "bell",
		"[keys]\nfly = [\"f9\"]":           "keys.fly",
		"[colours]\nnotice = \"red;\x1b\"": "colours.notice",
		`server = 3`:                       "server",
	} {
		c := DefaultConfig()
		c.Nick = "alice"
		err := ApplyConfigFile(&c, writeConfig(t, text))
		if err == nil {
			err = c.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err %v, want one about %s", text, err, want)
		}
	}
}

func TestLogFileIsPerNick(t *testing.T) {
	c := DefaultConfig()
	c.Nick = "Alice"
	if got := filepath.Base(c.LogFile()); got != "alice.log" {
		t.Fatalf("log file %s, want alice.log", got)
	}
	c.LogPath = "/tmp/x.log"
	if c.LogFile() != "/tmp/x.log" {
		t.Fatal("--log does not win")
	}
}

func TestThemesKeysAndTimeFormatApply(t *testing.T) {
	term := themeStyles("terminal")
	for _, c := range append(term.nicks, term.time.GetForeground(), term.notice.GetForeground(), term.statusBad.GetForeground()) {
		lc, ok := c.(lipgloss.Color)
		if n, err := strconv.Atoi(string(lc)); !ok || err != nil || n > 15 {
			t.Errorf("the terminal theme uses colour %#v, not one of the terminal's 16", c)
		}
	}
	ctx := t.Context()
	cfg := Config{Server: testServer, Nick: "alice", Room: "general", Theme: "dark", TimeFormat: "15:04:05",
		Keys: map[string][]string{"retry": {"ctrl+t"}}}
	m := New(ctx, cfg, &offline{token: "tok"}, WithClock(newClock().now), WithLocation(time.UTC))
	defer m.Close()
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 20})
	m.Update(meMsg{nick: "alice"})
	m.Update(joinedMsg{room: "general", page: chat.MessagePage{Messages: []chat.Message{msgAt(1, "bob", "hi", t0)}}})
	if v := m.View(); !strings.Contains(v, "09:30:00        bob │ hi") {
		t.Fatalf("the time format is not used:\n%s", v)
	}
	m.Update(keyType(tea.KeyCtrlT))
	if !strings.Contains(m.notice, "no failed message") {
		t.Fatalf("ctrl+t set as retry did nothing (notice %q)", m.notice)
	}
	m.showHelp = true
	if !strings.Contains(m.View(), "ctrl+t") {
		t.Fatal("the help does not show the new key")
	}
}

// TestBellAndNotifyOnMention: a message naming us rings the bell and sends
// a notification whose fields cannot be broken out of; others do not, and
// nor do our own.
func TestBellAndNotifyOnMention(t *testing.T) {
	var term bytes.Buffer
	ctx := t.Context()
	cfg := Config{Server: testServer, Nick: "alice", Room: "general", Bell: "mention", Notify: true}
	m := New(ctx, cfg, &offline{token: "tok"}, WithClock(newClock().now), WithLocation(time.UTC), WithTerminal(&term))
	defer m.Close()
	m.Update(meMsg{nick: "alice"})
	m.Update(joinedMsg{room: "general"})
	r := m.cur()
	deliver := func(id int, nick, text string) {
		msg := msgAt(id, nick, text, t0)
		// event, not Update: Update also re-arms the read of the next
		// event, a command that would wait.
		runAll(m.event(eventMsg{gen: r.gen, ev: client.Event{Room: "general", Message: &msg}}))
	}
	deliver(1, "bob", "nothing for you")
	deliver(2, "alice", "alice talks to herself")
	if term.Len() != 0 {
		t.Fatalf("rang for a message without a mention or our own: %q", term.String())
	}
	deliver(3, "bob", "hey Alice; look\x07\x1b]0;pwned\x07")
	out := term.String()
	if !strings.HasPrefix(out, "\a\x1b]777;notify;#general bob;hey Alice, look") || !strings.HasSuffix(out, "\x1b\\") ||
		strings.Count(out, "\x07") != 1 || strings.Count(out, "\x1b") != 2 {
		t.Fatalf("bell and notification %q", out)
	}
	term.Reset()
	deliver(3, "bob", "hey Alice again (a repeat)")
	if term.Len() != 0 {
		t.Fatal("a message held already rang again")
	}
}
