package tui

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/client"
	"github.com/ssechat/chat/internal/testenv"
	"github.com/ssechat/chat/server"
	"github.com/ssechat/chat/server/servertest"
	"go.uber.org/goleak"
)

// probe runs a real program around the model and lets the test read the
// screen from the program's own goroutine, so no field is read while Update
// writes it.
type probe struct{ *Model }

type snapshotMsg chan string

func (p probe) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if ch, ok := msg.(snapshotMsg); ok {
		ch <- p.Model.View()
		return p, nil
	}
	_, cmd := p.Model.Update(msg)
	return p, cmd
}

func snapshot(tm *teatest.TestModel) string {
	ch := make(snapshotMsg, 1)
	tm.Send(ch)
	select {
	case s := <-ch:
		return s
	case <-time.After(5 * time.Second):
		return "(no snapshot: the program is stuck)"
	}
}

func waitScreen(t *testing.T, tm *teatest.TestModel, what string, cond func(string) bool) string {
	t.Helper()
	var last string
	deadline := time.Now().Add(15 * time.Second)
	for {
		last = snapshot(tm)
		if cond(last) {
			return last
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; screen:\n%s", what, last)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

func sendKeys(tm *teatest.TestModel, s string) {
	tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)})
}

func startTUI(t *testing.T, url, nick string, state *State, opts ...client.Option) (*teatest.TestModel, *Model, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	token, _ := state.Token(url, nick)
	rooms, _ := state.Rooms(url, nick)
	hc := &http.Client{Transport: &http.Transport{}}
	c := client.New(url, append([]client.Option{client.WithToken(token), client.WithHTTPClient(hc), client.WithBackoff(20*time.Millisecond, 200*time.Millisecond)}, opts...)...)
	m := New(ctx, Config{Server: url, Nick: nick, Room: "general"}, c, WithState(state), WithRooms(rooms))
	tm := teatest.NewTestModel(t, probe{m}, teatest.WithInitialTermSize(100, 30))
	stop := func() {
		cancel()
		m.Close()
		hc.CloseIdleConnections()
	}
	return tm, m, stop
}

// TestChatWithRealServer drives the model in a real Bubble Tea program
// against a real chat-server: first login (registration) with the
// password typed in the TUI, a message from another user arriving, a message
// typed and stored by the server once, /join creating a room, the session
// saved and reused by the next run, and every goroutine stopped at the end.
func TestChatWithRealServer(t *testing.T) {
	srv := servertest.Start(t)
	ignore := goleak.IgnoreCurrent()
	defer func() {
		// Bubble Tea leaves a pending tea.Tick's goroutine (and teatest its
		// waiter) for up to a second after the program ended; they are its
		// own. The servertest client's keep-alive connection is the test's.
		srv.Client.CloseIdleConnections()
		goleak.VerifyNone(t, ignore,
			goleak.IgnoreTopFunction("github.com/charmbracelet/bubbletea.Tick.func1"),
			goleak.IgnoreAnyFunction("github.com/charmbracelet/bubbletea.(*Program).execBatchMsg"),
			goleak.IgnoreAnyFunction("github.com/charmbracelet/x/exp/teatest.NewTestModel.func2"))
	}()
	state := OpenState(filepath.Join(t.TempDir(), "chat-tui"))
	bob := srv.Login(t, "bob")

	tm, _, stop := startTUI(t, srv.URL, "alice", state)
	waitScreen(t, tm, "the password prompt", func(s string) bool { return strings.Contains(s, "Password:") })
	sendKeys(tm, servertest.Password("alice"))
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	waitScreen(t, tm, "the stream connected", func(s string) bool { return strings.Contains(s, "● connected") })

	srv.Post(t, bob, "general", "hello from bob")
	waitScreen(t, tm, "bob's message", func(s string) bool { return strings.Contains(s, "bob │ hello from bob") })

	sendKeys(tm, "hi bob, ünïcödé 🎉")
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	waitScreen(t, tm, "our message confirmed", func(s string) bool {
		return strings.Contains(s, "alice │ hi bob, ünïcödé 🎉") && !strings.Contains(s, " ... ")
	})
	var page chat.MessagePage
	srv.Do(t, http.MethodGet, "/api/rooms/general/messages", bob, nil).Decode(t, &page)
	n := 0
	for _, m := range page.Messages {
		if m.Text == "hi bob, ünïcödé 🎉" && m.Nick == "alice" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("the server holds %d copies of the message, want 1: %+v", n, page.Messages)
	}

	sendKeys(tm, "/join tea-room")
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	waitScreen(t, tm, "the new room", func(s string) bool {
		return strings.Contains(s, "created #tea-room") && strings.Contains(s, "● connected")
	})
	if r := srv.Do(t, http.MethodGet, "/api/rooms/tea-room/members", bob, nil); r.Status != http.StatusOK {
		t.Fatalf("the server has no room tea-room: %d %s", r.Status, r.Body)
	}
	sendKeys(tm, "/frob")
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	waitScreen(t, tm, "the unknown command error", func(s string) bool { return strings.Contains(s, "unknown command /frob") })

	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC}) // the input holds "/frob": once is not enough
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
	stop()

	if tok, _ := state.Token(srv.URL, "alice"); tok == "" {
		t.Fatal("the session token was not saved")
	}
	if rooms, _ := state.Rooms(srv.URL, "alice"); strings.Join(rooms, ",") != "general,tea-room" {
		t.Fatalf("remembered rooms %v, want general,tea-room", rooms)
	}

	// The next run reuses the token (no prompt) and rejoins both rooms.
	tm2, _, stop2 := startTUI(t, srv.URL, "alice", state)
	waitScreen(t, tm2, "the chat without a prompt", func(s string) bool {
		return strings.Contains(s, "● connected") && strings.Contains(s, "2:tea-room") && strings.Contains(s, "hello from bob")
	})
	tm2.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
	tm2.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
	stop2()

	// A revoked token asks for the password again.
	tok, _ := state.Token(srv.URL, "alice")
	if r := srv.Do(t, http.MethodDelete, "/api/session", tok, nil); r.Status != http.StatusNoContent {
		t.Fatalf("revoke: %d", r.Status)
	}
	tm3, _, stop3 := startTUI(t, srv.URL, "alice", state)
	waitScreen(t, tm3, "the prompt after expiry", func(s string) bool { return strings.Contains(s, "expired") && strings.Contains(s, "Password:") })
	tm3.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
	tm3.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
	stop3()
}

