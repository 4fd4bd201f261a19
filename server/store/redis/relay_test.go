package redis_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/internal/clustertest"
	"github.com/ssechat/chat/internal/testenv"
	"github.com/ssechat/chat/server/store"
	"github.com/ssechat/chat/server/store/redis"
)

const waitFor = 10 * time.Second

// collector is a listener that keeps the messages it gets per room.
type collector struct {
	mu     sync.Mutex
	msgs   map[string][]chat.Message
	events []store.Event
}

func collect(s store.Store) *collector {
	c := &collector{msgs: map[string][]chat.Message{}}
	s.Listen(func(e store.Event) {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.events = append(c.events, e)
		if e.Message != nil {
			c.msgs[e.Room] = append(c.msgs[e.Room], *e.Message)
		}
	})
	return c
}

func (c *collector) messages(room string) []chat.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]chat.Message(nil), c.msgs[room]...)
}

func (c *collector) all() []store.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]store.Event(nil), c.events...)
}

func (c *collector) count(room string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.msgs[room])
}

// checkExactly fails unless got holds the ids of want, each once, in order.
func checkExactly(t *testing.T, what string, got []chat.Message, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d messages, want %d (first ids %v vs %v)", what, len(got), len(want), firstIDs(got, 5), want[:min(5, len(want))])
	}
	for i := range got {
		if got[i].ID != want[i] {
			t.Fatalf("%s: message %d has id %s, want %s", what, i, got[i].ID, want[i])
		}
	}
}

func firstIDs(msgs []chat.Message, n int) []string {
	var out []string
	for i := 0; i < len(msgs) && i < n; i++ {
		out = append(out, msgs[i].ID)
	}
	return out
}

func rawClient(t *testing.T, rd *clustertest.Redis) *goredis.Client {
	t.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: rd.Addr, MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	return c
}

func text(i int) store.NewMessage {
	return store.NewMessage{Room: "general", Nick: "poster", Kind: chat.KindText, Text: fmt.Sprintf("m%d", i)}
}

// appendN appends text(from) to text(from+n-1) through s, one after the
// other, and returns the ids the store gave them.
func appendN(t *testing.T, s store.Store, from, n int) []string {
	t.Helper()
	ids := make([]string, 0, n)
	for i := range n {
		m, _, err := s.Append(t.Context(), text(from+i))
		if err != nil {
			t.Fatalf("Append %d: %v", from+i, err)
		}
		ids = append(ids, m.ID)
	}
	return ids
}

// watchGeneral creates the room general through owner and has watcher watch
// it until the test ends: the set-up every relay test starts from, so that
// each test reads as what it does to a watched room.
func watchGeneral(t *testing.T, owner, watcher store.Store) {
	t.Helper()
	if _, _, err := owner.PutRoom(t.Context(), "general", nil); err != nil {
		t.Fatal(err)
	}
	stop, err := watcher.Watch(t.Context(), "general")
	if err != nil {
		t.Fatalf("Watch general: %v", err)
	}
	t.Cleanup(stop)
}

// TestRelayAcrossNodes: two stores on one Redis are two nodes; a message
// appended on one reaches the other's listener once and in order, typing and
// presence events too, and a room nobody watches on a node is not relayed
// to it.
func TestRelayAcrossNodes(t *testing.T) {
	rd := clustertest.StartRedis(t, clustertest.RedisOptions{})
	prefix := newPrefix()
	a := open(t, rd.URL(0), redis.Options{Prefix: prefix})
	b := open(t, rd.URL(0), redis.Options{Prefix: prefix})
	got := collect(a)
	collect(b)
	ctx := t.Context()
	for _, room := range []string{"general", "quiet"} {
		if _, _, err := b.PutRoom(ctx, room, nil); err != nil {
			t.Fatal(err)
		}
	}
	stop, err := a.Watch(ctx, "general")
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	defer stop()
	want := appendN(t, b, 0, 50)
	if _, _, err := b.Append(ctx, store.NewMessage{Room: "quiet", Nick: "x", Kind: chat.KindText, Text: "unwatched"}); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, store.Event{Room: "general", Typing: &chat.Typing{Room: "general", Nick: "bob"}}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, waitFor, "the typing event on node a", func() bool {
		got.mu.Lock()
		defer got.mu.Unlock()
		n := len(got.events)
		return n > 0 && got.events[n-1].Typing != nil
	})
	checkExactly(t, "node a's listener", got.messages("general"), want)
	if n := got.count("quiet"); n != 0 {
		t.Fatalf("node a got %d messages of a room it does not watch", n)
	}
}

