package server_test

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/internal/testenv"
	"github.com/ssechat/chat/server"
	"github.com/ssechat/chat/server/servertest"
)

// withLimits starts a server with the per-account and per-address limits
// on, changed by fn. Rates are tiny, so no token comes back during a test
// however slow the machine: every answer is determined.
func withLimits(t *testing.T, fn func(*server.Limits), more ...servertest.Option) *servertest.Server {
	t.Helper()
	opts := append([]servertest.Option{servertest.WithConfig(func(c *server.Config) {
		c.Limits = server.DefaultLimits()
		fn(&c.Limits)
	})}, more...)
	return servertest.Start(t, opts...)
}

// want429 checks a refusal: 429, the code, a JSON body and a Retry-After of
// at least min seconds.
func want429(t *testing.T, r *servertest.Response, code string, min int) {
	t.Helper()
	if r.Status != http.StatusTooManyRequests || r.Error().Code != code {
		t.Fatalf("got %d %s; want 429 %s", r.Status, r.Body, code)
	}
	secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || secs < min {
		t.Fatalf("Retry-After %q; want whole seconds >= %d", r.Header.Get("Retry-After"), min)
	}
	if r.Error().Message == "" {
		t.Fatal("429 without a message")
	}
}

func TestMessageRateLimit(t *testing.T) {
	srv := withLimits(t, func(l *server.Limits) {
		l.MessageRate = 0.001 // one token per 1000 s: none returns during the test
		l.MessageBurst = 3
	})
	alice := srv.Login(t, "alice")
	bob := srv.Login(t, "bob")
	for i := range 3 {
		srv.Post(t, alice, chat.DefaultRoom, "burst "+strconv.Itoa(i))
	}
	path := "/api/rooms/" + chat.DefaultRoom + "/messages"
	r := srv.Do(t, http.MethodPost, path, alice, chat.PostMessage{Text: "one too many", ClientID: "over"})
	want429(t, r, "rate_limited", 900)

	// Room changes draw on the same bucket; typing notices do not (they
	// have their own: TestTypingLimit).
	want429(t, srv.Do(t, http.MethodPut, "/api/rooms/spam", alice, nil), "rate_limited", 900)
	if r := srv.Do(t, http.MethodPost, "/api/rooms/general/typing", alice, nil); r.Status != http.StatusNoContent {
		t.Fatalf("typing with the message bucket empty: %d %s; want 204", r.Status, r.Body)
	}

	// Another account has its own bucket.
	srv.Post(t, bob, chat.DefaultRoom, "bob is fine")

	page := srv.History(t, alice, chat.DefaultRoom, nil)
	if len(page.Messages) != 4 {
		t.Fatalf("%d messages stored; want the 3 of alice's burst and bob's", len(page.Messages))
	}
	for _, m := range page.Messages {
		if m.ClientID == "over" {
			t.Fatal("the refused message was stored")
		}
	}
	if _, err := srv.Store.Room(context.Background(), "spam"); err == nil {
		t.Fatal("the refused PUT created its room")
	}
}

// TestTypingLimit: typing notices have their own bucket per account. Over
// it they are answered 204 and relayed to nobody; they never spend the
// tokens of real messages.
func TestTypingLimit(t *testing.T) {
	srv := withLimits(t, func(l *server.Limits) {
		l.MessageRate, l.MessageBurst = 0.001, 3
		l.TypingRate, l.TypingBurst = 0.001, 2
	})
	alice := srv.Login(t, "alice")
	bob := srv.Login(t, "bob")
	st := srv.MustSubscribe(t, bob, chat.DefaultRoom, "")
	nextOf(t, st, chat.EventWelcome)
	for i := range 6 {
		if r := srv.Do(t, http.MethodPost, "/api/rooms/general/typing", alice, nil); r.Status != http.StatusNoContent {
			t.Fatalf("typing %d: %d %s; want 204 over the rate too", i+1, r.Status, r.Body)
		}
	}
	// The whole message burst is still there.
	var last chat.Message
	for i := range 3 {
		last = srv.Post(t, alice, chat.DefaultRoom, "after typing "+strconv.Itoa(i))
	}
	// Bob got exactly the burst of typing notices before the messages.
	typing := 0
	for {
		ev, err := st.Next(wait)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Event == chat.EventTyping {
			typing++
		}
		if ev.Event == chat.EventMessage && ev.ID == last.ID {
			break
		}
	}
	if typing != 2 {
		t.Fatalf("bob got %d typing events; want the burst of 2", typing)
	}
	// Bob's own notices are not affected by alice's.
	if r := srv.Do(t, http.MethodPost, "/api/rooms/general/typing", bob, nil); r.Status != http.StatusNoContent {
		t.Fatalf("bob typing: %d", r.Status)
	}
	if ev := nextOf(t, st, chat.EventTyping); !strings.Contains(ev.Data, `"bob"`) {
		t.Fatalf("typing event %s; want bob's", ev.Data)
	}
}

