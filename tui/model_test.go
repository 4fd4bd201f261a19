package tui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/client"
)

func pendingEntries(r *room) []*entry {
	var out []*entry
	for _, e := range r.entries {
		if e.kind == entryMessage && e.id == "" {
			out = append(out, e)
		}
	}
	return out
}

func TestEnterSendsPendingThenEchoReplacesIt(t *testing.T) {
	m, _ := newChatModel(t, 80, 20, nil, false)
	typeText(m, "hello there")
	m.Update(keyType(tea.KeyEnter))
	if held := m.out.Pending(); len(held) != 1 || held[0].Post.Text != "hello there" || held[0].Room != "general" {
		t.Fatalf("the outbox holds %+v after Enter, want the line", held)
	}
	if v := m.input.Value(); v != "" {
		t.Fatalf("input after Enter = %q, want empty", v)
	}
	p := pendingEntries(m.cur())
	if len(p) != 1 || p[0].state != statePending || p[0].text != "hello there" || p[0].clientID == "" {
		t.Fatalf("pending entries = %+v, want one pending \"hello there\" with a client_id", p)
	}
	if !strings.Contains(m.View(), " ... ") {
		t.Error("the pending message is not marked in the view")
	}
	echo := chat.Message{ID: "7", Room: "general", Nick: "alice", Kind: chat.KindText, Text: "hello there", ClientID: p[0].clientID, TS: t0}
	m.Update(eventMsg{gen: m.cur().gen, ev: client.Event{Room: "general", Message: &echo}})
	// The answer to the POST comes after the echo: it must not add a copy.
	m.Update(outboxMsg{Room: "general", ClientID: echo.ClientID, State: client.OutSent, Message: echo})
	r := m.cur()
	if len(pendingEntries(r)) != 0 {
		t.Fatal("the pending entry stayed after the echo")
	}
	n := 0
	for _, e := range r.entries {
		if e.kind == entryMessage {
			n++
			if e.id != "7" || e.state != stateSent {
				t.Errorf("entry %+v, want the echo with id 7", e)
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d message entries, want exactly 1", n)
	}
}

func TestPostAnswerBeforeEchoShowsOnce(t *testing.T) {
	m, _ := newChatModel(t, 80, 20, nil, false)
	typeText(m, "x")
	m.Update(keyType(tea.KeyEnter))
	cid := pendingEntries(m.cur())[0].clientID
	stored := chat.Message{ID: "3", Room: "general", Nick: "alice", Text: "x", ClientID: cid, TS: t0}
	m.Update(outboxMsg{Room: "general", ClientID: cid, State: client.OutSent, Message: stored})
	m.Update(eventMsg{gen: m.cur().gen, ev: client.Event{Room: "general", Message: &stored}})
	if got := len(m.cur().entries); got != 1 {
		t.Fatalf("%d entries after answer and echo, want 1", got)
	}
}

// TestWaitingIsNotFailed: while the outbox cannot reach the server the line
// says it is waiting for the server and stays on its way (issue 18, item
// 2: it used to say "not sent" after 10 s and stay so).
func TestWaitingIsNotFailed(t *testing.T) {
	m, _ := newChatModel(t, 80, 20, nil, false)
	typeText(m, "patience")
	m.Update(keyType(tea.KeyEnter))
	e := pendingEntries(m.cur())[0]
	if v := m.View(); !strings.Contains(v, " ... ") || !strings.Contains(v, "alice │ patience") { // its lines are cached now
		t.Fatalf("the view does not show the message on its way:\n%s", v)
	}
	m.Update(outboxMsg{Room: "general", ClientID: e.clientID, State: client.OutWaiting, Reason: "waiting for the server", Err: errOffline})
	if e.state != statePending {
		t.Fatalf("state %v while waiting, want pending", e.state)
	}
	if v := m.View(); !strings.Contains(v, "waiting for the server") || strings.Contains(v, "not sent") {
		t.Errorf("the view does not say the line waits for the server:\n%s", v)
	}
}

// TestRefusedSendIsMarkedAndCtrlRRetriesOldestFirst: lines the server
// refuses for good show why in words; Ctrl+R gives the oldest back to the
// outbox first, with its client_id, in its old place.
func TestRefusedSendIsMarkedAndCtrlRRetriesOldestFirst(t *testing.T) {
	m, _ := newChatModel(t, 80, 20, nil, false)
	be := m.be.(*offline)
	be.setRefuse(&client.APIError{Status: 403, Code: "forbidden", Message: "Send Authorization: Bearer <token>."})
	typeText(m, "first")
	m.Update(keyType(tea.KeyEnter))
	typeText(m, "second")
	m.Update(keyType(tea.KeyEnter))
	p := pendingEntries(m.cur())
	for range 2 {
		if u := nextUpdate(t, m); u.State != client.OutFailed {
			t.Fatalf("update %+v, want failed", u)
		}
	}
	if p[0].state != stateFailed || p[1].state != stateFailed {
		t.Fatalf("states %v %v after a 403, want failed", p[0].state, p[1].state)
	}
	v := m.View()
	if !strings.Contains(v, "not sent: the server does not let you post in this room") || !strings.Contains(v, "Ctrl+R") || strings.Contains(v, "Bearer") {
		t.Errorf("the view does not say in words why the message failed and how to retry:\n%s", v)
	}
	be.setRefuse(nil) // the server answers nothing from now on: the retried line waits
	m.Update(keyType(tea.KeyCtrlR))
	if p[0].state != statePending || p[1].state != stateFailed {
		t.Fatalf("Ctrl+R: states %v %v; want the oldest on its way again, the newer still failed", p[0].state, p[1].state)
	}
	held := m.out.Pending()
	if len(held) != 2 || held[0].Post.ClientID != p[0].clientID || held[0].Failed != "" || held[1].Failed == "" {
		t.Fatalf("the outbox holds %+v; want the first line queued again with its client_id, before the second", held)
	}
	if v := m.View(); !strings.Contains(v, " ... ") {
		t.Errorf("the retried message is not shown on its way again:\n%s", v)
	}
	m.Update(keyType(tea.KeyCtrlR))
	if p[1].state != statePending {
		t.Fatal("the second Ctrl+R did not retry the second line")
	}
	m.Update(keyType(tea.KeyCtrlR))
	if !strings.Contains(m.notice, "no failed message") {
		t.Errorf("Ctrl+R with nothing failed: notice %q", m.notice)
	}
}

// TestUnsentLinesOfTheLastRunAreShownAndSent: what the last run left in the
// outbox is shown in its room, failed lines as failed, and is in the new
// outbox with its client_id.
func TestUnsentLinesOfTheLastRunAreShownAndSent(t *testing.T) {
	saved := []client.Outgoing{
		{Room: "general", Post: chat.PostMessage{Text: "from before", Kind: chat.KindText, ClientID: client.NewClientID()}, Queued: at(-5)},
		{Room: "dev", Post: chat.PostMessage{Text: "refused", Kind: chat.KindText, ClientID: client.NewClientID()}, Queued: at(-4), Failed: "the room no longer exists on the server"},
	}
	ctx, cancel := context.WithCancel(context.Background())
	cfg := Config{Server: testServer, Nick: "alice", Room: "general"}
	m := New(ctx, cfg, &offline{token: "tok"}, WithClock(newClock().now), WithLocation(time.UTC), WithOutbox(saved))
	defer func() { cancel(); m.Close() }()
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 20})
	m.Update(meMsg{nick: "alice"})
	if len(m.rooms) != 2 || m.rooms[1].name != "dev" {
		t.Fatalf("rooms %v: want dev joined for its unsent line", len(m.rooms))
	}
	if p := pendingEntries(m.room("general")); len(p) != 1 || p[0].clientID != saved[0].Post.ClientID || p[0].state != statePending {
		t.Fatalf("general shows %+v, want the unsent line on its way", p)
	}
	if p := pendingEntries(m.room("dev")); len(p) != 1 || p[0].state != stateFailed {
		t.Fatalf("dev shows %+v, want the refused line failed", p)
	}
	held := m.out.Pending()
	if len(held) != 2 || held[0].Post.ClientID != saved[0].Post.ClientID || held[1].Failed == "" {
		t.Fatalf("the outbox holds %+v, want both saved lines", held)
	}
}

