package server_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server"
	"github.com/ssechat/chat/server/servertest"
	"github.com/ssechat/chat/server/store"
	"github.com/ssechat/chat/server/store/sqlite"
)

const wait = 10 * time.Second

// nextOf returns the next event of the given type, skipping ephemeral
// events of other types; a message event of another type fails the test.
func nextOf(t *testing.T, st *servertest.Stream, event string) servertest.Event {
	t.Helper()
	for {
		ev, err := st.Next(wait)
		if err != nil {
			t.Fatalf("waiting for %s: %v", event, err)
		}
		if ev.Event == event {
			return ev
		}
		if ev.Event == chat.EventMessage || ev.Event == chat.EventReset {
			t.Fatalf("got %s %s while waiting for %s", ev.Event, ev.Data, event)
		}
	}
}

func decode(t *testing.T, ev servertest.Event, v any) {
	t.Helper()
	if err := ev.Decode(v); err != nil {
		t.Fatalf("decode %s data %q: %v", ev.Event, ev.Data, err)
	}
}

// messageIDs reads n message events and returns their ids, checking that
// each event's id line matches its data.
func messageIDs(t *testing.T, st *servertest.Stream, n int) []string {
	t.Helper()
	var ids []string
	for len(ids) < n {
		ev := nextOf(t, st, chat.EventMessage)
		var m chat.Message
		decode(t, ev, &m)
		if !ev.HasID || ev.ID != m.ID {
			t.Fatalf("message event id %q, data id %q", ev.ID, m.ID)
		}
		ids = append(ids, m.ID)
	}
	return ids
}

func TestStreamStart(t *testing.T) {
	srv := servertest.Start(t)
	tok := srv.Login(t, "alice")
	m := srv.Post(t, tok, "general", "before")
	st := srv.MustSubscribe(t, tok, "general", "")
	for k, want := range map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"} {
		if got := st.Header.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	ev, err := st.NextAny(wait)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Event != chat.EventWelcome || ev.Retry <= 0 || ev.HasID {
		t.Fatalf("first block %+v, want retry and welcome without id", ev)
	}
	var w chat.Welcome
	decode(t, ev, &w)
	if w.Room != "general" || w.Nick != "alice" || len(w.Online) != 1 || w.Online[0] != "alice" || w.LastID == nil || *w.LastID != m.ID || w.Server == "" {
		t.Fatalf("welcome %s", ev.Data)
	}
	// Without a resume point only live messages follow.
	live := srv.Post(t, tok, "general", "live")
	if ids := messageIDs(t, st, 1); ids[0] != live.ID {
		t.Fatalf("first message %s, want the live %s", ids[0], live.ID)
	}
}

func TestStreamErrors(t *testing.T) {
	srv := servertest.Start(t)
	tok := srv.Login(t, "bob")
	ctx := context.Background()
	refused := func(err error, status int, code string) {
		t.Helper()
		var se *servertest.StatusError
		if !errors.As(err, &se) {
			t.Fatalf("stream started (err %v), want %d %s", err, status, code)
		}
		wantErr(t, &servertest.Response{Status: se.Status, Header: se.Header, Body: se.Body}, status, code)
	}
	_, err := srv.Subscribe(ctx, "", "general", "")
	refused(err, 401, "unauthorized")
	_, err = servertest.Open(ctx, srv.Client, srv.URL+"/api/rooms/general/events?token="+tok, "", "")
	refused(err, 401, "unauthorized")
	_, err = srv.Subscribe(ctx, tok, "nope", "")
	refused(err, 404, "room_not_found")
	for _, bad := range []string{"abc", "-1", "01", "1-2-3", "1.5", strings.Repeat("9", 50)} {
		_, err = srv.Subscribe(ctx, tok, "general", bad)
		refused(err, 400, "bad_last_event_id")
	}
	_, err = servertest.Open(ctx, srv.Client, srv.URL+"/api/rooms/general/events?last_event_id=x1", tok, "")
	refused(err, 400, "bad_last_event_id")
}

