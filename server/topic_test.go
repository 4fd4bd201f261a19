package server_test

import (
	"net/http"
	"testing"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/servertest"
)

// TestTopicEvent: a PUT that changes a room's topic sends every open stream
// of the room a room event (no id line) naming the topic and who set it; a
// PUT that leaves the topic as it was, or gives none, sends nothing.
func TestTopicEvent(t *testing.T) {
	srv := servertest.Start(t)
	alice := srv.Login(t, "alice")
	bob := srv.Login(t, "bob")
	st := srv.MustSubscribe(t, bob, chat.DefaultRoom, "")
	nextOf(t, st, chat.EventWelcome)

	put := func(body any) {
		t.Helper()
		if r := srv.Do(t, http.MethodPut, "/api/rooms/"+chat.DefaultRoom, alice, body); r.Status != http.StatusOK {
			t.Fatalf("PUT %v: %d %s", body, r.Status, r.Body)
		}
	}
	topic := func(s string) chat.RoomUpdate { return chat.RoomUpdate{Topic: &s} }

	put(topic("release on friday"))
	ev := nextOf(t, st, chat.EventRoom)
	if ev.HasID {
		t.Fatalf("room event with an id line: %+v", ev)
	}
	var got chat.TopicChange
	decode(t, ev, &got)
	if want := (chat.TopicChange{Room: chat.DefaultRoom, Topic: "release on friday", Nick: "alice"}); got != want {
		t.Fatalf("room event %+v, want %+v", got, want)
	}

	put(topic("release on friday")) // unchanged: nothing
	put(nil)                        // no topic: nothing
	put(topic(""))                  // cleared: an event with the empty topic
	decode(t, nextOf(t, st, chat.EventRoom), &got)
	if got.Topic != "" || got.Nick != "alice" {
		t.Fatalf("after the unchanged PUT and the PUT without topic, room event %+v; want the cleared topic", got)
	}

	// A message after the events shows nothing else was queued before it.
	srv.Post(t, alice, chat.DefaultRoom, "done")
	for {
		ev, err := st.Next(wait)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Event == chat.EventRoom {
			t.Fatalf("an extra room event %s", ev.Data)
		}
		if ev.Event == chat.EventMessage {
			break
		}
	}
}
