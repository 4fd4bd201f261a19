package server_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/internal/clustertest"
	"github.com/ssechat/chat/internal/testenv"
	"github.com/ssechat/chat/server"
	"github.com/ssechat/chat/server/servertest"
	"github.com/ssechat/chat/server/store"
	"github.com/ssechat/chat/server/store/redis"
)

// twoNodes starts two servers on one real redis-server, as two nodes of a
// cluster, with the limits on and changed by fn. 127.0.0.1 is a trusted
// proxy, so X-Forwarded-For chooses the client address of a request.
func twoNodes(t *testing.T, fn func(*server.Limits)) (a, b *servertest.Server) {
	t.Helper()
	testenv.SkipShort(t, "runs redis-server")
	return twoNodesOn(t, clustertest.StartRedis(t, clustertest.RedisOptions{}), fn)
}

func twoNodesOn(t *testing.T, rd *clustertest.Redis, fn func(*server.Limits)) (a, b *servertest.Server) {
	t.Helper()
	open := servertest.WithStore(func(string) (store.Store, error) {
		return redis.Open(context.Background(), rd.URL(0), redis.Options{})
	})
	trust := servertest.WithConfig(func(c *server.Config) {
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	})
	return withLimits(t, fn, open, trust), withLimits(t, fn, open, trust)
}

// TestClusterLoginFailureLimits: ten failed logins spread over two nodes
// lock the nick on both, and ten from one address lock the address on
// both. Each node alone saw five.
func TestClusterLoginFailureLimits(t *testing.T) {
	a, b := twoNodes(t, func(l *server.Limits) { l.LoginWindow = 1000 * time.Hour })
	for _, nick := range []string{"alice", "bob", "dave"} {
		a.Login(t, nick)
	}
	login := func(srv *servertest.Server, nick, password, addr string) *servertest.Response {
		return srv.Do(t, http.MethodPost, "/api/session", "", chat.Credentials{Nick: nick, Password: password},
			"X-Forwarded-For", addr)
	}
	nodes := []*servertest.Server{a, b}
	for i := range 10 {
		addr := fmt.Sprintf("198.51.100.%d", i+1)
		if r := login(nodes[i%2], "alice", "wrong password", addr); r.Status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d %s; want 401", i+1, r.Status, r.Body)
		}
	}
	for i, srv := range nodes {
		want429(t, login(srv, "alice", servertest.Password("alice"), "203.0.113.9"), "too_many_logins", 60)
		if r := login(srv, "dave", servertest.Password("dave"), "203.0.113.9"); r.Status != http.StatusOK {
			t.Fatalf("dave on node %d: %d %s; want 200", i+1, r.Status, r.Body)
		}
	}
	for i := range 10 {
		login(nodes[i%2], "bob", "wrong password", "192.0.2.50")
	}
	for _, srv := range nodes {
		want429(t, login(srv, "dave", servertest.Password("dave"), "192.0.2.50"), "too_many_logins", 60)
	}
	// Good logins give their tokens back: dave, who logged in on both
	// nodes above, still has all ten.
	for i := range 10 {
		if r := login(nodes[i%2], "dave", "wrong password", fmt.Sprintf("198.18.0.%d", i+1)); r.Status != http.StatusUnauthorized {
			t.Fatalf("dave's failure %d: %d %s; want 401", i+1, r.Status, r.Body)
		}
	}
	want429(t, login(b, "dave", servertest.Password("dave"), "198.18.1.1"), "too_many_logins", 60)
}

// TestClusterRegistrationLimit: registrations per address are counted over
// both nodes.
func TestClusterRegistrationLimit(t *testing.T) {
	a, b := twoNodes(t, func(l *server.Limits) {
		l.Registrations = 2
		l.RegistrationWindow = 1000 * time.Hour
	})
	register := func(srv *servertest.Server, nick string) *servertest.Response {
		return srv.Do(t, http.MethodPost, "/api/session", "", chat.Credentials{Nick: nick, Password: servertest.Password(nick)},
			"X-Forwarded-For", "198.51.100.7")
	}
	if r := register(a, "n1"); r.Status != http.StatusCreated {
		t.Fatalf("n1 on a: %d %s", r.Status, r.Body)
	}
	if r := register(b, "n2"); r.Status != http.StatusCreated {
		t.Fatalf("n2 on b: %d %s", r.Status, r.Body)
	}
	want429(t, register(a, "n3"), "too_many_registrations", 60)
	want429(t, register(b, "n3"), "too_many_registrations", 60)
	if _, err := a.Store.Account(context.Background(), "n3"); err == nil {
		t.Fatal("a refused registration made its account")
	}
}

