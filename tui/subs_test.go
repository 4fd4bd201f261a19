package tui

import (
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/client"
)

// runAll runs cmd and every command of the batches it returns, as Bubble
// Tea would, and drops their messages. It must not be given the command that
// waits for the next event.
func runAll(cmd tea.Cmd) {
	if batch, ok := runCmd(cmd).(tea.BatchMsg); ok {
		for _, c := range batch {
			runAll(c)
		}
	}
}

// TestStreamsStartFromCommands checks that Update never subscribes itself:
// it hands the start of a room's stream out as a command. Bubble Tea runs
// commands concurrently in no set order, so a start that arrives late (after
// a newer one, after /part, after the session expired) must start nothing.
func TestStreamsStartFromCommands(t *testing.T) {
	be := &offline{token: "tok"}
	m := New(t.Context(), Config{Server: testServer, Nick: "alice", Room: "general"}, be)
	t.Cleanup(m.Close)
	m.Update(meMsg{nick: "alice"})
	_, joined := m.Update(joinedMsg{room: "general", page: chat.MessagePage{Messages: manyMessages(3)}})
	if got := be.subscribed(); len(got) != 0 {
		t.Fatalf("Update subscribed by itself: %+v", got)
	}
	if joined == nil {
		t.Fatal("the join asked for no stream")
	}

	// A reset hands out a newer start; the join's, run after it, is stale.
	_, reset := m.Update(pageMsg{room: "general", kind: pageReset, page: chat.MessagePage{Messages: manyMessages(9)}})
	runAll(reset)
	runAll(joined)
	got := be.subscribed()
	if len(got) != 1 || got[0].room != "general" || got[0].lastID != "9" {
		t.Fatalf("streams after the reset and the stale join: %+v; want one from 9", got)
	}
	general := got[0]
	if r := m.cur(); general.ctx.Err() != nil || r.gen != m.lastGen {
		t.Fatalf("the current stream ended (%v) or is not the newest generation", general.ctx.Err())
	}

	// A room parted before its start ran gets no stream.
	typeText(m, "/join dev")
	m.Update(keyType(tea.KeyEnter))
	_, devJoined := m.Update(joinedMsg{room: "dev"})
	typeText(m, "/part dev")
	m.Update(keyType(tea.KeyEnter))
	m.Update(leftMsg{room: "dev"}) // the server's answer to the leave
	runAll(devJoined)
	if got := be.subscribed(); len(got) != 1 {
		t.Fatalf("a parted room was subscribed: %+v", got[1:])
	}

	// An expired session stops the streams and every start on its way.
	_, again := m.Update(pageMsg{room: "general", kind: pageReset, page: chat.MessagePage{Messages: manyMessages(9)}})
	m.Update(eventMsg{gen: m.cur().gen, ev: client.Event{Room: "general", State: &client.StateChange{State: client.StateUnauthorized}}})
	if m.phase != phasePassword {
		t.Fatalf("phase %v after an unauthorized stream, want the password prompt", m.phase)
	}
	runAll(again)
	if got := be.subscribed(); len(got) != 1 || general.ctx.Err() == nil {
		t.Fatalf("after the session expired: %d streams, the first one ended: %v", len(got), general.ctx.Err() != nil)
	}

	// Logging in again starts the stream anew.
	typeText(m, "a-good-password")
	m.Update(keyType(tea.KeyEnter))
	_, login := m.Update(loginMsg{info: chat.SessionInfo{Token: "tok2", Nick: "alice"}})
	if len(be.subscribed()) != 1 {
		t.Fatal("the login subscribed inside Update")
	}
	runAll(login) // the command reading events is armed already, so not in it
	if got := be.subscribed(); len(got) != 2 || got[1].ctx.Err() != nil {
		t.Fatalf("after the login: %+v; want a second, live stream", got)
	}
}
