package storetest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/internal/testenv"
	"github.com/ssechat/chat/server/store"
)

// RunRelay runs the Relay role's part of the suite: published events reach
// the listener of a watched room, one call at a time, and watches nest.
func RunRelay(t *testing.T, open Opener) {
	run(t, open, []test{
		{"Publish", testPublish},
		{"ListenerSerial", testListenerSerial},
		{"WatchNests", testWatchNests},
	})
}

func testPublish(t *testing.T, open Opener) {
	s := open(t, Options{})
	rec := listen(s)
	ctx := t.Context()
	mustRoom(t, s, "general")
	stop, err := s.Watch(ctx, "general")
	wantNoErr(t, "Watch", err)
	defer stop()
	wantNoErr(t, "Publish(typing)", s.Publish(ctx, store.Event{Room: "general", Typing: &chat.Typing{Room: "general", Nick: "alice"}}))
	wantNoErr(t, "Publish(presence)", s.Publish(ctx, store.Event{Room: "general", Presence: &chat.Presence{Room: "general", Nick: "bob", State: chat.PresenceJoin, Online: []string{"alice", "bob"}}}))
	wantNoErr(t, "Publish(room)", s.Publish(ctx, store.Event{Room: "general", Topic: &chat.TopicChange{Room: "general", Topic: "new topic", Nick: "carol"}}))
	testenv.Eventually(t, waitFor, "the published events at the listener", func() bool { return len(rec.all()) >= 3 })
	ev := rec.all()
	if len(ev) != 3 {
		t.Fatalf("listener got %d events, want 3: %+v", len(ev), ev)
	}
	var typing, presence, room bool
	for _, e := range ev {
		switch {
		case e.Typing != nil && e.Room == "general" && e.Typing.Nick == "alice" && e.Presence == nil && e.Message == nil && e.Topic == nil:
			typing = true
		case e.Presence != nil && e.Room == "general" && e.Presence.Nick == "bob" && e.Presence.State == chat.PresenceJoin &&
			len(e.Presence.Online) == 2 && e.Typing == nil && e.Message == nil:
			presence = true
		case e.Topic != nil && e.Room == "general" && *e.Topic == (chat.TopicChange{Room: "general", Topic: "new topic", Nick: "carol"}) &&
			e.Typing == nil && e.Presence == nil && e.Message == nil:
			room = true
		}
	}
	if !typing || !presence || !room {
		t.Fatalf("listener got %+v; want the typing, presence and room events as published", ev)
	}
	rec.checkNoOverlap(t)
}

// testListenerSerial: appends and publishes from many goroutines reach the
// listener one call at a time, messages in id order, nothing lost.
func testListenerSerial(t *testing.T, open Opener) {
	s := open(t, Options{})
	rec := listen(s)
	createAndWatch(t, s, "general")
	const workers, each = 4, 25
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		sent []chat.Message
		errs []error
	)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				m, _, err := s.Append(t.Context(), store.NewMessage{Room: "general", Nick: "alice", Kind: chat.KindText, Text: fmt.Sprintf("%d/%d", w, i)})
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					sent = append(sent, m)
				}
				mu.Unlock()
			}
		})
		wg.Go(func() {
			for range each {
				if err := s.Publish(t.Context(), store.Event{Room: "general", Typing: &chat.Typing{Room: "general", Nick: fmt.Sprint("u", w)}}); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d errors, first: %v", len(errs), errs[0])
	}
	sortByID(sent)
	rec.waitMessage(t, "general", sent[len(sent)-1].ID)
	checkMessages(t, "listener's messages", rec.messages("general"), sent)
	testenv.Eventually(t, waitFor, "every typing event at the listener", func() bool {
		n := 0
		for _, e := range rec.all() {
			if e.Typing != nil {
				n++
			}
		}
		return n == workers*each
	})
	rec.checkNoOverlap(t)
}

func testWatchNests(t *testing.T, open Opener) {
	s := open(t, Options{})
	ctx := t.Context()
	mustRoom(t, s, "general")
	stop1, err := s.Watch(ctx, "general")
	wantNoErr(t, "Watch", err)
	stop2, err := s.Watch(ctx, "general")
	wantNoErr(t, "Watch again (watches nest)", err)
	stop1()
	// The inner watch still holds: events flow.
	rec := listen(s) // nothing appended yet, as Listen requires
	m := mustAppend(t, s, store.NewMessage{Room: "general", Nick: "alice", Kind: chat.KindText, Text: "still watched"})
	rec.waitMessage(t, "general", m.ID)
	stop2()
}