func TestEmptyInputSendsNothing(t *testing.T) {
	m, _ := newChatModel(t, 80, 20, nil, false)
	typeText(m, "   ")
	if _, cmd := m.Update(keyType(tea.KeyEnter)); cmd != nil {
		t.Error("Enter on blank input returned a command")
	}
	if len(m.cur().entries) != 0 {
		t.Error("Enter on blank input added an entry")
	}
}

func TestNewlineKeysAndInputGrowsToFiveLines(t *testing.T) {
	m, _ := newChatModel(t, 80, 24, nil, false)
	pane := m.paneHeight()
	typeText(m, "one")
	m.Update(keyAlt(keyType(tea.KeyEnter)))
	typeText(m, "two")
	m.Update(keyType(tea.KeyCtrlJ))
	typeText(m, "three")
	if got := m.input.Value(); got != "one\ntwo\nthree" {
		t.Fatalf("input = %q, want three lines", got)
	}
	if m.inputH != 3 || m.paneHeight() != pane-2 {
		t.Errorf("input height %d, pane %d; want 3 and %d", m.inputH, m.paneHeight(), pane-2)
	}
	for i := 0; i < 5; i++ {
		m.Update(keyType(tea.KeyCtrlJ))
		typeText(m, "more")
	}
	if m.inputH != maxInputLines {
		t.Errorf("input height %d with 8 lines, want the cap %d", m.inputH, maxInputLines)
	}
	if len(pendingEntries(m.cur())) != 0 {
		t.Error("a newline key sent the message")
	}
	checkScreen(t, m.View(), 80, 24)
}

func TestBracketedPasteKeepsNewlinesWithoutSending(t *testing.T) {
	m, _ := newChatModel(t, 80, 20, nil, false)
	_, cmd := m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("line 1\nline 2\r\nline 3"), Paste: true})
	if got := m.input.Value(); got != "line 1\nline 2\nline 3" {
		t.Fatalf("input after paste = %q", got)
	}
	if len(m.cur().entries) != 0 {
		t.Fatal("the paste sent something")
	}
	_ = cmd
	// A pasted "?" is text, not the help key.
	m.resetInput()
	m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("?"), Paste: true})
	if m.showHelp || m.input.Value() != "?" {
		t.Errorf("pasted ? opened help (%v) or was lost (%q)", m.showHelp, m.input.Value())
	}
}

