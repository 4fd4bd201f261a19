package clustertest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/internal/testenv"
)

const room = chat.DefaultRoom

// cluster is redis-server plus chat-server nodes, with subscribers and
// posters on them.
type cluster struct {
	t     *testing.T
	redis *Redis
	nodes []*node
	subs  []*subscriber
	token string // a user for reading history
	ctx   context.Context
	stop  context.CancelFunc
	wg    sync.WaitGroup
}

func newCluster(t *testing.T, durable bool, nodes int) *cluster {
	t.Helper()
	testenv.SkipShort(t, "runs redis-server and chat-server processes")
	c := &cluster{t: t, redis: StartRedis(t, RedisOptions{Durable: durable})}
	for i := range nodes {
		name := fmt.Sprintf("n%d", i+1)
		c.nodes = append(c.nodes, startNode(t, name, c.redis.URL(0)+"?client_name="+name))
	}
	c.token = login(t, c.nodes[0].URL, "reader")
	c.ctx, c.stop = context.WithTimeout(context.Background(), 45*time.Second)
	t.Cleanup(func() { c.stop(); c.wg.Wait() })
	return c
}

// subscribe starts a subscriber on the node that at() names whenever it
// (re)connects, and waits until its stream is open.
func (c *cluster) subscribe(name string, at func() string) *subscriber {
	c.t.Helper()
	s := &subscriber{name: name, token: login(c.t, c.nodes[0].URL, name), room: room, node: at}
	c.subs = append(c.subs, s)
	c.wg.Go(func() { s.run(c.ctx) })
	testenv.Eventually(c.t, 10*time.Second, name+"'s stream to open", func() bool { return s.connected() > 0 })
	return s
}

func (c *cluster) poster(name string, nodes func() []string) *poster {
	return &poster{token: login(c.t, c.nodes[0].URL, name), nodes: nodes}
}