// TestWatchRefCount: watches nest on one subscription; the last stop
// unsubscribes, and watching again picks up without a duplicate.
func TestWatchRefCount(t *testing.T) {
	rd := clustertest.StartRedis(t, clustertest.RedisOptions{})
	prefix := newPrefix()
	s := open(t, rd.URL(0), redis.Options{Prefix: prefix, WatchLinger: -1})
	got := collect(s)
	raw := rawClient(t, rd)
	ctx := t.Context()
	if _, _, err := s.PutRoom(ctx, "general", nil); err != nil {
		t.Fatal(err)
	}
	channel := prefix + "ch:{general}"
	subscribers := func() int64 { return raw.PubSubNumSub(ctx, channel).Val()[channel] }
	var stops []func()
	for range 3 {
		stop, err := s.Watch(ctx, "general")
		if err != nil {
			t.Fatal(err)
		}
		stops = append(stops, stop)
	}
	if n := subscribers(); n != 1 {
		t.Fatalf("three watches on one node: %d subscriptions, want 1", n)
	}
	m1, _, _ := s.Append(ctx, text(1))
	testenv.Eventually(t, waitFor, "the first message", func() bool { return got.count("general") == 1 })
	stops[0]()
	stops[0]() // a second call of the same stop is harmless
	stops[1]()
	if n := subscribers(); n != 1 {
		t.Fatalf("one watch left: %d subscriptions, want 1", n)
	}
	stops[2]()
	testenv.Eventually(t, waitFor, "the unsubscription", func() bool { return subscribers() == 0 })
	m2, _, _ := s.Append(ctx, text(2)) // while nobody watches
	stop, err := s.Watch(ctx, "general")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	m3, _, _ := s.Append(ctx, text(3))
	testenv.Eventually(t, waitFor, "the message after watching again", func() bool {
		msgs := got.messages("general")
		return len(msgs) > 0 && msgs[len(msgs)-1].ID == m3.ID
	})
	// m2 came before the watch: it may be relayed or not, but never twice
	// and never out of order.
	msgs := got.messages("general")
	if len(msgs) == 3 {
		checkExactly(t, "listener", msgs, []string{m1.ID, m2.ID, m3.ID})
	} else {
		checkExactly(t, "listener", msgs, []string{m1.ID, m3.ID})
	}
}

// TestWatchLinger: after its last watch stops, a room stays subscribed for
// WatchLinger, keeping its tail: a resume in that time reads memory and a
// new watch takes the room up again; after it the room is unsubscribed.
func TestWatchLinger(t *testing.T) {
	rd := clustertest.StartRedis(t, clustertest.RedisOptions{})
	prefix := newPrefix()
	s := open(t, rd.URL(0), redis.Options{Prefix: prefix, WatchLinger: 300 * time.Millisecond})
	got := collect(s)
	raw := rawClient(t, rd)
	ctx := t.Context()
	if _, _, err := s.PutRoom(ctx, "general", nil); err != nil {
		t.Fatal(err)
	}
	channel := prefix + "ch:{general}"
	subscribed := func() bool { return raw.PubSubNumSub(ctx, channel).Val()[channel] == 1 }
	stop, err := s.Watch(ctx, "general")
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := s.Append(ctx, text(0))
	stop()
	// Nobody watches; the room lingers and keeps relaying into its tail.
	want := appendN(t, s, 1, 5)
	testenv.Eventually(t, waitFor, "the lingering room to relay", func() bool { return got.count("general") == 6 })
	hits := s.TailHits()
	msgs, _, err := s.Since(ctx, "general", first.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	checkExactly(t, "Since on the lingering room", msgs, want)
	if s.TailHits() != hits+1 {
		t.Fatal("a resume on the lingering room did not read its tail")
	}
	if !subscribed() {
		t.Fatal("the room was unsubscribed before WatchLinger passed")
	}
	// Taken up again: the linger ends, the watch stays.
	stop, err = s.Watch(ctx, "general")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	testenv.Eventually(t, waitFor, "twice WatchLinger", func() bool { return time.Since(start) > 600*time.Millisecond })
	if !subscribed() {
		t.Fatal("a watched room was unsubscribed by an old linger")
	}
	stop()
	testenv.Eventually(t, waitFor, "the unsubscription after WatchLinger", func() bool { return !subscribed() })
}

// TestNoGapWhenPubSubDrops: a node whose pub/sub connection is killed again
// and again while another node appends still relays every message once, in
// order: it reads what it missed from the stream before anything newer.
func TestNoGapWhenPubSubDrops(t *testing.T) {
	rd := clustertest.StartRedis(t, clustertest.RedisOptions{})
	prefix := newPrefix()
	a := open(t, rd.URL(0), redis.Options{Prefix: prefix})
	b := open(t, rd.URL(0), redis.Options{Prefix: prefix})
	got := collect(a)
	raw := rawClient(t, rd)
	ctx := t.Context()
	watchGeneral(t, b, a)

	// Node b appends until node a's pub/sub connection (the only one on
	// this server) has been killed wantKills times, each time soon after
	// it came back; bounded by maxN messages.
	const wantKills, maxN = 6, 20000
	var (
		mu    sync.Mutex
		want  []string
		kills int
	)
	done := make(chan error, 1)
	go func() {
		for i := range maxN {
			m, _, err := b.Append(ctx, text(i))
			if err != nil {
				done <- err
				return
			}
			mu.Lock()
			want = append(want, m.ID)
			enough := kills >= wantKills
			mu.Unlock()
			if enough {
				break
			}
		}
		done <- nil
	}()
	for appending := true; appending; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Append: %v", err)
			}
			appending = false
		case <-time.After(5 * time.Millisecond):
			if k, err := raw.ClientKillByFilter(ctx, "TYPE", "pubsub").Result(); err == nil && k > 0 {
				mu.Lock()
				kills++
				mu.Unlock()
			}
		}
	}
	n := len(want)
	testenv.Eventually(t, waitFor, "every message at node a", func() bool { return got.count("general") >= n })
	checkExactly(t, "node a's listener", got.messages("general"), want)
	if kills < wantKills {
		t.Fatalf("the pub/sub connection was killed %d times while appending, want %d", kills, wantKills)
	}
	t.Logf("%d messages relayed in order across %d killed pub/sub connections", n, kills)
}

