package tui

import (
	"context"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/client"
	"github.com/ssechat/chat/server/servertest"
)

// newMemberModel is newChatModel whose offline Backend answers the
// membership calls from a, with the tick and the rooms poll held off so
// that the commands Update returns can be run here one after another.
func newMemberModel(t *testing.T, w, h int, a *members) (*Model, *offline) {
	t.Helper()
	m, _ := newChatModel(t, w, h, nil, false)
	be := m.be.(*offline)
	be.mu.Lock()
	be.members = a
	be.mu.Unlock()
	m.ticking = true // no tick is armed: a Tick command would block here
	return m, be
}

// enter types line and presses Enter, then runs what that asked for and
// hands the membership answers back to Update, as the program would.
func enter(m *Model, line string) {
	typeText(m, line)
	_, cmd := m.Update(keyType(tea.KeyEnter))
	drive(m, cmd)
}

// drive runs cmd (a batch, recursively) and gives Update the membership
// answers among its messages, and runs what those return in turn. Other
// messages (a room's first page, a save) are the tests' to hand in.
func drive(m *Model, cmd tea.Cmd) {
	for _, msg := range collect(cmd) {
		switch msg.(type) {
		case directMsg, memberMsg, leftMsg, createdMsg, myRoomsMsg:
			_, next := m.Update(msg)
			drive(m, next)
		}
	}
}

// collect runs cmd and every command of its batches, and returns their
// messages.
func collect(cmd tea.Cmd) []tea.Msg {
	msg := runCmd(cmd)
	if batch, ok := msg.(tea.BatchMsg); ok {
		var out []tea.Msg
		for _, c := range batch {
			out = append(out, collect(c)...)
		}
		return out
	}
	if msg == nil {
		return nil
	}
	return []tea.Msg{msg}
}

func apiErr(status int, code string) error {
	return &client.APIError{Status: status, Code: code, Message: "the server's own words"}
}

func lastLine(m *Model) string {
	r := m.cur()
	if len(r.entries) == 0 {
		return ""
	}
	return r.entries[len(r.entries)-1].text
}

func (o *offline) setMemberErr(err error) {
	o.mu.Lock()
	o.members.err = err
	o.mu.Unlock()
}

// TestCreatePrivateRoom: /create NAME --private asks for a private room,
// opens it, and the bar and header show its lock; a bad flag is answered
// with the usage, a refusal in the server's words.
func TestCreatePrivateRoom(t *testing.T) {
	m, be := newMemberModel(t, 80, 20, &members{})
	enter(m, "/create team --private")
	if got := be.memberCalls(); !slices.Equal(got, []string{"create team private"}) {
		t.Fatalf("calls %q, want one private create", got)
	}
	if m.cur().name != "team" || m.cur().kind != chat.KindPrivate {
		t.Fatalf("current room %s (%s), want the private team", m.cur().name, m.cur().kind)
	}
	v := m.View()
	if !strings.Contains(v, "2:🔒team") || !strings.Contains(v, "🔒 #team") || !strings.Contains(v, "created 🔒 #team") {
		t.Errorf("the view does not show the new private room with its lock:\n%s", v)
	}
	checkScreen(t, v, 80, 20)
	m.cfg.ASCII = true
	if v := m.View(); !strings.Contains(v, "2:*team") || !strings.HasPrefix(v, "* #team") {
		t.Errorf("with ASCII the lock is not a star:\n%s", v)
	}

	enter(m, "/create other --secret")
	if !strings.Contains(lastLine(m), "usage: /create ROOM [--private]") || len(be.memberCalls()) != 1 {
		t.Errorf("a bad flag: last line %q, calls %q", lastLine(m), be.memberCalls())
	}
	enter(m, "/create")
	if !strings.Contains(lastLine(m), "usage: /create") {
		t.Errorf("no name: last line %q", lastLine(m))
	}
	m.resetInput()
	be.setMemberErr(apiErr(http.StatusConflict, "room_name_taken"))
	enter(m, "/create hidden")
	if lastLine(m) != "/create: the server's own words" || m.roomIndex("hidden") >= 0 {
		t.Errorf("a refused create: last line %q, rooms %d", lastLine(m), len(m.rooms))
	}
}

