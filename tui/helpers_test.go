package tui

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/client"
)

// updating reports -update, which rewrites the golden files under testdata/.
// The flag itself is defined by teatest's golden package, which this
// package's tests import; defining it twice would panic.
func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

func TestMain(m *testing.M) {
	// Goldens and width checks need plain text: no colour, no attributes.
	lipgloss.SetColorProfile(termenv.Ascii)
	os.Exit(m.Run())
}

// clock is a settable time source.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *clock                   { return &clock{t: t0} }
func at(min int) time.Time               { return t0.Add(time.Duration(min) * time.Minute) }
func msgAt(id int, nick, text string, ts time.Time) chat.Message {
	return chat.Message{ID: fmt.Sprint(id), Room: "general", Nick: nick, Kind: chat.KindText, Text: text, TS: ts}
}

// t0 is the pinned "now" of the model tests: 23 Nov 2026, 09:30 UTC.
var t0 = time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)

// testServer is the server the unit tests' configs name. It is shown on
// the login screen and keys the saved state, and is never dialled: the unit
// tests use an offline Backend.
const testServer = "http://127.0.0.1:8080"

// errOffline is every answer of an offline Backend.
var errOffline = errors.New("offline: the unit tests make no requests")

// offline is the Backend of the unit tests. They drive Update by hand and
// run none of the commands it returns, except a few they run on purpose, so
// it answers every request with errOffline. It records the streams asked
// for: Update must ask for none itself (I/O belongs in a tea.Cmd).
type offline struct {
	token string
	// refuse, when set, is every SendOnce's answer; otherwise a SendOnce
	// waits for its context to end, as for a server that never answers.
	refuse error

	mu      sync.Mutex
	streams []stream
	members *members
}

// stream is one Subscribe call made to an offline Backend.
type stream struct {
	room, lastID string
	ctx          context.Context
}

func (o *offline) Token() string { return o.token }
func (o *offline) Login(context.Context, string, string) (chat.SessionInfo, error) {
	return chat.SessionInfo{}, errOffline
}
func (o *offline) Me(context.Context) (string, error) { return "", errOffline }

// Limits is here for the Backend that asks the server's limits (the
// page-size work of issue 11, item 3); until then it is unused.
func (o *offline) Limits(context.Context) (chat.ServerLimits, error) {
	return chat.ServerLimits{}, errOffline
}
func (o *offline) CreateRoom(context.Context, string, *string) (bool, error) {
	return false, errOffline
}
func (o *offline) SetTopic(context.Context, string, string) error    { return errOffline }
func (o *offline) Rooms(context.Context) ([]chat.Room, error)        { return nil, errOffline }
func (o *offline) Members(context.Context, string) ([]string, error) { return nil, errOffline }
func (o *offline) Typing(context.Context, string) error              { return errOffline }
func (o *offline) History(context.Context, string, client.HistoryQuery) (chat.MessagePage, error) {
	return chat.MessagePage{}, errOffline
}
func (o *offline) SendOnce(ctx context.Context, _ string, _ chat.PostMessage) (chat.Message, error) {
	o.mu.Lock()
	refuse := o.refuse
	o.mu.Unlock()
	if refuse != nil {
		return chat.Message{}, refuse
	}
	<-ctx.Done()
	return chat.Message{}, ctx.Err()
}

// Subscribe records the call and returns a stream that sends nothing and
// closes when ctx ends, as the client's does.
func (o *offline) Subscribe(ctx context.Context, room, lastID string) <-chan client.Event {
	o.mu.Lock()
	o.streams = append(o.streams, stream{room: room, lastID: lastID, ctx: ctx})
	o.mu.Unlock()
	ch := make(chan client.Event)
	go func() {
		<-ctx.Done()
		close(ch)
	}()
	return ch
}

// members, when set, answers the membership calls (and records them);
// otherwise they answer errOffline like every other request.
type members struct {
	err   error         // every call's answer when set
	dm    chat.Room     // DirectMessage's room
	rooms []chat.MyRoom // MyRooms' list
	calls []string      // "add team bob", "remove team bob", "leave team", "create team private", "dm carol", "join team"
}

func (o *offline) member(call string) (*members, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.members == nil {
		return nil, errOffline
	}
	o.members.calls = append(o.members.calls, call)
	return o.members, o.members.err
}

// memberCalls returns the membership calls made so far.
func (o *offline) memberCalls() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.members == nil {
		return nil
	}
	return append([]string(nil), o.members.calls...)
}

