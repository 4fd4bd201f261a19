package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server"
	"github.com/ssechat/chat/server/servertest"
)

// These tests run the client against the real server (servertest: a real
// listener on 127.0.0.1, SQLite in a temporary directory).

// startServer starts a real server with the per-account limits off: these
// tests post in bursts far above 5 messages a second, and what they check is
// delivery, not the limiter (TestSendWaitsOutRateLimit checks that).
func startServer(t *testing.T, opts ...servertest.Option) *servertest.Server {
	t.Helper()
	opts = append([]servertest.Option{servertest.WithConfig(func(cfg *server.Config) { cfg.Limits.Enabled = false })}, opts...)
	return servertest.Start(t, opts...)
}

// newTestClient returns a client for url with fast backoff, logged in as
// nick through srv, its idle connections closed at the test's end.
func newTestClient(t *testing.T, srv *servertest.Server, url, nick string, opts ...Option) *Client {
	t.Helper()
	opts = append([]Option{WithBackoff(10*time.Millisecond, 100*time.Millisecond), WithToken(srv.Login(t, nick))}, opts...)
	c := New(url, opts...)
	t.Cleanup(c.CloseIdleConnections)
	return c
}

func TestAPIAgainstServer(t *testing.T) {
	srv := startServer(t)
	ctx := context.Background()
	c := New(srv.URL)
	defer c.CloseIdleConnections()

	if _, err := c.Me(ctx); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("Me before login: %v, want unauthorized", err)
	}
	info, err := c.Login(ctx, "alice", "correct horse")
	if err != nil || info.Nick != "alice" || info.Token == "" || c.Token() != info.Token {
		t.Fatalf("Login: %+v, %v", info, err)
	}
	if _, err := New(srv.URL).Login(ctx, "alice", "wrong password"); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("Login with a wrong password: %v, want unauthorized", err)
	}
	if nick, err := c.Me(ctx); err != nil || nick != "alice" {
		t.Fatalf("Me: %q, %v", nick, err)
	}

	topic := "Talk about tests"
	if created, err := c.CreateRoom(ctx, "tests", nil); err != nil || !created {
		t.Fatalf("CreateRoom new: %v, %v", created, err)
	}
	if created, err := c.CreateRoom(ctx, "tests", &topic); err != nil || created {
		t.Fatalf("CreateRoom existing: %v, %v", created, err)
	}
	rooms, err := c.Rooms(ctx)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(rooms, func(r chat.Room) bool { return r.Name == "tests" })
	if i < 0 || rooms[i].Topic != topic || rooms[i].LastID != nil || !slices.ContainsFunc(rooms, func(r chat.Room) bool { return r.Name == "general" }) {
		t.Fatalf("Rooms: %+v", rooms)
	}

	var sent []chat.Message
	for i := range 5 {
		m, err := c.Send(ctx, "tests", chat.PostMessage{Text: fmt.Sprintf("  message %d  ", i), Kind: chat.KindText})
		if err != nil {
			t.Fatalf("Send: %v", err)
		}
		if m.Text != fmt.Sprintf("message %d", i) || m.Nick != "alice" || m.Room != "tests" || chat.ValidateClientID(m.ClientID) != nil || m.ClientID == "" {
			t.Fatalf("Send returned %+v", m)
		}
		sent = append(sent, m)
	}
	page, err := c.History(ctx, "tests", HistoryQuery{Limit: 2})
	if err != nil || len(page.Messages) != 2 || page.Messages[1].ID != sent[4].ID || !page.HasMore {
		t.Fatalf("History newest: %+v, %v", page, err)
	}
	page, err = c.History(ctx, "tests", HistoryQuery{Before: sent[3].ID, Limit: 10})
	if err != nil || len(page.Messages) != 3 || page.Messages[0].ID != sent[0].ID || page.HasMore {
		t.Fatalf("History before: %+v, %v", page, err)
	}
	page, err = c.History(ctx, "tests", HistoryQuery{After: sent[1].ID, Limit: 2})
	if err != nil || len(page.Messages) != 2 || page.Messages[0].ID != sent[2].ID || !page.HasMore {
		t.Fatalf("History after: %+v, %v", page, err)
	}
	if _, err := c.History(ctx, "tests", HistoryQuery{Limit: 1000}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("History with limit 1000: %v, want invalid", err)
	}

	if err := c.Typing(ctx, "tests"); err != nil {
		t.Fatalf("Typing: %v", err)
	}
	if members, err := c.Members(ctx, "tests"); err != nil || members == nil {
		t.Fatalf("Members: %v, %v", members, err)
	}

	var apiErr *APIError
	_, err = c.Send(ctx, "tests", chat.PostMessage{Text: "   "})
	if !errors.Is(err, ErrInvalid) || !errors.As(err, &apiErr) || apiErr.Field() != "text" || apiErr.Status != http.StatusUnprocessableEntity {
		t.Fatalf("Send empty text: %v, want 422 on field text", err)
	}
	_, err = c.Send(ctx, "no-such-room", chat.PostMessage{Text: "hi"})
	if !errors.Is(err, ErrNotFound) || !errors.As(err, &apiErr) || apiErr.Code != "room_not_found" {
		t.Fatalf("Send to a missing room: %v, want room_not_found", err)
	}
	if _, err := c.Members(ctx, "no-such-room"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Members of a missing room: %v", err)
	}

	if err := c.Logout(ctx); err != nil || c.Token() != "" {
		t.Fatalf("Logout: %v, token %q", err, c.Token())
	}
	if _, err := New(srv.URL, WithToken(info.Token)).Me(ctx); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("Me with a revoked token: %v, want unauthorized", err)
	}
}