// TestReconnectShowsMissedMessageOnce restarts the server under a running
// TUI: the status says it is reconnecting, and a message posted while the
// stream was down appears once, in order.
func TestReconnectShowsMissedMessageOnce(t *testing.T) {
	testenv.SkipShort(t, "restarts a server")
	srv := servertest.Start(t)
	state := OpenState(filepath.Join(t.TempDir(), "chat-tui"))
	tok := srv.Login(t, "alice")
	if err := state.SaveToken(srv.URL, "alice", tok); err != nil {
		t.Fatal(err)
	}
	bob := srv.Login(t, "bob")
	srv.Post(t, bob, "general", "before")

	tm, _, stop := startTUI(t, srv.URL, "alice", state)
	defer stop()
	waitScreen(t, tm, "connected", func(s string) bool { return strings.Contains(s, "● connected") && strings.Contains(s, "before") })

	srv.Restart()
	srv.Post(t, bob, "general", "during the restart")
	srv.Post(t, bob, "general", "after it")
	s := waitScreen(t, tm, "the missed messages", func(s string) bool {
		return strings.Contains(s, "● connected") && strings.Contains(s, "after it")
	})
	if c := strings.Count(s, "during the restart"); c != 1 {
		t.Fatalf("the missed message shows %d times, want once:\n%s", c, s)
	}
	if strings.Index(s, "before") > strings.Index(s, "during the restart") || strings.Index(s, "during the restart") > strings.Index(s, "after it") {
		t.Fatalf("messages out of order:\n%s", s)
	}
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
}

func TestLogoutRevokesAndForgets(t *testing.T) {
	srv := servertest.Start(t)
	dir := filepath.Join(t.TempDir(), "chat-tui")
	state := OpenState(dir)
	tok := srv.Login(t, "alice")
	if err := state.SaveToken(srv.URL, "alice", tok); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Server: srv.URL, Nick: "alice", Room: "general", StateDir: dir}
	if err := Logout(t.Context(), cfg, slogDiscard()); err != nil {
		t.Fatal(err)
	}
	if got, _ := state.Token(srv.URL, "alice"); got != "" {
		t.Fatal("the token is still saved")
	}
	if r := srv.Do(t, http.MethodGet, "/api/me", tok, nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("the revoked token still works: %d", r.Status)
	}
}

// TestTypedLinesArriveInOrderThroughRateLimitAndRestart types 30 lines into
// the TUI faster than the server's limit of one message a second, restarts
// the server while they go out, and checks that the server stored each
// once, in the order typed, and that the screen shows none still on its
// way. Before the outbox every Enter had its own jittered retries, and the
// server stored such bursts out of order (issue 18, item 1).
func TestTypedLinesArriveInOrderThroughRateLimitAndRestart(t *testing.T) {
	testenv.SkipShort(t, "waits out a rate limit of 1/s for 30 messages and restarts a server")
	srv := servertest.Start(t, servertest.WithConfig(func(cfg *server.Config) {
		cfg.Limits = server.DefaultLimits()
		cfg.Limits.MessageRate, cfg.Limits.MessageBurst = 1, 10
	}))
	state := OpenState(filepath.Join(t.TempDir(), "chat-tui"))
	if err := state.SaveToken(srv.URL, "alice", srv.Login(t, "alice")); err != nil {
		t.Fatal(err)
	}
	bob := srv.Login(t, "bob")
	tm, _, stop := startTUI(t, srv.URL, "alice", state)
	defer stop()
	waitScreen(t, tm, "connected", func(s string) bool { return strings.Contains(s, "● connected") })

	want := make([]string, 30)
	for i := range want {
		want[i] = fmt.Sprintf("line %02d", i)
		sendKeys(tm, want[i])
		tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	}
	stored := func() []chat.Message {
		return srv.History(t, bob, "general", url.Values{"limit": {"100"}}).Messages
	}
	deadline := time.Now().Add(90 * time.Second)
	for len(stored()) < 12 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d lines stored", len(stored()))
		}
		time.Sleep(50 * time.Millisecond)
	}
	srv.Restart()
	for len(stored()) < len(want) {
		if time.Now().After(deadline) {
			t.Fatalf("only %d lines stored after the restart", len(stored()))
		}
		time.Sleep(100 * time.Millisecond)
	}
	var got []string
	for _, m := range stored() {
		got = append(got, m.Text)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("the server stored\n%q\nwant, in typed order and each once,\n%q", got, want)
	}
	waitScreen(t, tm, "every line confirmed", func(s string) bool {
		return strings.Contains(s, "alice │ line 29") && !strings.Contains(s, " ... ")
	})
	if held, _ := state.Outbox(srv.URL, "alice"); len(held) != 0 {
		t.Errorf("the saved outbox still holds %d lines", len(held))
	}
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
}
