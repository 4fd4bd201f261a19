package client

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// guard bounds every wait on a channel in these tests, so a bug shows up as
// a failure instead of a hung test run. It is never what a test measures.
const guard = 10 * time.Second

// recv returns the next event, failing the test when the channel closes or
// nothing comes within guard.
func recv(t *testing.T, ch <-chan Event) Event {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("subscription channel closed early")
		}
		return ev
	case <-time.After(guard):
		t.Fatalf("no event within %v", guard)
	}
	return Event{}
}

// waitClosed reads until the channel closes and returns what came before.
func waitClosed(t *testing.T, ch <-chan Event) []Event {
	t.Helper()
	var evs []Event
	timeout := time.After(guard)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				return evs
			}
			evs = append(evs, ev)
		case <-timeout:
			t.Fatalf("channel not closed within %v; got %s", guard, describe(evs))
		}
	}
}

// describe renders events compactly for failure messages and comparisons:
// "connecting connected welcome m:1 m:2 reconnecting(...)".
func describe(evs []Event) string {
	parts := make([]string, 0, len(evs))
	for _, ev := range evs {
		parts = append(parts, describeOne(ev))
	}
	return strings.Join(parts, " ")
}

func describeOne(ev Event) string {
	switch {
	case ev.State != nil:
		return ev.State.State.String()
	case ev.Welcome != nil:
		return "welcome"
	case ev.Message != nil:
		return "m:" + ev.Message.ID
	case ev.Presence != nil:
		return "presence:" + ev.Presence.Nick + ":" + ev.Presence.State
	case ev.Typing != nil:
		return "typing:" + ev.Typing.Nick
	case ev.Reset != nil:
		return "reset:" + ev.Reset.Reason
	case ev.Topic != nil:
		return "room:" + ev.Topic.Nick + ":" + ev.Topic.Topic
	}
	return "empty"
}

// messageIDs lists the ids of the message events, in order.
func messageIDs(evs []Event) []string {
	var ids []string
	for _, ev := range evs {
		if ev.Message != nil {
			ids = append(ids, ev.Message.ID)
		}
	}
	return ids
}

// states lists the state changes, in order.
func states(evs []Event) []State {
	var s []State
	for _, ev := range evs {
		if ev.State != nil {
			s = append(s, ev.State.State)
		}
	}
	return s
}

// sseFrame renders one SSE event the way the server does.
func sseFrame(event, id, data string) string {
	var b strings.Builder
	if event != "" {
		fmt.Fprintf(&b, "event: %s\n", event)
	}
	if id != "" {
		fmt.Fprintf(&b, "id: %s\n", id)
	}
	fmt.Fprintf(&b, "data: %s\n\n", data)
	return b.String()
}

func msgFrame(room, id string) string {
	return sseFrame("message", id, fmt.Sprintf(`{"id":%q,"room":%q,"nick":"bob","kind":"text","text":"m%s","ts":"2026-01-01T00:00:00Z"}`, id, room, id))
}

func welcomeFrame(room string, lastID string) string {
	last := "null"
	if lastID != "" {
		last = fmt.Sprintf("%q", lastID)
	}
	return "retry: 1000\n" + sseFrame("welcome", "", fmt.Sprintf(`{"room":%q,"nick":"alice","online":["alice"],"last_id":%s,"server":"test"}`, room, last))
}

// startStream writes the headers of an event stream.
func startStream(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	w.(http.Flusher).Flush()
}

func write(w http.ResponseWriter, s string) {
	_, _ = w.Write([]byte(s))
	w.(http.Flusher).Flush()
}

// seq returns "from".."to" as decimal id strings.
func seq(from, to int) []string {
	var ids []string
	for i := from; i <= to; i++ {
		ids = append(ids, fmt.Sprint(i))
	}
	return ids
}

// recvUntil reads events until done(events so far) holds, failing the test
// when the channel closes or guard passes first.
func recvUntil(t *testing.T, ch <-chan Event, done func([]Event) bool) []Event {
	t.Helper()
	var evs []Event
	timeout := time.After(guard)
	for !done(evs) {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("subscription channel closed early after %s", describe(evs))
			}
			evs = append(evs, ev)
		case <-timeout:
			t.Fatalf("condition not met within %v; got %s", guard, describe(evs))
		}
	}
	return evs
}

// messages returns a condition for recvUntil: n messages arrived.
func messages(n int) func([]Event) bool {
	return func(evs []Event) bool { return len(messageIDs(evs)) >= n }
}