// TestSendExactlyOnceWhenAnswersAreLost: the proxy throws away the first
// answer to every POST after the server stored the message. Send retries
// with the same client_id; every message is stored once, Send returns the
// stored copy, and subscribers see each message once.
func TestSendExactlyOnceWhenAnswersAreLost(t *testing.T) {
	srv := startServer(t)
	proxy := newFaultProxy(t, srv.URL)
	proxy.loseFirstAnswer = true
	c := newTestClient(t, srv, proxy.srv.URL, "alice")
	watcher := newTestClient(t, srv, srv.URL, "bob")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := watcher.Subscribe(ctx, "general", "")
	recvUntil(t, events, func(evs []Event) bool { return len(evs) > 0 && evs[len(evs)-1].Welcome != nil })

	const n = 20
	var mu sync.Mutex
	sent := map[string]chat.Message{} // by client_id
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range n / 4 {
				m, err := c.Send(ctx, "general", chat.PostMessage{Text: fmt.Sprintf("w%d-%d", w, i)})
				if err != nil {
					t.Errorf("Send: %v", err)
					return
				}
				mu.Lock()
				sent[m.ClientID] = m
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if posts, _ := proxy.counts(); posts != 2*n {
		t.Fatalf("proxy saw %d POSTs, want %d (each answer lost once, then retried once)", posts, 2*n)
	}
	page := srv.History(t, srv.Login(t, "carol"), "general", nil)
	if len(page.Messages) != n {
		t.Fatalf("server stored %d messages, want %d", len(page.Messages), n)
	}
	for _, m := range page.Messages {
		s, ok := sent[m.ClientID]
		if !ok || s.ID != m.ID || s.Text != m.Text {
			t.Fatalf("stored %+v, Send returned %+v", m, s)
		}
	}
	got := recvUntil(t, events, messages(n))
	ids := messageIDs(got)
	want := make([]string, 0, n)
	for _, m := range page.Messages {
		want = append(want, m.ID)
	}
	if !slices.Equal(ids, want) {
		t.Fatalf("subscriber saw %v, want %v", ids, want)
	}
}

// checkStateOrder checks the grammar of state changes: connecting is
// followed by connected or reconnecting, connected by reconnecting (or
// nothing), reconnecting by connecting; every connected is followed by a
// welcome before anything else.
func checkStateOrder(t *testing.T, evs []Event) {
	t.Helper()
	var prev *StateChange
	for i, ev := range evs {
		if ev.State == nil {
			continue
		}
		st := ev.State
		ok := false
		switch {
		case prev == nil:
			ok = st.State == StateConnecting
		case prev.State == StateConnecting:
			ok = st.State == StateConnected || st.State == StateReconnecting
		case prev.State == StateConnected:
			ok = st.State == StateReconnecting
		case prev.State == StateReconnecting:
			ok = st.State == StateConnecting && !prev.NextTry.IsZero() && prev.Err != nil
		}
		if !ok {
			t.Fatalf("state %v after %v at %d in %s", st.State, prev, i, describe(evs))
		}
		if st.State == StateConnected && (i+1 >= len(evs) || evs[i+1].Welcome == nil) {
			t.Fatalf("connected at %d not followed by welcome in %s", i, describe(evs))
		}
		prev = st
	}
}

func reconnectErrs(evs []Event) []error {
	var errs []error
	for _, ev := range evs {
		if ev.State != nil && ev.State.State == StateReconnecting {
			errs = append(errs, ev.State.Err)
		}
	}
	return errs
}

// TestSubscribeSurvivesEOFRestartAndHalfOpen follows one subscription
// through a clean end of stream, a server restart and a half-open spell in
// which everything the server sent was lost: every message arrives once, in
// order, and the states come in order with the reason for each loss.
func TestSubscribeSurvivesEOFRestartAndHalfOpen(t *testing.T) {
	srv := startServer(t)
	proxy := newFaultProxy(t, srv.URL)
	c := newTestClient(t, srv, proxy.srv.URL, "alice", WithReadIdleTimeout(300*time.Millisecond))
	poster := srv.Login(t, "bob")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := c.Subscribe(ctx, "general", "")
	got := recvUntil(t, events, func(evs []Event) bool { return len(evs) > 0 && evs[len(evs)-1].Welcome != nil })

	var posted []string
	post := func(n int) {
		for range n {
			posted = append(posted, srv.Post(t, poster, "general", fmt.Sprint("m", len(posted))).ID)
		}
	}
	more := func(evs []Event, cond func([]Event) bool) []Event {
		return append(evs, recvUntil(t, events, func(next []Event) bool { return cond(append(evs, next...)) })...)
	}
	post(5)
	got = more(got, messages(5))

	// A clean end of stream, then messages while the client reconnects.
	proxy.endStreams()
	post(5)
	got = more(got, messages(10))

	// A restart: the server ends the stream, refuses connections for a
	// moment, and comes back on the same data.
	srv.Restart()
	post(5)
	got = more(got, messages(15))

	// Half-open: the connection stays, nothing comes through, and what the
	// server sends meanwhile is lost on the way. New connections are
	// accepted and get no answer either.
	proxy.setSilent(true)
	post(5)
	got = more(got, func(evs []Event) bool {
		n := 0
		for _, err := range reconnectErrs(evs) {
			if errors.Is(err, ErrReadIdle) {
				n++
			}
		}
		return n >= 2 // the silent stream, and a silent new connection
	})
	proxy.setSilent(false)
	post(5)
	got = more(got, messages(25))

	if ids := messageIDs(got); !slices.Equal(ids, posted) {
		t.Fatalf("got messages %v, want %v", ids, posted)
	}
	checkStateOrder(t, got)
	errs := reconnectErrs(got)
	// (A loaded machine may add a spurious read-idle reconnect anywhere; it
	// must not matter, so the reasons are checked by presence, not place.)
	if !slices.ContainsFunc(errs, func(err error) bool { return errors.Is(err, ErrStreamEnded) }) {
		t.Fatalf("no ErrStreamEnded among %v (the proxy and the restart ended streams cleanly)", errs)
	}
	if !slices.ContainsFunc(errs, func(err error) bool { return errors.Is(err, ErrReadIdle) }) {
		t.Fatalf("no ErrReadIdle among %v", errs)
	}
	cancel()
	waitClosed(t, events)
}

// TestSubscribeUnauthorizedStopsWithoutRetries: a bad token ends the
// subscription after one request; so does a token revoked while connected,
// at the next reconnect.
func TestSubscribeUnauthorizedStopsWithoutRetries(t *testing.T) {
	srv := startServer(t)
	proxy := newFaultProxy(t, srv.URL)

	bad := New(proxy.srv.URL, WithToken("not-a-token"), WithBackoff(time.Millisecond, time.Millisecond))
	defer bad.CloseIdleConnections()
	got := waitClosed(t, bad.Subscribe(context.Background(), "general", ""))
	if describe(got) != "connecting unauthorized" || !errors.Is(got[1].State.Err, ErrUnauthorized) {
		t.Fatalf("bad token: %s (%v)", describe(got), got[len(got)-1].State.Err)
	}
	if _, streams := proxy.counts(); streams != 1 {
		t.Fatalf("%d stream requests for a bad token, want 1", streams)
	}

	c := newTestClient(t, srv, proxy.srv.URL, "alice")
	events := c.Subscribe(context.Background(), "general", "")
	recvUntil(t, events, func(evs []Event) bool { return len(evs) > 0 && evs[len(evs)-1].Welcome != nil })
	if err := New(srv.URL, WithToken(c.Token())).Logout(context.Background()); err != nil {
		t.Fatal(err)
	}
	proxy.endStreams()
	got = waitClosed(t, events)
	if st := states(got); !slices.Equal(st, []State{StateReconnecting, StateConnecting, StateUnauthorized}) {
		t.Fatalf("revoked token: %s", describe(got))
	}
	if _, streams := proxy.counts(); streams != 3 {
		t.Fatalf("%d stream requests in all, want 3", streams)
	}

	// A room that does not exist closes the subscription.
	c = newTestClient(t, srv, proxy.srv.URL, "carol")
	got = waitClosed(t, c.Subscribe(context.Background(), "no-such-room", ""))
	if describe(got) != "connecting closed" || !errors.Is(got[1].State.Err, ErrNotFound) {
		t.Fatalf("missing room: %s", describe(got))
	}
}

// TestSubscribeCancelClosesPromptly: cancelling the context closes the
// channel and leaves no goroutine of the client behind, while connected and
// while waiting to reconnect to a server that is gone.
func TestSubscribeCancelClosesPromptly(t *testing.T) {
	srv := startServer(t)
	proxy := newFaultProxy(t, srv.URL)
	c := newTestClient(t, srv, proxy.srv.URL, "alice", WithBackoff(time.Hour, time.Hour))
	before := goleak.IgnoreCurrent()

	ctx, cancel := context.WithCancel(context.Background())
	events := c.Subscribe(ctx, "general", "")
	recvUntil(t, events, func(evs []Event) bool { return len(evs) > 0 && evs[len(evs)-1].Welcome != nil })
	cancel()
	waitClosed(t, events)

	ctx, cancel = context.WithCancel(context.Background())
	events = c.Subscribe(ctx, "general", "")
	recvUntil(t, events, func(evs []Event) bool { return len(evs) > 0 && evs[len(evs)-1].Welcome != nil })
	proxy.endStreams() // now it waits an hour to reconnect
	recvUntil(t, events, func(evs []Event) bool { return len(evs) > 0 && evs[len(evs)-1].State != nil })
	cancel()
	waitClosed(t, events)

	c.CloseIdleConnections()
	goleak.VerifyNone(t, before)
}

// TestSlowReaderGetsEverythingAndHurtsNoOne: one subscriber reads slowly
// through a small buffer, another promptly. The server's per-stream queue is
// small, so a client that let its socket stall would be evicted. The prompt
// reader is never disconnected; the slow one gets every message once, in
// order, and only ever drops its own stream for its own full buffer, never
// because the server ended it.
func TestSlowReaderGetsEverythingAndHurtsNoOne(t *testing.T) {
	srv := startServer(t, servertest.WithConfig(func(cfg *server.Config) { cfg.QueueMax = 32 }))
	fast := newTestClient(t, srv, srv.URL, "fast")
	slow := newTestClient(t, srv, srv.URL, "slow", WithEventBuffer(16))
	poster := srv.Login(t, "bob")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	welcomed := func(evs []Event) bool {
		return slices.ContainsFunc(evs, func(ev Event) bool { return ev.Welcome != nil })
	}
	fastCh := fast.Subscribe(ctx, "general", "")
	fastGot := recvUntil(t, fastCh, welcomed)
	slowCh := slow.Subscribe(ctx, "general", "")
	slowGot := recvUntil(t, slowCh, welcomed)

	const n, posters = 160, 4
	var mu sync.Mutex
	var posted []string
	var wg sync.WaitGroup
	for w := range posters {
		wg.Go(func() {
			for i := range n / posters {
				id := srv.Post(t, poster, "general", fmt.Sprint("burst ", w, i)).ID
				mu.Lock()
				posted = append(posted, id)
				mu.Unlock()
			}
		})
	}
	wg.Go(func() {
		timeout := time.After(guard)
		for len(messageIDs(slowGot)) < n {
			select {
			case ev := <-slowCh:
				slowGot = append(slowGot, ev)
				time.Sleep(5 * time.Millisecond) // a slow consumer: paced, not synchronised
			case <-timeout:
				t.Errorf("slow reader got %d of %d", len(messageIDs(slowGot)), n)
				return
			}
		}
	})
	fastGot = append(fastGot, recvUntil(t, fastCh, messages(n))...)
	wg.Wait()
	if t.Failed() {
		return
	}
	slices.SortFunc(posted, chat.CompareIDs)
	if ids := messageIDs(fastGot); !slices.Equal(ids, posted) {
		t.Fatalf("fast reader: %d messages, not the %d posted in order", len(ids), n)
	}
	if st := states(fastGot); !slices.Equal(st, []State{StateConnecting, StateConnected}) {
		t.Fatalf("fast reader was disconnected: %s", describe(fastGot))
	}
	if ids := messageIDs(slowGot); !slices.Equal(ids, posted) {
		t.Fatalf("slow reader: %v, want the %d posted in order", ids, n)
	}
	checkStateOrder(t, slowGot)
	for _, err := range reconnectErrs(slowGot) {
		if !errors.Is(err, ErrBufferFull) {
			t.Fatalf("slow reader lost its stream to %v: only its own full buffer may drop it", err)
		}
	}
	// Posting outpaces the slow reader many times over, so its buffer of 16
	// must have filled: otherwise this test did not test what it says.
	if len(reconnectErrs(slowGot)) == 0 {
		t.Fatal("the slow reader's buffer never filled")
	}
	t.Logf("slow reader dropped its stream %d times for its full buffer", len(reconnectErrs(slowGot)))
}

// TestSubscribeLiveOnlyCatchesUpAfterFirstLoss: a caller that asked for live
// events only ("") loses its stream before any message came; what is posted
// while it reconnects still arrives, in an empty room (resume from "0") and
// in one with history (resume from welcome's last_id), and nothing older.
func TestSubscribeLiveOnlyCatchesUpAfterFirstLoss(t *testing.T) {
	srv := startServer(t)
	proxy := newFaultProxy(t, srv.URL)
	poster := srv.Login(t, "bob")
	c := newTestClient(t, srv, proxy.srv.URL, "alice")
	for _, room := range []string{"empty", "busy"} {
		srv.CreateRoom(t, poster, room)
		if room == "busy" {
			srv.Post(t, poster, room, "old news")
		}
		ctx, cancel := context.WithCancel(context.Background())
		events := c.Subscribe(ctx, room, "")
		got := recvUntil(t, events, func(evs []Event) bool { return len(evs) > 0 && evs[len(evs)-1].Welcome != nil })
		// Hold the reconnect (accepted, unanswered) while a message is posted.
		proxy.setSilent(true)
		proxy.endStreams()
		got = append(got, recvUntil(t, events, func(evs []Event) bool {
			return slices.ContainsFunc(evs, func(ev Event) bool { return ev.State != nil && ev.State.State == StateConnecting })
		})...)
		m := srv.Post(t, poster, room, "posted in the gap")
		proxy.setSilent(false)
		got = append(got, recvUntil(t, events, messages(1))...)
		if ids := messageIDs(got); !slices.Equal(ids, []string{m.ID}) {
			t.Fatalf("%s room: got %v, want only %s: %s", room, ids, m.ID, describe(got))
		}
		cancel()
		waitClosed(t, events)
	}
}

// TestSendWaitsOutRateLimit: with the server's default limits (5 messages a
// second, bursts of 20), a burst of 30 Sends gets 429s; Send waits as long as
// Retry-After says and tries again, and every message is stored once.
func TestSendWaitsOutRateLimit(t *testing.T) {
	srv := servertest.Start(t, servertest.WithConfig(func(cfg *server.Config) { cfg.Limits = server.DefaultLimits() }))
	proxy := newFaultProxy(t, srv.URL)
	c := newTestClient(t, srv, proxy.srv.URL, "alice", WithSendAttempts(20))
	const n = 30
	for i := range n {
		if _, err := c.Send(context.Background(), "general", chat.PostMessage{Text: fmt.Sprint("burst ", i)}); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
	}
	posts, _ := proxy.counts()
	if posts == n {
		t.Fatalf("the server answered no 429 to a burst of %d with its default limits: nothing here tested waiting out Retry-After", n)
	}
	page := srv.History(t, srv.Login(t, "bob"), "general", nil)
	if len(page.Messages) != n {
		t.Fatalf("server stored %d messages after %d POSTs, want %d", len(page.Messages), posts, n)
	}
	seen := map[string]bool{}
	for _, m := range page.Messages {
		if seen[m.ClientID] {
			t.Fatalf("client_id %s stored twice", m.ClientID)
		}
		seen[m.ClientID] = true
	}
}