// TestHelpKeys: ? is text, even alone (it can be sent); help is F1 (and
// /help); F1 or Esc close it; at 60x20 it scrolls with PgDn and Up/Down.
func TestHelpKeys(t *testing.T) {
	m, _ := newChatModel(t, 60, 20, nil, false)
	m.Update(keyRunes("?"))
	if m.showHelp || m.input.Value() != "?" {
		t.Fatalf("? on empty input: help %v, input %q; want the ? typed", m.showHelp, m.input.Value())
	}
	m.Update(keyType(tea.KeyEnter))
	if p := pendingEntries(m.cur()); len(p) != 1 || p[0].text != "?" {
		t.Fatalf("Enter after ?: pending %+v, want ? sent", p)
	}
	m.Update(keyType(tea.KeyF1))
	if !m.showHelp || !strings.Contains(m.View(), "retry failed") {
		t.Fatalf("F1 did not open help listing the keys:\n%s", m.View())
	}
	if !strings.Contains(m.View(), "more ↓") {
		t.Fatalf("help at 60x20 does not say there is more:\n%s", m.View())
	}
	m.Update(keyType(tea.KeyPgDown))
	m.Update(keyType(tea.KeyPgDown))
	v := m.View()
	if !strings.Contains(v, "/quit") || strings.Contains(v, "more ↓") {
		t.Fatalf("PgDn did not scroll help to its end:\n%s", v)
	}
	m.Update(keyType(tea.KeyUp))
	if m.helpOff == 0 {
		t.Fatal("Up did not scroll help back")
	}
	typeText(m, "why?")
	if !m.showHelp || m.input.Value() != "why?" {
		t.Fatalf("typing with help open: help %v, input %q; want it typed", m.showHelp, m.input.Value())
	}
	m.Update(keyType(tea.KeyEsc))
	if m.showHelp {
		t.Fatal("Esc did not close help")
	}
	m.Update(keyType(tea.KeyF1))
	m.Update(keyType(tea.KeyF1))
	if m.showHelp {
		t.Fatal("F1 did not close help")
	}
}

func TestCtrlCQuitsAtOnceOnlyWithoutDraft(t *testing.T) {
	m, clk := newChatModel(t, 80, 20, nil, false)
	typeText(m, "draft")
	_, cmd := m.Update(keyType(tea.KeyCtrlC))
	if isQuit(cmd) {
		t.Fatal("one Ctrl+C with a draft quit")
	}
	if !strings.Contains(m.View(), "Ctrl+C again") {
		t.Error("no hint that a second Ctrl+C quits")
	}
	clk.advance(3 * time.Second)
	if _, cmd = m.Update(keyType(tea.KeyCtrlC)); isQuit(cmd) {
		t.Fatal("a second Ctrl+C 3 s later quit")
	}
	clk.advance(1500 * time.Millisecond)
	if _, cmd = m.Update(keyType(tea.KeyCtrlC)); !isQuit(cmd) {
		t.Fatal("a second Ctrl+C within 2 s did not quit")
	}

	m2, _ := newChatModel(t, 80, 20, nil, false)
	if _, cmd := m2.Update(keyType(tea.KeyCtrlC)); !isQuit(cmd) {
		t.Fatal("Ctrl+C with an empty input did not quit")
	}
}

func TestUnknownCommandSaysSoAndSendsNothing(t *testing.T) {
	m, _ := newChatModel(t, 80, 20, nil, false)
	typeText(m, "/frobnicate now")
	_, cmd := m.Update(keyType(tea.KeyEnter))
	if cmd != nil {
		t.Fatal("an unknown command returned a command")
	}
	if len(pendingEntries(m.cur())) != 0 {
		t.Fatal("an unknown command was sent as a message")
	}
	if !strings.Contains(m.View(), "unknown command /frobnicate") {
		t.Errorf("the view does not say the command is unknown:\n%s", m.View())
	}
	if m.input.Value() != "/frobnicate now" {
		t.Errorf("the input lost the mistyped command: %q", m.input.Value())
	}
}