func TestLoginFailureLimits(t *testing.T) {
	// 127.0.0.1 is the trusted proxy, so X-Forwarded-For chooses the client
	// address of each attempt.
	srv := withLimits(t, func(l *server.Limits) {
		l.LoginFailures = 3
		l.LoginWindow = 1000 * time.Hour
	}, servertest.WithConfig(func(c *server.Config) {
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	}))
	srv.Login(t, "alice")
	srv.Login(t, "bob")
	login := func(nick, password, addr string) *servertest.Response {
		return srv.Do(t, http.MethodPost, "/api/session", "", chat.Credentials{Nick: nick, Password: password},
			"X-Forwarded-For", addr)
	}
	// Successful logins cost nothing.
	for range 10 {
		if r := login("alice", servertest.Password("alice"), "198.51.100.1"); r.Status != http.StatusOK {
			t.Fatalf("good login: %d %s", r.Status, r.Body)
		}
	}
	for i := range 3 {
		if r := login("alice", "wrong password", "198.51.100.1"); r.Status != http.StatusUnauthorized || r.Error().Code != "bad_credentials" {
			t.Fatalf("failure %d: %d %s; want 401 bad_credentials", i+1, r.Status, r.Body)
		}
	}
	// The nick is locked from everywhere, even with the right password...
	want429(t, login("alice", servertest.Password("alice"), "203.0.113.9"), "too_many_logins", 60)
	// ...and the address for every nick.
	want429(t, login("bob", servertest.Password("bob"), "198.51.100.1"), "too_many_logins", 60)
	// Others are not affected.
	if r := login("bob", servertest.Password("bob"), "203.0.113.9"); r.Status != http.StatusOK {
		t.Fatalf("bob from another address: %d %s", r.Status, r.Body)
	}
	// Unknown nicks count as failures too (registration closed would make
	// them 401; here they register, so use a known nick's wrong password).
	for range 3 {
		login("bob", "wrong password", "192.0.2.50")
	}
	want429(t, login("carol", "whatever pw", "192.0.2.50"), "too_many_logins", 60)
	if _, err := srv.Store.Account(context.Background(), "carol"); err == nil {
		t.Fatal("a refused login registered its nick")
	}
}

func TestLoginLimitIgnoresForwardedForFromUntrustedPeer(t *testing.T) {
	srv := withLimits(t, func(l *server.Limits) {
		l.LoginFailures = 2
		l.LoginWindow = 1000 * time.Hour
	})
	srv.Login(t, "alice")
	srv.Login(t, "bob")
	for i := range 2 {
		r := srv.Do(t, http.MethodPost, "/api/session", "", chat.Credentials{Nick: "alice", Password: "wrong password"},
			"X-Forwarded-For", "198.51.100."+strconv.Itoa(i))
		if r.Status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d %s", i+1, r.Status, r.Body)
		}
	}
	// A forged X-Forwarded-For does not make bob's attempt come from
	// elsewhere: 127.0.0.1 has used its two failures.
	r := srv.Do(t, http.MethodPost, "/api/session", "", chat.Credentials{Nick: "bob", Password: servertest.Password("bob")},
		"X-Forwarded-For", "203.0.113.77")
	want429(t, r, "too_many_logins", 60)
}

