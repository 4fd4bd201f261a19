package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/r3labs/sse/v2"
	"gopkg.in/cenkalti/backoff.v1"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/servertest"
)

// TestR3labsPeer uses github.com/r3labs/sse/v2's Client, the SSE client the
// Go client library builds on, as a peer: it receives messages, and after the
// server restarts it resumes with Last-Event-ID and loses nothing posted
// while it was away. The wrapping follows NOTES.md: the library returns nil
// on a clean EOF and never reconnects, and its own backoff ignores the
// context, so an outer loop reconnects and the library's backoff is off.
func TestR3labsPeer(t *testing.T) {
	srv := servertest.Start(t)
	tok := srv.Login(t, "peer")

	httpc := &http.Client{Transport: &http.Transport{}}
	defer httpc.CloseIdleConnections()
	c := sse.NewClient(srv.URL+"/api/rooms/general/events", sse.ClientMaxBufferSize(1<<20))
	c.Connection = httpc
	c.Headers["Authorization"] = "Bearer " + tok
	c.ReconnectStrategy = &backoff.StopBackOff{}
	c.ResponseValidator = func(_ *sse.Client, resp *http.Response) error {
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return &backoff.PermanentError{Err: fmt.Errorf("stream refused: %d", resp.StatusCode)}
		}
		return nil
	}

	events := make(chan *sse.Event, 1000)
	connects := make(chan struct{}, 10) // one token per permitted (re)connection
	ctx, cancel := context.WithCancel(context.Background())
	loopDone := make(chan struct{})
	go func() {
		defer close(loopDone)
		for {
			select {
			case <-connects:
			case <-ctx.Done():
				return
			}
			_ = c.SubscribeRawWithContext(ctx, func(e *sse.Event) {
				// The handler must never block the library's reader.
				select {
				case events <- e:
				default:
				}
			})
		}
	}()
	defer func() { cancel(); <-loopDone }()

	nextMessage := func() chat.Message {
		t.Helper()
		timeout := time.After(wait)
		for {
			select {
			case e := <-events:
				if string(e.Event) != chat.EventMessage || len(e.Data) == 0 {
					continue
				}
				var m chat.Message
				if err := json.Unmarshal(e.Data, &m); err != nil {
					t.Fatal(err)
				}
				if string(e.ID) != m.ID {
					t.Fatalf("event id %q for message %q", e.ID, m.ID)
				}
				return m
			case <-timeout:
				t.Fatal("no message event reached the r3labs client")
			}
		}
	}
	waitWelcome := func() {
		t.Helper()
		timeout := time.After(wait)
		for {
			select {
			case e := <-events:
				if string(e.Event) == chat.EventWelcome {
					return
				}
			case <-timeout:
				t.Fatal("no welcome reached the r3labs client")
			}
		}
	}

	connects <- struct{}{}
	waitWelcome()
	var want, got []string
	for i := 0; i < 5; i++ {
		want = append(want, srv.Post(t, tok, "general", fmt.Sprintf("before %d", i)).ID)
	}
	for range 5 {
		got = append(got, nextMessage().ID)
	}

	// Restart; the client stays away until messages were posted meanwhile.
	srv.Restart()
	for i := 0; i < 5; i++ {
		want = append(want, srv.Post(t, tok, "general", fmt.Sprintf("while away %d", i)).ID)
	}
	if id, _ := c.LastEventID.Load().([]byte); string(id) != got[len(got)-1] {
		t.Fatalf("the client's last event id is %q, want %q", id, got[len(got)-1])
	}
	connects <- struct{}{}
	waitWelcome()
	for range 5 {
		got = append(got, nextMessage().ID)
	}
	want = append(want, srv.Post(t, tok, "general", "live again").ID)
	got = append(got, nextMessage().ID)
	if !slices.Equal(got, want) {
		t.Fatalf("the r3labs client got %v, want %v", got, want)
	}
}