func TestParseInput(t *testing.T) {
	for _, tc := range []struct {
		in      string
		name    string
		arg     string
		wantErr string
	}{
		{in: "hello", arg: "hello"},
		{in: "//etc/passwd", arg: "/etc/passwd"},
		{in: "/me waves", name: "me", arg: "waves"},
		{in: "/ME waves", name: "me", arg: "waves"},
		{in: "/me", wantErr: "usage: /me"},
		{in: "/join #dev", name: "join", arg: "dev"},
		{in: "/join", wantErr: "usage: /join"},
		{in: "/join a b", wantErr: "usage: /join"},
		{in: "/part", name: "part"},
		{in: "/part dev", name: "part", arg: "dev"},
		{in: "/topic", name: "topic"},
		{in: "/topic Go  and tea ", name: "topic", arg: "Go  and tea"},
		{in: "/who", name: "who"},
		{in: "/who x", wantErr: "takes no argument"},
		{in: "/help", name: "help"},
		{in: "/quit", name: "quit"},
		{in: "/nick bob", wantErr: "unknown command /nick"},
		{in: "/me\nsecond line", name: "me", arg: "second line"},
	} {
		c, err := parseInput(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("parseInput(%q) error %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || c.name() != tc.name || c.arg(0) != tc.arg {
			t.Errorf("parseInput(%q) = %+v, %v; want name %q arg %q", tc.in, c, err, tc.name, tc.arg)
		}
	}
}

func TestMeSendsAnAction(t *testing.T) {
	m, _ := newChatModel(t, 80, 20, nil, false)
	typeText(m, "/me waves")
	m.Update(keyType(tea.KeyEnter))
	p := pendingEntries(m.cur())
	held := m.out.Pending()
	if len(held) != 1 || len(p) != 1 || !p[0].action || p[0].post.Kind != chat.KindAction || p[0].post.Text != "waves" || held[0].Post != p[0].post {
		t.Fatalf("after /me: outbox %+v, pending %+v; want one action \"waves\"", held, p)
	}
}

func TestJoinSwitchPartRooms(t *testing.T) {
	m, _ := newChatModel(t, 80, 20, nil, false)
	typeText(m, "/join dev")
	_, cmd := m.Update(keyType(tea.KeyEnter))
	if cmd == nil || len(m.rooms) != 2 || m.cur().name != "dev" {
		t.Fatalf("/join dev: cmd %v, rooms %d, current %s", cmd != nil, len(m.rooms), m.cur().name)
	}
	typeText(m, "/join Bad!")
	if m.Update(keyType(tea.KeyEnter)); len(m.rooms) != 2 {
		t.Fatal("an invalid room name was joined")
	}
	m.resetInput()
	m.Update(keyType(tea.KeyCtrlP))
	if m.cur().name != "general" {
		t.Fatalf("Ctrl+P: current %s, want general", m.cur().name)
	}
	m.Update(keyType(tea.KeyCtrlN))
	if m.cur().name != "dev" {
		t.Fatalf("Ctrl+N: current %s, want dev", m.cur().name)
	}
	m.Update(keyAlt(keyRunes("1")))
	if m.cur().name != "general" {
		t.Fatalf("Alt+1: current %s, want general", m.cur().name)
	}
	m.Update(keyAlt(keyRunes("9")))
	if m.cur().name != "general" {
		t.Fatal("Alt+9 with two rooms moved")
	}
	typeText(m, "/part dev")
	m.Update(keyType(tea.KeyEnter))
	m.Update(leftMsg{room: "dev"}) // the server's answer to the leave
	if len(m.rooms) != 1 || m.cur().name != "general" {
		t.Fatalf("/part dev: rooms %d, current %s", len(m.rooms), m.cur().name)
	}
	typeText(m, "/part")
	m.Update(keyType(tea.KeyEnter))
	if len(m.rooms) != 1 {
		t.Fatal("/part left the last room")
	}
}

func TestUnreadCountsInRoomBar(t *testing.T) {
	m, _ := newChatModel(t, 80, 20, nil, false)
	m.Update(joinedMsg{room: "general"})
	typeText(m, "/join dev")
	m.Update(keyType(tea.KeyEnter))
	m.Update(joinedMsg{room: "dev"})
	m.Update(keyType(tea.KeyCtrlP)) // back to general
	dev := m.room("dev")
	for i := 1; i <= 3; i++ {
		msg := chat.Message{ID: fmt.Sprint(i), Room: "dev", Nick: "bob", Text: "hi", TS: t0}
		m.Update(eventMsg{gen: dev.gen, ev: client.Event{Room: "dev", Message: &msg}})
	}
	if dev.unread != 3 || !strings.Contains(m.View(), "2:dev (3)") {
		t.Fatalf("unread %d; room bar:\n%s", dev.unread, m.roomBarView())
	}
	m.Update(keyType(tea.KeyCtrlN))
	if dev.unread != 0 || strings.Contains(m.roomBarView(), "(3)") {
		t.Fatal("switching to the room did not clear its unread count")
	}
}

func TestEventsOfAStoppedStreamAreIgnored(t *testing.T) {
	m, _ := newChatModel(t, 80, 20, nil, false)
	msg := chat.Message{ID: "1", Room: "general", Nick: "bob", Text: "stale", TS: t0}
	m.Update(eventMsg{gen: m.cur().gen - 1, ev: client.Event{Room: "general", Message: &msg}})
	if len(m.cur().entries) != 0 {
		t.Fatal("an event of an older subscription was shown")
	}
}

func manyMessages(n int) []chat.Message {
	out := make([]chat.Message, n)
	for i := range out {
		out[i] = msgAt(i+1, "bob", fmt.Sprintf("message number %d", i+1), t0.Add(time.Duration(i)*time.Second))
	}
	return out
}

func TestScrolledUpNewMessagesKeepViewAndShowMarker(t *testing.T) {
	m, _ := newChatModel(t, 80, 20, manyMessages(100), false)
	m.Update(keyType(tea.KeyPgUp))
	r := m.cur()
	if r.offset == 0 {
		t.Fatal("PgUp did not scroll")
	}
	before, _ := r.window(m.renderer(), m.paneHeight())
	msg := msgAt(101, "carol", "while you were away", t0.Add(time.Hour))
	m.Update(eventMsg{gen: r.gen, ev: client.Event{Room: "general", Message: &msg}})
	after, _ := r.window(m.renderer(), m.paneHeight())
	if strings.Join(before, "\n") != strings.Join(after, "\n") {
		t.Fatalf("the view moved when a message came in while scrolled up")
	}
	if r.newCount != 1 || !strings.Contains(m.View(), "1 new ↓") {
		t.Fatalf("newCount %d; view lacks the marker:\n%s", r.newCount, m.View())
	}
	m.Update(tea.KeyMsg{Type: tea.KeyCtrlEnd})
	if r.offset != 0 || r.newCount != 0 || strings.Contains(m.View(), "new ↓") {
		t.Fatalf("Ctrl+End: offset %d newCount %d", r.offset, r.newCount)
	}
	if !strings.Contains(m.View(), "while you were away") {
		t.Fatal("the new message is not in sight at the bottom")
	}
	// Following the bottom, a new message shows at once.
	msg2 := msgAt(102, "carol", "and again", t0.Add(time.Hour))
	m.Update(eventMsg{gen: r.gen, ev: client.Event{Room: "general", Message: &msg2}})
	if !strings.Contains(m.View(), "and again") || r.newCount != 0 {
		t.Fatal("a new message at the bottom did not show")
	}
}

func TestPgDownAndCtrlHomeScroll(t *testing.T) {
	m, _ := newChatModel(t, 80, 20, manyMessages(100), false)
	r := m.cur()
	m.Update(keyType(tea.KeyUp))
	if r.offset != 0 {
		t.Fatalf("Up on an empty input scrolled (offset %d): scrolling is PgUp's", r.offset)
	}
	m.Update(keyType(tea.KeyPgUp))
	m.Update(keyType(tea.KeyPgUp))
	off := r.offset
	m.Update(keyType(tea.KeyPgDown))
	if r.offset >= off {
		t.Fatalf("PgDown: offset %d, was %d", r.offset, off)
	}
	m.Update(tea.KeyMsg{Type: tea.KeyCtrlHome})
	if _, atTop := r.window(m.renderer(), m.paneHeight()); !atTop {
		t.Fatal("Ctrl+Home did not reach the top")
	}
	if !strings.Contains(m.View(), "message number 1\n") && !strings.Contains(m.View(), "message number 1 ") && !strings.HasSuffix(strings.Split(m.View(), "\n")[3], "message number 1") {
		t.Errorf("the oldest message is not in sight after Ctrl+Home:\n%s", m.View())
	}
}

func TestTopOfScrollbackLoadsOlderPage(t *testing.T) {
	page := manyMessages(150)[100:]
	m, _ := newChatModel(t, 80, 20, page, true)
	r := m.cur()
	_, cmd := m.Update(tea.KeyMsg{Type: tea.KeyCtrlHome})
	if cmd == nil || !r.loading {
		t.Fatalf("reaching the top: cmd %v loading %v; want a page request", cmd != nil, r.loading)
	}
	if _, cmd := m.Update(keyType(tea.KeyPgUp)); cmd != nil {
		t.Fatal("a second page request went out while one was on its way")
	}
	before, _ := r.window(m.renderer(), m.paneHeight())
	m.Update(pageMsg{room: "general", kind: pageOlder, page: chat.MessagePage{Messages: manyMessages(100)[50:], HasMore: true}})
	after, _ := r.window(m.renderer(), m.paneHeight())
	if strings.Join(before, "\n") != strings.Join(after, "\n") {
		t.Fatal("the view moved when an older page came in")
	}
	if r.loading || r.oldest != "51" || len(r.entries) != 100 {
		t.Fatalf("after the page: loading %v oldest %s entries %d", r.loading, r.oldest, len(r.entries))
	}
}

func TestResetReloadsHistory(t *testing.T) {
	m, _ := newChatModel(t, 80, 20, manyMessages(10), false)
	r := m.cur()
	_, cmd := m.Update(eventMsg{gen: r.gen, ev: client.Event{Room: "general", Reset: &chat.Reset{Room: "general", Reason: chat.ResetTooFarBehind}}})
	if cmd == nil {
		t.Fatal("a reset event did not reload history")
	}
	m.Update(pageMsg{room: "general", kind: pageReset, page: chat.MessagePage{Messages: manyMessages(500)[450:]}})
	if r.oldest != "451" || r.newest != "500" {
		t.Fatalf("after reload: oldest %s newest %s", r.oldest, r.newest)
	}
	for _, e := range r.entries {
		if e.kind == entryMessage && chat.CompareIDs(e.id, "451") < 0 {
			t.Fatalf("message %s from before the reset is still shown", e.id)
		}
	}
}

func TestGapFillAfterReconnectInOrderOnce(t *testing.T) {
	m, _ := newChatModel(t, 80, 20, manyMessages(5), false)
	r := m.cur()
	_, cmd := m.Update(eventMsg{gen: r.gen, ev: client.Event{Room: "general", Welcome: &chat.Welcome{Room: "general", Online: []string{"alice", "bob"}}}})
	if cmd == nil {
		t.Fatal("welcome did not ask for missed messages")
	}
	// The stream delivers 7 first, then the fill brings 6..8.
	m7 := msgAt(7, "bob", "seven", t0)
	m.Update(eventMsg{gen: r.gen, ev: client.Event{Room: "general", Message: &m7}})
	m.Update(pageMsg{room: "general", kind: pageAfter, after: "5", page: chat.MessagePage{Messages: []chat.Message{msgAt(6, "bob", "six", t0), m7, msgAt(8, "bob", "eight", t0)}}})
	var ids []string
	for _, e := range r.entries {
		ids = append(ids, e.id)
	}
	if got := strings.Join(ids, ","); got != "1,2,3,4,5,6,7,8" {
		t.Fatalf("ids %s, want 1..8 once each in order", got)
	}
	if !strings.Contains(m.View(), "2 online") {
		t.Error("the header does not show the online count from welcome")
	}
}

func TestPresenceAndTyping(t *testing.T) {
	m, clk := newChatModel(t, 80, 20, []chat.Message{msgAt(1, "bob", "back soon", t0)}, false)
	r := m.cur()
	m.Update(eventMsg{gen: r.gen, ev: client.Event{Room: "general", Presence: &chat.Presence{Room: "general", Nick: "bob", State: chat.PresenceJoin, Online: []string{"alice", "bob"}}}})
	m.Update(eventMsg{gen: r.gen, ev: client.Event{Room: "general", Typing: &chat.Typing{Room: "general", Nick: "bob"}}})
	v := m.View()
	if !strings.Contains(v, "bob joined") || !strings.Contains(v, "bob is typing") || !strings.Contains(v, "2 online") {
		t.Fatalf("view lacks join line, typing or count:\n%s", v)
	}
	clk.advance(6 * time.Second)
	m.Update(tickMsg(clk.now()))
	if strings.Contains(m.View(), "is typing") {
		t.Fatal("typing stayed after it expired")
	}
	m.Update(eventMsg{gen: r.gen, ev: client.Event{Room: "general", Presence: &chat.Presence{Room: "general", Nick: "bob", State: chat.PresenceLeave, Online: []string{"alice"}}}})
	if v := m.View(); !strings.Contains(v, "bob left") || !strings.Contains(v, "1 online") {
		t.Fatalf("view lacks the leave line:\n%s", v)
	}
}

func TestConnectionStateInStatusBar(t *testing.T) {
	m, clk := newChatModel(t, 100, 20, nil, false)
	r := m.cur()
	if !strings.Contains(m.statusView(), "connecting") {
		t.Errorf("status before any state: %q", m.statusView())
	}
	err := fmt.Errorf("connect: %w", errors.New("dial tcp 127.0.0.1:9: connect: connection refused"))
	m.Update(eventMsg{gen: r.gen, ev: client.Event{Room: "general", State: &client.StateChange{State: client.StateReconnecting, NextTry: clk.now().Add(2500 * time.Millisecond), Err: err}}})
	if got := m.statusView(); !strings.Contains(got, "reconnecting in 3 s (connection refused)") {
		t.Errorf("status = %q", got)
	}
	clk.advance(time.Second)
	if got := m.statusView(); !strings.Contains(got, "reconnecting in 2 s") {
		t.Errorf("status a second later = %q", got)
	}
	m.Update(eventMsg{gen: r.gen, ev: client.Event{Room: "general", State: &client.StateChange{State: client.StateConnected}}})
	if got := m.statusView(); !strings.Contains(got, "connected") || strings.Contains(got, "reconnecting") {
		t.Errorf("status = %q", got)
	}
	m.Update(eventMsg{gen: r.gen, ev: client.Event{Room: "general", State: &client.StateChange{State: client.StateUnauthorized}}})
	if m.phase != phasePassword || !strings.Contains(m.View(), "expired") {
		t.Errorf("unauthorized stream: phase %v; want the password prompt saying why", m.phase)
	}
}

func TestLoginPrompt(t *testing.T) {
	ctx := t.Context()
	cfg := Config{Server: testServer, Nick: "alice", Room: "general"}
	m := New(ctx, cfg, &offline{})
	t.Cleanup(m.Close)
	m.Update(tea.WindowSizeMsg{Width: 60, Height: 12})
	if m.phase != phasePassword {
		t.Fatalf("no saved token: phase %v, want the password prompt", m.phase)
	}
	typeText(m, "short")
	if _, cmd := m.Update(keyType(tea.KeyEnter)); cmd != nil {
		t.Fatal("a too short password was sent")
	}
	if v := m.View(); strings.Contains(v, "short") || !strings.Contains(v, "*****") || !strings.Contains(v, "8 to 256") {
		t.Fatalf("the prompt shows the password or no error:\n%s", v)
	}
	typeText(m, "-but-long-now")
	_, cmd := m.Update(keyType(tea.KeyEnter))
	if cmd == nil || m.phase != phaseLogin {
		t.Fatalf("Enter: cmd %v phase %v", cmd != nil, m.phase)
	}
	m.Update(loginMsg{err: &client.APIError{Status: 401, Code: "bad_credentials", Message: "Wrong nick or password."}})
	if m.phase != phasePassword || !strings.Contains(m.View(), "wrong password") {
		t.Fatalf("bad password: phase %v view:\n%s", m.phase, m.View())
	}
	m.Update(loginMsg{info: chat.SessionInfo{Token: "x", Nick: "alice"}})
	if m.phase != phasePassword {
		t.Fatal("a login answer that was not asked for was taken")
	}
	typeText(m, "good-password")
	m.Update(keyType(tea.KeyEnter))
	m.Update(loginMsg{info: chat.SessionInfo{Token: "x", Nick: "Alice"}})
	if m.phase != phaseChat || m.nick != "Alice" {
		t.Fatalf("after login: phase %v nick %s", m.phase, m.nick)
	}
}

func TestExpiredSavedTokenAsksForPassword(t *testing.T) {
	cfg := Config{Server: testServer, Nick: "alice", Room: "general"}
	m := New(t.Context(), cfg, &offline{token: "old"})
	t.Cleanup(m.Close)
	if m.phase != phaseCheck {
		t.Fatalf("with a token: phase %v, want the check", m.phase)
	}
	m.Update(meMsg{err: fmt.Errorf("me: %w", &client.APIError{Status: 401, Code: "unauthorized"})})
	if m.phase != phasePassword || !strings.Contains(m.View(), "expired") {
		t.Fatalf("401 on the check: phase %v\n%s", m.phase, m.View())
	}
}

func TestServerDownAtStartRetries(t *testing.T) {
	cfg := Config{Server: testServer, Nick: "alice", Room: "general"}
	m := New(t.Context(), cfg, &offline{token: "tok"})
	t.Cleanup(m.Close)
	_, cmd := m.Update(meMsg{err: errors.New("dial tcp: connection refused")})
	if m.phase != phaseCheck || cmd == nil || !strings.Contains(m.View(), "cannot reach the server (connection refused)") {
		t.Fatalf("phase %v cmd %v\n%s", m.phase, cmd != nil, m.View())
	}
}

func TestMouseWheelOnlyWithMouseFlag(t *testing.T) {
	m, _ := newChatModel(t, 80, 20, manyMessages(100), false)
	wheel := tea.MouseMsg{Action: tea.MouseActionPress, Button: tea.MouseButtonWheelUp}
	m.Update(wheel)
	if m.cur().offset != 0 {
		t.Fatal("the wheel scrolled without --mouse")
	}
	m.cfg.Mouse = true
	m.Update(wheel)
	if m.cur().offset != 3 {
		t.Fatalf("wheel up with --mouse: offset %d, want 3", m.cur().offset)
	}
	m.Update(tea.MouseMsg{Action: tea.MouseActionPress, Button: tea.MouseButtonWheelDown})
	if m.cur().offset != 0 {
		t.Fatalf("wheel down: offset %d, want 0", m.cur().offset)
	}
}

func TestResetResubscribesFromNewest(t *testing.T) {
	m, _ := newChatModel(t, 80, 20, manyMessages(3), false)
	r := m.cur()
	gen := r.gen
	m.Update(pageMsg{room: "general", kind: pageReset, page: chat.MessagePage{Messages: manyMessages(9)}})
	if r.gen == gen || r.newest != "9" {
		t.Fatalf("after the reload: gen %d (was %d), newest %s; want a new stream from 9", r.gen, gen, r.newest)
	}
	if !strings.Contains(m.View(), "history reloaded") {
		t.Error("the reload is not shown")
	}
}

func TestWelcomeInEmptyRoomFillsWithoutResubscribing(t *testing.T) {
	m, _ := newChatModel(t, 80, 20, nil, false)
	r := m.cur()
	gen := r.gen
	for i := 0; i < 3; i++ {
		_, cmd := m.Update(eventMsg{gen: r.gen, ev: client.Event{Room: "general", Welcome: &chat.Welcome{Room: "general"}}})
		if cmd == nil {
			t.Fatal("welcome asked for nothing")
		}
		m.Update(pageMsg{room: "general", kind: pageAfter, after: "", page: chat.MessagePage{}})
	}
	if r.gen != gen || len(r.entries) != 0 {
		t.Fatalf("welcome in an empty room: gen %d (was %d), %d entries; want the same stream and nothing shown", r.gen, gen, len(r.entries))
	}
	m.Update(pageMsg{room: "general", kind: pageAfter, after: "", page: chat.MessagePage{Messages: manyMessages(2), HasMore: true}})
	if r.newest != "2" || !r.hasMore {
		t.Fatalf("newest %s hasMore %v after the newest page", r.newest, r.hasMore)
	}
}

// TestKeyNamesTypedAsTextStayText types words that are also key names in
// one message, as Bubble Tea delivers fast typing: they must be text.
func TestKeyNamesTypedAsTextStayText(t *testing.T) {
	m, _ := newChatModel(t, 80, 20, manyMessages(50), false)
	for _, word := range []string{"down ", "up ", "end ", "home ", "pgup ", "enter ", "f1 ", "ctrl+c ", "ctrl+n ", "left ", "backspace"} {
		_, cmd := m.Update(keyRunes(word))
		if isQuit(cmd) {
			t.Fatalf("typing %q quit", word)
		}
	}
	want := "down up end home pgup enter f1 ctrl+c ctrl+n left backspace"
	if got := m.input.Value(); got != want {
		t.Fatalf("input = %q, want %q", got, want)
	}
	if m.cur().offset != 0 || m.showHelp || len(m.rooms) != 1 || len(pendingEntries(m.cur())) != 0 {
		t.Fatal("typed words acted as keys")
	}

	pw := New(t.Context(), Config{Server: testServer, Nick: "alice", Room: "general"}, &offline{})
	t.Cleanup(pw.Close)
	pw.Update(keyRunes("left-end-home"))
	if got := pw.password.Value(); got != "left-end-home" {
		t.Fatalf("password typed as one message = %q", got)
	}
}

// TestUpDownRecallLinesSentPerRoom: Up on the input's first line recalls
// the lines sent in this room, newest first; Down goes back to the draft;
// inside a multi-line draft they move the cursor; another room has its
// own history; the history comes from the state of the last run.
func TestUpDownRecallLinesSentPerRoom(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cfg := Config{Server: testServer, Nick: "alice", Room: "general"}
	m := New(ctx, cfg, &offline{token: "tok"}, WithClock(newClock().now), WithLocation(time.UTC),
		WithHistory(map[string][]string{"general": {"from the last run"}}))
	defer func() { cancel(); m.Close() }()
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 20})
	m.Update(meMsg{nick: "alice"})
	m.Update(joinedMsg{room: "general"})
	for _, s := range []string{"one", "two"} {
		typeText(m, s)
		m.Update(keyType(tea.KeyEnter))
	}
	typeText(m, "draft")
	for _, want := range []string{"two", "one", "from the last run", "from the last run"} {
		m.Update(keyType(tea.KeyUp))
		if got := m.input.Value(); got != want {
			t.Fatalf("Up: input %q, want %q", got, want)
		}
	}
	for _, want := range []string{"one", "two", "draft", "draft"} {
		m.Update(keyType(tea.KeyDown))
		if got := m.input.Value(); got != want {
			t.Fatalf("Down: input %q, want %q", got, want)
		}
	}
	m.resetInput()
	typeText(m, "a")
	m.Update(keyType(tea.KeyCtrlJ))
	typeText(m, "b")
	m.Update(keyType(tea.KeyUp))
	if m.input.Value() != "a\nb" || m.input.Line() != 0 {
		t.Fatalf("Up on the second draft line: input %q line %d; want the cursor to move", m.input.Value(), m.input.Line())
	}
	m.Update(keyType(tea.KeyUp))
	if m.input.Value() != "two" {
		t.Fatalf("Up on the first draft line: input %q, want two", m.input.Value())
	}
	m.resetInput()
	typeText(m, "/join dev")
	m.Update(keyType(tea.KeyEnter))
	m.Update(keyType(tea.KeyUp))
	if m.input.Value() != "" {
		t.Fatalf("Up in a new room: input %q, want nothing recalled", m.input.Value())
	}
}

