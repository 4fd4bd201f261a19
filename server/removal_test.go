package server_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/internal/clustertest"
	"github.com/ssechat/chat/internal/testenv"
	"github.com/ssechat/chat/server/servertest"
	"github.com/ssechat/chat/server/store"
	"github.com/ssechat/chat/server/store/redis"
)

// removalBound is how soon a removal must end a stream on the node that
// made it (docs/api.md, issue 12); clusterRemovalBound across nodes.
const (
	removalBound        = time.Second
	clusterRemovalBound = 2 * time.Second
)

// welcomed opens room's stream for token and reads its welcome.
func welcomed(t *testing.T, srv *servertest.Server, token, room, lastID string) *servertest.Stream {
	t.Helper()
	st := srv.MustSubscribe(t, token, room, lastID)
	if ev, err := st.Next(5 * time.Second); err != nil || ev.Event != chat.EventWelcome {
		t.Fatalf("first event of %s: %+v (%v), want welcome", room, ev, err)
	}
	return st
}

// endsWithRemoved reads st until it ends and checks that its last event was
// removed {room, by}; it returns how long that took from since.
func endsWithRemoved(t *testing.T, st *servertest.Stream, room, by string, since time.Time) time.Duration {
	t.Helper()
	return endsWith(t, st, chat.Removed{Room: room, By: by}, since)
}

// endsWith reads st to its end, which must be the removed event want, and
// returns how long after since it ended.
func endsWith(t *testing.T, st *servertest.Stream, want chat.Removed, since time.Time) time.Duration {
	t.Helper()
	room := want.Room
	var last servertest.Event
	for {
		ev, err := st.Next(10 * time.Second)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("waiting for the stream of %s to end: %v (last event %+v)", room, err, last)
		}
		last = ev
	}
	took := time.Since(since)
	var rm chat.Removed
	if last.Event != chat.EventRemoved || last.Decode(&rm) != nil || rm != want {
		t.Fatalf("last event %q %s, want removed %+v", last.Event, last.Data, want)
	}
	return took
}

// waitMessage reads st until the message with id arrives.
func waitMessage(t *testing.T, st *servertest.Stream, id string) {
	t.Helper()
	for {
		ev, err := st.Next(5 * time.Second)
		if err != nil {
			t.Fatalf("waiting for message %s: %v", id, err)
		}
		var m chat.Message
		if ev.Event == chat.EventMessage && ev.Decode(&m) == nil && m.ID == id {
			return
		}
	}
}

func wantStreamStatus(t *testing.T, srv *servertest.Server, token, room, lastID string, status int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := srv.Subscribe(ctx, token, room, lastID)
	if err == nil {
		st.Close()
	}
	var se *servertest.StatusError
	if !errors.As(err, &se) || se.Status != status {
		t.Fatalf("stream of %s (Last-Event-ID %q): %v, want %d", room, lastID, err, status)
	}
}

// TestRemovalEndsStreams: a removal ends the removed member's open streams
// of the room (every one of them) with removed {room, by} within a second,
// and its next request about the room, a resume with Last-Event-ID
// included, is 404; the other members' streams go on.
func TestRemovalEndsStreams(t *testing.T) {
	onBothStores(t, func(t *testing.T, start func(...servertest.Option) *servertest.Server) {
		srv := start()
		alice, bob := srv.Login(t, "alice"), srv.Login(t, "bob")
		wantStatus(t, "create team", putRoom(t, srv, alice, "team", map[string]any{"kind": "private"}), 201)
		wantStatus(t, "add bob", srv.Do(t, http.MethodPut, "/api/rooms/team/members/bob", alice, nil), 201)
		seen := srv.Post(t, alice, "team", "before")
		bob1, bob2 := welcomed(t, srv, bob, "team", ""), welcomed(t, srv, bob, "team", "")
		mine := welcomed(t, srv, alice, "team", "")

		at := time.Now()
		wantStatus(t, "remove bob", srv.Do(t, http.MethodDelete, "/api/rooms/team/members/bob", alice, nil), 204)
		for _, st := range []*servertest.Stream{bob1, bob2} {
			if took := endsWithRemoved(t, st, "team", "alice", at); took > removalBound {
				t.Fatalf("the removed member's stream ended %v after the removal, want within %v", took, removalBound)
			}
		}
		wantStreamStatus(t, srv, bob, "team", seen.ID, http.StatusNotFound)
		wantStreamStatus(t, srv, bob, "team", "", http.StatusNotFound)
		wantStatus(t, "history after removal", srv.Do(t, http.MethodGet, "/api/rooms/team/messages", bob, nil), 404)
		waitMessage(t, mine, srv.Post(t, alice, "team", "after").ID)
	})
}