// TestDirectMessageCommand: /msg NICK TEXT opens the direct room (shown
// as @carol, not dm-...) and queues TEXT there through the outbox; an
// unknown nick is "no such user"; oneself is refused without a request.
func TestDirectMessageCommand(t *testing.T) {
	dm := chat.Room{Name: "dm-abcdefghij", Kind: chat.KindDirect, Members: []string{"alice", "carol"}}
	m, be := newMemberModel(t, 80, 20, &members{dm: dm})
	enter(m, "/msg carol hello there")
	if got := be.memberCalls(); !slices.Equal(got, []string{"dm carol"}) {
		t.Fatalf("calls %q, want one dm with carol", got)
	}
	r := m.cur()
	if r.name != dm.Name || !slices.Equal(r.others, []string{"carol"}) {
		t.Fatalf("current room %s with %q, want %s with carol", r.name, r.others, dm.Name)
	}
	if e := r.findPending(r.entries[len(r.entries)-1].clientID); e == nil || e.text != "hello there" {
		t.Fatalf("the text is not on its way in the direct room: %+v", r.entries)
	}
	v := m.View()
	if !strings.Contains(v, "2:@carol") || strings.Contains(v, "dm-") {
		t.Errorf("the direct room is not shown as @carol:\n%s", v)
	}
	checkScreen(t, v, 80, 20)

	// Again: the same room, no second tab.
	m.Update(keyAlt(keyRunes("1")))
	enter(m, "/msg carol")
	if len(m.rooms) != 2 || m.cur().name != dm.Name {
		t.Fatalf("a second /msg carol: %d rooms, current %s", len(m.rooms), m.cur().name)
	}

	enter(m, "/msg alice")
	if !strings.Contains(lastLine(m), "needs someone else") || len(be.memberCalls()) != 2 {
		t.Errorf("/msg to oneself: last line %q, calls %q", lastLine(m), be.memberCalls())
	}
	be.setMemberErr(apiErr(http.StatusNotFound, "user_not_found"))
	enter(m, "/msg zed hi")
	if lastLine(m) != "no such user: zed" {
		t.Errorf("an unknown nick: last line %q", lastLine(m))
	}
}

// TestInviteAndKick: /invite and /kick act on the current room and say
// what happened; a refusal is said in plain words.
func TestInviteAndKick(t *testing.T) {
	m, be := newMemberModel(t, 80, 20, &members{})
	enter(m, "/invite bob")
	if lastLine(m) != "bob is a member of #general" {
		t.Errorf("/invite: last line %q", lastLine(m))
	}
	enter(m, "/kick bob")
	if lastLine(m) != "removed bob from #general" {
		t.Errorf("/kick: last line %q", lastLine(m))
	}
	if got := be.memberCalls(); !slices.Equal(got, []string{"add general bob", "remove general bob"}) {
		t.Fatalf("calls %q", got)
	}
	be.setMemberErr(apiErr(http.StatusForbidden, "not_allowed"))
	enter(m, "/invite carol")
	if lastLine(m) != "only the room's owner or admins can do that" {
		t.Errorf("a refused /invite: last line %q", lastLine(m))
	}
	be.setMemberErr(apiErr(http.StatusNotFound, "user_not_found"))
	enter(m, "/invite zed")
	if lastLine(m) != "no such user: zed" {
		t.Errorf("/invite of an unknown nick: last line %q", lastLine(m))
	}
	enter(m, "/kick zed")
	if !strings.HasPrefix(lastLine(m), "zed is not a member here") {
		t.Errorf("/kick of an unknown nick: last line %q", lastLine(m))
	}
}

