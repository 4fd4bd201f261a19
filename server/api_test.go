package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server"
	"github.com/ssechat/chat/server/servertest"
	"github.com/ssechat/chat/server/store"
)

// wantErr fails the test unless r is the JSON error with status and code,
// with a message for people.
func wantErr(t *testing.T, r *servertest.Response, status int, code string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d (body %s)", r.Status, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("error Content-Type %q, want application/json", ct)
	}
	e := r.Error()
	if e.Code != code || e.Message == "" {
		t.Fatalf("error %+v, want code %q with a message (body %s)", e, code, r.Body)
	}
}

func TestLoginRegistersThenLogsIn(t *testing.T) {
	srv := servertest.Start(t)
	r := srv.LoginPassword(t, "Alice", "correct horse")
	if r.Status != http.StatusCreated {
		t.Fatalf("first login: %d %s, want 201", r.Status, r.Body)
	}
	var info chat.SessionInfo
	r.Decode(t, &info)
	if info.Nick != "Alice" || len(info.Token) < 43 || time.Until(info.ExpiresAt) < 29*24*time.Hour {
		t.Fatalf("session %+v", info)
	}
	var cookie *http.Cookie
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == server.CookieName {
			cookie = c
		}
	}
	if cookie == nil || cookie.Value != info.Token || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != "/" || cookie.Secure {
		t.Fatalf("cookie %+v", cookie)
	}

	// Same nick in another case: the same account, its own spelling.
	r = srv.LoginPassword(t, "alice", "correct horse")
	if r.Status != http.StatusOK {
		t.Fatalf("second login: %d %s, want 200", r.Status, r.Body)
	}
	var again chat.SessionInfo
	r.Decode(t, &again)
	if again.Nick != "Alice" || again.Token == info.Token {
		t.Fatalf("second session %+v", again)
	}
	var me chat.Me
	r = srv.Do(t, "GET", "/api/me", again.Token, nil)
	r.Decode(t, &me)
	if r.Status != 200 || me.Nick != "Alice" {
		t.Fatalf("me: %d %s", r.Status, r.Body)
	}
	wantErr(t, srv.LoginPassword(t, "alice", "wrong horse"), 401, "bad_credentials")
}

func TestLoginErrors(t *testing.T) {
	srv := servertest.Start(t)
	srv.Login(t, "bob")
	for _, tc := range []struct {
		name   string
		body   string
		ctype  string
		status int
		code   string
	}{
		{"wrong password", `{"nick":"bob","password":"not his password"}`, "", 401, "bad_credentials"},
		{"bad nick", `{"nick":"bob smith","password":"12345678"}`, "", 422, "bad_nick"},
		{"empty nick", `{"nick":"","password":"12345678"}`, "", 422, "bad_nick"},
		{"short password", `{"nick":"carol","password":"1234567"}`, "", 422, "bad_password"},
		{"long password", `{"nick":"carol","password":"` + strings.Repeat("x", 257) + `"}`, "", 422, "bad_password"},
		{"not json", `nick=bob`, "", 400, "bad_json"},
		{"empty body", ``, "", 400, "bad_json"},
		{"two values", `{"nick":"bob","password":"12345678"} {}`, "", 400, "bad_json"},
		{"unknown field", `{"nick":"bob","password":"12345678","admin":true}`, "", 400, "unknown_field"},
		{"wrong type", `{"nick":5,"password":"12345678"}`, "", 400, "bad_nick"},
		{"array", `[1]`, "", 400, "bad_json"},
		{"invalid utf-8", "{\"nick\":\"bob\",\"password\":\"12345678\xff\"}", "", 400, "bad_json"},
		{"form content type", `{"nick":"bob","password":"12345678"}`, "application/x-www-form-urlencoded", 415, "unsupported_media_type"},
		{"too large", `{"nick":"bob","password":"` + strings.Repeat("x", 70<<10) + `"}`, "", 413, "body_too_large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := []string{}
			if tc.ctype != "" {
				hdr = []string{"Content-Type", tc.ctype}
			}
			wantErr(t, srv.Do(t, "POST", "/api/session", "", tc.body, hdr...), tc.status, tc.code)
		})
	}
	// Nothing was created by the refused attempts.
	if _, err := srv.Store.Account(context.Background(), "carol"); err == nil {
		t.Fatal("a refused login created an account")
	}
}

