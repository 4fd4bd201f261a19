package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server"
	"github.com/ssechat/chat/server/servertest"
)

// makeHook makes an incoming webhook in room and returns it with its URL.
func makeHook(t testing.TB, srv *servertest.Server, token, room, name string) chat.HookInfo {
	t.Helper()
	r := srv.Do(t, http.MethodPost, "/api/rooms/"+room+"/hooks", token, chat.NewHook{Name: name})
	if r.Status != http.StatusCreated {
		t.Fatalf("make hook: %d %s", r.Status, r.Body)
	}
	var h chat.HookInfo
	r.Decode(t, &h)
	if h.ID == "" || h.Name != name || h.Room != room || !strings.HasPrefix(h.URL, srv.URL+"/hooks/"+h.ID+"/") {
		t.Fatalf("made hook %+v, want id, name %q, room %q and a URL under %s/hooks/", h, name, room, srv.URL)
	}
	return h
}

// hookPath is the path of a hook's URL.
func hookPath(t testing.TB, h chat.HookInfo) string {
	u, err := url.Parse(h.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Path
}

// postHook posts body with a content type to path, without any session.
func postHook(t testing.TB, srv *servertest.Server, path, contentType string, body any, header ...string) *servertest.Response {
	t.Helper()
	return srv.Do(t, http.MethodPost, path, "", body, append([]string{"Content-Type", contentType}, header...)...)
}

func lastMessages(t *testing.T, srv *servertest.Server, token, room string) []chat.Message {
	t.Helper()
	return srv.History(t, token, room, nil).Messages
}

func TestHookBodies(t *testing.T) {
	srv := servertest.Start(t)
	alice := srv.Login(t, "alice")
	srv.CreateRoom(t, alice, "ops")
	h := makeHook(t, srv, alice, "ops", "ci")
	path := hookPath(t, h)

	cases := []struct {
		name, ct string
		body     any
		text     string
	}{
		{"slack JSON with fields it ignores", "application/json",
			`{"text":"deploy *done*","username":"alice","icon_emoji":":ghost:","channel":"#x","attachments":[{"text":"a"}],"blocks":[],"mrkdwn":true}`, "deploy *done*"},
		{"form-encoded payload", "application/x-www-form-urlencoded",
			"payload=" + url.QueryEscape(`{"text":"from a form","unfurl_links":false}`), "from a form"},
		{"text/plain", "text/plain; charset=utf-8", "plain\nlines", "plain\nlines"},
	}
	for _, c := range cases {
		r := postHook(t, srv, path, c.ct, c.body)
		if r.Status != http.StatusOK || string(r.Body) != "ok" {
			t.Fatalf("%s: %d %q, want 200 ok", c.name, r.Status, r.Body)
		}
		msgs := lastMessages(t, srv, alice, "ops")
		m := msgs[len(msgs)-1]
		if m.Text != c.text || m.Nick != "ci" || m.Via != chat.ViaHook || m.Kind != chat.KindText {
			t.Fatalf("%s: stored %+v, want text %q by ci via hook", c.name, m, c.text)
		}
	}

	refusals := []struct {
		name, ct string
		body     any
		status   int
		code     string
	}{
		{"empty JSON text", "application/json", `{"text":"  "}`, http.StatusUnprocessableEntity, "text_empty"},
		{"empty body", "text/plain", "", http.StatusUnprocessableEntity, "text_empty"},
		{"no text field", "application/json", `{"blocks":[]}`, http.StatusUnprocessableEntity, "text_empty"},
		{"1 MB", "text/plain", strings.Repeat("x", 1<<20), http.StatusRequestEntityTooLarge, "body_too_large"},
		{"1 MB of JSON", "application/json", `{"text":"` + strings.Repeat("x", 1<<20) + `"}`, http.StatusRequestEntityTooLarge, "body_too_large"},
		{"form without payload", "application/x-www-form-urlencoded", "text=hi", http.StatusBadRequest, "bad_json"},
		{"broken JSON", "application/json", `{"text":`, http.StatusBadRequest, "bad_json"},
		{"another media type", "application/xml", "<text>hi</text>", http.StatusUnsupportedMediaType, "unsupported_media_type"},
		{"not UTF-8", "text/plain", "\xff\xfe", http.StatusUnprocessableEntity, "text_invalid_utf8"},
	}
	before := len(lastMessages(t, srv, alice, "ops"))
	for _, c := range refusals {
		r := postHook(t, srv, path, c.ct, c.body)
		if r.Status != c.status || r.Error().Code != c.code {
			t.Errorf("%s: %d %s, want %d %s", c.name, r.Status, r.Body, c.status, c.code)
		}
	}
	if after := len(lastMessages(t, srv, alice, "ops")); after != before {
		t.Fatalf("refused bodies stored %d messages", after-before)
	}
}

func TestHookLifecycle(t *testing.T) {
	srv := servertest.Start(t)
	alice := srv.Login(t, "alice")
	bob := srv.Login(t, "bob")
	h := makeHook(t, srv, alice, "general", "alerts")
	path := hookPath(t, h)
	secret := path[strings.LastIndex(path, "/")+1:]

	r := srv.Do(t, http.MethodGet, "/api/rooms/general/hooks", bob, nil)
	var list chat.HookList
	if r.Decode(t, &list); r.Status != http.StatusOK || len(list.Hooks) != 1 || list.Hooks[0].ID != h.ID || list.Hooks[0].URL != "" || strings.Contains(string(r.Body), secret) {
		t.Fatalf("list hooks: %d %s, want the one hook without its URL", r.Status, r.Body)
	}
	if stored, err := srv.Store.Hook(t.Context(), h.ID); err != nil || stored.SecretHash != server.TokenHash(secret) {
		t.Fatalf("the store does not keep the secret's hash: %+v, %v", stored, err)
	}
	wantAnswer(t, "bad hook name", srv.Do(t, http.MethodPost, "/api/rooms/general/hooks", alice, chat.NewHook{Name: "no spaces"}), http.StatusUnprocessableEntity, "bad_hook_name")
	wantAnswer(t, "hook in no room", srv.Do(t, http.MethodPost, "/api/rooms/nowhere/hooks", alice, chat.NewHook{Name: "x"}), http.StatusNotFound, "room_not_found")
	wantAnswer(t, "hooks without a session", srv.Do(t, http.MethodPost, "/api/rooms/general/hooks", "", chat.NewHook{Name: "x"}), http.StatusUnauthorized, "unauthorized")

	// A session or cookie changes nothing: the URL is the credential.
	r = postHook(t, srv, path, "text/plain", "with a session too", "Authorization", "Bearer "+alice)
	wantAnswer(t, "post with a session header", r, http.StatusOK, "")
	wrong := []string{
		"/hooks/" + h.ID + "/" + strings.Repeat("A", len(secret)),
		"/hooks/0000000000000000/" + secret,
		"/hooks/" + h.ID + "/short",
		"/hooks/" + h.ID + "/" + secret + "x",
	}
	for _, p := range wrong {
		wantAnswer(t, "POST "+p, postHook(t, srv, p, "text/plain", "hi"), http.StatusNotFound, "hook_not_found")
	}
	wantAnswer(t, "delete another room's hook", srv.Do(t, http.MethodDelete, "/api/rooms/nowhere/hooks/"+h.ID, alice, nil), http.StatusNotFound, "room_not_found")
	wantAnswer(t, "delete an unknown hook", srv.Do(t, http.MethodDelete, "/api/rooms/general/hooks/nohook", alice, nil), http.StatusNotFound, "hook_not_found")
	wantAnswer(t, "delete", srv.Do(t, http.MethodDelete, "/api/rooms/general/hooks/"+h.ID, alice, nil), http.StatusNoContent, "")
	wantAnswer(t, "post to a deleted hook", postHook(t, srv, path, "text/plain", "hi"), http.StatusNotFound, "hook_not_found")
}

func TestHookIdempotency(t *testing.T) {
	srv := servertest.Start(t)
	alice := srv.Login(t, "alice")
	h1, h2 := makeHook(t, srv, alice, "general", "ci"), makeHook(t, srv, alice, "general", "ci")
	p1, p2 := hookPath(t, h1), hookPath(t, h2)
	for range 3 {
		wantAnswer(t, "client_id", postHook(t, srv, p1, "application/json", `{"text":"once","client_id":"build 42"}`), http.StatusOK, "")
		wantAnswer(t, "X-Request-Id", postHook(t, srv, p1, "text/plain", "once more", "X-Request-Id", "6b1c3c0e-req"), http.StatusOK, "")
		// The same key through another hook of the same name is its own message.
		wantAnswer(t, "other hook", postHook(t, srv, p2, "application/json", `{"text":"other","client_id":"build 42"}`), http.StatusOK, "")
	}
	count := map[string]int{}
	for _, m := range lastMessages(t, srv, alice, "general") {
		count[m.Text]++
	}
	if count["once"] != 1 || count["once more"] != 1 || count["other"] != 1 {
		t.Fatalf("messages by text %v, want each once", count)
	}
	// Without a key every post is a message.
	for range 2 {
		postHook(t, srv, p1, "text/plain", "twice")
	}
	count = map[string]int{}
	for _, m := range lastMessages(t, srv, alice, "general") {
		count[m.Text]++
	}
	if count["twice"] != 2 {
		t.Fatalf("posts without a key stored %d messages, want 2", count["twice"])
	}
}

// TestHookRateLimit: a hook has its own message bucket, like an account:
// over it a post is 429, and the account that made it is not charged.
func TestHookRateLimit(t *testing.T) {
	srv := servertest.Start(t, servertest.WithConfig(func(c *server.Config) {
		c.Limits.Enabled = true
		c.Limits.MessageRate, c.Limits.MessageBurst = 0.01, 3
	}))
	alice := srv.Login(t, "alice")
	path := hookPath(t, makeHook(t, srv, alice, "general", "ci"))
	var last *servertest.Response
	for range 4 {
		last = postHook(t, srv, path, "text/plain", "tick")
	}
	wantAnswer(t, "the fourth post", last, http.StatusTooManyRequests, "rate_limited")
	srv.Post(t, alice, "general", "alice is not limited by her hook")
}

// BenchmarkHookSecretTiming compares a wrong secret for a known hook with
// an unknown hook id: both look the id up, hash the secret and compare in
// constant time, so timing does not tell whether a hook id exists. Compare
// the two ns/op figures.
//
//	go test -run '^$' -bench BenchmarkHookSecretTiming -benchtime 2000x ./server
func BenchmarkHookSecretTiming(b *testing.B) {
	srv := servertest.Start(b)
	alice := srv.Login(b, "alice")
	h := makeHook(b, srv, alice, "general", "ci")
	path := hookPath(b, h)
	secret := path[strings.LastIndex(path, "/")+1:]
	wrong := strings.Repeat("A", len(secret))
	for _, bc := range []struct{ name, path string }{
		{"known_id_wrong_secret", "/hooks/" + h.ID + "/" + wrong},
		{"unknown_id", "/hooks/00000000deadbeef/" + wrong},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				r := postHook(b, srv, bc.path, "text/plain", "hi")
				if r.Status != http.StatusNotFound {
					b.Fatalf("%d %s", r.Status, r.Body)
				}
			}
		})
	}
}