func TestRegistrationLimit(t *testing.T) {
	srv := withLimits(t, func(l *server.Limits) {
		l.Registrations = 2
		l.RegistrationWindow = 1000 * time.Hour
	})
	srv.Login(t, "first")
	srv.Login(t, "second")
	r := srv.LoginPassword(t, "third", servertest.Password("third"))
	want429(t, r, "too_many_registrations", 60)
	if _, err := srv.Store.Account(context.Background(), "third"); err == nil {
		t.Fatal("the refused registration made an account")
	}
	// Existing accounts still log in.
	srv.Login(t, "first")
}

func TestStreamLimits(t *testing.T) {
	srv := withLimits(t, func(l *server.Limits) {
		l.StreamsPerAccount = 2
		l.StreamsPerAddr = 3
	})
	alice := srv.Login(t, "alice")
	bob := srv.Login(t, "bob")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	open := func(tok string) (*servertest.Stream, error) {
		return openWelcomed(ctx, t, srv, tok)
	}
	refused := func(err error, code string) {
		t.Helper()
		var se *servertest.StatusError
		if !errors.As(err, &se) || se.Status != http.StatusTooManyRequests {
			t.Fatalf("stream error %v; want a 429", err)
		}
		if !strings.Contains(string(se.Body), code) {
			t.Fatalf("stream refused with %s; want code %s", se.Body, code)
		}
	}
	a1, err := open(alice)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := open(alice); err != nil {
		t.Fatal(err)
	}
	_, err = open(alice)
	refused(err, "too_many_streams") // per account
	if _, err := open(bob); err != nil {
		t.Fatal(err) // third from this address
	}
	_, err = open(bob)
	refused(err, "too_many_streams") // per address, though bob has only one

	// A stream that ends gives its place back.
	a1.Close()
	testenv.Eventually(t, 10*time.Second, "alice's place to come back", func() bool {
		st, err := srv.Subscribe(ctx, alice, chat.DefaultRoom, "")
		if err != nil {
			return false
		}
		t.Cleanup(st.Close)
		return true
	})
}

// openWelcomed opens a stream of the default room for tok and reads its
// welcome; the refusal of a stream limit comes back as the error. The
// stream closes when the test ends. The stream-limit tests of one node and
// of two both count streams this way.
func openWelcomed(ctx context.Context, t *testing.T, srv *servertest.Server, tok string) (*servertest.Stream, error) {
	t.Helper()
	st, err := srv.Subscribe(ctx, tok, chat.DefaultRoom, "")
	if err != nil {
		return nil, err
	}
	t.Cleanup(st.Close)
	if ev, err := st.Next(10 * time.Second); err != nil || ev.Event != chat.EventWelcome {
		t.Fatalf("welcome: %+v %v", ev, err)
	}
	return st, nil
}

func TestRateLimitsOff(t *testing.T) {
	srv := servertest.Start(t, servertest.WithConfig(func(c *server.Config) {
		c.Limits = server.DefaultLimits()
		c.Limits.Enabled = false
		c.Limits.MessageRate = 0.001 // ignored while off
		c.Limits.MessageBurst = 1
		c.Limits.LoginFailures = 1
		c.Limits.StreamsPerAccount = 1
	}))
	alice := srv.Login(t, "alice")
	for i := range 30 {
		srv.Post(t, alice, chat.DefaultRoom, "fast "+strconv.Itoa(i))
	}
	for range 5 {
		if r := srv.LoginPassword(t, "alice", "wrong password"); r.Status != http.StatusUnauthorized {
			t.Fatalf("failed login with limits off: %d %s", r.Status, r.Body)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range 3 {
		st, err := srv.Subscribe(ctx, alice, chat.DefaultRoom, "")
		if err != nil {
			t.Fatalf("stream with limits off: %v", err)
		}
		defer st.Close()
	}
}
