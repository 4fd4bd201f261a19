package server

import (
	"log/slog"
	"testing"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/fanout"
	"github.com/ssechat/chat/server/store"
)

// TestFrameIsOneEvent: the encoded frame is id, event and one data line.
func TestFrameIsOneEvent(t *testing.T) {
	f, err := messageFrame(&chat.Message{ID: "12", Room: "r", Nick: "n", Kind: "text", Text: "a\nb\r\nc\u2028"})
	if err != nil {
		t.Fatal(err)
	}
	want := "id: 12\nevent: message\ndata: {\"id\":\"12\",\"room\":\"r\",\"nick\":\"n\",\"kind\":\"text\",\"text\":\"a\\nb\\r\\nc\\u2028\",\"ts\":\"0001-01-01T00:00:00Z\"}\n\n"
	if string(f.Data) != want {
		t.Fatalf("frame\n%q\nwant\n%q", f.Data, want)
	}
}

// bareServer is a Server with only what dispatch needs: the engine and the
// stats it reports to.
func bareServer(queueMax int) *Server {
	s := &Server{log: slog.New(slog.DiscardHandler)}
	s.engine = fanout.New(fanout.Options{QueueMax: queueMax, Heartbeat: time.Minute, Metrics: &s.stats})
	return s
}

// TestDispatchRelayedReset: a reset the store relays is a kept frame for
// every stream of its room and no other, counted once per stream that
// queued it; a stream whose queue is full of messages is evicted instead
// (its client then resumes and learns of the gap from the store).
func TestDispatchRelayedReset(t *testing.T) {
	s := bareServer(2)
	full, roomy, elsewhere := s.engine.NewStream(), s.engine.NewStream(), s.engine.NewStream()
	full.Subscribe("r")
	msg := func(id string) store.Event {
		return store.Event{Room: "r", Message: &chat.Message{ID: id, Room: "r", Nick: "n", Kind: "text", Text: "t"}}
	}
	s.dispatch(msg("1"))
	s.dispatch(msg("2")) // full: two messages
	roomy.Subscribe("r")
	elsewhere.Subscribe("other")
	s.dispatch(store.Event{Room: "r", Typing: &chat.Typing{Room: "r", Nick: "n"}})
	s.dispatch(store.Event{Room: "r", Reset: &chat.Reset{Room: "r", Reason: chat.ResetHistoryTrimmed}})
	s.dispatch(store.Event{Room: "nobody", Reset: &chat.Reset{Room: "nobody", Reason: chat.ResetHistoryTrimmed}})
	if n := s.stats.resets.Load(); n != 1 {
		t.Fatalf("resets counted %d, want 1 (the evicted stream got none, the empty room none)", n)
	}
	if n := s.stats.evicted.Load(); n != 1 {
		t.Fatalf("evicted %d, want 1", n)
	}
	for _, st := range []*fanout.Stream{full, roomy, elsewhere} {
		st.Close()
	}
	if s.engine.Subscribed("r") {
		t.Fatal("closed streams still subscribed")
	}
}
