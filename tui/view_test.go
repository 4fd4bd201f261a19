package tui

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/client"
)

// scene builds the screen the goldens show: two days of history with a long
// wrapped message, CJK and emoji, an action, a join line, one message being
// sent (waiting for the server) and one that failed, a second room with unread messages.
func scene(t *testing.T, w, h int) *Model {
	day1 := time.Date(2026, 11, 22, 23, 58, 0, 0, time.UTC)
	page := []chat.Message{
		{ID: "1", Room: "general", Nick: "bob", Kind: chat.KindText, Text: "anyone still up?", TS: day1},
		{ID: "2", Room: "general", Nick: "carol", Kind: chat.KindText, Text: "日本語のテキストもセル幅で正しく折り返されるべきです。絵文字も 🎉🎉 ね", TS: at(-60)},
		{ID: "3", Room: "general", Nick: "alice", Kind: chat.KindText, Text: "Wrapping is by terminal cells, and every message is wrapped once per width and cached until the width changes.\nA second paragraph after a newline.", TS: at(-30)},
		{ID: "4", Room: "general", Nick: "bob", Kind: chat.KindAction, Text: "puts the kettle on", TS: at(-2)},
		{ID: "5", Room: "general", Nick: "a_very_long_nickname_indeed", Kind: chat.KindText, Text: "long nicks are cut", TS: at(-1)},
	}
	m, _ := newChatModel(t, w, h, page, false)
	r := m.cur()
	m.Update(roomsMsg{rooms: []chat.Room{{Name: "general", Topic: "Go, tea and terminals: be nice", Online: 3}}})
	m.Update(eventMsg{gen: r.gen, ev: client.Event{Room: "general", State: &client.StateChange{State: client.StateConnected}}})
	m.Update(eventMsg{gen: r.gen, ev: client.Event{Room: "general", Presence: &chat.Presence{Room: "general", Nick: "dave", State: chat.PresenceJoin, Online: []string{"alice", "bob", "dave"}}}})
	typeText(m, "on its way")
	m.Update(keyType(tea.KeyEnter))
	typeText(m, "this one failed")
	m.Update(keyType(tea.KeyEnter))
	p := pendingEntries(r)
	m.Update(outboxMsg{Room: "general", ClientID: p[0].clientID, State: client.OutWaiting, Reason: "waiting for the server"})
	m.Update(outboxMsg{Room: "general", ClientID: p[1].clientID, State: client.OutFailed, Reason: "the server does not let you post in this room"})

	typeText(m, "/join dev")
	m.Update(keyType(tea.KeyEnter))
	m.Update(joinedMsg{room: "dev"})
	m.Update(keyType(tea.KeyCtrlP))
	dev := m.room("dev")
	for i := 1; i <= 2; i++ {
		msg := chat.Message{ID: fmt.Sprint(i), Room: "dev", Nick: "erin", Text: "ping", TS: t0}
		m.Update(eventMsg{gen: dev.gen, ev: client.Event{Room: "dev", Message: &msg}})
	}
	typeText(m, "a draft")
	return m
}

func TestViewGolden(t *testing.T) {
	for _, w := range []int{60, 100} {
		t.Run(fmt.Sprint(w), func(t *testing.T) {
			m := scene(t, w, 24)
			v := m.View()
			checkScreen(t, v, w, 24)
			checkGolden(t, fmt.Sprintf("chat_%d", w), v)
		})
	}
}

func TestHelpGolden(t *testing.T) {
	m := scene(t, 100, 30)
	m.Update(keyType(tea.KeyF1))
	v := m.View()
	checkScreen(t, v, 100, 30)
	checkGolden(t, "help_100", v)
}

func TestLoginGolden(t *testing.T) {
	cfg := Config{Server: "http://127.0.0.1:8080", Nick: "alice", Room: "general"}
	m := New(t.Context(), cfg, &offline{})
	t.Cleanup(m.Close)
	m.Update(tea.WindowSizeMsg{Width: 60, Height: 12})
	m.Update(registrationMsg{mode: chat.RegistrationOpen})
	typeText(m, "secret")
	v := m.View()
	checkScreen(t, v, 60, 12)
	checkGolden(t, "login_60", v)
}

func TestResizeReflows(t *testing.T) {
	m := scene(t, 100, 24)
	for _, w := range []int{100, 60, 33, 140, 60} {
		m.Update(tea.WindowSizeMsg{Width: w, Height: 24})
		checkScreen(t, m.View(), w, 24)
	}
	checkGolden(t, "chat_60", m.View())
}

