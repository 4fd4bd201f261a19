package redis_test

import (
	"testing"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/internal/clustertest"
	"github.com/ssechat/chat/internal/testenv"
	"github.com/ssechat/chat/server/store"
	"github.com/ssechat/chat/server/store/redis"
)

// TestResetWhenMissedMessagesTrimmed: node a's pub/sub connection is cut
// (its Redis user switched off, so it cannot come back) while node b
// appends more than HistoryMax messages. Once a is let in again its
// catch-up finds messages it never relayed already deleted: it relays a
// Reset for that room, then the messages still kept, in order; a room it
// watches that lost nothing gets no reset.
func TestResetWhenMissedMessagesTrimmed(t *testing.T) {
	rd := clustertest.StartRedis(t, clustertest.RedisOptions{})
	raw := rawClient(t, rd)
	ctx := t.Context()
	if err := raw.Do(ctx, "ACL", "SETUSER", "node-a", "on", ">node-a-pw", "~*", "&*", "+@all").Err(); err != nil {
		t.Fatalf("create the Redis user of node a: %v", err)
	}
	const keep = 5
	prefix := newPrefix()
	a := open(t, "redis://node-a:node-a-pw@"+rd.Addr+"/0", redis.Options{Prefix: prefix, HistoryMax: keep})
	b := open(t, rd.URL(0), redis.Options{Prefix: prefix, HistoryMax: keep})
	got := collect(a)
	for _, room := range []string{"general", "quiet"} {
		if _, _, err := b.PutRoom(ctx, room, nil); err != nil {
			t.Fatal(err)
		}
		stop, err := a.Watch(ctx, room)
		if err != nil {
			t.Fatalf("Watch %s: %v", room, err)
		}
		defer stop()
	}
	var want []string
	appendOne := func(room string, i int) {
		m := text(i)
		m.Room = room
		msg, _, err := b.Append(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		if room == "general" {
			want = append(want, msg.ID)
		}
	}
	appendOne("general", 0)
	appendOne("quiet", 0)
	testenv.Eventually(t, waitFor, "the first messages at node a", func() bool {
		return got.count("general") == 1 && got.count("quiet") == 1
	})

	if err := raw.Do(ctx, "ACL", "SETUSER", "node-a", "off").Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := raw.ClientKillByFilter(ctx, "USER", "node-a").Result(); err != nil || n == 0 {
		t.Fatalf("cut node a's connections: killed %d, %v", n, err)
	}
	for i := 1; i <= 2*keep; i++ {
		appendOne("general", i)
	}
	if err := raw.Do(ctx, "ACL", "SETUSER", "node-a", "on").Err(); err != nil {
		t.Fatal(err)
	}
	kept := want[len(want)-keep:]
	testenv.Eventually(t, waitFor, "node a to catch up", func() bool {
		ms := got.messages("general")
		return len(ms) > 0 && ms[len(ms)-1].ID == kept[keep-1]
	})

	got.mu.Lock()
	var general []store.Event
	for _, e := range got.events {
		if e.Reset != nil && e.Room != "general" {
			t.Errorf("a reset for room %q, which lost nothing", e.Room)
		}
		if e.Room == "general" {
			general = append(general, e)
		}
	}
	got.mu.Unlock()
	// The first message, then the reset, then what retention kept.
	if len(general) != 2+keep {
		t.Fatalf("node a relayed %d events of general, want %d (message, reset, %d kept)", len(general), 2+keep, keep)
	}
	if r := general[1].Reset; r == nil || r.Room != "general" || r.Reason != chat.ResetHistoryTrimmed {
		t.Fatalf("second event %+v, want a history_trimmed reset", general[1])
	}
	var relayed []chat.Message
	for _, e := range append(general[:1:1], general[2:]...) {
		if e.Message == nil {
			t.Fatalf("event %+v, want a message", e)
		}
		relayed = append(relayed, *e.Message)
	}
	checkExactly(t, "node a's listener", relayed, append(want[:1:1], kept...))
}

// TestResetWhenRedisWentBack: Redis restored from an older backup (here:
// the room's stream and last id deleted under a watching node) no longer
// holds messages the node relayed. When the node reconnects, its catch-up
// relays a Reset, goes on from what Redis has, and relays the next
// message.
func TestResetWhenRedisWentBack(t *testing.T) {
	rd := clustertest.StartRedis(t, clustertest.RedisOptions{})
	raw := rawClient(t, rd)
	ctx := t.Context()
	prefix := newPrefix()
	s := open(t, rd.URL(0), redis.Options{Prefix: prefix})
	got := collect(s)
	watchGeneral(t, s, s)
	appendN(t, s, 0, 3)
	testenv.Eventually(t, waitFor, "the first messages", func() bool { return got.count("general") == 3 })

	if err := raw.Del(ctx, prefix+"stream:{general}").Err(); err != nil {
		t.Fatal(err)
	}
	if err := raw.HDel(ctx, prefix+"room:{general}", "last_id").Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := raw.ClientKillByFilter(ctx, "TYPE", "pubsub").Result(); err != nil || n == 0 {
		t.Fatalf("cut the pub/sub connection: killed %d, %v", n, err)
	}
	testenv.Eventually(t, waitFor, "a reset", func() bool {
		for _, e := range got.all() {
			if e.Reset != nil && e.Room == "general" {
				return true
			}
		}
		return false
	})
	next := appendN(t, s, 10, 1)
	testenv.Eventually(t, waitFor, "the message after the reset", func() bool { return got.count("general") == 4 })
	if m := got.messages("general")[3]; m.ID != next[0] {
		t.Fatalf("after the reset the listener got %s, want %s", m.ID, next[0])
	}
	if n, _, err := s.Since(ctx, "general", next[0], 10); err != nil || len(n) != 0 {
		t.Fatalf("Since the newest after the reset: %v, %v", n, err)
	}
}