// TestLeaveEndsPrivateStreams: leaving a private room (on another device)
// ends the account's streams of it with removed {room, by: itself};
// leaving a public room, which stays readable, ends nothing.
func TestLeaveEndsPrivateStreams(t *testing.T) {
	srv := servertest.Start(t)
	alice, bob := srv.Login(t, "alice"), srv.Login(t, "bob")
	wantStatus(t, "create team", putRoom(t, srv, alice, "team", map[string]any{"kind": "private"}), 201)
	wantStatus(t, "add bob", srv.Do(t, http.MethodPut, "/api/rooms/team/members/bob", alice, nil), 201)
	wantStatus(t, "create lobby", putRoom(t, srv, alice, "lobby", map[string]any{}), 201)
	wantStatus(t, "bob joins lobby", srv.Do(t, http.MethodPut, "/api/rooms/lobby/members/bob", bob, nil), 201)
	team, lobby := welcomed(t, srv, bob, "team", ""), welcomed(t, srv, bob, "lobby", "")

	at := time.Now()
	wantStatus(t, "bob leaves team", srv.Do(t, http.MethodDelete, "/api/rooms/team/members/bob", bob, nil), 204)
	if took := endsWithRemoved(t, team, "team", "bob", at); took > removalBound {
		t.Fatalf("the stream ended %v after leaving, want within %v", took, removalBound)
	}
	wantStatus(t, "bob leaves lobby", srv.Do(t, http.MethodDelete, "/api/rooms/lobby/members/bob", bob, nil), 204)
	waitMessage(t, lobby, srv.Post(t, alice, "lobby", "still readable").ID)
}

// TestDeleteRoomEndsStreams: deleting a room ends every stream of it, the
// deleter's own included, with removed {room, by: the deleter, deleted:
// true}; the next request is 404.
func TestDeleteRoomEndsStreams(t *testing.T) {
	onBothStores(t, func(t *testing.T, start func(...servertest.Option) *servertest.Server) {
		srv := start()
		alice, bob := srv.Login(t, "alice"), srv.Login(t, "bob")
		wantStatus(t, "create lobby", putRoom(t, srv, alice, "lobby", map[string]any{}), 201)
		streams := []*servertest.Stream{welcomed(t, srv, alice, "lobby", ""), welcomed(t, srv, bob, "lobby", "")}
		at := time.Now()
		wantStatus(t, "delete lobby", srv.Do(t, http.MethodDelete, "/api/rooms/lobby", alice, nil), 204)
		for _, st := range streams {
			if took := endsWith(t, st, chat.Removed{Room: "lobby", By: "alice", Deleted: true}, at); took > removalBound {
				t.Fatalf("a stream of the deleted room ended %v after, want within %v", took, removalBound)
			}
		}
		wantStreamStatus(t, srv, bob, "lobby", "", http.StatusNotFound)
	})
}

// TestRoleChangeKeepsStream: a member promoted to admin and demoted again
// while its stream is open keeps the stream and its messages.
func TestRoleChangeKeepsStream(t *testing.T) {
	srv := servertest.Start(t)
	alice, bob := srv.Login(t, "alice"), srv.Login(t, "bob")
	wantStatus(t, "create team", putRoom(t, srv, alice, "team", map[string]any{"kind": "private"}), 201)
	wantStatus(t, "add bob", srv.Do(t, http.MethodPut, "/api/rooms/team/members/bob", alice, nil), 201)
	st := welcomed(t, srv, bob, "team", "")
	for _, role := range []string{chat.RoleAdmin, chat.RoleMember} {
		wantStatus(t, "make bob "+role, srv.Do(t, http.MethodPut, "/api/rooms/team/members/bob", alice, map[string]any{"role": role}), 200)
		waitMessage(t, st, srv.Post(t, alice, "team", "you are "+role).ID)
	}
}