// post runs the posters at once, n messages each, and waits for them.
func (c *cluster) post(n int, pace time.Duration, posters ...*poster) {
	c.t.Helper()
	errs := make(chan error, len(posters))
	var wg sync.WaitGroup
	for i, p := range posters {
		wg.Go(func() { errs <- p.run(c.ctx, room, fmt.Sprintf("p%d-%d", i, time.Now().UnixNano()), n, pace) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			c.t.Fatalf("poster: %v", err)
		}
	}
}

// checkAll reads the room's history and fails unless it holds every
// acknowledged message and every subscriber got exactly the history, in
// order, each message once.
func (c *cluster) checkAll(base string, posters ...*poster) {
	c.t.Helper()
	hist := history(c.t, base, c.token, room)
	want := make([]string, len(hist))
	byID := map[string]chat.Message{}
	for i, m := range hist {
		want[i] = m.ID
		byID[m.ID] = m
		if i > 0 && chat.CompareIDs(hist[i-1].ID, m.ID) >= 0 {
			c.t.Fatalf("history: id %s after %s", m.ID, hist[i-1].ID)
		}
	}
	acked := 0
	for _, p := range posters {
		for _, m := range p.messages() {
			acked++
			if got, ok := byID[m.ID]; !ok || got.Text != m.Text || got.ClientID != m.ClientID {
				c.t.Fatalf("acknowledged message %s %q is not in the history (got %+v)", m.ID, m.Text, got)
			}
		}
	}
	if acked != len(hist) {
		c.t.Fatalf("history holds %d messages, %d were acknowledged: a retried client_id was stored twice or a message appeared from nowhere", len(hist), acked)
	}
	for _, s := range c.subs {
		testenv.Eventually(c.t, 15*time.Second, s.name+" to receive every message", func() bool { return s.count() >= len(want) })
		s.check(c.t, want)
	}
}

func urls(nodes ...*node) func() []string {
	return func() []string {
		out := make([]string, len(nodes))
		for i, n := range nodes {
			out[i] = n.URL
		}
		return out
	}
}

// TestClusterFanOutAndKilledNode: three nodes on one Redis. Subscribers on
// nodes 1 and 3 get every message posted on nodes 2 and 3 once, in the
// order of the ids. Then node 1 is killed with SIGKILL while posting goes
// on: its subscribers resume on node 2 with Last-Event-ID and still miss
// nothing and get nothing twice.
func TestClusterFanOutAndKilledNode(t *testing.T) {
	c := newCluster(t, false, 3)
	n1, n2, n3 := c.nodes[0], c.nodes[1], c.nodes[2]
	var n1Dead atomic.Bool
	onN1 := func() string {
		if n1Dead.Load() {
			return n2.URL
		}
		return n1.URL
	}
	c.subscribe("s1", onN1)
	c.subscribe("s2", onN1)
	c.subscribe("s3", func() string { return n3.URL })
	p2 := c.poster("p2", urls(n2, n3))
	p3 := c.poster("p3", urls(n3, n2))

	c.post(100, 0, p2, p3)
	c.checkAll(n2.URL, p2, p3)

	// Round two: kill node 1 while the posters post.
	killed := make(chan bool, 1)
	go func() {
		ok := waitUntil(20*time.Second, func() bool { return len(p2.messages()) >= 130 })
		n1Dead.Store(true)
		n1.Kill()
		killed <- ok
	}()
	c.post(100, 2*time.Millisecond, p2, p3)
	if !<-killed {
		t.Fatal("node 1 was killed only after the posting: the test needs the kill mid-run")
	}
	c.checkAll(n3.URL, p2, p3)
	for _, s := range c.subs[:2] {
		if s.connected() < 2 {
			t.Fatalf("%s never reconnected after node 1 died", s.name)
		}
	}
}

// TestClusterRedisRestart: Redis with AOF and appendfsync always is killed
// with SIGKILL while two nodes take posts, and started again once every
// open stream has had a heartbeat during the outage. Meanwhile POST answers
// 503 with Retry-After and /readyz 503; afterwards every message that got a
// 201 is still there, and the streams, which stayed open throughout, deliver
// again by themselves: no subscriber misses a message or gets one twice.
func TestClusterRedisRestart(t *testing.T) {
	c := newCluster(t, true, 2)
	n1, n2 := c.nodes[0], c.nodes[1]
	s1 := c.subscribe("s1", func() string { return n1.URL })
	s2 := c.subscribe("s2", func() string { return n2.URL })
	p1 := c.poster("p1", urls(n1, n2))
	p2 := c.poster("p2", urls(n2, n1))

	restarted := make(chan error, 1)
	go func() {
		var err error
		defer func() { restarted <- err }()
		if !waitUntil(20*time.Second, func() bool { return len(p1.messages()) >= 40 }) {
			err = errors.New("posting did not get under way")
		}
		c.redis.Kill()
		if e := checkDown(n1.URL, c.token); err == nil {
			err = e
		}
		h1, h2 := s1.heartbeats(), s2.heartbeats()
		if !waitUntil(10*time.Second, func() bool { return s1.heartbeats() > h1 && s2.heartbeats() > h2 }) && err == nil {
			err = errors.New("no heartbeat on the streams while Redis was down")
		}
		c.redis.Start()
	}()
	c.post(120, 2*time.Millisecond, p1, p2)
	if err := <-restarted; err != nil {
		t.Fatal(err)
	}
	testenv.WaitHTTP(t, n1.URL+"/readyz", 10*time.Second)
	c.checkAll(n2.URL, p1, p2)
	for _, s := range c.subs {
		if n := s.connected(); n != 1 {
			t.Errorf("%s connected %d times: the outage closed its stream", s.name, n)
		}
	}
}

// checkDown asks a node, while Redis is down, for a POST and /readyz: both
// must answer 503, the POST with Retry-After.
func checkDown(base, token string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/rooms/"+room+"/messages",
		strings.NewReader(`{"text":"while redis is down"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("POST while Redis is down: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		return fmt.Errorf("POST while Redis is down: %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	resp, err = client.Get(base + "/readyz")
	if err != nil {
		return fmt.Errorf("readyz while Redis is down: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		return fmt.Errorf("readyz while Redis is down: %d, want 503", resp.StatusCode)
	}
	return nil
}

// TestClusterCutConnection: node 1's connections to Redis are cut again and
// again (CLIENT KILL by its client name) while node 2 takes posts; Redis
// stays up for node 2, so what was published meanwhile reaches node 1 only
// through its catch-up from the stream. Node 1's subscribers see no gap.
func TestClusterCutConnection(t *testing.T) {
	c := newCluster(t, false, 2)
	n1, n2 := c.nodes[0], c.nodes[1]
	c.subscribe("s1", func() string { return n1.URL })
	c.subscribe("s2", func() string { return n1.URL })
	p := c.poster("p", urls(n2))
	raw := goredis.NewClient(&goredis.Options{Addr: c.redis.Addr, MaxRetries: -1})
	defer raw.Close()

	cuts := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		for cuts < 5 {
			select {
			case <-c.ctx.Done():
				return
			case <-time.After(40 * time.Millisecond):
			}
			if n, err := killClients(c.ctx, raw, "n1"); err == nil && n > 0 {
				cuts++
			}
		}
	}()
	c.post(300, 2*time.Millisecond, p)
	<-done
	if cuts < 5 {
		t.Fatalf("node 1's connections were cut %d times, want 5", cuts)
	}
	c.checkAll(n2.URL, p)
}

// killClients kills every connection whose client name is name and returns
// how many there were.
func killClients(ctx context.Context, raw *goredis.Client, name string) (int, error) {
	list, err := raw.ClientList(ctx).Result()
	if err != nil {
		return 0, err
	}
	killed := 0
	for _, line := range strings.Split(list, "\n") {
		var id, n string
		for _, f := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(f, "id="); ok {
				id = v
			}
			if v, ok := strings.CutPrefix(f, "name="); ok {
				n = v
			}
		}
		if n == name && id != "" {
			if err := raw.Do(ctx, "CLIENT", "KILL", "ID", id).Err(); err == nil {
				killed++
			}
		}
	}
	if killed == 0 {
		return 0, errors.New("no connection of " + name)
	}
	return killed, nil
}

// TestClusterHistoryMaxReset: with --history-max the nodes keep that many
// messages per room; a client resuming, on another node, from a message
// that was deleted gets reset (history_trimmed) instead of a silent gap,
// and one resuming from a kept message gets exactly the rest.
func TestClusterHistoryMaxReset(t *testing.T) {
	testenv.SkipShort(t, "runs redis-server and chat-server processes")
	rd := StartRedis(t, RedisOptions{})
	n1 := startNode(t, "n1", rd.URL(0), "--history-max", "5")
	n2 := startNode(t, "n2", rd.URL(0), "--history-max", "5")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := &poster{token: login(t, n1.URL, "poster"), nodes: urls(n1)}
	if err := p.run(ctx, room, "h", 20, 0); err != nil {
		t.Fatal(err)
	}
	sent := p.messages()
	hist := history(t, n2.URL, p.token, room)
	if len(hist) != 5 || hist[0].ID != sent[15].ID {
		t.Fatalf("history after 20 posts with --history-max 5: %d messages from %v; want the last 5", len(hist), firstIDs(hist))
	}

	resume := func(from string) *subscriber {
		s := &subscriber{name: "from " + from, token: p.token, room: room, node: func() string { return n2.URL }, last: from}
		sctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); _ = s.stream(sctx) }()
		t.Cleanup(func() { stop(); <-done })
		return s
	}
	trimmed := resume(sent[2].ID)
	testenv.Eventually(t, 10*time.Second, "reset for a deleted resume point", func() bool {
		trimmed.mu.Lock()
		defer trimmed.mu.Unlock()
		return trimmed.resets > 0
	})
	if !strings.Contains(trimmed.problems[0], chat.ResetHistoryTrimmed) {
		t.Fatalf("reset for a deleted resume point: %s, want %s", trimmed.problems[0], chat.ResetHistoryTrimmed)
	}
	kept := resume(sent[14].ID)
	want := make([]string, 0, 5)
	for _, m := range sent[15:] {
		want = append(want, m.ID)
	}
	testenv.Eventually(t, 10*time.Second, "the kept messages", func() bool { return kept.count() >= 5 })
	kept.check(t, want)
}

func firstIDs(msgs []chat.Message) []string {
	var out []string
	for i := 0; i < len(msgs) && i < 3; i++ {
		out = append(out, msgs[i].ID)
	}
	return out
}

// TestClusterCutOffNodeResets: node 1 is cut off from Redis (its Redis user
// switched off and its connections killed) while node 2 takes more posts
// than --history-max keeps. When node 1 is let in again, its catch-up finds
// messages it never relayed already deleted: the stream open on it gets
// reset (history_trimmed) on the same connection, then the kept messages,
// instead of a silent gap.
func TestClusterCutOffNodeResets(t *testing.T) {
	testenv.SkipShort(t, "runs redis-server and chat-server processes")
	rd := StartRedis(t, RedisOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	raw := goredis.NewClient(&goredis.Options{Addr: rd.Addr, MaxRetries: -1})
	defer raw.Close()
	if err := raw.Do(ctx, "ACL", "SETUSER", "n1", "on", ">n1-secret", "~*", "&*", "+@all").Err(); err != nil {
		t.Fatalf("create the Redis user of n1: %v", err)
	}
	const keep = 5
	n1 := startNode(t, "n1", "redis://n1:n1-secret@"+rd.Addr+"/0", "--history-max", fmt.Sprint(keep))
	n2 := startNode(t, "n2", rd.URL(0), "--history-max", fmt.Sprint(keep))
	p := &poster{token: login(t, n2.URL, "poster"), nodes: urls(n2)}
	s := &subscriber{name: "on n1", token: login(t, n2.URL, "reader"), room: room, node: func() string { return n1.URL }}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = s.stream(sctx) }() // one connection: no reconnect
	defer func() { stop(); <-done }()
	testenv.Eventually(t, 10*time.Second, "the stream on n1 to open", func() bool { return s.connected() > 0 })
	if err := p.run(ctx, room, "before", 1, 0); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, "the first message on n1", func() bool { return s.count() == 1 })

	if err := raw.Do(ctx, "ACL", "SETUSER", "n1", "off").Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := raw.ClientKillByFilter(ctx, "USER", "n1").Result(); err != nil || n == 0 {
		t.Fatalf("cut n1 off: killed %d connections, %v", n, err)
	}
	if err := p.run(ctx, room, "cut", 3*keep, 0); err != nil {
		t.Fatal(err)
	}
	if err := raw.Do(ctx, "ACL", "SETUSER", "n1", "on").Err(); err != nil {
		t.Fatal(err)
	}
	sent := p.messages()
	want := []string{sent[0].ID}
	for _, m := range sent[len(sent)-keep:] {
		want = append(want, m.ID)
	}
	testenv.Eventually(t, 15*time.Second, "the kept messages on n1", func() bool { return s.count() >= len(want) })
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.resets != 1 || s.welcomes != 1 || len(s.problems) != 1 || !strings.Contains(s.problems[0], chat.ResetHistoryTrimmed) {
		t.Fatalf("stream on n1: %d resets, %d welcomes, problems %q; want one history_trimmed reset on the first connection", s.resets, s.welcomes, s.problems)
	}
	if strings.Join(s.ids, ",") != strings.Join(want, ",") {
		t.Fatalf("stream on n1 got messages %v, want %v (the first, then the kept ones)", s.ids, want)
	}
}