// TestLeaveClosesTheRoom: /leave leaves on the server, then closes the
// view and says so in the room one lands on; the owner's refusal keeps
// the room; /part does the same as /leave; the last room stays.
func TestLeaveClosesTheRoom(t *testing.T) {
	m, be := newMemberModel(t, 80, 20, &members{})
	typeText(m, "/join dev")
	m.Update(keyType(tea.KeyEnter))
	m.Update(joinedMsg{room: "dev"})
	dev := m.cur()

	be.setMemberErr(apiErr(http.StatusForbidden, "not_allowed"))
	enter(m, "/leave")
	if m.cur() != dev || lastLine(m) != "you own this room: the owner cannot leave it" {
		t.Fatalf("a refused leave: current %s, last line %q", m.cur().name, lastLine(m))
	}
	be.setMemberErr(nil)
	enter(m, "/part")
	if len(m.rooms) != 1 || m.cur().name != "general" || lastLine(m) != "you left #dev" {
		t.Fatalf("after /part: %d rooms, current %s, last line %q", len(m.rooms), m.cur().name, lastLine(m))
	}
	if !strings.Contains(m.View(), "you left #dev") {
		t.Errorf("the line is not in view:\n%s", m.View())
	}
	enter(m, "/leave")
	if len(m.rooms) != 1 || !strings.Contains(lastLine(m), "the only room you are in") {
		t.Errorf("leaving the last room: %d rooms, last line %q", len(m.rooms), lastLine(m))
	}
	if got := be.memberCalls(); !slices.Equal(got, []string{"leave dev", "leave dev"}) {
		t.Errorf("calls %q, want two leaves of dev", got)
	}
}

// TestMyRoomsListsKinds: the account's rooms from the server join the
// bar with their kinds, without asking to join them; one that appears
// later (an /invite by someone else) is news in the status bar.
func TestMyRoomsListsKinds(t *testing.T) {
	m, be := newMemberModel(t, 80, 20, &members{})
	m.Update(myRoomsMsg{rooms: []chat.MyRoom{
		{Name: "general", Kind: chat.KindPublic},
		{Name: "team", Kind: chat.KindPrivate, Topic: "plans"},
		{Name: "dm-abcdefghij", Kind: chat.KindDirect, Members: []string{"carol", "alice", "bob"}},
		{Name: "Bad\x1b[2J", Kind: chat.KindPublic},
	}})
	v := m.View()
	if !strings.Contains(v, " 1:general   2:🔒team   3:@bob,carol ") {
		t.Errorf("the bar does not show the kinds:\n%s", v)
	}
	if len(m.rooms) != 3 {
		t.Errorf("%d rooms, want 3 (the bad name left out)", len(m.rooms))
	}
	if slices.ContainsFunc(be.memberCalls(), func(c string) bool { return strings.HasPrefix(c, "join") }) {
		t.Errorf("rooms the account belongs to were joined again: %q", be.memberCalls())
	}
	if m.notice != "" {
		t.Errorf("the first list made news: %q", m.notice)
	}
	// A room joined by name asks the account's rooms for its kind.
	typeText(m, "/join dev")
	m.Update(keyType(tea.KeyEnter))
	_, cmd := m.Update(joinedMsg{room: "dev"})
	be.mu.Lock()
	be.members.rooms = []chat.MyRoom{{Name: "dev", Kind: chat.KindPrivate}}
	be.mu.Unlock()
	drive(m, cmd)
	if r := m.room("dev"); r.kind != chat.KindPrivate || !strings.Contains(m.View(), "4:🔒dev") {
		t.Errorf("a room joined by name did not learn its kind (%q):\n%s", r.kind, m.View())
	}
	m.Update(keyAlt(keyRunes("1")))
	m.Update(myRoomsMsg{rooms: []chat.MyRoom{{Name: "ops", Kind: chat.KindPrivate, Unread: 2}}})
	if m.roomIndex("ops") < 0 || m.notice != "you are now in 🔒 #ops" {
		t.Errorf("a room added later: notice %q", m.notice)
	}
	if v := m.View(); !strings.Contains(v, "5:🔒ops (2)") {
		t.Errorf("the new room does not show its unread messages:\n%s", v)
	}
}