func TestWrapByCellsAndCache(t *testing.T) {
	styles := defaultStyles()
	rd := &renderer{width: 40, loc: time.UTC, styles: &styles}
	e := messageEntry(chat.Message{ID: "1", Nick: "bob", Text: strings.Repeat("漢字🎉", 20) + " " + strings.Repeat("x", 70), TS: t0})
	lines := e.lines(rd, false)
	if len(lines) < 4 {
		t.Fatalf("%d lines, want the text wrapped", len(lines))
	}
	for _, l := range lines {
		if w := stringWidth(l); w > 40 {
			t.Errorf("line %q is %d cells, more than 40", l, w)
		}
	}
	again := e.lines(rd, false)
	if &again[0] != &lines[0] {
		t.Error("a second render at the same width did not use the cache")
	}
	rd.width = 60
	wider := e.lines(rd, false)
	if &wider[0] == &lines[0] || len(wider) >= len(lines) {
		t.Errorf("a new width did not rewrap: %d lines, were %d", len(wider), len(lines))
	}
}

// hostile holds what a malicious user could put in a nick, a message or a
// topic to act on another user's terminal.
var hostile = []string{
	"\x1b[2J\x1b[H",                         // clear the screen
	"\x1b]8;;https://evil.example/\x07",     // OSC 8 hyperlink
	"\x1b]52;c;cm0gLXJmIH4=\x07",            // OSC 52: write the clipboard
	"\x1b]0;title\x1b\\",                    // set the window title
	"\x1bP+q544e\x1b\\",                     // DCS request
	"\u009b31m",                             // C1 CSI
	"\u009d8;;x\u009c",                      // C1 OSC
	"\u0085\u0090\u009f",                    // other C1
	"\u202eevil\u202c \u2066x\u2069 \u200f", // bidi override, isolate, mark
	"\r\b\x07\x00",                          // CR, BS, BEL, NUL
}

func checkNoControl(t *testing.T, where, s string, allowSGR bool) {
	t.Helper()
	for i, r := range s {
		switch {
		case r == 0x1b:
			if allowSGR {
				// Our own styles: CSI ... m only.
				j := i + 1
				if j < len(s) && s[j] == '[' {
					k := j + 1
					for k < len(s) && (s[k] >= '0' && s[k] <= '9' || s[k] == ';') {
						k++
					}
					if k < len(s) && s[k] == 'm' {
						continue
					}
				}
			}
			t.Fatalf("%s: ESC at byte %d: %q", where, i, s[i:min(len(s), i+12)])
		case r == utf8.RuneError:
			continue
		case r != '\n' && chat.IsControl(r), chat.IsBidiControl(r):
			t.Fatalf("%s: control U+%04X at byte %d", where, r, i)
		}
	}
}

func TestHostileTextNeverReachesTheTerminal(t *testing.T) {
	for _, profile := range []termenv.Profile{termenv.Ascii, termenv.ANSI256} {
		t.Run(map[termenv.Profile]string{termenv.Ascii: "ascii", termenv.ANSI256: "ansi256"}[profile], func(t *testing.T) {
			lipgloss.SetColorProfile(profile)
			defer lipgloss.SetColorProfile(termenv.Ascii)
			bad := strings.Join(hostile, "|")
			m, _ := newChatModel(t, 100, 40, nil, false)
			r := m.cur()
			m.Update(roomsMsg{rooms: []chat.Room{{Name: "general", Topic: "topic" + bad}}})
			for i, h := range hostile {
				msg := chat.Message{ID: fmt.Sprint(i + 1), Room: "general", Nick: "mal" + h, Kind: chat.KindText, Text: "text" + h + "end", TS: t0}
				m.Update(eventMsg{gen: r.gen, ev: client.Event{Room: "general", Message: &msg}})
			}
			act := chat.Message{ID: "100", Room: "general", Nick: "mal\x1b[31m", Kind: chat.KindAction, Text: bad, TS: t0}
			m.Update(eventMsg{gen: r.gen, ev: client.Event{Room: "general", Message: &act}})
			m.Update(eventMsg{gen: r.gen, ev: client.Event{Room: "general", Presence: &chat.Presence{Room: "general", Nick: "p\x1b]52;c;x\x07", State: chat.PresenceJoin, Online: []string{bad}}}})
			m.Update(eventMsg{gen: r.gen, ev: client.Event{Room: "general", Typing: &chat.Typing{Room: "general", Nick: "t\x1b[2J"}}})
			m.Update(membersMsg{room: "general", nicks: []string{"w\x1b]8;;x\x07"}})
			m.Update(eventMsg{gen: r.gen, ev: client.Event{Room: "general", State: &client.StateChange{State: client.StateReconnecting, NextTry: t0, Err: &client.APIError{Message: "down\x1b]52;c;x\x07"}}}})

			v := m.View()
			checkNoControl(t, "chat view", v, profile != termenv.Ascii)
			if !strings.Contains(v, "text") || !strings.Contains(v, "evil") {
				t.Errorf("the printable parts of hostile text are missing:\n%s", v)
			}
			m.Update(keyType(tea.KeyF1))
			checkNoControl(t, "help view", m.View(), profile != termenv.Ascii)
		})
	}
}

