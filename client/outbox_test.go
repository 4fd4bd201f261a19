package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server"
	"github.com/ssechat/chat/server/servertest"
)

// outboxGuard bounds the waits of the outbox tests, which go through a
// rate limit of one message a second: it is a hang guard, never a measure.
const outboxGuard = 90 * time.Second

// collect reads updates until done holds for what was read, failing the
// test when outboxGuard passes first.
func collect(t *testing.T, ob *Outbox, done func([]OutboxUpdate) bool) []OutboxUpdate {
	t.Helper()
	var got []OutboxUpdate
	timeout := time.After(outboxGuard)
	for !done(got) {
		select {
		case u := <-ob.Updates():
			got = append(got, u)
		case <-timeout:
			t.Fatalf("outbox not done within %v; updates: %s", outboxGuard, describeUpdates(got))
		}
	}
	return got
}

func sentCount(n int) func([]OutboxUpdate) bool {
	return func(us []OutboxUpdate) bool {
		c := 0
		for _, u := range us {
			if u.State == OutSent {
				c++
			}
		}
		return c >= n
	}
}

func describeUpdates(us []OutboxUpdate) string {
	parts := make([]string, len(us))
	for i, u := range us {
		parts[i] = u.State.String() + ":" + u.Room + ":" + u.Message.Text
	}
	return strings.Join(parts, " ")
}

// checkStored checks that room holds exactly texts, in that order, each
// once, and no client_id twice.
func checkStored(t *testing.T, srv *servertest.Server, room string, texts []string) {
	t.Helper()
	page := srv.History(t, srv.Login(t, "reader"), room, map[string][]string{"limit": {"200"}})
	var got []string
	seen := map[string]bool{}
	for _, m := range page.Messages {
		got = append(got, m.Text)
		if seen[m.ClientID] {
			t.Errorf("client_id %s stored twice", m.ClientID)
		}
		seen[m.ClientID] = true
	}
	if !slices.Equal(got, texts) {
		t.Fatalf("#%s holds %d messages\n%q\nwant %d in typed order\n%q", room, len(got), got, len(texts), texts)
	}
}

func lines(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s %02d", prefix, i)
	}
	return out
}