// TestRemovedClosesTheRoom: the stream's removed event closes the room's
// view and says who removed us in the room we land on and the status bar;
// the stream is stopped, and its last state (closed, 404) shows nothing.
// A 404 without the event (a room deleted while we were away) closes the
// view the same way instead of retrying; the last room is replaced by
// general.
func TestRemovedClosesTheRoom(t *testing.T) {
	m, be := newMemberModel(t, 80, 20, &members{})
	m.Update(myRoomsMsg{rooms: []chat.MyRoom{{Name: "team", Kind: chat.KindPrivate}, {Name: "ops", Kind: chat.KindPublic}}})
	_, sub := m.Update(joinedMsg{room: "team"})
	runAll(sub)
	m.Update(keyAlt(keyRunes("2")))
	team := m.cur()
	if team.name != "team" {
		t.Fatalf("current %s, want team", team.name)
	}
	streams := be.subscribed()
	if len(streams) != 1 || streams[0].room != "team" {
		t.Fatalf("streams %+v, want team's", streams)
	}
	gen := team.gen
	m.Update(eventMsg{gen: gen, ev: client.Event{Room: "team", Removed: &chat.Removed{Room: "team", By: "bob"}}})
	if m.roomIndex("team") >= 0 || m.cur().name != "general" {
		t.Fatalf("after the removal: team still there (%v), current %s", m.roomIndex("team") >= 0, m.cur().name)
	}
	want := "bob removed you from 🔒 #team"
	if lastLine(m) != want || m.notice != want {
		t.Errorf("last line %q, notice %q; want %q", lastLine(m), m.notice, want)
	}
	if streams[0].ctx.Err() == nil {
		t.Error("the removed room's stream goes on")
	}
	m.Update(eventMsg{gen: gen, ev: client.Event{Room: "team", State: &client.StateChange{State: client.StateClosed,
		Err: apiErr(http.StatusNotFound, "room_not_found")}}})
	if v := m.View(); strings.Contains(v, "closed") || !strings.Contains(v, want) {
		t.Errorf("the stream's end shows, or the line went:\n%s", v)
	}

	// ops answers 404 without a removed event: the same, without "by".
	_, sub = m.Update(joinedMsg{room: "ops"})
	runAll(sub)
	ops := m.room("ops")
	m.Update(eventMsg{gen: ops.gen, ev: client.Event{Room: "ops", State: &client.StateChange{State: client.StateClosed,
		Err: apiErr(http.StatusNotFound, "room_not_found")}}})
	if m.roomIndex("ops") >= 0 || !strings.HasPrefix(lastLine(m), "#ops is gone") {
		t.Errorf("a 404 stream: ops kept (%v), last line %q", m.roomIndex("ops") >= 0, lastLine(m))
	}

	// A remembered room that answers 404 at the join is closed, not retried.
	m.Update(myRoomsMsg{rooms: []chat.MyRoom{{Name: "gone"}}})
	_, cmd := m.Update(joinedMsg{room: "gone", err: apiErr(http.StatusNotFound, "room_not_found")})
	if m.roomIndex("gone") >= 0 || cmd == nil {
		t.Errorf("a 404 join: gone kept (%v)", m.roomIndex("gone") >= 0)
	}

	// The only room removed: general opens in its place.
	m.Update(myRoomsMsg{rooms: []chat.MyRoom{{Name: "solo", Kind: chat.KindPrivate}}})
	m.Update(keyAlt(keyRunes("2")))
	m.rooms = []*room{m.cur()}
	m.active = 0
	m.Update(eventMsg{gen: m.cur().gen, ev: client.Event{Room: "solo", Removed: &chat.Removed{Room: "solo", By: "bob"}}})
	if len(m.rooms) != 1 || m.cur().name != "general" || lastLine(m) != "bob removed you from 🔒 #solo" {
		t.Errorf("the only room removed: %d rooms, current %s, last line %q", len(m.rooms), m.cur().name, lastLine(m))
	}
	checkScreen(t, m.View(), 80, 20)
}