// TestTabCompletes: nicks ranked by who spoke last, "nick: " at the start
// of the line and "nick " elsewhere, Tab again cycles; /commands; #rooms.
func TestTabCompletes(t *testing.T) {
	page := []chat.Message{
		msgAt(1, "alicia", "hi", at(-3)),
		msgAt(2, "albert", "hello", at(-2)),
		msgAt(3, "bob", "yo", at(-1)),
	}
	m, _ := newChatModel(t, 80, 20, page, false)
	r := m.cur()
	m.Update(eventMsg{gen: r.gen, ev: client.Event{Room: "general", Welcome: &chat.Welcome{Room: "general", Online: []string{"alice", "alfred", "bob"}}}})
	tab := func() { m.Update(keyType(tea.KeyTab)) }
	typeText(m, "al")
	tab()
	if got := m.input.Value(); got != "albert: " {
		t.Fatalf("al<Tab>: %q, want the latest speaker albert first", got)
	}
	tab()
	if got := m.input.Value(); got != "alicia: " {
		t.Fatalf("Tab again: %q, want alicia", got)
	}
	tab()
	if got := m.input.Value(); got != "alfred: " {
		t.Fatalf("Tab again: %q, want alfred (online, never spoke; not alice, ourselves)", got)
	}
	tab()
	if got := m.input.Value(); got != "albert: " {
		t.Fatalf("Tab cycles back: %q", got)
	}
	m.resetInput()
	typeText(m, "thanks B")
	tab()
	if got := m.input.Value(); got != "thanks bob " {
		t.Fatalf("mid-line: %q, want \"thanks bob \"", got)
	}
	m.resetInput()
	typeText(m, "/to")
	tab()
	if got := m.input.Value(); got != "/topic " {
		t.Fatalf("/to<Tab>: %q", got)
	}
	m.resetInput()
	m.Update(roomsMsg{rooms: []chat.Room{{Name: "general"}, {Name: "go\x1b[2Jx"}, {Name: "gophers"}}})
	typeText(m, "see #go")
	tab()
	if got := m.input.Value(); got != "see #gophers " {
		t.Fatalf("#go<Tab>: %q", got)
	}
	m.resetInput()
	typeText(m, "zz")
	tab()
	if got := m.input.Value(); got != "zz" {
		t.Fatalf("no candidate: %q, want the input unchanged", got)
	}
}

