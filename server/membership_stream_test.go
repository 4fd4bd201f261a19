package server_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/servertest"
)

// TestPrivateRoomStream: the event stream asks the same membership rule as
// every other endpoint. A member of a private room follows it; an outsider
// is answered as for a room that does not exist, before any stream starts.
func TestPrivateRoomStream(t *testing.T) {
	onBothStores(t, func(t *testing.T, start func(...servertest.Option) *servertest.Server) {
		srv := start()
		alice, bob, carol := srv.Login(t, "alice"), srv.Login(t, "bob"), srv.Login(t, "carol")
		wantStatus(t, "create team", putRoom(t, srv, alice, "team", map[string]any{"kind": "private"}), 201)
		wantStatus(t, "add bob", srv.Do(t, http.MethodPut, "/api/rooms/team/members/bob", alice, nil), 201)

		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		st, err := srv.Subscribe(ctx, bob, "team", "")
		if err != nil {
			t.Fatalf("a member's stream of a private room: %v", err)
		}
		defer st.Close()
		if ev, err := st.Next(5 * time.Second); err != nil || ev.Event != chat.EventWelcome {
			t.Fatalf("first event %+v (%v), want welcome", ev, err)
		}
		sent := srv.Post(t, alice, "team", "for members only")
		for {
			ev, err := st.Next(5 * time.Second)
			if err != nil {
				t.Fatalf("waiting for the message: %v", err)
			}
			if ev.Event != chat.EventMessage {
				continue
			}
			var m chat.Message
			if err := ev.Decode(&m); err != nil || m.ID != sent.ID {
				t.Fatalf("message %s (%v), want %s", ev.Data, err, sent.ID)
			}
			break
		}

		for _, room := range []string{"team", "no-such-room"} {
			_, err := srv.Subscribe(ctx, carol, room, "")
			var se *servertest.StatusError
			if !errors.As(err, &se) || se.Status != http.StatusNotFound {
				t.Fatalf("outsider's stream of %s: %v, want 404", room, err)
			}
		}
	})
}