// TestMembershipWithRealServer runs bob's TUI against a real chat-server:
// alice makes a private room and adds bob, and it appears in bob's bar
// with its lock (from the account's rooms, asked again); bob's /invite
// there is refused in plain words (he is no admin); /msg carol makes a
// direct room shown as @carol whose message the server holds once for
// carol; /leave closes the private room's view.
// The kick is TestKickEndsViewWithRealServer's.
func TestMembershipWithRealServer(t *testing.T) {
	srv := servertest.Start(t)
	state := OpenState(filepath.Join(t.TempDir(), "chat-tui"))
	if err := state.SaveToken(srv.URL, "bob", srv.Login(t, "bob")); err != nil {
		t.Fatal(err)
	}
	alice := srv.Login(t, "alice")
	carol := srv.Login(t, "carol")

	ctx, cancel := context.WithCancel(context.Background())
	token, _ := state.Token(srv.URL, "bob")
	hc := &http.Client{Transport: &http.Transport{}}
	c := client.New(srv.URL, client.WithToken(token), client.WithHTTPClient(hc), client.WithBackoff(20*time.Millisecond, 200*time.Millisecond))
	poll := func(m *Model) { m.roomsEvery = 100 * time.Millisecond }
	m := New(ctx, Config{Server: srv.URL, Nick: "bob", Room: "general"}, c, WithState(state), poll)
	tm := teatest.NewTestModel(t, probe{m}, teatest.WithInitialTermSize(100, 30))
	defer func() {
		cancel()
		m.Close()
		hc.CloseIdleConnections()
	}()
	waitScreen(t, tm, "connected", func(s string) bool { return strings.Contains(s, "● connected") })

	private := chat.KindPrivate
	if r := srv.Do(t, http.MethodPut, "/api/rooms/team", alice, chat.RoomUpdate{Kind: &private}); r.Status != http.StatusCreated {
		t.Fatalf("create team: %d %s", r.Status, r.Body)
	}
	if r := srv.Do(t, http.MethodPut, "/api/rooms/team/members/bob", alice, nil); r.Status != http.StatusCreated {
		t.Fatalf("add bob: %d %s", r.Status, r.Body)
	}
	srv.Post(t, alice, "team", "welcome to the team")
	waitScreen(t, tm, "the private room in the bar", func(s string) bool {
		return strings.Contains(s, "2:🔒team") && strings.Contains(s, "you are now in 🔒 #team")
	})
	sendKeys(tm, "/join team")
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	waitScreen(t, tm, "the private room's history", func(s string) bool {
		return strings.HasPrefix(s, "🔒 #team") && strings.Contains(s, "alice │ welcome to the team") && strings.Contains(s, "● connected")
	})
	sendKeys(tm, "/invite carol")
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	waitScreen(t, tm, "the refused invite", func(s string) bool {
		return strings.Contains(s, "only the room's owner or admins can do that")
	})

	sendKeys(tm, "/msg carol hi carol")
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	s := waitScreen(t, tm, "the direct room", func(s string) bool {
		return strings.Contains(s, "3:@carol") && strings.HasPrefix(s, "@carol") &&
			strings.Contains(s, "bob │ hi carol") && !strings.Contains(s, " ... ")
	})
	if strings.Contains(s, "dm-") {
		t.Errorf("the direct room shows its server-chosen name:\n%s", s)
	}
	var mine chat.MyRooms
	srv.Do(t, http.MethodGet, "/api/me/rooms", carol, nil).Decode(t, &mine)
	dm := ""
	for _, r := range mine.Rooms {
		if r.Kind == chat.KindDirect {
			dm = r.Name
		}
	}
	if dm == "" {
		t.Fatalf("carol has no direct room: %+v", mine.Rooms)
	}
	page := srv.History(t, carol, dm, nil)
	if len(page.Messages) != 1 || page.Messages[0].Text != "hi carol" || page.Messages[0].Nick != "bob" {
		t.Fatalf("the direct room holds %+v, want bob's one message", page.Messages)
	}

	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlP}) // back to team
	waitScreen(t, tm, "team again", func(s string) bool { return strings.HasPrefix(s, "🔒 #team") })
	sendKeys(tm, "/leave")
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	waitScreen(t, tm, "team closed", func(s string) bool {
		return strings.Contains(s, "you left 🔒 #team") && !strings.Contains(s, "🔒team")
	})
	if r := srv.Do(t, http.MethodGet, "/api/rooms/team/messages", token, nil); r.Status != http.StatusNotFound {
		t.Errorf("bob still reads team after /leave: %d", r.Status)
	}
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
}

