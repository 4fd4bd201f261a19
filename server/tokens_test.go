package server_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server"
	"github.com/ssechat/chat/server/servertest"
)

// makeToken makes a personal access token for the session token's account
// and returns what the server answered.
func makeToken(t *testing.T, srv *servertest.Server, session, name string, rooms ...string) chat.TokenInfo {
	t.Helper()
	r := srv.Do(t, http.MethodPost, "/api/me/tokens", session, chat.NewToken{Name: name, Rooms: rooms})
	if r.Status != http.StatusCreated {
		t.Fatalf("make token: %d %s", r.Status, r.Body)
	}
	var info chat.TokenInfo
	r.Decode(t, &info)
	if !strings.HasPrefix(info.Token, server.TokenPrefix) || info.ID == "" || info.Name != name {
		t.Fatalf("made token %+v: want a %s token with an id and name %q", info, server.TokenPrefix, name)
	}
	return info
}

func wantAnswer(t *testing.T, what string, r *servertest.Response, status int, code string) {
	t.Helper()
	if r.Status != status || (code != "" && r.Error().Code != code) {
		t.Fatalf("%s: %d %s, want %d %s", what, r.Status, r.Body, status, code)
	}
}

func TestAccessTokenLifecycle(t *testing.T) {
	srv := servertest.Start(t)
	alice := srv.Login(t, "alice")
	bob := srv.Login(t, "bob")
	tok := makeToken(t, srv, alice, "deploy bot")

	// The token authenticates as its owner, by the Authorization header only.
	var me chat.Me
	r := srv.Do(t, http.MethodGet, "/api/me", tok.Token, nil)
	wantAnswer(t, "GET /api/me with the token", r, http.StatusOK, "")
	if r.Decode(t, &me); me.Nick != "alice" {
		t.Fatalf("the token is %q's, want alice's", me.Nick)
	}
	wantAnswer(t, "the token as a cookie", srv.Do(t, http.MethodGet, "/api/me", "", nil, "Cookie", server.CookieName+"="+tok.Token), http.StatusUnauthorized, "unauthorized")
	wantAnswer(t, "the token in the query", srv.Do(t, http.MethodGet, "/api/me?access_token="+tok.Token, "", nil), http.StatusUnauthorized, "unauthorized")
	srv.Post(t, tok.Token, "general", "posted by a token")

	// Listed without its secret; stored only as a hash.
	r = srv.Do(t, http.MethodGet, "/api/me/tokens", alice, nil)
	wantAnswer(t, "list tokens", r, http.StatusOK, "")
	if strings.Contains(string(r.Body), tok.Token) {
		t.Fatalf("the list shows the secret: %s", r.Body)
	}
	var list chat.TokenList
	if r.Decode(t, &list); len(list.Tokens) != 1 || list.Tokens[0].ID != tok.ID || list.Tokens[0].Token != "" {
		t.Fatalf("list = %+v, want the one token without its secret", list)
	}
	if stored, err := srv.Store.TokenByHash(t.Context(), server.TokenHash(tok.Token)); err != nil || stored.ID != tok.ID {
		t.Fatalf("the store does not hold the token by its hash: %+v, %v", stored, err)
	}
	if r := srv.Do(t, http.MethodGet, "/api/me/tokens", bob, nil); strings.Contains(string(r.Body), tok.ID) {
		t.Fatalf("bob's list shows alice's token: %s", r.Body)
	}

	// A token manages no tokens and logs nothing out.
	wantAnswer(t, "make a token with a token", srv.Do(t, http.MethodPost, "/api/me/tokens", tok.Token, chat.NewToken{Name: "more"}), http.StatusForbidden, "token_forbidden")
	wantAnswer(t, "list tokens with a token", srv.Do(t, http.MethodGet, "/api/me/tokens", tok.Token, nil), http.StatusForbidden, "token_forbidden")
	wantAnswer(t, "revoke with a token", srv.Do(t, http.MethodDelete, "/api/me/tokens/"+tok.ID, tok.Token, nil), http.StatusForbidden, "token_forbidden")
	wantAnswer(t, "log out with a token", srv.Do(t, http.MethodDelete, "/api/session", tok.Token, nil), http.StatusForbidden, "token_forbidden")

	wantAnswer(t, "bad name", srv.Do(t, http.MethodPost, "/api/me/tokens", alice, chat.NewToken{Name: " "}), http.StatusUnprocessableEntity, "bad_token_name")
	wantAnswer(t, "bad room", srv.Do(t, http.MethodPost, "/api/me/tokens", alice, chat.NewToken{Name: "x", Rooms: []string{"no room!"}}), http.StatusUnprocessableEntity, "")

	wantAnswer(t, "bob revokes alice's token", srv.Do(t, http.MethodDelete, "/api/me/tokens/"+tok.ID, bob, nil), http.StatusNotFound, "token_not_found")
	wantAnswer(t, "revoke", srv.Do(t, http.MethodDelete, "/api/me/tokens/"+tok.ID, alice, nil), http.StatusNoContent, "")
	wantAnswer(t, "the revoked token", srv.Do(t, http.MethodGet, "/api/me", tok.Token, nil), http.StatusUnauthorized, "unauthorized")
	wantAnswer(t, "revoke twice", srv.Do(t, http.MethodDelete, "/api/me/tokens/"+tok.ID, alice, nil), http.StatusNotFound, "token_not_found")
}