// TestClusterMessageRateLimit: a burst of 20 is 20 over both nodes; the
// 21st is refused on either and not stored, and room changes draw on the
// same bucket.
func TestClusterMessageRateLimit(t *testing.T) {
	a, b := twoNodes(t, func(l *server.Limits) {
		l.MessageRate = 0.001 // one token per 1000 s: none returns during the test
		l.MessageBurst = 20
	})
	alice := a.Login(t, "alice")
	bob := b.Login(t, "bob")
	for i := range 20 {
		[]*servertest.Server{a, b}[i%2].Post(t, alice, chat.DefaultRoom, fmt.Sprintf("burst %d", i))
	}
	path := "/api/rooms/" + chat.DefaultRoom + "/messages"
	want429(t, a.Do(t, http.MethodPost, path, alice, chat.PostMessage{Text: "21st", ClientID: "over-a"}), "rate_limited", 900)
	want429(t, b.Do(t, http.MethodPost, path, alice, chat.PostMessage{Text: "21st", ClientID: "over-b"}), "rate_limited", 900)
	want429(t, b.Do(t, http.MethodPut, "/api/rooms/spam", alice, nil), "rate_limited", 900)
	b.Post(t, bob, chat.DefaultRoom, "bob is fine")

	page := a.History(t, alice, chat.DefaultRoom, nil)
	if len(page.Messages) != 21 {
		t.Fatalf("%d messages stored; want alice's 20 and bob's 1", len(page.Messages))
	}
	for _, m := range page.Messages {
		if m.ClientID != "" {
			t.Fatalf("a refused message was stored: %+v", m)
		}
	}
	if _, err := a.Store.Room(context.Background(), "spam"); err == nil {
		t.Fatal("the refused PUT created its room")
	}
}

// TestClusterStreamLimit: an account's 32 streams are 32 over both nodes;
// the 33rd is refused on either, and a stream that ends frees its place for
// the other node.
func TestClusterStreamLimit(t *testing.T) {
	a, b := twoNodes(t, func(*server.Limits) {})
	alice := a.Login(t, "alice")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	open := func(srv *servertest.Server) (*servertest.Stream, error) {
		return openWelcomed(ctx, t, srv, alice)
	}
	var first *servertest.Stream
	for i := range 32 {
		st, err := open([]*servertest.Server{a, b}[i%2])
		if err != nil {
			t.Fatalf("stream %d: %v", i+1, err)
		}
		if i == 0 {
			first = st
		}
	}
	for _, srv := range []*servertest.Server{a, b} {
		_, err := open(srv)
		wantStreamRefused(t, err)
	}
	first.Close() // on a
	testenv.Eventually(t, 10*time.Second, "the place of the stream that ended to come free on b", func() bool {
		_, err := open(b)
		return err == nil
	})
	_, err := open(a)
	wantStreamRefused(t, err)
}

func wantStreamRefused(t *testing.T, err error) {
	t.Helper()
	var se *servertest.StatusError
	if !errors.As(err, &se) || se.Status != http.StatusTooManyRequests || !strings.Contains(string(se.Body), "too_many_streams") {
		t.Fatalf("stream error %v; want 429 too_many_streams", err)
	}
}

// TestClusterLimitsWhileRedisDown: without Redis a login is 503 with
// Retry-After (the limits fail closed, never open), and once Redis is back
// the counts go on.
func TestClusterLimitsWhileRedisDown(t *testing.T) {
	testenv.SkipShort(t, "runs redis-server")
	rd := clustertest.StartRedis(t, clustertest.RedisOptions{Durable: true})
	a, b := twoNodesOn(t, rd, func(l *server.Limits) { l.LoginWindow = 1000 * time.Hour })
	a.Login(t, "alice")
	tok := a.Login(t, "bob")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := b.Subscribe(ctx, tok, chat.DefaultRoom, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	for range 5 {
		a.LoginPassword(t, "alice", "wrong password")
	}
	rd.Stop()
	r := b.LoginPassword(t, "alice", servertest.Password("alice"))
	if r.Status != http.StatusServiceUnavailable || r.Error().Code != "unavailable" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("login without Redis: %d %s; want 503 unavailable with Retry-After", r.Status, r.Body)
	}
	rd.Start()
	testenv.Eventually(t, 10*time.Second, "logins to work again", func() bool {
		return b.LoginPassword(t, "alice", "wrong password").Status == http.StatusUnauthorized
	})
	for range 4 {
		b.LoginPassword(t, "alice", "wrong password")
	}
	want429(t, a.LoginPassword(t, "alice", servertest.Password("alice")), "too_many_logins", 60)
}
