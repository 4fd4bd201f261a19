package server_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/internal/clustertest"
	"github.com/ssechat/chat/server/servertest"
	"github.com/ssechat/chat/server/store"
	"github.com/ssechat/chat/server/store/redis"
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

// copyDir copies the files of a stopped server's data directory: a backup.
func copyDir(t *testing.T, from string) string {
	t.Helper()
	to := t.TempDir()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return to
}

// restoredBackup starts a server on a SQLite data directory restored from
// an older backup: it holds messages 1..20 while the client saw up to 30,
// which the lost disk held. It returns the server, a session and the
// client's resume point.
func restoredBackup(t *testing.T) (*servertest.Server, string, string) {
	first := servertest.Start(t)
	tok := first.Login(t, "ida")
	for i := 0; i < 20; i++ {
		first.Post(t, tok, "general", "before the backup")
	}
	first.Close()
	backup := copyDir(t, first.Dir)

	lost := servertest.Start(t, servertest.WithDir(first.Dir))
	tok = lost.Login(t, "ida")
	var seen string
	for i := 0; i < 10; i++ {
		seen = lost.Post(t, tok, "general", "lost with the disk").ID
	}
	lost.Close()

	srv := servertest.Start(t, servertest.WithDir(backup))
	return srv, srv.Login(t, "ida"), seen
}

// futureOnRedis starts a server on a real redis-server whose room holds 20
// messages, and a resume point an hour past the newest of them: what a
// client brings to a Redis restored from an older snapshot. Before the
// Redis store answered it with ErrTrimmed, such a stream got no reset and
// dropped every live message until Redis's clock passed the id.
func futureOnRedis(t *testing.T) (*servertest.Server, string, string) {
	rd := clustertest.StartRedis(t, clustertest.RedisOptions{})
	srv := servertest.Start(t, servertest.WithStore(func(string) (store.Store, error) {
		return redis.Open(context.Background(), rd.URL(0), redis.Options{})
	}))
	tok := srv.Login(t, "ida")
	var newest chat.Message
	for i := 0; i < 20; i++ {
		newest = srv.Post(t, tok, "general", "before the snapshot")
	}
	id, err := chat.ParseID(newest.ID)
	if err != nil {
		t.Fatal(err)
	}
	return srv, tok, strconv.FormatUint(id.Major+uint64(time.Hour/time.Millisecond), 10) + "-0"
}

// TestResumePastTheNewestThenLive: a resume point past the room's newest
// message (a store restored from an older backup) is a reset, and after
// the reset the stream sends every message posted after it, none skipped
// because the client once saw bigger ids (issue 19, item 1).
func TestResumePastTheNewestThenLive(t *testing.T) {
	for _, c := range []struct {
		name  string
		start func(t *testing.T) (srv *servertest.Server, token, resume string)
	}{
		{"sqlite restored from an older backup", restoredBackup},
		{"redis with an id in the future", futureOnRedis},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv, tok, resume := c.start(t)
			st := srv.MustSubscribe(t, tok, "general", resume)
			nextOf(t, st, chat.EventWelcome)
			var r chat.Reset
			decode(t, nextOf(t, st, chat.EventReset), &r)
			if r.Reason != chat.ResetHistoryTrimmed {
				t.Fatalf("reset %+v, want history_trimmed", r)
			}
			var posted []string
			for i := 0; i < 15; i++ {
				posted = append(posted, srv.Post(t, tok, "general", "after the restore").ID)
			}
			if got := messageIDs(t, st, 15); !slices.Equal(got, posted) {
				t.Fatalf("after the reset the stream sent %v, want every message posted since: %v", got, posted)
			}
		})
	}
}