func TestResume(t *testing.T) {
	srv := servertest.Start(t)
	tok := srv.Login(t, "carl")
	var ids []string
	for i := 0; i < 6; i++ {
		ids = append(ids, srv.Post(t, tok, "general", "m").ID)
	}
	check := func(name string, st *servertest.Stream, want []string) {
		t.Helper()
		var w chat.Welcome
		decode(t, nextOf(t, st, chat.EventWelcome), &w)
		if w.LastID == nil || *w.LastID != want[len(want)-1] {
			t.Fatalf("%s: welcome last_id %v", name, w.LastID)
		}
		if got := messageIDs(t, st, len(want)); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("%s: replay %v, want %v", name, got, want)
		}
	}
	check("header", srv.MustSubscribe(t, tok, "general", ids[2]), ids[3:])
	q, err := servertest.Open(context.Background(), srv.Client, srv.URL+"/api/rooms/general/events?last_event_id="+ids[3], tok, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(q.Close)
	check("query", q, ids[4:])
	// Both: the header wins (a browser reconnecting keeps the URL).
	both, err := servertest.Open(context.Background(), srv.Client, srv.URL+"/api/rooms/general/events?last_event_id="+ids[0], tok, ids[4])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(both.Close)
	check("both", both, ids[5:])
	// Caught up: nothing replayed, then live.
	up := srv.MustSubscribe(t, tok, "general", ids[5])
	nextOf(t, up, chat.EventWelcome)
	live := srv.Post(t, tok, "general", "live").ID
	if got := messageIDs(t, up, 1); got[0] != live {
		t.Fatalf("after catching up got %v, want %s", got, live)
	}
	// Resuming from before the first message replays all.
	check("zero", srv.MustSubscribe(t, tok, "general", "0"), append(ids[:6:6], live))
}

func TestResetTooFarBehind(t *testing.T) {
	srv := servertest.Start(t, servertest.WithConfig(func(c *server.Config) { c.ReplayMax = 3 }))
	tok := srv.Login(t, "dora")
	var ids []string
	for i := 0; i < 6; i++ {
		ids = append(ids, srv.Post(t, tok, "general", "m").ID)
	}
	// Exactly ReplayMax behind: replayed.
	st := srv.MustSubscribe(t, tok, "general", ids[2])
	nextOf(t, st, chat.EventWelcome)
	if got := messageIDs(t, st, 3); strings.Join(got, ",") != strings.Join(ids[3:], ",") {
		t.Fatalf("replay %v", got)
	}
	// One more: reset, then live messages.
	st = srv.MustSubscribe(t, tok, "general", ids[1])
	nextOf(t, st, chat.EventWelcome)
	var rs chat.Reset
	decode(t, nextOf(t, st, chat.EventReset), &rs)
	if rs.Reason != chat.ResetTooFarBehind || rs.Room != "general" {
		t.Fatalf("reset %+v", rs)
	}
	live := srv.Post(t, tok, "general", "live").ID
	if got := messageIDs(t, st, 1); got[0] != live {
		t.Fatalf("after reset got %v, want %s", got, live)
	}
}

func TestResetHistoryTrimmed(t *testing.T) {
	srv := servertest.Start(t, servertest.WithStore(func(dir string) (store.Store, error) {
		return sqlite.Open(filepath.Join(dir, "chat.db"), sqlite.Options{HistoryMax: 4})
	}))
	tok := srv.Login(t, "ed")
	var ids []string
	for i := 0; i < 30; i++ {
		ids = append(ids, srv.Post(t, tok, "general", "m").ID)
	}
	st := srv.MustSubscribe(t, tok, "general", ids[0])
	nextOf(t, st, chat.EventWelcome)
	var rs chat.Reset
	decode(t, nextOf(t, st, chat.EventReset), &rs)
	if rs.Reason != chat.ResetHistoryTrimmed {
		t.Fatalf("reset %+v", rs)
	}
}