// TestOutboxKeepsOrderThroughLostAnswersRateLimitAndRestart: 30 lines
// queued at once, faster than the server's limit of one message a second,
// through a proxy that loses the first answer to every POST, and a server
// restart in the middle, are stored in the order queued, each once. Before
// the outbox, each line had its own jittered retries and the server stored
// them out of order (issue 18, item 1).
func TestOutboxKeepsOrderThroughLostAnswersRateLimitAndRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out a rate limit of 1/s for 30 messages")
	}
	srv := servertest.Start(t, servertest.WithConfig(func(cfg *server.Config) {
		cfg.Limits = server.DefaultLimits()
		cfg.Limits.MessageRate, cfg.Limits.MessageBurst = 1, 10
	}))
	proxy := newFaultProxy(t, srv.URL)
	proxy.loseFirstAnswer = true
	c := newTestClient(t, srv, proxy.srv.URL, "alice")
	ob := NewOutbox(c, OutboxOptions{MinBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	defer ob.Close()

	want := lines("line", 30)
	for _, text := range want {
		ob.Queue("general", chat.PostMessage{Text: text})
	}
	got := collect(t, ob, sentCount(12))
	srv.Restart()
	got = append(got, collect(t, ob, sentCount(30-sentCount12(got)))...)

	var sent []string
	waited := false
	for _, u := range got {
		switch u.State {
		case OutSent:
			sent = append(sent, u.Message.Text)
		case OutWaiting:
			waited = true
			if u.Reason == "" {
				t.Errorf("waiting update without a reason: %+v", u)
			}
		case OutFailed:
			t.Fatalf("a line failed: %+v", u)
		}
	}
	if !slices.Equal(sent, want) {
		t.Fatalf("sent updates in order %q, want %q", sent, want)
	}
	if !waited {
		t.Fatal("no line ever waited: the rate limit and the lost answers tested nothing")
	}
	if n := len(ob.Pending()); n != 0 {
		t.Fatalf("%d messages still held after all were sent", n)
	}
	checkStored(t, srv, "general", want)
}

func sentCount12(us []OutboxUpdate) int {
	n := 0
	for _, u := range us {
		if u.State == OutSent {
			n++
		}
	}
	return n
}

// TestOutboxWaitsWhileServerIsDownAndSurvivesARestartOfTheClient: lines
// queued while the server does not answer stay "waiting", never failed;
// the outbox is closed (chat-tui quits), its saved state restored into a
// new one, which sends them in order once the server answers again. A line
// whose POST was stored but whose answer was lost keeps its client_id and
// is not stored twice.
func TestOutboxWaitsWhileServerIsDownAndSurvivesARestartOfTheClient(t *testing.T) {
	srv := startServer(t)
	proxy := newFaultProxy(t, srv.URL)
	proxy.loseFirstAnswer = true
	c := newTestClient(t, srv, proxy.srv.URL, "alice")

	var mu sync.Mutex
	var saved []Outgoing
	save := func(items []Outgoing) error {
		mu.Lock()
		saved = slices.Clone(items)
		mu.Unlock()
		return nil
	}
	opts := OutboxOptions{Save: save, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, AttemptTimeout: 300 * time.Millisecond}
	ob := NewOutbox(c, opts)
	// The first line is stored, and its answer lost: the outbox does not
	// know, and waits.
	ob.Queue("general", chat.PostMessage{Text: "one"})
	first := collect(t, ob, func(us []OutboxUpdate) bool { return len(us) >= 1 })
	if first[0].State != OutWaiting {
		t.Fatalf("after a lost answer: %s, want waiting", describeUpdates(first))
	}
	proxy.setSilent(true)
	for _, text := range []string{"two", "three", "four"} {
		ob.Queue("general", chat.PostMessage{Text: text})
	}
	us := collect(t, ob, func(us []OutboxUpdate) bool { return len(us) >= 3 })
	for _, u := range us {
		if u.State != OutWaiting || u.ClientID != first[0].ClientID {
			t.Fatalf("while the server is silent: %s; want only the first line waiting", describeUpdates(us))
		}
	}
	ob.Close()
	mu.Lock()
	restored := slices.Clone(saved)
	mu.Unlock()
	if len(restored) != 4 || restored[0].Post.ClientID != first[0].ClientID {
		t.Fatalf("saved at close: %+v, want the 4 lines, the first with client_id %s", restored, first[0].ClientID)
	}

	proxy.setSilent(false)
	ob2 := NewOutbox(c, opts)
	defer ob2.Close()
	ob2.Restore(restored)
	collect(t, ob2, sentCount(4))
	checkStored(t, srv, "general", []string{"one", "two", "three", "four"})
	mu.Lock()
	defer mu.Unlock()
	if len(saved) != 0 {
		t.Fatalf("saved after all were sent: %+v, want nothing", saved)
	}
}

// TestOutboxFailsOnlyWhatRetryCannotFix: a line to a room that does not
// exist fails at once with words for people, while the lines of other
// rooms and the later ones go on; Retry sends it again once the room
// exists, keeping its client_id.
func TestOutboxFailsOnlyWhatRetryCannotFix(t *testing.T) {
	srv := startServer(t)
	c := newTestClient(t, srv, srv.URL, "alice")
	ob := NewOutbox(c, OutboxOptions{MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	defer ob.Close()

	lost := ob.Queue("nowhere", chat.PostMessage{Text: "into the void"})
	ob.Queue("nowhere", chat.PostMessage{Text: "after it"})
	ob.Queue("general", chat.PostMessage{Text: "elsewhere"})
	us := collect(t, ob, func(us []OutboxUpdate) bool { return len(us) >= 3 })
	var failed []OutboxUpdate
	for _, u := range us {
		if u.State == OutFailed {
			failed = append(failed, u)
		}
	}
	if len(failed) != 2 || failed[0].ClientID != lost.Post.ClientID || !errors.Is(failed[0].Err, ErrNotFound) {
		t.Fatalf("updates %s: want both lines to #nowhere failed, the first first", describeUpdates(us))
	}
	if failed[0].Reason != "the room no longer exists on the server" {
		t.Errorf("reason %q: want plain words", failed[0].Reason)
	}
	if n := len(ob.Pending()); n != 2 {
		t.Fatalf("%d held, want the 2 failed lines", n)
	}

	if _, err := c.CreateRoom(context.Background(), "nowhere", nil); err != nil {
		t.Fatal(err)
	}
	if !ob.Retry(lost.Post.ClientID) || ob.Retry("no-such-id") {
		t.Fatal("Retry of a failed line did not report it, or one of nothing did")
	}
	us = collect(t, ob, sentCount(1))
	if us[len(us)-1].ClientID != lost.Post.ClientID {
		t.Fatalf("after Retry: %s", describeUpdates(us))
	}
	checkStored(t, srv, "nowhere", []string{"into the void"})
}

// TestOutboxWaitsOutRetryAfterAndUnauthorized: 429 and 401 are waits, not
// failures; the wait is the one Retry-After asked for.
func TestOutboxWaitsOutRetryAfterAndUnauthorized(t *testing.T) {
	var p postLog
	hs := httptest.NewServer(p.handler(func(n int, w http.ResponseWriter) bool {
		switch n {
		case 1:
			apiError(w, http.StatusTooManyRequests, "1", "rate_limited")
		case 2:
			apiError(w, http.StatusUnauthorized, "", "unauthorized")
		default:
			return false
		}
		return true
	}))
	defer hs.Close()
	c := New(hs.URL)
	defer c.CloseIdleConnections()
	ob := NewOutbox(c, OutboxOptions{MinBackoff: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	defer ob.Close()
	ob.Queue("general", chat.PostMessage{Text: "hi"})
	us := collect(t, ob, sentCount(1))
	if len(us) != 3 || us[0].State != OutWaiting || us[0].RetryIn != time.Second ||
		us[1].State != OutWaiting || !errors.Is(us[1].Err, ErrUnauthorized) || us[1].Reason != "waiting for you to log in again" {
		t.Fatalf("updates %s (%+v)", describeUpdates(us), us)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.bodies) != 3 || p.bodies[0].ClientID == "" || p.bodies[2].ClientID != p.bodies[0].ClientID {
		t.Fatalf("posts %+v: want 3 with one client_id", p.bodies)
	}
	if gap := p.times[1].Sub(p.times[0]); gap < time.Second {
		t.Errorf("second attempt %v after a 429 with Retry-After: 1", gap)
	}
}

// TestOutboxCloseStopsItsGoroutines: Close returns with every goroutine of
// the outbox gone, even while a room waits for a server that never answers.
func TestOutboxCloseStopsItsGoroutines(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	release := make(chan struct{})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hs.Close()
	defer close(release)
	c := New(hs.URL)
	defer c.CloseIdleConnections()
	ob := NewOutbox(c, OutboxOptions{})
	ob.Queue("general", chat.PostMessage{Text: "stuck"})
	ob.Queue("other", chat.PostMessage{Text: "stuck too"})
	ob.Wake()
	ob.Close()
	ob.Close()
}
