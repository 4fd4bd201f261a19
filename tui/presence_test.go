package tui

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/client"
)

// presenceLines lists the join and leave lines of the current room.
func presenceLines(m *Model) []string {
	var out []string
	for _, e := range m.cur().entries {
		if e.kind == entryJoin || e.kind == entryLeave {
			out = append(out, e.text)
		}
	}
	return out
}

// TestReconnectJoinsAreNotNews: after a server restart every stream joins
// again; nicks known to be online before it get no line, however their
// joins and our welcome interleave. A nick that is new, one that really
// leaves, and one that comes back long after the restart do.
func TestReconnectJoinsAreNotNews(t *testing.T) {
	// Everyone spoke lately, so every join and leave that is news gets a
	// line of its own (TestQuietPeoplesJoinsAreFolded has the others).
	var page []chat.Message
	for i, n := range []string{"bob", "carol", "dave"} {
		page = append(page, msgAt(i+1, n, "hi", t0))
	}
	m, clk := newChatModel(t, 80, 30, page, false)
	r := m.cur()
	send := func(ev client.Event) { ev.Room = "general"; m.Update(eventMsg{gen: r.gen, ev: ev}) }
	welcome := func(online ...string) {
		send(client.Event{State: &client.StateChange{State: client.StateConnected}})
		send(client.Event{Welcome: &chat.Welcome{Room: "general", Nick: "alice", Online: online}})
	}
	presence := func(nick, state string, online ...string) {
		send(client.Event{Presence: &chat.Presence{Room: "general", Nick: nick, State: state, Online: online}})
	}
	lost := func() {
		send(client.Event{State: &client.StateChange{State: client.StateReconnecting, NextTry: clk.now().Add(time.Second)}})
	}
	want := func(step string, lines ...string) {
		t.Helper()
		if got := presenceLines(m); !slices.Equal(got, lines) {
			t.Fatalf("%s: presence lines %q, want %q", step, got, lines)
		}
	}

	welcome("alice", "bob", "Carol")
	presence("alice", chat.PresenceJoin, "alice", "bob", "Carol") // our own join
	want("first welcome")

	// The server restarts. bob is back before our welcome, carol after it
	// (under another spelling of her nick: keys ignore case).
	lost()
	clk.advance(3 * time.Second)
	presence("bob", chat.PresenceJoin, "alice", "bob") // the old stream never saw it; harmless
	welcome("alice", "bob")
	presence("alice", chat.PresenceJoin, "alice", "bob")
	presence("carol", chat.PresenceJoin, "alice", "bob", "carol")
	want("after the restart")

	presence("dave", chat.PresenceJoin, "alice", "bob", "carol", "dave")
	want("a new nick", "dave joined")

	// bob's other tab (on another node) closes: he is still online.
	presence("bob", chat.PresenceLeave, "alice", "bob", "carol", "dave")
	want("a leave with the nick still online", "dave joined")
	presence("bob", chat.PresenceLeave, "alice", "carol", "dave")
	want("a real leave", "dave joined", "bob left")

	// Another restart: carol does not come back for a long time, dave
	// leaves for real before he reconnects.
	lost()
	welcome("alice")
	presence("dave", chat.PresenceLeave, "alice")
	want("a leave of a nick not yet back", "dave joined", "bob left", "dave left")
	clk.advance(rejoinGrace + time.Second)
	presence("carol", chat.PresenceJoin, "alice", "carol")
	want("a join long after the restart", "dave joined", "bob left", "dave left", "carol joined")
	presence("carol", chat.PresenceJoin, "alice", "carol") // a second tab's join on another node
	want("a repeated join", "dave joined", "bob left", "dave left", "carol joined")
}

// TestCoalescedPresence: an event of a server that coalesces presence
// carries several changes and no online list; the room applies them to the
// welcome's list and gives each its line, except our own join.
func TestCoalescedPresence(t *testing.T) {
	// bob, carol and dave spoke a moment ago: their changes get lines of
	// their own rather than one folded count.
	m, _ := newChatModel(t, 80, 30, []chat.Message{msgAt(1, "bob", "hi", t0), msgAt(2, "carol", "hi", t0), msgAt(3, "dave", "hi", t0)}, false)
	r := m.cur()
	send := func(ev client.Event) { ev.Room = "general"; m.Update(eventMsg{gen: r.gen, ev: ev}) }
	send(client.Event{State: &client.StateChange{State: client.StateConnected}})
	send(client.Event{Welcome: &chat.Welcome{Room: "general", Nick: "alice", Online: []string{"bob", "dave"}}})
	p := chat.NewPresence("general", []chat.PresenceChange{
		{Nick: "alice", State: chat.PresenceJoin},
		{Nick: "bob", State: chat.PresenceLeave},
		{Nick: "carol", State: chat.PresenceJoin},
	})
	send(client.Event{Presence: &p})
	if got := presenceLines(m); !slices.Equal(got, []string{"bob left", "carol joined"}) {
		t.Fatalf("presence lines %q", got)
	}
	if !slices.Equal(r.online, []string{"alice", "carol", "dave"}) {
		t.Fatalf("online %v", r.online)
	}
	one := chat.NewPresence("general", []chat.PresenceChange{{Nick: "dave", State: chat.PresenceLeave}})
	send(client.Event{Presence: &one})
	if got := presenceLines(m); !slices.Equal(got, []string{"bob left", "carol joined", "dave left"}) || !slices.Equal(r.online, []string{"alice", "carol"}) {
		t.Fatalf("presence lines %q, online %v", got, r.online)
	}
}

// TestQuietPeoplesJoinsAreFolded: joins and leaves of people who did not
// speak in the last 10 minutes are one line that counts them; someone who
// spoke lately gets a line of their own, which ends the fold.
func TestQuietPeoplesJoinsAreFolded(t *testing.T) {
	m, clk := newChatModel(t, 80, 30, []chat.Message{msgAt(1, "bob", "hi", t0)}, false)
	r := m.cur()
	presence := func(nick, state string) {
		m.Update(eventMsg{gen: r.gen, ev: client.Event{Room: "general", Presence: &chat.Presence{Room: "general", Nick: nick, State: state, Online: []string{"alice"}}}})
	}
	m.Update(eventMsg{gen: r.gen, ev: client.Event{Room: "general", Welcome: &chat.Welcome{Room: "general", Online: []string{"alice", "bob", "x1", "x2"}}}})
	clk.advance(time.Minute)
	for _, n := range []string{"q1", "q2", "q3"} {
		presence(n, chat.PresenceJoin)
	}
	presence("x1", chat.PresenceLeave)
	presence("x2", chat.PresenceLeave)
	v := m.View()
	if !strings.Contains(v, "3 joined, 2 left") || strings.Contains(v, "q1") {
		t.Fatalf("the quiet people's joins and leaves are not one counted line:\n%s", v)
	}
	presence("bob", chat.PresenceLeave)
	if v := m.View(); !strings.Contains(v, "bob left") {
		t.Fatalf("bob spoke a minute ago; his leave has no line:\n%s", v)
	}
	clk.advance(foldAfter)
	presence("bob", chat.PresenceJoin)
	presence("q4", chat.PresenceJoin)
	v = m.View()
	if strings.Contains(v, "bob joined") || !strings.Contains(v, "2 joined") {
		t.Fatalf("after 10 quiet minutes bob's join should be folded with q4's:\n%s", v)
	}
}