// TestHookPermissions: in a private room only its owner and admins make
// hooks, members list them, outsiders get the 404 of a missing room; a
// hook is removed by its maker or the room's managers.
func TestHookPermissions(t *testing.T) {
	srv := servertest.Start(t)
	alice, bob, eve := srv.Login(t, "alice"), srv.Login(t, "bob"), srv.Login(t, "eve")
	wantAnswer(t, "make private room", srv.Do(t, http.MethodPut, "/api/rooms/team", alice, map[string]string{"kind": "private"}), http.StatusCreated, "")
	wantAnswer(t, "add bob", srv.Do(t, http.MethodPut, "/api/rooms/team/members/bob", alice, nil), http.StatusCreated, "")
	wantAnswer(t, "a member makes a hook", srv.Do(t, http.MethodPost, "/api/rooms/team/hooks", bob, chat.NewHook{Name: "ci"}), http.StatusForbidden, "not_allowed")
	wantAnswer(t, "an outsider makes a hook", srv.Do(t, http.MethodPost, "/api/rooms/team/hooks", eve, chat.NewHook{Name: "ci"}), http.StatusNotFound, "room_not_found")
	wantAnswer(t, "an outsider lists hooks", srv.Do(t, http.MethodGet, "/api/rooms/team/hooks", eve, nil), http.StatusNotFound, "room_not_found")
	h := makeHook(t, srv, alice, "team", "ci")
	wantAnswer(t, "a member lists hooks", srv.Do(t, http.MethodGet, "/api/rooms/team/hooks", bob, nil), http.StatusOK, "")
	wantAnswer(t, "a member removes the owner's hook", srv.Do(t, http.MethodDelete, "/api/rooms/team/hooks/"+h.ID, bob, nil), http.StatusForbidden, "not_allowed")
	wantAnswer(t, "post to the private room's hook", postHook(t, srv, hookPath(t, h), "text/plain", "built"), http.StatusOK, "")

	// In a public room anyone who may post makes one, and only its maker
	// (or a manager) removes it.
	g := makeHook(t, srv, bob, "general", "bobs")
	wantAnswer(t, "another account removes bob's hook", srv.Do(t, http.MethodDelete, "/api/rooms/general/hooks/"+g.ID, eve, nil), http.StatusForbidden, "not_allowed")
	wantAnswer(t, "bob removes his hook", srv.Do(t, http.MethodDelete, "/api/rooms/general/hooks/"+g.ID, bob, nil), http.StatusNoContent, "")
	wantAnswer(t, "the owner removes a hook", srv.Do(t, http.MethodDelete, "/api/rooms/team/hooks/"+h.ID, alice, nil), http.StatusNoContent, "")
}