// TestIdleModelDoesNotTick: with nothing on screen that changes with time
// the tick stops, so an idle chat-tui does not wake up every second; a
// notice starts it again until the notice expires.
func TestIdleModelDoesNotTick(t *testing.T) {
	m, clk := newChatModel(t, 80, 20, nil, false)
	m.ticking = true // the tick newChatModel's updates may have started
	if _, cmd := m.Update(tickMsg(clk.now())); cmd != nil || m.ticking {
		t.Fatal("an idle model asked for another tick")
	}
	_, cmd := m.Update(keyType(tea.KeyCtrlR)) // "no failed message" notice
	if cmd == nil || !m.ticking {
		t.Fatal("a notice did not start the tick that expires it")
	}
	clk.advance(noticeShown + time.Second)
	if _, cmd := m.Update(tickMsg(clk.now())); cmd != nil || m.notice != "" {
		t.Fatalf("after the notice expired: notice %q, tick %v", m.notice, cmd != nil)
	}
}

// TestF5ReconnectsNow: F5 replaces every room's stream with a new one at
// once and says so.
func TestF5ReconnectsNow(t *testing.T) {
	m, _ := newChatModel(t, 80, 20, nil, false)
	gen := m.cur().gen
	_, cmd := m.Update(keyType(tea.KeyF5))
	if cmd == nil || m.cur().gen == gen || !strings.Contains(m.View(), "reconnecting now") {
		t.Fatalf("F5: cmd %v, generation %d (was %d); view:\n%s", cmd != nil, m.cur().gen, gen, m.View())
	}
}