func (o *offline) MyRooms(context.Context) ([]chat.MyRoom, error) {
	a, err := o.member("myrooms")
	if err != nil {
		return nil, err
	}
	return a.rooms, nil
}
func (o *offline) CreateRoomKind(_ context.Context, room, kind string) (bool, error) {
	_, err := o.member("create " + room + " " + kind)
	return err == nil, err
}
func (o *offline) Join(_ context.Context, room string) error {
	_, err := o.member("join " + room)
	return err
}
func (o *offline) Leave(_ context.Context, room string) error {
	_, err := o.member("leave " + room)
	return err
}
func (o *offline) AddMember(_ context.Context, room, nick string) error {
	_, err := o.member("add " + room + " " + nick)
	return err
}
func (o *offline) RemoveMember(_ context.Context, room, nick string) error {
	_, err := o.member("remove " + room + " " + nick)
	return err
}
func (o *offline) DirectMessage(_ context.Context, nicks ...string) (chat.Room, bool, error) {
	a, err := o.member("dm " + strings.Join(nicks, " "))
	if err != nil {
		return chat.Room{}, false, err
	}
	return a.dm, true, nil
}

// setRefuse sets what every SendOnce answers from now on (nil: nothing).
func (o *offline) setRefuse(err error) {
	o.mu.Lock()
	o.refuse = err
	o.mu.Unlock()
}

// nextUpdate hands the model the outbox's next update, as the command
// reading them would, failing the test when none comes within 10 s.
func nextUpdate(t testing.TB, m *Model) client.OutboxUpdate {
	t.Helper()
	select {
	case u := <-m.out.Updates():
		m.Update(outboxMsg(u))
		return u
	case <-time.After(10 * time.Second):
		t.Fatal("no outbox update within 10s")
	}
	return client.OutboxUpdate{}
}

// subscribed returns the Subscribe calls made so far.
func (o *offline) subscribed() []stream {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]stream(nil), o.streams...)
}

// newChatModel returns a model logged in as alice, in #general, with the
// given first page of history, at w×h cells.
func newChatModel(t testing.TB, w, h int, page []chat.Message, hasMore bool) (*Model, *clock) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	clk := newClock()
	cfg := Config{Server: testServer, Nick: "alice", Room: "general"}
	m := New(ctx, cfg, &offline{token: "tok"}, WithClock(clk.now), WithLocation(time.UTC))
	t.Cleanup(func() { cancel(); m.Close() })
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	m.Update(meMsg{nick: "alice"})
	if m.phase != phaseChat {
		t.Fatalf("phase %v after a good session check, want chat", m.phase)
	}
	m.Update(joinedMsg{room: "general", page: chat.MessagePage{Messages: page, HasMore: hasMore}})
	return m, clk
}

func slogDiscard() *slog.Logger { return slog.New(slog.DiscardHandler) }

func keyRunes(s string) tea.KeyMsg     { return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)} }
func keyType(k tea.KeyType) tea.KeyMsg { return tea.KeyMsg{Type: k} }
func keyAlt(k tea.KeyMsg) tea.KeyMsg   { k.Alt = true; return k }

// typeText types s one key at a time, as a terminal would send it.
func typeText(m *Model, s string) {
	for _, r := range s {
		m.Update(keyRunes(string(r)))
	}
}

// runCmd runs a command and returns its message (nil for a nil command).
func runCmd(cmd tea.Cmd) tea.Msg {
	if cmd == nil {
		return nil
	}
	return cmd()
}

// isQuit reports whether cmd, run, asks the program to quit.
func isQuit(cmd tea.Cmd) bool {
	_, ok := runCmd(cmd).(tea.QuitMsg)
	return ok
}

// checkGolden compares got with testdata/name.golden (rewritten by -update).
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if updating() {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run go test ./tui -run %s -update): %v", t.Name(), err)
	}
	if string(want) != got {
		t.Errorf("View() differs from %s (-update rewrites it)\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}

// checkScreen checks that every line of a view fits in w cells and that
// there are exactly h of them.
func checkScreen(t *testing.T, view string, w, h int) {
	t.Helper()
	lines := strings.Split(view, "\n")
	if len(lines) != h {
		t.Errorf("view has %d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if sw := stringWidth(l); sw > w {
			t.Errorf("line %d is %d cells wide, more than %d: %q", i, sw, w, l)
		}
	}
}