// TestRedisRestart: with AOF and appendfsync always, Redis killed with -9
// keeps every message whose Append returned; while it is down calls fail
// with ErrUnavailable (logged once, not per call) and Watch gives up; once
// it is back the store serves again by itself, and a watching node relays
// the new messages without a gap.
func TestRedisRestart(t *testing.T) {
	testenv.SkipShort(t, "restarts redis-server")
	rd := clustertest.StartRedis(t, clustertest.RedisOptions{Durable: true})
	var logs syncBuffer
	prefix := newPrefix()
	opts := redis.Options{Prefix: prefix, Logger: slog.New(slog.NewTextHandler(&logs, nil)), WatchTimeout: time.Second}
	a := open(t, rd.URL(0), opts)
	b := open(t, rd.URL(0), redis.Options{Prefix: prefix})
	got := collect(a)
	ctx := t.Context()
	watchGeneral(t, a, a)
	acked := appendN(t, b, 0, 20)
	rd.Kill()

	for i := range 10 {
		_, _, err := a.Append(ctx, text(100+i))
		if !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("Append with Redis down: %v, want ErrUnavailable", err)
		}
	}
	if err := a.Ping(ctx); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Ping with Redis down: %v, want ErrUnavailable", err)
	}
	if _, err := a.Watch(ctx, "other"); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Watch with Redis down: %v, want ErrUnavailable", err)
	}
	if n := strings.Count(logs.String(), "redis unavailable"); n != 1 {
		t.Fatalf("the outage was logged %d times, want once:\n%s", n, logs.String())
	}

	rd.Start()
	testenv.Eventually(t, waitFor, "Ping after Redis is back", func() bool { return a.Ping(ctx) == nil })
	for i := range 20 {
		var m chat.Message
		var err error
		testenv.Eventually(t, waitFor, "Append after Redis is back", func() bool {
			m, _, err = b.Append(ctx, text(200+i))
			return err == nil
		})
		acked = append(acked, m.ID)
	}
	all, _, err := a.Since(ctx, "general", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	checkExactly(t, "messages after kill -9 and restart", all, acked)
	testenv.Eventually(t, waitFor, "node a relaying after the restart", func() bool { return got.count("general") >= len(acked) })
	checkExactly(t, "node a's listener", got.messages("general"), acked)
	if !strings.Contains(logs.String(), "redis available again") {
		t.Fatalf("the end of the outage was not logged:\n%s", logs.String())
	}
}