// TestLongURLGetsItsOwnLineAndALink: a URL wider than the text column is
// not broken by the gutter: it has a line of its own from the left edge,
// and with hyperlinks on it is an OSC 8 link to the whole URL. A URL that
// fits stays in the text; text that is not an http(s) URL is never a link.
func TestLongURLGetsItsOwnLineAndALink(t *testing.T) {
	long := "https://example.com/a/very/long/path/that/does/not/fit/in/the/text/column?q=1&r=2"
	page := []chat.Message{
		msgAt(1, "bob", "look at "+long+" and tell me", t0),
		msgAt(2, "bob", "short https://go.dev ok", t0),
		msgAt(3, "bob", "javascript://example.com/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", t0),
	}
	m, _ := newChatModel(t, 60, 20, page, false)
	v := m.View()
	if !strings.Contains(v, "\n"+long[:60]+"\n"+long[60:]+"\n") {
		t.Fatalf("the long URL is not on lines of its own from the left edge:\n%s", v)
	}
	if !strings.Contains(v, "bob │ look at\n") || !strings.Contains(v, "│ and tell me") || !strings.Contains(v, "short https://go.dev ok") {
		t.Fatalf("the text around the URLs is not where it belongs:\n%s", v)
	}
	if strings.Contains(v, "\x1b]8;") {
		t.Fatal("an OSC 8 link with hyperlinks off")
	}
	m.cfg.Hyperlinks = true
	v = m.View()
	if strings.Count(v, "\x1b]8;id=chat-") != 2 || strings.Count(v, ";"+long+"\x07") != 2 || strings.Count(v, "\x1b]8;;\x07") != 2 {
		t.Fatalf("no OSC 8 link to the whole URL on both of its lines:\n%q", v)
	}
	for _, bad := range []string{"https://a.b/\x1b]8;;x", "javascript:alert(1)", "https://a.b/ü", "ftp://a.b/c"} {
		if linkable(bad) {
			t.Errorf("linkable(%q) = true", bad)
		}
	}
}

// TestNewLineMarksFirstUnread: messages that arrive in a room not shown
// are below a "── new ──" line when the room is shown; the next ones that
// arrive while it is not shown move it.
func TestNewLineMarksFirstUnread(t *testing.T) {
	m, _ := newChatModel(t, 60, 20, []chat.Message{msgAt(1, "bob", "seen before", t0)}, false)
	typeText(m, "/join dev")
	m.Update(keyType(tea.KeyEnter))
	m.Update(joinedMsg{room: "dev"})
	gen := m.room("general").gen
	for i, text := range []string{"first unread", "second unread"} {
		msg := msgAt(2+i, "bob", text, t0)
		m.Update(eventMsg{gen: gen, ev: client.Event{Room: "general", Message: &msg}})
	}
	m.Update(keyType(tea.KeyCtrlP))
	v := m.View()
	seen, marker, first := strings.Index(v, "seen before"), strings.Index(v, "─ new ─"), strings.Index(v, "first unread")
	if marker < 0 || !(seen < marker && marker < first) {
		t.Fatalf("no new line between the read and the unread messages:\n%s", v)
	}
	m.Update(keyType(tea.KeyCtrlN))
	msg := msgAt(4, "bob", "third unread", t0)
	m.Update(eventMsg{gen: gen, ev: client.Event{Room: "general", Message: &msg}})
	m.Update(keyType(tea.KeyCtrlP))
	v = m.View()
	if strings.Count(v, "─ new ─") != 1 || strings.Index(v, "─ new ─") < strings.Index(v, "second unread") {
		t.Fatalf("the new line did not move to the next unread message:\n%s", v)
	}
}

// TestLongNicksStayApart: the nick column widens to the longest nick up to
// a fifth of the screen, then cuts in the middle, so nicks that share a
// long beginning stay different.
func TestLongNicksStayApart(t *testing.T) {
	page := []chat.Message{
		msgAt(1, "release-manager", "a", t0),
		msgAt(2, "release-mangler", "b", t0),
	}
	m, _ := newChatModel(t, 60, 20, page, false)
	v := m.View()
	if !strings.Contains(v, "releas…nager │ a") || !strings.Contains(v, "releas…ngler │ b") {
		t.Fatalf("the two long nicks are not cut in the middle:\n%s", v)
	}
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 20})
	if v := m.View(); !strings.Contains(v, "release-manager │ a") {
		t.Fatalf("at 100 columns the nick column does not widen to the whole nick:\n%s", v)
	}
}
