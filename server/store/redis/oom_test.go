package redis_test

import (
	"errors"
	"testing"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/internal/clustertest"
	"github.com/ssechat/chat/internal/testenv"
	"github.com/ssechat/chat/server/store"
	"github.com/ssechat/chat/server/store/redis"
)

// TestOutOfMemory: Redis at maxmemory with noeviction refuses writes. The
// store then answers appends with store.ErrUnavailable (503 and
// Retry-After), keeps answering history and resumes (no MULTI, which Redis
// refuses when full), keeps relaying to the rooms already watched and can
// watch new ones, and Ping fails (so /readyz says not ready). Once Redis has
// room again everything works as before.
func TestOutOfMemory(t *testing.T) {
	rd := clustertest.StartRedis(t, clustertest.RedisOptions{})
	ctx := t.Context()
	s := open(t, rd.URL(0), redis.Options{Prefix: newPrefix()})
	got := collect(s)
	if _, _, err := s.PutRoom(ctx, "cold", nil); err != nil {
		t.Fatal(err)
	}
	watchGeneral(t, s, s)
	ids := appendN(t, s, 0, 20)
	for i := range 5 {
		m := text(i)
		m.Room = "cold" // never watched: its reads go to Redis
		if _, _, err := s.Append(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, waitFor, "the messages at the listener", func() bool { return got.count("general") == 20 })

	free := rd.Fill(t)

	_, _, err := s.Append(ctx, text(100))
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Append while Redis is out of memory: %v, want store.ErrUnavailable", err)
	}
	if err := s.Ping(ctx); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Ping while Redis is out of memory: %v, want store.ErrUnavailable", err)
	}
	page, _, err := s.Page(ctx, "general", store.PageQuery{Limit: 10})
	if err != nil || len(page) != 10 {
		t.Fatalf("Page while Redis is out of memory: %d messages, %v; want 10", len(page), err)
	}
	for _, room := range []string{"general", "cold"} {
		msgs, _, err := s.Since(ctx, room, "", 100)
		if err != nil || len(msgs) == 0 {
			t.Fatalf("Since in %s while Redis is out of memory: %d messages, %v", room, len(msgs), err)
		}
	}
	since, _, err := s.Since(ctx, "general", ids[9], 100)
	if err != nil || len(since) != 10 {
		t.Fatalf("Since(%s) while Redis is out of memory: %d messages, %v; want 10", ids[9], len(since), err)
	}
	stopCold, err := s.Watch(ctx, "cold")
	if err != nil {
		t.Fatalf("Watch a new room while Redis is out of memory: %v", err)
	}
	defer stopCold()
	if err := s.Publish(ctx, store.Event{Room: "general", Typing: &chat.Typing{Room: "general", Nick: "bob"}}); err != nil {
		t.Fatalf("Publish while Redis is out of memory: %v", err)
	}
	testenv.Eventually(t, waitFor, "the typing event on the open stream", func() bool {
		for _, e := range got.all() {
			if e.Typing != nil {
				return true
			}
		}
		return false
	})

	free()
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping once Redis has room again: %v", err)
	}
	m, _, err := s.Append(ctx, text(101))
	if err != nil {
		t.Fatalf("Append once Redis has room again: %v", err)
	}
	testenv.Eventually(t, waitFor, "the message after the outage at the listener", func() bool { return got.count("general") == 21 })
	if last := got.messages("general")[20]; last.ID != m.ID {
		t.Fatalf("the listener's newest message is %s, want %s", last.ID, m.ID)
	}
}