// TestTallDraftKeepsItsFirstLineInSight: a draft taller than the input
// scrolls inside it, and its first line stays on a row above it.
func TestTallDraftKeepsItsFirstLineInSight(t *testing.T) {
	m, _ := newChatModel(t, 60, 20, nil, false)
	// A program draws after every key, and the textarea scrolls to its
	// cursor from what it drew last: draw after every key too.
	key := func(k tea.KeyMsg) { m.Update(k); m.View() }
	for _, r := range "the first line says what this is about" {
		key(keyRunes(string(r)))
	}
	for i := 2; i <= 7; i++ {
		key(keyType(tea.KeyCtrlJ))
		for _, r := range fmt.Sprintf("line %d", i) {
			key(keyRunes(string(r)))
		}
	}
	v := m.View()
	checkScreen(t, v, 60, 20)
	if !strings.Contains(v, "┌ the first line says what this is about … (7 lines)") || !strings.Contains(v, "line 7") {
		t.Fatalf("the first line of a tall draft is out of sight:\n%s", v)
	}
	m.Update(keyType(tea.KeyEnter))
	if v := m.View(); strings.Contains(v, "┌ ") {
		t.Fatalf("the draft's head stayed after sending:\n%s", v)
	}
}

// TestCtrlXCtrlEEditsTheDraftInAFile: Ctrl+X Ctrl+E writes the draft to a
// file for $EDITOR (in a command, not in Update); what the editor leaves
// there comes back into the input, unsent, and the file is removed. Ctrl+X
// then another key is that key.
func TestCtrlXCtrlEEditsTheDraftInAFile(t *testing.T) {
	m, _ := newChatModel(t, 80, 20, nil, false)
	typeText(m, "start")
	m.Update(keyType(tea.KeyCtrlX))
	_, cmd := m.Update(keyType(tea.KeyCtrlE))
	ready, ok := runCmd(cmd).(editorReadyMsg)
	if !ok || ready.err != nil {
		t.Fatalf("Ctrl+X Ctrl+E: %#v, want the draft file", runCmd(cmd))
	}
	b, err := os.ReadFile(ready.path)
	if err != nil || string(b) != "start" {
		t.Fatalf("draft file holds %q (%v), want the draft", b, err)
	}
	if err := os.WriteFile(ready.path, []byte("start\nand more from the editor\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m.Update(runCmd(m.onEditorDone(editorDoneMsg{path: ready.path})))
	if got := m.input.Value(); got != "start\nand more from the editor" {
		t.Fatalf("input after the editor: %q", got)
	}
	if _, err := os.Stat(ready.path); err == nil {
		t.Error("the draft file was left behind")
	}
	if len(m.cur().entries) != 0 {
		t.Fatal("the edited draft was sent")
	}
	m.resetInput()
	m.Update(keyType(tea.KeyCtrlX))
	typeText(m, "x")
	if m.input.Value() != "x" || m.ctrlX {
		t.Fatalf("Ctrl+X then x: input %q", m.input.Value())
	}
}
