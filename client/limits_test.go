package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server"
	"github.com/ssechat/chat/server/servertest"
)

// TestPagingFollowsTheServersLimits runs the client against a real server
// whose pages hold at most 20 messages: History without a limit lets the
// server choose, HistoryAfter fills a gap of 100 messages in pages the
// server accepts, and a welcome tells the client the limits without a
// request of its own.
func TestPagingFollowsTheServersLimits(t *testing.T) {
	srv := startServer(t, servertest.WithConfig(func(cfg *server.Config) { cfg.HistoryPageMax = 20 }))
	ctx := context.Background()
	c := newTestClient(t, srv, srv.URL, "alice")
	poster := srv.Login(t, "bob")
	var sent []chat.Message
	for i := range 101 {
		sent = append(sent, srv.Post(t, poster, "general", fmt.Sprintf("m%03d", i)))
	}

	// No limit: the server's default page, which its max caps at 20.
	p, err := c.History(ctx, "general", HistoryQuery{})
	if err != nil || len(p.Messages) != 20 || !p.HasMore || p.Messages[19].ID != sent[100].ID {
		t.Fatalf("History without a limit: %d messages, more %v, %v", len(p.Messages), p.HasMore, err)
	}
	// A page over the announced max is the server's to refuse: the client
	// passes it on rather than quietly asking for something else.
	var apiErr *APIError
	if _, err := c.History(ctx, "general", HistoryQuery{Limit: chat.MaxPageSize}); !errors.Is(err, ErrInvalid) || !errors.As(err, &apiErr) || apiErr.Code != "bad_query" {
		t.Fatalf("History with limit %d against a max of 20: %v, want bad_query", chat.MaxPageSize, err)
	}

	// The gap after the first message: 100 messages, five pages of 20.
	got, more, err := c.HistoryAfter(ctx, "general", sent[0].ID, 1000)
	if err != nil || more {
		t.Fatalf("HistoryAfter: %d messages, more %v, %v", len(got), more, err)
	}
	if len(got) != 100 {
		t.Fatalf("HistoryAfter: %d messages, want 100", len(got))
	}
	for i, m := range got {
		if m.ID != sent[i+1].ID {
			t.Fatalf("HistoryAfter message %d: id %s, want %s", i, m.ID, sent[i+1].ID)
		}
	}
	// A bound below what is left stops there and says more follow.
	got, more, err = c.HistoryAfter(ctx, "general", "0", 45)
	if err != nil || !more || len(got) != 45 || got[44].ID != sent[44].ID {
		t.Fatalf("HistoryAfter 45 from the start: %d messages, more %v, %v", len(got), more, err)
	}

	// A fresh client learns the limits from its first welcome.
	fresh := newTestClient(t, srv, srv.URL, "carol")
	subCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	events := fresh.Subscribe(subCtx, "general", "")
	for ev := recv(t, events); ev.Welcome == nil; ev = recv(t, events) {
	}
	cancel()
	waitClosed(t, events)
	fresh.learnedLimitsWithin(t, time.Second)
	l, err := fresh.Limits(ctx)
	if err != nil || l.HistoryPageMax != 20 || l.HistoryPageDefault != 20 {
		t.Fatalf("Limits after a welcome: %+v, %v", l, err)
	}
}

// learnedLimitsWithin fails the test unless the client holds the server's
// limits already (from a welcome), so Limits asks nothing.
func (c *Client) learnedLimitsWithin(t *testing.T, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		c.mu.RLock()
		known := c.limits != nil
		c.mu.RUnlock()
		if known {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the client did not learn the limits from the welcome")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSetTopic sets and clears a topic through the client against a real
// server, and another member's stream hears of each change.
func TestSetTopic(t *testing.T) {
	srv := startServer(t)
	ctx := context.Background()
	c := newTestClient(t, srv, srv.URL, "alice")
	watcher := newTestClient(t, srv, srv.URL, "bob")
	subCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	events := watcher.Subscribe(subCtx, "general", "")
	for ev := recv(t, events); ev.Welcome == nil; ev = recv(t, events) {
	}
	for _, topic := range []string{"Tests only", ""} {
		if err := c.SetTopic(ctx, "general", topic); err != nil {
			t.Fatalf("SetTopic %q: %v", topic, err)
		}
		ev := recv(t, events)
		for ev.Topic == nil {
			ev = recv(t, events)
		}
		if ev.Topic.Topic != topic || ev.Topic.Nick != "alice" {
			t.Fatalf("room event after SetTopic %q: %+v", topic, *ev.Topic)
		}
		rooms, err := c.Rooms(ctx)
		if err != nil || rooms[0].Name != "general" || rooms[0].Topic != topic {
			t.Fatalf("Rooms after SetTopic %q: %+v, %v", topic, rooms, err)
		}
	}
	bad := string(make([]byte, chat.MaxTopicLen+1))
	var apiErr *APIError
	if err := c.SetTopic(ctx, "general", bad); !errors.As(err, &apiErr) || apiErr.Code != "bad_topic" {
		t.Fatalf("SetTopic with a bad topic: %v, want bad_topic", err)
	}
	cancel()
	waitClosed(t, events)
}

// TestLimitsAnnounceRegistration: before any login, Limits tells a client
// whether the server registers new nicks, and on a closed server a login
// with an unknown nick fails with ErrUnauthorized and a message that says
// no account is made at login, the same as for a wrong password.
func TestLimitsAnnounceRegistration(t *testing.T) {
	ctx := context.Background()
	for _, mode := range []string{chat.RegistrationOpen, chat.RegistrationClosed} {
		t.Run(mode, func(t *testing.T) {
			srv := startServer(t, servertest.WithConfig(func(cfg *server.Config) { cfg.Registration = mode }))
			c := New(srv.URL)
			defer c.CloseIdleConnections()
			l, err := c.Limits(ctx)
			if err != nil || l.Registration != mode {
				t.Fatalf("Limits: registration %q, %v; want %q", l.Registration, err, mode)
			}
			_, err = c.Login(ctx, "newcomer", "a new password")
			if mode == chat.RegistrationOpen {
				if err != nil {
					t.Fatalf("Login with a new nick on an open server: %v", err)
				}
				return
			}
			var apiErr *APIError
			if !errors.Is(err, ErrUnauthorized) || !errors.As(err, &apiErr) || !strings.Contains(apiErr.Message, "does not create accounts at login") {
				t.Fatalf("Login with a new nick on a closed server: %v; want unauthorized, saying no account is made", err)
			}
		})
	}
}
