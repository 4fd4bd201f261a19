package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server"
	"github.com/ssechat/chat/server/servertest"
)

// TestServerAnnouncesLimits: GET /api/limits (no session) and every welcome
// carry the configured limits, so front ends never ask for a page larger
// than the server allows.
func TestServerAnnouncesLimits(t *testing.T) {
	srv := servertest.Start(t, servertest.WithConfig(func(c *server.Config) {
		c.HistoryPageMax = 20
		c.ReplayMax = 300
		c.Limits.Enabled = true
		c.Limits.MessageRate, c.Limits.MessageBurst = 2, 7
	}))
	want := chat.ServerLimits{HistoryPageMax: 20, HistoryPageDefault: 20, ReplayMax: 300,
		TextMax: chat.MaxTextLen, TopicMax: chat.MaxTopicLen, MessageRate: 2, MessageBurst: 7,
		Registration: chat.RegistrationOpen}

	r := srv.Do(t, "GET", "/api/limits", "", nil)
	var got chat.ServerLimits
	r.Decode(t, &got)
	if r.Status != 200 || got != want {
		t.Fatalf("GET /api/limits: %d %s, want %+v", r.Status, r.Body, want)
	}

	tok := srv.Login(t, "alice")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := srv.Subscribe(ctx, tok, chat.DefaultRoom, "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ev, err := st.Next(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var w chat.Welcome
	if err := ev.Decode(&w); err != nil || ev.Event != chat.EventWelcome || w.Limits == nil || *w.Limits != want {
		t.Fatalf("welcome %s %s (%v), want limits %+v", ev.Event, ev.Data, err, want)
	}

	// The announced maximum is honoured and one more is refused.
	if r := srv.Do(t, "GET", "/api/rooms/general/messages?limit=20", tok, nil); r.Status != 200 {
		t.Fatalf("limit=20: %d %s", r.Status, r.Body)
	}
	wantErr(t, srv.Do(t, "GET", "/api/rooms/general/messages?limit=21", tok, nil), 400, "bad_query")
}

// TestLimitsWithRateLimitsOff: a server without per-account limits says
// so with a zero rate.
func TestLimitsWithRateLimitsOff(t *testing.T) {
	srv := servertest.Start(t, servertest.WithConfig(func(c *server.Config) { c.Limits.Enabled = false }))
	var got chat.ServerLimits
	srv.Do(t, "GET", "/api/limits", "", nil).Decode(t, &got)
	if got.MessageRate != 0 || got.MessageBurst != 0 || got.HistoryPageMax != chat.MaxPageSize {
		t.Fatalf("limits %+v", got)
	}
}