// TestAccessTokenScopes: a token limited to rooms answers about every other
// room, on every endpoint that names one, as if it did not exist.
func TestAccessTokenScopes(t *testing.T) {
	srv := servertest.Start(t)
	alice := srv.Login(t, "alice")
	srv.CreateRoom(t, alice, "ops")
	srv.CreateRoom(t, alice, "dev")
	tok := makeToken(t, srv, alice, "ops bot", "ops").Token

	var rooms chat.RoomList
	srv.Do(t, http.MethodGet, "/api/rooms", tok, nil).Decode(t, &rooms)
	if len(rooms.Rooms) != 1 || rooms.Rooms[0].Name != "ops" {
		t.Fatalf("GET /api/rooms with an ops token = %+v, want only ops", rooms.Rooms)
	}
	endpoints := []struct{ method, path string }{
		{http.MethodGet, "/members"},
		{http.MethodGet, "/messages"},
		{http.MethodPost, "/messages"},
		{http.MethodPost, "/typing"},
		{http.MethodPut, ""},
		{http.MethodHead, "/events"},
		{http.MethodGet, "/hooks"},
		{http.MethodPost, "/hooks"},
		{http.MethodDelete, "/hooks/nohook"},
		{http.MethodPut, "/members/alice"},
		{http.MethodDelete, ""},
	}
	bodies := map[string]any{"/messages": chat.PostMessage{Text: "hi"}, "/hooks": map[string]string{"name": "ci"}}
	for _, room := range []string{"dev", "nowhere"} {
		for _, e := range endpoints {
			var body any
			if e.method == http.MethodPost || e.method == http.MethodPut {
				body = bodies[e.path]
			}
			r := srv.Do(t, e.method, "/api/rooms/"+room+e.path, tok, body)
			if r.Status != http.StatusNotFound || (e.method != http.MethodHead && r.Error().Code != "room_not_found") {
				t.Errorf("%s %s with an ops token: %d %s, want 404 room_not_found", e.method, "/api/rooms/"+room+e.path, r.Status, r.Body)
			}
		}
	}
	_, err := srv.Subscribe(t.Context(), tok, "dev", "")
	var se *servertest.StatusError
	if !errors.As(err, &se) || se.Status != http.StatusNotFound || !strings.Contains(string(se.Body), "room_not_found") {
		t.Fatalf("stream of dev with an ops token: %v, want 404 room_not_found", err)
	}
	// The same requests about ops work.
	for _, e := range endpoints {
		var body any
		if e.method == http.MethodPost || e.method == http.MethodPut {
			body = bodies[e.path]
		}
		if e.method == http.MethodDelete && e.path == "" {
			continue // ops stays for what follows
		}
		r := srv.Do(t, e.method, "/api/rooms/ops"+e.path, tok, body)
		if e.path == "/hooks/nohook" && r.Error().Code == "hook_not_found" {
			continue // the room is known: only the hook is not
		}
		if r.Status >= 300 {
			t.Errorf("%s /api/rooms/ops%s with an ops token: %d %s", e.method, e.path, r.Status, r.Body)
		}
	}
	srv.MustSubscribe(t, tok, "ops", "")

	var mine chat.MyRooms
	srv.Do(t, http.MethodGet, "/api/me/rooms", tok, nil).Decode(t, &mine)
	for _, r := range mine.Rooms {
		if r.Name != "ops" {
			t.Errorf("GET /api/me/rooms with an ops token lists %s", r.Name)
		}
	}
	srv.Login(t, "bob")
	wantAnswer(t, "a direct room with a limited token", srv.Do(t, http.MethodPost, "/api/dms", tok, map[string]any{"nicks": []string{"bob"}}), http.StatusForbidden, "token_forbidden")
}