// TestClusterRemovalEndsStream: a removal made on node A ends the removed
// member's stream open on node B, over one real redis-server, within two
// seconds of the DELETE, measured here.
func TestClusterRemovalEndsStream(t *testing.T) {
	testenv.SkipShort(t, "runs redis-server")
	rd := clustertest.StartRedis(t, clustertest.RedisOptions{})
	prefix := fmt.Sprintf("rm%d:", redisPrefixes.Add(1))
	open := servertest.WithStore(func(string) (store.Store, error) {
		return redis.Open(context.Background(), rd.URL(0), redis.Options{Prefix: prefix})
	})
	a, b := servertest.Start(t, open), servertest.Start(t, open)
	alice, bob := a.Login(t, "alice"), b.Login(t, "bob")
	wantStatus(t, "create team", putRoom(t, a, alice, "team", map[string]any{"kind": "private"}), 201)
	wantStatus(t, "add bob", a.Do(t, http.MethodPut, "/api/rooms/team/members/bob", alice, nil), 201)
	onB := welcomed(t, b, bob, "team", "")
	waitMessage(t, onB, a.Post(t, alice, "team", "across nodes").ID)

	at := time.Now()
	wantStatus(t, "remove bob on A", a.Do(t, http.MethodDelete, "/api/rooms/team/members/bob", alice, nil), 204)
	took := endsWithRemoved(t, onB, "team", "alice", at)
	t.Logf("the stream on node B ended %v after the removal on node A", took)
	if took > clusterRemovalBound {
		t.Fatalf("the stream on node B ended %v after the removal on node A, want within %v", took, clusterRemovalBound)
	}
	wantStreamStatus(t, b, bob, "team", "", http.StatusNotFound)
}

// TestAnonymousStream: without a session, a public_read room's stream is
// followed (no presence join: nobody appears online), while a public room
// that is not public_read, a private room and a missing room all answer
// 401 unauthorized, alike.
func TestAnonymousStream(t *testing.T) {
	onBothStores(t, func(t *testing.T, start func(...servertest.Option) *servertest.Server) {
		srv := start()
		alice := srv.Login(t, "alice")
		wantStatus(t, "create wall", putRoom(t, srv, alice, "wall", map[string]any{"public_read": true}), 201)
		wantStatus(t, "create lobby", putRoom(t, srv, alice, "lobby", map[string]any{}), 201)
		wantStatus(t, "create team", putRoom(t, srv, alice, "team", map[string]any{"kind": "private"}), 201)

		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		st, err := srv.Subscribe(ctx, "", "wall", "")
		if err != nil {
			t.Fatalf("anonymous stream of a public_read room: %v", err)
		}
		defer st.Close()
		ev, err := st.Next(5 * time.Second)
		var w chat.Welcome
		if err != nil || ev.Event != chat.EventWelcome || ev.Decode(&w) != nil || w.Nick != "" || len(w.Online) != 0 {
			t.Fatalf("first event %+v (%v), want a welcome with no nick and nobody online", ev, err)
		}
		waitMessage(t, st, srv.Post(t, alice, "wall", "on the wall").ID)
		var members chat.Members
		srv.Do(t, http.MethodGet, "/api/rooms/wall/members", alice, nil).Decode(t, &members)
		if len(members.Online) != 0 {
			t.Fatalf("online in wall %v, want nobody: an anonymous reader joins no presence", members.Online)
		}

		var bodies []string
		for _, room := range []string{"lobby", "team", "no-such-room"} {
			_, err := srv.Subscribe(ctx, "", room, "")
			var se *servertest.StatusError
			if !errors.As(err, &se) || se.Status != http.StatusUnauthorized {
				t.Fatalf("anonymous stream of %s: %v, want 401", room, err)
			}
			bodies = append(bodies, string(se.Body))
		}
		if bodies[0] != bodies[1] || bodies[1] != bodies[2] {
			t.Fatalf("anonymous answers differ: %q", bodies)
		}
	})
}

