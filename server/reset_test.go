package server_test

import (
	"path/filepath"
	"sync"
	"testing"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/servertest"
	"github.com/ssechat/chat/server/store"
	"github.com/ssechat/chat/server/store/sqlite"
)

// relayingStore is a real SQLite store whose listener a test can also feed,
// in turn with the store's own calls, as a cluster store feeds it a reset
// when it finds messages it missed already trimmed.
type relayingStore struct {
	store.Store
	mu sync.Mutex
	fn func(store.Event)
}

func (s *relayingStore) Listen(fn func(store.Event)) {
	s.mu.Lock()
	s.fn = fn
	s.mu.Unlock()
	s.Store.Listen(func(e store.Event) { s.relay(e) })
}

func (s *relayingStore) relay(e store.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fn(e)
}

// TestRelayedResetMidStream: a reset the store relays reaches every open
// stream of its room (resumed with a replay, resumed caught up, or live
// only) and no stream of another room; each stream goes on after it: a
// message it already sent, relayed again, is not sent again, and the next
// live message comes.
func TestRelayedResetMidStream(t *testing.T) {
	rs := &relayingStore{}
	srv := servertest.Start(t, servertest.WithStore(func(dir string) (store.Store, error) {
		s, err := sqlite.Open(filepath.Join(dir, "chat.db"), sqlite.Options{})
		rs.Store = s
		return rs, err
	}))
	tok := srv.Login(t, "gil")
	srv.CreateRoom(t, tok, "other")
	var ids []string
	var old chat.Message
	for i := 0; i < 3; i++ {
		old = srv.Post(t, tok, "general", "m")
		ids = append(ids, old.ID)
	}
	resumed := srv.MustSubscribe(t, tok, "general", ids[0])
	nextOf(t, resumed, chat.EventWelcome)
	if got := messageIDs(t, resumed, 2); got[1] != ids[2] {
		t.Fatalf("replay %v, want %v", got, ids[1:])
	}
	caughtUp := srv.MustSubscribe(t, tok, "general", ids[2])
	nextOf(t, caughtUp, chat.EventWelcome)
	other := srv.MustSubscribe(t, tok, "other", "")
	nextOf(t, other, chat.EventWelcome)
	reset := func() {
		rs.relay(store.Event{Room: "general", Reset: &chat.Reset{Room: "general", Reason: chat.ResetHistoryTrimmed}})
	}
	expect := func(name string, st *servertest.Stream, next string) {
		t.Helper()
		var r chat.Reset
		decode(t, nextOf(t, st, chat.EventReset), &r)
		if r.Room != "general" || r.Reason != chat.ResetHistoryTrimmed {
			t.Fatalf("%s stream: reset %+v", name, r)
		}
		if got := messageIDs(t, st, 1); got[0] != next {
			t.Fatalf("%s stream: after the reset got %v, want %s", name, got, next)
		}
	}

	reset()
	rs.relay(store.Event{Room: "general", Message: &old}) // sent already: skipped
	next := srv.Post(t, tok, "general", "after the gap").ID
	expect("resumed", resumed, next)
	expect("caught-up", caughtUp, next)

	// A stream that resumed from nothing gets the next reset too.
	live := srv.MustSubscribe(t, tok, "general", "")
	nextOf(t, live, chat.EventWelcome)
	reset()
	next = srv.Post(t, tok, "general", "after another gap").ID
	expect("live", live, next)
	expect("resumed", resumed, next)

	// nextOf fails on a reset: the other room's stream sees only its message.
	inOther := srv.Post(t, tok, "other", "elsewhere").ID
	if got := messageIDs(t, other, 1); got[0] != inOther {
		t.Fatalf("other room's stream got %v, want %s", got, inOther)
	}
}