// endsSoon fails unless the stream ends within a few seconds (the
// contract's second, with room for a loaded machine).
func endsSoon(t *testing.T, what string, stream *servertest.Stream) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		_, err := stream.NextAny(time.Until(deadline))
		if err == nil {
			continue
		}
		if errors.Is(err, servertest.ErrTimeout) {
			break
		}
		return // ended: io.EOF or a read error
	}
	t.Fatalf("%s: the stream is still open", what)
}

func TestTokenRevocationEndsStreams(t *testing.T) {
	srv := servertest.Start(t)
	alice := srv.Login(t, "alice")

	t.Run("token revoked through the API", func(t *testing.T) {
		tok := makeToken(t, srv, alice, "bot")
		stream := srv.MustSubscribe(t, tok.Token, "general", "")
		other := srv.MustSubscribe(t, alice, "general", "")
		// A token that stands keeps its stream through the revocation
		// sweeps (every 400 ms), which look for sessions first: the wait
		// lets two of them pass.
		time.Sleep(time.Second)
		srv.Post(t, alice, "general", "the token's stream is open")
		for {
			ev, err := stream.Next(5 * time.Second)
			if err != nil {
				t.Fatalf("the stream of a valid token ended: %v", err)
			}
			if ev.Event == chat.EventMessage {
				break
			}
		}
		wantAnswer(t, "revoke", srv.Do(t, http.MethodDelete, "/api/me/tokens/"+tok.ID, alice, nil), http.StatusNoContent, "")
		endsSoon(t, "the revoked token's stream", stream)
		srv.Post(t, alice, "general", "still here")
		for {
			ev, err := other.Next(5 * time.Second)
			if err != nil {
				t.Fatalf("the session's stream ended with the token's: %v", err)
			}
			if ev.Event == chat.EventMessage {
				break
			}
		}
	})
	t.Run("token deleted in the store, as chat-server token del does", func(t *testing.T) {
		tok := makeToken(t, srv, alice, "bot2")
		stream := srv.MustSubscribe(t, tok.Token, "general", "")
		if _, err := srv.Store.DeleteToken(t.Context(), "alice", tok.ID); err != nil {
			t.Fatal(err)
		}
		endsSoon(t, "the stream of a token deleted in the store", stream)
	})
	t.Run("logout", func(t *testing.T) {
		session := srv.Login(t, "alice")
		stream := srv.MustSubscribe(t, session, "general", "")
		wantAnswer(t, "log out", srv.Do(t, http.MethodDelete, "/api/session", session, nil), http.StatusNoContent, "")
		endsSoon(t, "the stream of a logged-out session", stream)
	})
}
