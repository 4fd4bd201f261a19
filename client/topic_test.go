package client

import (
	"context"
	"testing"

	"github.com/ssechat/chat/chat"
)

// TestSubscribeTopicEvent: a topic set by another account through the real
// server reaches the subscription as an Event with Topic, between the
// messages around it.
func TestSubscribeTopicEvent(t *testing.T) {
	srv := startServer(t)
	c := newTestClient(t, srv, srv.URL, "alice")
	bob := newTestClient(t, srv, srv.URL, "bob")
	poster := srv.Login(t, "bob")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := c.Subscribe(ctx, "general", "")
	recvUntil(t, events, func(evs []Event) bool { return len(evs) > 0 && evs[len(evs)-1].Welcome != nil })

	srv.Post(t, poster, "general", "before")
	topic := "ship it"
	if created, err := bob.CreateRoom(ctx, "general", &topic); err != nil || created {
		t.Fatalf("set topic: %v, %v", created, err)
	}
	srv.Post(t, poster, "general", "after")
	got := recvUntil(t, events, messages(2))
	var seen []string
	for _, ev := range got {
		if ev.Message != nil || ev.Topic != nil {
			seen = append(seen, describeOne(ev))
		}
	}
	if len(seen) != 3 || seen[1] != "room:bob:ship it" {
		t.Fatalf("got %v; want a message, room:bob:ship it, a message", seen)
	}
	for _, ev := range got {
		if ev.Topic != nil && (ev.Room != "general" || *ev.Topic != (chat.TopicChange{Room: "general", Topic: topic, Nick: "bob"})) {
			t.Fatalf("room event %+v in %q", *ev.Topic, ev.Room)
		}
	}
	cancel()
	waitClosed(t, events)
}
