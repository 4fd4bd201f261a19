package server_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/servertest"
)

// TestHeadOnAStream: HEAD on an event stream answers what a GET would
// (its status after the auth and room checks, its header fields) with no
// body, and opens nothing: no stream counted, no presence join or leave
// seen by the room's other streams (issue 19, item 5).
func TestHeadOnAStream(t *testing.T) {
	srv := servertest.Start(t)
	watcher := srv.Login(t, "watcher")
	tok := srv.Login(t, "heady")
	st := srv.MustSubscribe(t, watcher, "general", "")
	var w chat.Welcome
	decode(t, nextOf(t, st, chat.EventWelcome), &w)
	if strings.Join(w.Online, ",") != "watcher" {
		t.Fatalf("welcome online %v, want the watcher alone", w.Online)
	}
	before := srv.Server.Stats()

	c, err := net.Dial("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(wait))
	br := bufio.NewReader(c)
	// Three requests on one connection: were a body sent after a HEAD
	// answer, the next answer would not parse.
	for _, want := range []struct {
		path, token string
		status      int
	}{
		{"/api/rooms/general/events", tok, http.StatusOK},
		{"/api/rooms/general/events", "", http.StatusUnauthorized},
		{"/api/rooms/nowhere/events", tok, http.StatusNotFound},
	} {
		auth := ""
		if want.token != "" {
			auth = "Authorization: Bearer " + want.token + "\r\n"
		}
		fmt.Fprintf(c, "HEAD %s HTTP/1.1\r\nHost: %s\r\n%sAccept: text/event-stream\r\n\r\n", want.path, srv.Addr, auth)
		resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodHead})
		if err != nil {
			t.Fatalf("HEAD %s: %v", want.path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != want.status {
			t.Fatalf("HEAD %s: %d, want %d", want.path, resp.StatusCode, want.status)
		}
		if want.status != http.StatusOK {
			continue
		}
		for k, v := range map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no", "X-Content-Type-Options": "nosniff"} {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("HEAD: %s is %q, want %q", k, got, v)
			}
		}
	}
	fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", srv.Addr)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("the answer after the HEADs does not parse (a HEAD sent a body?): %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()

	after := srv.Server.Stats()
	if after.StreamsOpen != before.StreamsOpen || after.StreamsTotal != before.StreamsTotal {
		t.Fatalf("stats before %+v, after %+v: a HEAD opened a stream", before, after)
	}
	// The watcher's next event is this message: no presence came first.
	m := srv.Post(t, watcher, "general", "only this")
	for {
		ev, err := st.Next(wait)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Event == chat.EventPresence {
			t.Fatalf("a HEAD was announced: %s", ev.Data)
		}
		if ev.Event == chat.EventMessage {
			if ev.ID != m.ID {
				t.Fatalf("message %s, want %s", ev.ID, m.ID)
			}
			break
		}
	}
}