// TestRevocationEndsStreams: what chat-server user passwd and user del do
// beside a running server (revoke every session of the account, delete
// the account), done here through a second handle on the same SQLite file
// as the command does, ends every open stream of the account within a
// second, in every room; another account's stream goes on.
func TestRevocationEndsStreams(t *testing.T) {
	for _, how := range []string{"passwd", "del"} {
		t.Run(how, func(t *testing.T) {
			srv := servertest.Start(t)
			alice, bob := srv.Login(t, "alice"), srv.Login(t, "bob")
			srv.CreateRoom(t, bob, "lobby")
			streams := []*servertest.Stream{welcomed(t, srv, alice, chat.DefaultRoom, ""), welcomed(t, srv, alice, "lobby", "")}
			other := welcomed(t, srv, bob, "lobby", "")

			cli, err := servertest.OpenSQLite(srv.Dir)
			if err != nil {
				t.Fatal(err)
			}
			defer cli.Close()
			ctx := context.Background()
			at := time.Now()
			if how == "passwd" {
				err = cli.DeleteSessions(ctx, "alice")
			} else {
				err = cli.DeleteAccount(ctx, "alice")
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, st := range streams {
				if took := endsQuietly(t, st, at); took > removalBound {
					t.Fatalf("a stream of the revoked account ended %v after, want within %v", took, removalBound)
				}
			}
			wantStreamStatus(t, srv, alice, "lobby", "", http.StatusUnauthorized)
			waitMessage(t, other, srv.Post(t, bob, "lobby", "still here").ID)
		})
	}
}

// TestClusterRevocationEndsStream: a logout on node A ends the session's
// stream open on node B within two seconds.
func TestClusterRevocationEndsStream(t *testing.T) {
	testenv.SkipShort(t, "runs redis-server")
	rd := clustertest.StartRedis(t, clustertest.RedisOptions{})
	prefix := fmt.Sprintf("rv%d:", redisPrefixes.Add(1))
	open := servertest.WithStore(func(string) (store.Store, error) {
		return redis.Open(context.Background(), rd.URL(0), redis.Options{Prefix: prefix})
	})
	a, b := servertest.Start(t, open), servertest.Start(t, open)
	alice := a.Login(t, "alice")
	onB := welcomed(t, b, alice, chat.DefaultRoom, "")
	at := time.Now()
	wantStatus(t, "logout on A", a.Do(t, http.MethodDelete, "/api/session", alice, nil), 204)
	took := endsQuietly(t, onB, at)
	t.Logf("the stream on node B ended %v after the logout on node A", took)
	if took > clusterRemovalBound {
		t.Fatalf("the stream on node B ended %v after the logout on node A, want within %v", took, clusterRemovalBound)
	}
}

// endsQuietly reads st until the server ends it and returns how long that
// took from since.
func endsQuietly(t *testing.T, st *servertest.Stream, since time.Time) time.Duration {
	t.Helper()
	for {
		_, err := st.Next(10 * time.Second)
		if errors.Is(err, io.EOF) {
			return time.Since(since)
		}
		if err != nil {
			t.Fatalf("waiting for the stream to end: %v", err)
		}
	}
}

// TestRecreatedRoomResume: a client still holding an id of a deleted room
// resumes on a room made again under its name with a reset or with every
// message of the new room, never with a silent skip of the new room's
// first messages (SQLite numbered the new room from 1 again, so an old id
// 3 skipped the new 1 to 3).
func TestRecreatedRoomResume(t *testing.T) {
	onBothStores(t, func(t *testing.T, start func(...servertest.Option) *servertest.Server) {
		srv := start()
		alice := srv.Login(t, "alice")
		srv.CreateRoom(t, alice, "lobby")
		var old []chat.Message
		for i := range 5 {
			old = append(old, srv.Post(t, alice, "lobby", fmt.Sprintf("old %d", i)))
		}
		wantStatus(t, "delete lobby", srv.Do(t, http.MethodDelete, "/api/rooms/lobby", alice, nil), 204)
		srv.CreateRoom(t, alice, "lobby")
		var fresh []string
		for i := range 6 {
			fresh = append(fresh, srv.Post(t, alice, "lobby", fmt.Sprintf("new %d", i)).ID)
		}
		for _, resume := range []string{old[2].ID, old[4].ID} {
			st := welcomed(t, srv, alice, "lobby", resume)
			got := map[string]bool{}
			for !got[fresh[len(fresh)-1]] {
				ev, err := st.Next(5 * time.Second)
				if err != nil {
					t.Fatalf("resume from %s: %v after %v", resume, err, got)
				}
				if ev.Event == chat.EventReset {
					break
				}
				var m chat.Message
				if ev.Event == chat.EventMessage && ev.Decode(&m) == nil {
					got[m.ID] = true
				}
			}
			if got[fresh[len(fresh)-1]] {
				for _, id := range fresh {
					if !got[id] {
						t.Fatalf("resume from the deleted room's %s skipped the new room's %s (got %v)", resume, id, got)
					}
				}
			}
			st.Close()
		}
	})
}