// TestSinceFromTail: a node that watches a room answers Since from its
// in-memory tail exactly as Redis would (the same messages, the same more,
// ErrTrimmed for a resume point retention deleted), for every resume point.
func TestSinceFromTail(t *testing.T) {
	rd := clustertest.StartRedis(t, clustertest.RedisOptions{})
	prefix := newPrefix()
	const keep = 40
	watching := open(t, rd.URL(0), redis.Options{Prefix: prefix, HistoryMax: keep})
	plain := open(t, rd.URL(0), redis.Options{Prefix: prefix, HistoryMax: keep})
	got := collect(watching)
	ctx := t.Context()
	if _, _, err := plain.PutRoom(ctx, "general", nil); err != nil {
		t.Fatal(err)
	}
	early, _, err := plain.Append(ctx, text(-1)) // before the watch: never in the tail
	if err != nil {
		t.Fatal(err)
	}
	stop, err := watching.Watch(ctx, "general")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	ids := appendN(t, plain, 0, 100)
	testenv.Eventually(t, waitFor, "every message at the watching node", func() bool { return got.count("general") == len(ids) })
	afters := append([]string{"", "0", early.ID, "99999999999999-0"}, ids...)
	for _, after := range afters {
		for _, max := range []int{0, 5, 1000} {
			want, wantMore, wantErr := plain.Since(ctx, "general", after, max)
			msgs, more, err := watching.Since(ctx, "general", after, max)
			if errors.Is(wantErr, store.ErrTrimmed) != errors.Is(err, store.ErrTrimmed) || (wantErr == nil) != (err == nil) {
				t.Fatalf("Since(%q, %d): error %v, Redis says %v", after, max, err, wantErr)
			}
			if more != wantMore {
				t.Fatalf("Since(%q, %d): more %v, Redis says %v", after, max, more, wantMore)
			}
			checkExactly(t, fmt.Sprintf("Since(%q, %d)", after, max), msgs, firstIDs(want, len(want)))
		}
	}
	if watching.TailHits() < keep {
		t.Fatalf("only %d Since calls were answered from memory; the tail is not used", watching.TailHits())
	}
	if plain.TailHits() != 0 {
		t.Fatal("a node that watches nothing answered from memory")
	}
}

