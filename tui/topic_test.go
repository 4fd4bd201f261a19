package tui

import (
	"strings"
	"testing"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/client"
)

// TestTopicEventUpdatesHeader: a room event from the stream puts the new
// topic in the header at once with a line saying who set it, sanitized;
// our own change adds no second line; a cleared topic leaves the header.
func TestTopicEventUpdatesHeader(t *testing.T) {
	m, _ := newChatModel(t, 100, 20, nil, false)
	r := m.cur()
	topic := func(nick, topic string) {
		m.Update(eventMsg{gen: r.gen, ev: client.Event{Room: "general", Topic: &chat.TopicChange{Room: "general", Topic: topic, Nick: nick}}})
	}
	topic("bob", "ship \x1b[2Jit\u202e friday")
	header := m.headerView()
	if !strings.Contains(header, "ship") || !strings.Contains(header, "friday") || strings.ContainsAny(header, "\x1b\u202e") {
		t.Fatalf("header %q; want the sanitized topic", header)
	}
	v := m.View()
	if !strings.Contains(v, "bob set the topic: ship") || strings.ContainsAny(v, "\x1b\u202e") {
		t.Fatalf("view lacks the sanitized topic line:\n%q", v)
	}

	topic("alice", "mine")
	if !strings.Contains(m.headerView(), "mine") {
		t.Fatalf("header %q after our own change", m.headerView())
	}
	if strings.Contains(m.View(), "alice set the topic") {
		t.Fatal("our own topic change got a line from the stream too")
	}

	topic("bob", "")
	if h := m.headerView(); strings.Contains(h, "mine") {
		t.Fatalf("header %q after the topic was cleared", h)
	}
	if !strings.Contains(m.View(), "bob cleared the topic") {
		t.Fatalf("no line for the cleared topic:\n%s", m.View())
	}
}