func TestHeartbeat(t *testing.T) {
	srv := servertest.Start(t, servertest.WithConfig(func(c *server.Config) { c.Heartbeat = 30 * time.Millisecond }))
	tok := srv.Login(t, "fay")
	st := srv.MustSubscribe(t, tok, "general", "")
	nextOf(t, st, chat.EventWelcome)
	pings := 0
	for pings < 3 {
		ev, err := st.NextAny(wait)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Comment == "ping" && ev.Event == "" && !ev.HasID {
			pings++
		}
	}
}

// TestEventDataIsOneLine posts text that would forge SSE fields if written
// raw, and checks it arrives as one message with the same text.
func TestEventDataIsOneLine(t *testing.T) {
	srv := servertest.Start(t)
	tok := srv.Login(t, "gil")
	st := srv.MustSubscribe(t, tok, "general", "")
	nextOf(t, st, chat.EventWelcome)
	evil := "hi\n\ndata: forged\nevent: reset\nid: 999999\n\n: x\nretry: 1"
	m := srv.Post(t, tok, "general", evil)
	after := srv.Post(t, tok, "general", "after")
	ev := nextOf(t, st, chat.EventMessage)
	if strings.Contains(ev.Data, "\n") {
		t.Fatalf("data spans lines: %q", ev.Data)
	}
	var got chat.Message
	decode(t, ev, &got)
	if got.Text != evil || ev.ID != m.ID {
		t.Fatalf("got %q id %s", got.Text, ev.ID)
	}
	if ids := messageIDs(t, st, 1); ids[0] != after.ID {
		t.Fatalf("next message %v, want %s", ids, after.ID)
	}
}

// TestDuplicatePublishesNothing: a repeated client_id is answered but not
// relayed again.
func TestDuplicatePublishesNothing(t *testing.T) {
	srv := servertest.Start(t)
	tok := srv.Login(t, "hal")
	st := srv.MustSubscribe(t, tok, "general", "")
	nextOf(t, st, chat.EventWelcome)
	first := srv.PostMessage(t, tok, "general", chat.PostMessage{Text: "once", ClientID: "k1"})
	srv.PostMessage(t, tok, "general", chat.PostMessage{Text: "once", ClientID: "k1"})
	next := srv.Post(t, tok, "general", "next")
	if got := messageIDs(t, st, 2); got[0] != first.ID || got[1] != next.ID {
		t.Fatalf("got %v, want %s then %s", got, first.ID, next.ID)
	}
}

// TestShutdownEndsStreams: a graceful shutdown ends open streams cleanly
// (the client sees EOF and resumes), and the restarted server replays what
// the client missed.
func TestShutdownEndsStreams(t *testing.T) {
	srv := servertest.Start(t)
	tok := srv.Login(t, "ida")
	st := srv.MustSubscribe(t, tok, "general", "")
	nextOf(t, st, chat.EventWelcome)
	m1 := srv.Post(t, tok, "general", "one")
	messageIDs(t, st, 1)
	done := make(chan struct{})
	go func() { srv.Restart(); close(done) }()
	for {
		_, err := st.NextAny(wait)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("stream ended with %v, want a clean EOF", err)
		}
	}
	<-done
	tok = srv.Login(t, "ida")
	m2 := srv.Post(t, tok, "general", "two")
	st2 := srv.MustSubscribe(t, tok, "general", m1.ID)
	nextOf(t, st2, chat.EventWelcome)
	if got := messageIDs(t, st2, 1); got[0] != m2.ID {
		t.Fatalf("after restart got %v, want %s", got, m2.ID)
	}
}

// TestShutdownRefusesNewStreams: after Shutdown nothing new is accepted.
func TestShutdownRefusesNewStreams(t *testing.T) {
	srv := servertest.Start(t)
	tok := srv.Login(t, "jo")
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := srv.Server.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	// The listener is closed: nothing new gets in.
	req, _ := http.NewRequest("GET", srv.URL+"/healthz", nil)
	if resp, err := srv.Client.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("a request after shutdown got %d", resp.StatusCode)
	}
	if _, err := srv.Subscribe(ctx, tok, "general", ""); err == nil {
		t.Fatal("a stream started after shutdown")
	}
}