// TestUTF8Locale: the lock is drawn as an emoji unless the locale says
// the terminal's encoding is something else.
func TestUTF8Locale(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want bool
	}{
		{map[string]string{}, true},
		{map[string]string{"LANG": "en_US.UTF-8"}, true},
		{map[string]string{"LANG": "de_DE.utf8"}, true},
		{map[string]string{"LANG": "en_US.UTF-8", "LC_ALL": "en_US.ISO-8859-1"}, false},
		{map[string]string{"LC_CTYPE": "ja_JP.eucJP", "LANG": "en_US.UTF-8"}, false},
		{map[string]string{"LANG": "C"}, true},
	} {
		if got := UTF8Locale(func(k string) string { return tc.env[k] }); got != tc.want {
			t.Errorf("UTF8Locale(%v) = %v, want %v", tc.env, got, tc.want)
		}
	}
}

// TestKickEndsViewWithRealServer: alice's /kick in her TUI ends bob's
// view of the private room in his: his stream gets removed and ends, his
// view closes with "alice removed you from 🔒 #team" (not the "is gone"
// of a stream that merely found the room 404), and nothing retries the
// room.
func TestKickEndsViewWithRealServer(t *testing.T) {
	srv := servertest.Start(t)
	alice := srv.Login(t, "alice")
	bob := srv.Login(t, "bob")
	private := chat.KindPrivate
	if r := srv.Do(t, http.MethodPut, "/api/rooms/team", alice, chat.RoomUpdate{Kind: &private}); r.Status != http.StatusCreated {
		t.Fatalf("create team: %d %s", r.Status, r.Body)
	}
	if r := srv.Do(t, http.MethodPut, "/api/rooms/team/members/bob", alice, nil); r.Status != http.StatusCreated {
		t.Fatalf("add bob to team: %d %s", r.Status, r.Body)
	}

	start := func(nick, token string) (*teatest.TestModel, func()) {
		ctx, cancel := context.WithCancel(context.Background())
		hc := &http.Client{Transport: &http.Transport{}}
		c := client.New(srv.URL, client.WithToken(token), client.WithHTTPClient(hc), client.WithBackoff(20*time.Millisecond, 200*time.Millisecond))
		m := New(ctx, Config{Server: srv.URL, Nick: nick, Room: "team"}, c)
		tm := teatest.NewTestModel(t, probe{m}, teatest.WithInitialTermSize(100, 30))
		return tm, func() {
			tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
			tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
			cancel()
			m.Close()
			hc.CloseIdleConnections()
		}
	}
	atm, stopA := start("alice", alice)
	defer stopA()
	btm, stopB := start("bob", bob)
	defer stopB()
	for _, tm := range []*teatest.TestModel{atm, btm} {
		waitScreen(t, tm, "team connected", func(s string) bool { return strings.HasPrefix(s, "🔒 #team") && strings.Contains(s, "● connected") })
	}
	sendKeys(atm, "/kick bob")
	atm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	waitScreen(t, atm, "the kick done", func(s string) bool { return strings.Contains(s, "removed bob from 🔒 #team") })
	s := waitScreen(t, btm, "bob's view closed", func(s string) bool {
		return strings.HasPrefix(s, "#general") && strings.Contains(s, "alice removed you from 🔒 #team")
	})
	if strings.Contains(s, "🔒team") || strings.Contains(s, "closed") || strings.Contains(s, "reconnecting") {
		t.Errorf("bob's screen still shows the room or its stream's end:\n%s", s)
	}
}
