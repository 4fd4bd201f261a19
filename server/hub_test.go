package server

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/store"
)

// TestHubQueueBounds pins the order of sacrifice in a full queue: a new
// ephemeral event is dropped; a message pushes out the oldest ephemeral one;
// a message that finds only messages evicts the subscriber, and nothing is
// queued for it after that.
func TestHubQueueBounds(t *testing.T) {
	var st stats
	h := newHub(&st, slog.New(slog.DiscardHandler))
	sub := h.subscribe("r", 3)
	other := h.subscribe("r", 100)
	msg := func(id string) store.Event {
		return store.Event{Room: "r", Message: &chat.Message{ID: id, Room: "r", Nick: "n", Kind: "text", Text: "t"}}
	}
	typing := store.Event{Room: "r", Typing: &chat.Typing{Room: "r", Nick: "n"}}

	h.dispatch(msg("1"))
	h.dispatch(typing)
	h.dispatch(msg("2"))
	h.dispatch(typing) // full: dropped
	if st.eventsDropped.Load() != 1 {
		t.Fatalf("dropped %d, want 1", st.eventsDropped.Load())
	}
	h.dispatch(msg("3")) // full: the queued typing event makes room
	frames, evicted := sub.take(nil)
	if evicted || len(frames) != 3 || !frames[0].message || !frames[1].message || !frames[2].message {
		t.Fatalf("queue after overflow: %d frames, evicted %v", len(frames), evicted)
	}
	for i := 4; i <= 7; i++ {
		h.dispatch(msg(string(rune('0' + i))))
	}
	if _, evicted := sub.take(nil); !evicted || st.evicted.Load() != 1 {
		t.Fatal("a message overflowing a queue of messages must evict")
	}
	h.dispatch(msg("8"))
	if frames, _ := sub.take(nil); len(frames) != 0 {
		t.Fatal("an evicted subscriber still queues")
	}
	// The other subscriber lost nothing.
	frames, _ = other.take(nil)
	n := 0
	for _, f := range frames {
		if f.message {
			n++
		}
	}
	if n != 8 {
		t.Fatalf("the roomy subscriber got %d messages, want 8", n)
	}
	h.unsubscribe(sub)
	h.unsubscribe(other)
	if len(h.rooms) != 0 {
		t.Fatal("rooms left after every subscriber left")
	}
}

// TestFrameIsOneEvent: the encoded frame is id, event and one data line.
func TestFrameIsOneEvent(t *testing.T) {
	f, err := messageFrame(&chat.Message{ID: "12", Room: "r", Nick: "n", Kind: "text", Text: "a\nb\r\nc\u2028"})
	if err != nil {
		t.Fatal(err)
	}
	want := "id: 12\nevent: message\ndata: {\"id\":\"12\",\"room\":\"r\",\"nick\":\"n\",\"kind\":\"text\",\"text\":\"a\\nb\\r\\nc\\u2028\",\"ts\":\"0001-01-01T00:00:00Z\"}\n\n"
	if string(f.data) != want {
		t.Fatalf("frame\n%q\nwant\n%q", f.data, want)
	}
}

// TestHubRelayedReset: a reset the store relays reaches every subscriber of
// its room and no other; in a full queue it pushes out an ephemeral event
// as a message does, a later ephemeral event does not push it out, and
// where only messages are queued it evicts the subscriber rather than being
// dropped (the client then resumes and learns of the gap from the store).
func TestHubRelayedReset(t *testing.T) {
	var st stats
	h := newHub(&st, slog.New(slog.DiscardHandler))
	full := h.subscribe("r", 2)
	roomy := h.subscribe("r", 100)
	elsewhere := h.subscribe("other", 100)
	msg := func(id string) store.Event {
		return store.Event{Room: "r", Message: &chat.Message{ID: id, Room: "r", Nick: "n", Kind: "text", Text: "t"}}
	}
	typing := store.Event{Room: "r", Typing: &chat.Typing{Room: "r", Nick: "n"}}
	h.dispatch(msg("1"))
	h.dispatch(msg("2")) // full: two messages
	withTyping := h.subscribe("r", 1)
	h.dispatch(typing) // withTyping: one typing event; full drops it
	h.dispatch(store.Event{Room: "r", Reset: &chat.Reset{Room: "r", Reason: chat.ResetHistoryTrimmed}})
	h.dispatch(typing) // withTyping is full of the reset: this one goes

	isReset := func(f *frame) bool {
		return f.keep && !f.message && strings.HasPrefix(string(f.data), "event: reset\ndata: ")
	}
	frames, evicted := roomy.take(nil)
	if evicted || len(frames) != 5 || !isReset(frames[3]) {
		t.Fatalf("roomy subscriber: %d frames, evicted %v; want 2 messages, typing, reset, typing", len(frames), evicted)
	}
	want := "event: reset\ndata: {\"room\":\"r\",\"reason\":\"history_trimmed\"}\n\n"
	if got := string(frames[3].data); got != want {
		t.Fatalf("reset frame %q, want %q", got, want)
	}
	frames, evicted = withTyping.take(nil)
	if evicted || len(frames) != 1 || !isReset(frames[0]) {
		t.Fatalf("a queue full of a typing event: %d frames, evicted %v; want only the reset", len(frames), evicted)
	}
	if _, evicted := full.take(nil); !evicted {
		t.Fatal("a reset meeting a queue full of messages must evict, not be dropped")
	}
	if frames, _ := elsewhere.take(nil); len(frames) != 0 {
		t.Fatalf("a subscriber of another room got %d frames", len(frames))
	}
	if n := st.resets.Load(); n != 2 {
		t.Fatalf("resets counted %d, want 2 (the evicted stream got none)", n)
	}
	if n := st.evicted.Load(); n != 1 {
		t.Fatalf("evicted %d, want 1", n)
	}
}