// TestStalledRedis: a Redis that stops answering without closing its
// connections (SIGSTOP: a hung host, a half-open connection) makes calls
// fail with ErrUnavailable once their deadline passes, the relay notices the
// silent pub/sub connection by its own pings and replaces it, and once Redis
// answers again the watching node relays everything appended, with no gap.
func TestStalledRedis(t *testing.T) {
	testenv.SkipShort(t, "waits out health-check intervals")
	rd := clustertest.StartRedis(t, clustertest.RedisOptions{})
	prefix := newPrefix()
	var logs syncBuffer
	a := open(t, rd.URL(0), redis.Options{Prefix: prefix, HealthInterval: 50 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	b := open(t, rd.URL(0), redis.Options{Prefix: prefix})
	got := collect(a)
	ctx := t.Context()
	watchGeneral(t, b, a)
	var want []string
	appendOne := func(i int) { want = append(want, appendN(t, b, i, 1)...) }
	appendOne(0)
	raw := rawClient(t, rd)
	pubsubConns := func() string {
		list, _ := raw.ClientList(ctx).Result()
		var ids []string
		for _, line := range strings.Split(list, "\n") {
			if strings.Contains(line, " cmd=subscribe") || strings.Contains(line, " sub=1 ") {
				ids = append(ids, strings.Fields(line)[0])
			}
		}
		return strings.Join(ids, ",")
	}
	before := pubsubConns()
	if before == "" {
		t.Fatal("no pub/sub connection before the stall")
	}

	rd.Pause() // for at least the 300 ms below: six health intervals
	// This append times out, yet its command already sits in Redis's
	// socket buffer and runs when Redis goes on: the reason a client
	// retries with the same client_id, never without.
	lost := text(-1)
	lost.ClientID = "retry-me"
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	_, _, err := a.Append(short, lost)
	cancel()
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Append to a stalled Redis: %v, want ErrUnavailable", err)
	}
	testenv.Eventually(t, waitFor, "the relay to give up on its silent connection", func() bool {
		return strings.Contains(logs.String(), "redis unavailable")
	})
	rd.Resume()
	testenv.Eventually(t, waitFor, "the relay's new pub/sub connection", func() bool {
		now := pubsubConns()
		return now != "" && now != before
	})

	var retried chat.Message
	testenv.Eventually(t, waitFor, "the retry to succeed", func() bool {
		retried, _, err = a.Append(ctx, lost)
		return err == nil
	})
	for i := 1; i <= 50; i++ {
		appendOne(i)
	}
	want = append(want, retried.ID)
	slices.SortFunc(want, chat.CompareIDs)
	testenv.Eventually(t, waitFor, "every message at node a", func() bool { return got.count("general") >= len(want) })
	checkExactly(t, "node a's listener", got.messages("general"), want)
}

// TestPresenceOfDeadNode: a node that dies without leaving has its
// connections expire after PresenceTTL; a live node keeps its own online
// past that by refreshing them.
func TestPresenceOfDeadNode(t *testing.T) {
	rd := clustertest.StartRedis(t, clustertest.RedisOptions{})
	prefix := newPrefix()
	ttl := 600 * time.Millisecond
	dead, err := redis.Open(t.Context(), rd.URL(0), redis.Options{Prefix: prefix, PresenceTTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	live := open(t, rd.URL(0), redis.Options{Prefix: prefix, PresenceTTL: ttl})
	ctx := t.Context()
	if _, err := dead.Join(ctx, "general", "ghost", "c1"); err != nil {
		t.Fatal(err)
	}
	online, err := live.Join(ctx, "general", "alice", "c2")
	if err != nil || strings.Join(online, ",") != "alice,ghost" {
		t.Fatalf("Join on the live node: %v, %v; want alice and ghost", online, err)
	}
	dead.Crash()
	start := time.Now()
	testenv.Eventually(t, waitFor, "the dead node's connection to expire", func() bool {
		online, err := live.Online(ctx, "general")
		return err == nil && strings.Join(online, ",") == "alice"
	})
	// alice joined at the same time as ghost and her TTL passed as well:
	// she is still online only because her node refreshed her.
	if since := time.Since(start); since < ttl/2 {
		t.Fatalf("ghost expired after %v, before the TTL %v", since, ttl)
	}
	testenv.Eventually(t, waitFor, "two TTLs to pass", func() bool { return time.Since(start) > 2*ttl })
	if online, err := live.Online(ctx, "general"); err != nil || strings.Join(online, ",") != "alice" {
		t.Fatalf("after two TTLs the live node's user is %v, %v; want alice still online", online, err)
	}
	// A clean close removes the node's entries at once.
	if err := live.Close(); err != nil {
		t.Fatal(err)
	}
	other := open(t, rd.URL(0), redis.Options{Prefix: prefix})
	if online, err := other.Online(ctx, "general"); err != nil || len(online) != 0 {
		t.Fatalf("after the last node closed: online %v, %v; want nobody", online, err)
	}
}

// TestPresenceOneEntryPerNickAndNode: many connections of a nick on a node
// are one entry in Redis; the nick stays online until its last connection
// on that node leaves.
func TestPresenceOneEntryPerNickAndNode(t *testing.T) {
	rd := clustertest.StartRedis(t, clustertest.RedisOptions{})
	prefix := newPrefix()
	a := open(t, rd.URL(0), redis.Options{Prefix: prefix})
	b := open(t, rd.URL(0), redis.Options{Prefix: prefix})
	raw := rawClient(t, rd)
	ctx := t.Context()
	for i := range 100 {
		if _, err := a.Join(ctx, "general", "alice", fmt.Sprintf("a%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Join(ctx, "general", "alice", "b0"); err != nil {
		t.Fatal(err)
	}
	if n := raw.ZCard(ctx, prefix+"presence:{general}").Val(); n != 2 {
		t.Fatalf("101 connections of one nick on two nodes: %d entries, want 2", n)
	}
	for i := range 99 {
		online, err := a.Leave(ctx, "general", "alice", fmt.Sprintf("a%d", i))
		if err != nil || strings.Join(online, ",") != "alice" {
			t.Fatalf("Leave %d of 100: %v, %v; want alice still online", i, online, err)
		}
	}
	if _, err := a.Leave(ctx, "general", "alice", "a99"); err != nil {
		t.Fatal(err)
	}
	if n := raw.ZCard(ctx, prefix+"presence:{general}").Val(); n != 1 {
		t.Fatalf("after node a's last connection left: %d entries, want node b's 1", n)
	}
	if online, err := b.Leave(ctx, "general", "alice", "b0"); err != nil || len(online) != 0 {
		t.Fatalf("last Leave: %v, %v; want nobody online", online, err)
	}
}

// TestClientIDTTL: the idempotency key lives IdempotencyTTL, no longer.
func TestClientIDTTL(t *testing.T) {
	rd := clustertest.StartRedis(t, clustertest.RedisOptions{})
	prefix := newPrefix()
	s := open(t, rd.URL(0), redis.Options{Prefix: prefix, IdempotencyTTL: time.Hour})
	raw := rawClient(t, rd)
	ctx := t.Context()
	if _, _, err := s.PutRoom(ctx, "general", nil); err != nil {
		t.Fatal(err)
	}
	m := text(1)
	m.Nick, m.ClientID = "Alice", "abc"
	if _, _, err := s.Append(ctx, m); err != nil {
		t.Fatal(err)
	}
	ttl, err := raw.PTTL(ctx, prefix+"cid:{general}:alice:abc").Result()
	if err != nil || ttl <= 59*time.Minute || ttl > time.Hour {
		t.Fatalf("client_id key TTL %v, %v; want about an hour", ttl, err)
	}
}

// TestOpenFails: a URL where nothing listens fails at Open with
// ErrUnavailable; a malformed one fails too.
func TestOpenFails(t *testing.T) {
	addr := testenv.FreeAddr(t)
	_, err := redis.Open(t.Context(), "redis://"+addr+"/0", redis.Options{})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Open with nothing listening: %v, want ErrUnavailable", err)
	}
	if _, err := redis.Open(t.Context(), "http://x", redis.Options{}); err == nil {
		t.Fatal("Open of an http URL succeeded")
	}
	for _, bad := range []string{"redis://:hunter22@host:12x/0", "redis://:hunter 22@host/0", "redis://:hunter22@host/abc"} {
		_, err := redis.Open(t.Context(), bad, redis.Options{})
		if err == nil || strings.Contains(err.Error(), "hunter") {
			t.Fatalf("Open(%q): %v; want an error that does not repeat the password", bad, err)
		}
	}
}

// TestPassword: a password in the URL opens a Redis that requires one; the
// same URL without it is refused at Open with Redis's own reason, not as an
// outage.
func TestPassword(t *testing.T) {
	rd := clustertest.StartRedis(t, clustertest.RedisOptions{Password: "s3cret-pw"})
	s := open(t, rd.URL(0), redis.Options{Prefix: newPrefix()})
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping with the password: %v", err)
	}
	_, err := redis.Open(t.Context(), "redis://"+rd.Addr+"/0", redis.Options{})
	if err == nil || errors.Is(err, store.ErrUnavailable) || !strings.Contains(err.Error(), "NOAUTH") {
		t.Fatalf("Open without the password: %v; want Redis's NOAUTH refusal, not ErrUnavailable", err)
	}
	_, err = redis.Open(t.Context(), "redis://:not-the-pw@"+rd.Addr+"/0", redis.Options{})
	if err == nil || strings.Contains(err.Error(), "not-the-pw") {
		t.Fatalf("Open with a wrong password: %v; want a refusal that does not repeat the password", err)
	}
}

// TestTLS: a rediss:// URL with ca_file reaches a TLS-only Redis whose
// certificate a private CA signed; without ca_file the certificate is not
// trusted, and ca_file on a plain redis:// URL is refused.
func TestTLS(t *testing.T) {
	rd := clustertest.StartRedis(t, clustertest.RedisOptions{TLS: true, Password: "tls-pw"})
	s := open(t, rd.URL(0)+"?ca_file="+rd.TLS.CA, redis.Options{Prefix: newPrefix()})
	got := collect(s)
	ctx := t.Context()
	watchGeneral(t, s, s)
	m, _, err := s.Append(ctx, text(1))
	if err != nil {
		t.Fatalf("Append over TLS: %v", err)
	}
	testenv.Eventually(t, waitFor, "the message relayed over TLS", func() bool { return got.count("general") == 1 })
	checkExactly(t, "relayed over TLS", got.messages("general"), []string{m.ID})

	if _, err := redis.Open(ctx, rd.URL(0), redis.Options{}); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("Open without ca_file: %v; want a certificate error", err)
	}
	plain := strings.Replace(rd.URL(0), "rediss://", "redis://", 1) + "?ca_file=" + rd.TLS.CA
	if _, err := redis.Open(ctx, plain, redis.Options{}); err == nil || !strings.Contains(err.Error(), "rediss://") {
		t.Fatalf("Open of redis:// with ca_file: %v; want it refused", err)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var _ = context.Background