func TestRegistrationClosed(t *testing.T) {
	srv := servertest.Start(t, servertest.WithConfig(func(c *server.Config) { c.Registration = server.RegistrationClosed }))
	// The server says before any login that a new nick does not register.
	var limits chat.ServerLimits
	if r := srv.Do(t, "GET", "/api/limits", "", nil); r.Status != 200 {
		t.Fatalf("GET /api/limits: %d %s", r.Status, r.Body)
	} else if r.Decode(t, &limits); limits.Registration != chat.RegistrationClosed {
		t.Fatalf("limits announce registration %q, want closed", limits.Registration)
	}
	// An unknown nick gets the same answer as a wrong password, and the
	// answer says plainly that logging in makes no account.
	unknown := srv.LoginPassword(t, "mallory", "whatever123")
	wantErr(t, unknown, 401, "bad_credentials")
	if !strings.Contains(string(unknown.Body), "does not create accounts at login") {
		t.Errorf("unknown nick on a closed server: %s, want it to say no account is made at login", unknown.Body)
	}
	hash, err := server.HashPassword(srv.Config.Password, "dave's password")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Store.CreateAccount(context.Background(), store.Account{Nick: "dave", PasswordHash: hash, Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	wrong := srv.LoginPassword(t, "dave", "not dave's password")
	wantErr(t, wrong, 401, "bad_credentials")
	if string(wrong.Body) != string(unknown.Body) || wrong.Header.Get("Retry-After") != unknown.Header.Get("Retry-After") {
		t.Errorf("a wrong password answers %s, an unknown nick %s: the answer tells whether a nick exists", wrong.Body, unknown.Body)
	}
	if r := srv.LoginPassword(t, "DAVE", "dave's password"); r.Status != 200 {
		t.Fatalf("operator-made account: %d %s", r.Status, r.Body)
	}
}

func TestAuthentication(t *testing.T) {
	srv := servertest.Start(t)
	tok := srv.Login(t, "erin")
	wantErr(t, srv.Do(t, "GET", "/api/me", "", nil), 401, "unauthorized")
	other := "x"
	if tok[0] == 'x' {
		other = "y"
	}
	wantErr(t, srv.Do(t, "GET", "/api/me", other+tok[1:], nil), 401, "unauthorized")
	wantErr(t, srv.Do(t, "GET", "/api/me", "short", nil), 401, "unauthorized")
	wantErr(t, srv.Do(t, "GET", "/api/me", "", nil, "Authorization", "Basic "+tok), 401, "unauthorized")
	// Never from the query string.
	wantErr(t, srv.Do(t, "GET", "/api/me?token="+tok+"&access_token="+tok, "", nil), 401, "unauthorized")
	for _, path := range []string{"/api/rooms", "/api/rooms/general/members", "/api/rooms/general/messages", "/api/rooms/general/events"} {
		wantErr(t, srv.Do(t, "GET", path, "", nil), 401, "unauthorized")
	}
	for _, path := range []string{"/api/rooms/general/messages", "/api/rooms/general/typing"} {
		wantErr(t, srv.Do(t, "POST", path, "", `{"text":"x"}`), 401, "unauthorized")
	}
	wantErr(t, srv.Do(t, "PUT", "/api/rooms/new", "", nil), 401, "unauthorized")
	wantErr(t, srv.Do(t, "DELETE", "/api/session", "", nil), 401, "unauthorized")

	// Logout revokes the token at once.
	if r := srv.Do(t, "DELETE", "/api/session", tok, nil); r.Status != 204 {
		t.Fatalf("logout: %d %s", r.Status, r.Body)
	}
	wantErr(t, srv.Do(t, "GET", "/api/me", tok, nil), 401, "unauthorized")
}

func TestCookieNeedsOwnOrigin(t *testing.T) {
	srv := servertest.Start(t)
	tok := srv.Login(t, "frank")
	cookie := server.CookieName + "=" + tok
	if r := srv.Do(t, "GET", "/api/me", "", nil, "Cookie", cookie); r.Status != 200 {
		t.Fatalf("cookie GET: %d %s", r.Status, r.Body)
	}
	post := func(origin string) *servertest.Response {
		return srv.Do(t, "POST", "/api/rooms/general/messages", "", `{"text":"via cookie"}`, "Cookie", cookie, "Origin", origin)
	}
	wantErr(t, post(""), 403, "cross_origin")
	wantErr(t, post("http://evil.example"), 403, "cross_origin")
	wantErr(t, post("https://"+srv.Addr), 403, "cross_origin")
	if r := post(srv.URL); r.Status != 201 {
		t.Fatalf("same-origin cookie POST: %d %s", r.Status, r.Body)
	}
	wantErr(t, srv.Do(t, "PUT", "/api/rooms/cookies", "", nil, "Cookie", cookie), 403, "cross_origin")
	wantErr(t, srv.Do(t, "DELETE", "/api/session", "", nil, "Cookie", cookie, "Origin", "null"), 403, "cross_origin")
	// A bearer token needs no Origin.
	if r := srv.Do(t, "POST", "/api/rooms/general/messages", tok, `{"text":"via bearer"}`); r.Status != 201 {
		t.Fatalf("bearer POST: %d %s", r.Status, r.Body)
	}
	// Only the refused requests' messages are missing.
	page := srv.History(t, tok, "general", nil)
	if len(page.Messages) != 2 {
		t.Fatalf("history holds %d messages, want 2", len(page.Messages))
	}
}

func TestRooms(t *testing.T) {
	srv := servertest.Start(t)
	tok := srv.Login(t, "gina")

	var list chat.RoomList
	r := srv.Do(t, "GET", "/api/rooms", tok, nil)
	r.Decode(t, &list)
	if len(list.Rooms) != 1 || list.Rooms[0].Name != "general" || list.Rooms[0].LastID != nil || list.Rooms[0].Online != 0 {
		t.Fatalf("rooms at start: %s", r.Body)
	}

	r = srv.Do(t, "PUT", "/api/rooms/go-nuts", tok, nil)
	var room chat.Room
	r.Decode(t, &room)
	if r.Status != 201 || room.Name != "go-nuts" || room.Topic != "" {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	r = srv.Do(t, "PUT", "/api/rooms/go-nuts", tok, `{"topic":"gophers ☺"}`)
	r.Decode(t, &room)
	if r.Status != 200 || room.Topic != "gophers ☺" {
		t.Fatalf("set topic: %d %s", r.Status, r.Body)
	}
	r = srv.Do(t, "PUT", "/api/rooms/go-nuts", tok, nil)
	r.Decode(t, &room)
	if r.Status != 200 || room.Topic != "gophers ☺" {
		t.Fatalf("put without body keeps topic: %d %s", r.Status, r.Body)
	}

	wantErr(t, srv.Do(t, "PUT", "/api/rooms/Go", tok, nil), 422, "bad_room")
	wantErr(t, srv.Do(t, "PUT", "/api/rooms/-x", tok, nil), 422, "bad_room")
	wantErr(t, srv.Do(t, "PUT", "/api/rooms/"+strings.Repeat("a", 65), tok, nil), 422, "bad_room")
	wantErr(t, srv.Do(t, "PUT", "/api/rooms/go-nuts", tok, `{"topic":"`+strings.Repeat("t", 257)+`"}`), 422, "bad_topic")
	wantErr(t, srv.Do(t, "PUT", "/api/rooms/go-nuts", tok, `{"topic":"two\nlines"}`), 422, "bad_topic")
	wantErr(t, srv.Do(t, "PUT", "/api/rooms/go-nuts", tok, `{"topic":"\u202eevil"}`), 422, "bad_topic")
	wantErr(t, srv.Do(t, "PUT", "/api/rooms/go-nuts", tok, `{"topic":7}`), 400, "bad_topic")
	wantErr(t, srv.Do(t, "PUT", "/api/rooms/go-nuts", tok, `{"title":"x"}`), 400, "unknown_field")
	wantErr(t, srv.Do(t, "PUT", "/api/rooms/go-nuts", tok, `{"topic":"x"}`, "Content-Type", "text/plain"), 415, "unsupported_media_type")
	wantErr(t, srv.Do(t, "PUT", "/api/rooms/nope", tok, `{"topic":"x"`), 400, "bad_json")
	if _, err := srv.Store.Room(context.Background(), "nope"); err == nil {
		t.Fatal("a refused PUT created its room")
	}

	msg := srv.Post(t, tok, "go-nuts", "first")
	st := srv.MustSubscribe(t, tok, "go-nuts", "")
	if _, err := st.Next(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	r = srv.Do(t, "GET", "/api/rooms", tok, nil)
	r.Decode(t, &list)
	if len(list.Rooms) != 2 || list.Rooms[1].Name != "go-nuts" || list.Rooms[1].Online != 1 || list.Rooms[1].LastID == nil || *list.Rooms[1].LastID != msg.ID {
		t.Fatalf("rooms: %s", r.Body)
	}

	var members chat.Members
	r = srv.Do(t, "GET", "/api/rooms/go-nuts/members", tok, nil)
	r.Decode(t, &members)
	if len(members.Online) != 1 || members.Online[0] != "gina" {
		t.Fatalf("members: %s", r.Body)
	}
	r = srv.Do(t, "GET", "/api/rooms/general/members", tok, nil)
	// gina is a member of general (every new account is) but has no
	// stream open there.
	if r.Status != 200 || string(r.Body) != "{\"members\":[{\"nick\":\"gina\",\"role\":\"member\",\"online\":false}],\"online\":[]}\n" {
		t.Fatalf("members of a room nobody is in: %d %s", r.Status, r.Body)
	}
	wantErr(t, srv.Do(t, "GET", "/api/rooms/nope/members", tok, nil), 404, "room_not_found")
	wantErr(t, srv.Do(t, "GET", "/api/rooms/NOPE/members", tok, nil), 404, "room_not_found")
}

func TestPostMessage(t *testing.T) {
	srv := servertest.Start(t)
	tok := srv.Login(t, "hank")
	other := srv.Login(t, "ivy")

	r := srv.Do(t, "POST", "/api/rooms/general/messages", tok, `{"text":"  hello\tthere \n","kind":"action","client_id":"c-1"}`)
	var m chat.Message
	r.Decode(t, &m)
	if r.Status != 201 || m.ID == "" || m.Room != "general" || m.Nick != "hank" || m.Kind != "action" ||
		m.Text != "hello\tthere" || m.ClientID != "c-1" || time.Since(m.TS) > time.Minute {
		t.Fatalf("post: %d %s", r.Status, r.Body)
	}
	// A retry with the same client_id answers the first message.
	r = srv.Do(t, "POST", "/api/rooms/general/messages", tok, `{"text":"hello again","client_id":"c-1"}`)
	var dup chat.Message
	r.Decode(t, &dup)
	if r.Status != 200 || dup != m {
		t.Fatalf("repeat: %d %s, want 200 with %+v", r.Status, r.Body, m)
	}
	// Another nick's equal client_id is another message.
	r = srv.Do(t, "POST", "/api/rooms/general/messages", other, `{"text":"mine","client_id":"c-1"}`)
	var m2 chat.Message
	r.Decode(t, &m2)
	if r.Status != 201 || m2.ID == m.ID || chat.CompareIDs(m2.ID, m.ID) <= 0 {
		t.Fatalf("other nick: %d %s", r.Status, r.Body)
	}
	if m3 := srv.Post(t, tok, "general", "plain"); m3.Kind != "text" {
		t.Fatalf("default kind %q", m3.Kind)
	}

	for _, tc := range []struct {
		name, path, body string
		status           int
		code             string
	}{
		{"empty", "general", `{"text":" \n\t "}`, 422, "text_empty"},
		{"missing text", "general", `{}`, 422, "text_empty"},
		{"too long", "general", `{"text":"` + strings.Repeat("é", 4001) + `"}`, 422, "text_too_long"},
		{"control", "general", `{"text":"bell\u0007"}`, 422, "text_control_char"},
		{"escape", "general", `{"text":"\u001b[31mred"}`, 422, "text_control_char"},
		{"c1", "general", `{"text":"a\u009bb"}`, 422, "text_control_char"},
		{"invalid utf-8", "general", "{\"text\":\"a\xffb\"}", 422, "text_invalid_utf8"},
		{"kind", "general", `{"text":"x","kind":"shout"}`, 422, "bad_kind"},
		{"client_id chars", "general", `{"text":"x","client_id":"a b"}`, 422, "bad_client_id"},
		{"client_id long", "general", `{"text":"x","client_id":"` + strings.Repeat("c", 65) + `"}`, 422, "bad_client_id"},
		{"wrong type", "general", `{"text":["x"]}`, 400, "bad_text"},
		{"unknown field", "general", `{"text":"x","nick":"root"}`, 400, "unknown_field"},
		{"malformed", "general", `{"text":"x"`, 400, "bad_json"},
		{"no room", "nope", `{"text":"x"}`, 404, "room_not_found"},
		{"bad room name", "No%20pe", `{"text":"x"}`, 404, "room_not_found"},
		{"too large", "general", `{"text":"` + strings.Repeat("x", 65<<10) + `"}`, 413, "body_too_large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, srv.Do(t, "POST", "/api/rooms/"+tc.path+"/messages", tok, tc.body), tc.status, tc.code)
		})
	}
	wantErr(t, srv.Do(t, "POST", "/api/rooms/general/messages", tok, `{"text":"x"}`, "Content-Type", "text/plain"), 415, "unsupported_media_type")
	wantErr(t, srv.Do(t, "POST", "/api/rooms/general/messages", tok, `{"text":"x"}`, "Content-Type", ""), 415, "unsupported_media_type")

	// Only the four accepted messages were stored.
	page := srv.History(t, tok, "general", nil)
	if len(page.Messages) != 3 || page.HasMore {
		t.Fatalf("history: %+v", page)
	}
	if s := srv.Server.Stats(); s.Accepted != 3 || s.Duplicates != 1 {
		t.Fatalf("stats %+v", s)
	}
}

// TestPostMessageLineEndings: a script posting Windows ("\r\n") or old Mac
// ("\r") text is not refused; the server stores newlines, and the answer and
// the history agree.
func TestPostMessageLineEndings(t *testing.T) {
	srv := servertest.Start(t)
	tok := srv.Login(t, "wendy")
	r := srv.Do(t, "POST", "/api/rooms/general/messages", tok, `{"text":"first\r\nsecond\rthird\r\n"}`)
	var m chat.Message
	r.Decode(t, &m)
	if r.Status != 201 || m.Text != "first\nsecond\nthird" {
		t.Fatalf("post: %d %s, want 201 with the text \"first\\nsecond\\nthird\"", r.Status, r.Body)
	}
	page := srv.History(t, tok, "general", nil)
	if len(page.Messages) != 1 || page.Messages[0].Text != m.Text {
		t.Fatalf("history: %+v, want the one message as answered", page)
	}
}

func TestHistory(t *testing.T) {
	srv := servertest.Start(t)
	tok := srv.Login(t, "jack")
	var ids []string
	for i := 0; i < 12; i++ {
		ids = append(ids, srv.Post(t, tok, "general", "m"+string(rune('a'+i))).ID)
	}
	idsOf := func(p chat.MessagePage) []string {
		var out []string
		for _, m := range p.Messages {
			out = append(out, m.ID)
		}
		return out
	}
	eq := func(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }

	p := srv.History(t, tok, "general", nil)
	if !eq(idsOf(p), ids) || p.HasMore {
		t.Fatalf("newest page: %v more=%v", idsOf(p), p.HasMore)
	}
	p = srv.History(t, tok, "general", url.Values{"limit": {"5"}})
	if !eq(idsOf(p), ids[7:]) || !p.HasMore {
		t.Fatalf("newest 5: %v more=%v", idsOf(p), p.HasMore)
	}
	p = srv.History(t, tok, "general", url.Values{"limit": {"5"}, "before": {ids[7]}})
	if !eq(idsOf(p), ids[2:7]) || !p.HasMore {
		t.Fatalf("before: %v more=%v", idsOf(p), p.HasMore)
	}
	p = srv.History(t, tok, "general", url.Values{"limit": {"5"}, "before": {ids[2]}})
	if !eq(idsOf(p), ids[:2]) || p.HasMore {
		t.Fatalf("oldest: %v more=%v", idsOf(p), p.HasMore)
	}
	p = srv.History(t, tok, "general", url.Values{"limit": {"5"}, "after": {ids[3]}})
	if !eq(idsOf(p), ids[4:9]) || !p.HasMore {
		t.Fatalf("after: %v more=%v", idsOf(p), p.HasMore)
	}
	p = srv.History(t, tok, "general", url.Values{"after": {ids[11]}})
	if len(p.Messages) != 0 || p.HasMore {
		t.Fatalf("after the newest: %+v", p)
	}
	r := srv.Do(t, "GET", "/api/rooms/general/messages?after="+ids[11], tok, nil)
	if !strings.Contains(string(r.Body), `"messages":[]`) {
		t.Fatalf("an empty page must hold an empty list: %s", r.Body)
	}

	srv.CreateRoom(t, tok, "empty")
	if p := srv.History(t, tok, "empty", nil); len(p.Messages) != 0 || p.HasMore {
		t.Fatalf("empty room: %+v", p)
	}
	for _, q := range []string{"limit=0", "limit=201", "limit=x", "limit=", "limit=-1", "before=abc", "after=01", "before=1&after=2", "before=1-"} {
		wantErr(t, srv.Do(t, "GET", "/api/rooms/general/messages?"+q, tok, nil), 400, "bad_query")
	}
	if p := srv.History(t, tok, "general", url.Values{"limit": {"200"}}); len(p.Messages) != 12 {
		t.Fatalf("limit 200: %d", len(p.Messages))
	}
	wantErr(t, srv.Do(t, "GET", "/api/rooms/nope/messages", tok, nil), 404, "room_not_found")
}

func TestHistoryPageMax(t *testing.T) {
	srv := servertest.Start(t, servertest.WithConfig(func(c *server.Config) { c.HistoryPageMax = 3 }))
	tok := srv.Login(t, "kim")
	for i := 0; i < 5; i++ {
		srv.Post(t, tok, "general", "x")
	}
	if p := srv.History(t, tok, "general", nil); len(p.Messages) != 3 || !p.HasMore {
		t.Fatalf("default page under a max of 3: %d", len(p.Messages))
	}
	wantErr(t, srv.Do(t, "GET", "/api/rooms/general/messages?limit=4", tok, nil), 400, "bad_query")
}

func TestTyping(t *testing.T) {
	srv := servertest.Start(t)
	alice, bob := srv.Login(t, "alice"), srv.Login(t, "bob")
	st := srv.MustSubscribe(t, bob, "general", "")
	nextOf(t, st, chat.EventWelcome)
	if r := srv.Do(t, "POST", "/api/rooms/general/typing", alice, nil); r.Status != 204 {
		t.Fatalf("typing: %d %s", r.Status, r.Body)
	}
	var ty chat.Typing
	decode(t, nextOf(t, st, chat.EventTyping), &ty)
	if ty.Nick != "alice" || ty.Room != "general" {
		t.Fatalf("typing event %+v", ty)
	}
	wantErr(t, srv.Do(t, "POST", "/api/rooms/nope/typing", alice, nil), 404, "room_not_found")
}

func TestRoutingErrors(t *testing.T) {
	srv := servertest.Start(t)
	tok := srv.Login(t, "leo")
	wantErr(t, srv.Do(t, "GET", "/api/nothing", tok, nil), 404, "not_found")
	r := srv.Do(t, "PATCH", "/api/rooms/general/messages", tok, nil)
	wantErr(t, r, 405, "method_not_allowed")
	if allow := r.Header.Values("Allow"); strings.Join(allow, ",") != "GET,POST" {
		t.Fatalf("Allow %v", allow)
	}
	wantErr(t, srv.Do(t, "GET", "/api/session", tok, nil), 405, "method_not_allowed")
}

func TestHealth(t *testing.T) {
	srv := servertest.Start(t)
	for _, path := range []string{"/healthz", "/readyz"} {
		if r := srv.Do(t, "GET", path, "", nil); r.Status != 200 {
			t.Fatalf("%s: %d %s", path, r.Status, r.Body)
		}
	}
	if r := srv.Do(t, "GET", "/", "", nil); r.Status != 200 || !strings.Contains(r.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("page: %d %s", r.Status, r.Header.Get("Content-Type"))
	}
}

// TestStoreDown shows that a store that cannot serve gives 503 with
// Retry-After, both on readiness and on the API, and nothing internal.
func TestStoreDown(t *testing.T) {
	srv := servertest.Start(t)
	tok := srv.Login(t, "mia")
	if err := srv.Store.Close(); err != nil {
		t.Fatal(err)
	}
	r := srv.Do(t, "GET", "/readyz", "", nil)
	if r.Status != 503 {
		t.Fatalf("readyz with the store closed: %d", r.Status)
	}
	r = srv.Do(t, "POST", "/api/rooms/general/messages", tok, `{"text":"lost?"}`)
	if r.Status != 503 || r.Header.Get("Retry-After") == "" {
		t.Fatalf("post with the store closed: %d %v %s", r.Status, r.Header, r.Body)
	}
	if strings.Contains(string(r.Body), "sql") || strings.Contains(string(r.Body), srv.Dir) {
		t.Fatalf("answer leaks internals: %s", r.Body)
	}
}

// TestSessionsSlide: a session used after a thirtieth of its lifetime is
// extended to a full one; an expired one is refused.
func TestSessionsSlide(t *testing.T) {
	srv := servertest.Start(t)
	srv.Login(t, "nina")
	ctx := context.Background()
	ttl := srv.Config.SessionTTL
	now := time.Now().UTC()
	half := store.Session{TokenHash: server.TokenHash(strings.Repeat("a", 43)), Nick: "nina", Created: now.Add(-ttl / 2), ExpiresAt: now.Add(ttl / 2)}
	if err := srv.Store.CreateSession(ctx, half); err != nil {
		t.Fatal(err)
	}
	if r := srv.Do(t, "GET", "/api/me", strings.Repeat("a", 43), nil); r.Status != 200 {
		t.Fatalf("half-used session: %d %s", r.Status, r.Body)
	}
	got, err := srv.Store.Session(ctx, half.TokenHash)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(got.ExpiresAt); d < ttl-time.Minute {
		t.Fatalf("session not extended: expires in %v", d)
	}
	expired := store.Session{TokenHash: server.TokenHash(strings.Repeat("b", 43)), Nick: "nina", Created: now.Add(-ttl), ExpiresAt: now.Add(-time.Second)}
	if err := srv.Store.CreateSession(ctx, expired); err != nil {
		t.Fatal(err)
	}
	wantErr(t, srv.Do(t, "GET", "/api/me", strings.Repeat("b", 43), nil), 401, "unauthorized")
}
