package server_test

// The hostile-input test: everything a stranger on the internet can send to
// each endpoint, each answered with the documented status and code, and
// afterwards the store holds exactly what it held before.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server"
	"github.com/ssechat/chat/server/servertest"
	"github.com/ssechat/chat/server/store"
)

// storeSnapshot is everything the store holds that a request could change.
type storeSnapshot struct {
	Rooms    []store.Room
	Messages map[string][]chat.Message
	Online   map[string][]string
	Accounts map[string]*store.Account // by nick; nil: no such account
	Sessions map[string]*store.Session // by token; nil: no such session
}

// snapshot reads the store through its interface: every room, every message
// of every room, who is online, and the accounts and sessions of the given
// nicks and tokens (the interface cannot list those, so the test names every
// one its requests could touch).
func snapshot(t *testing.T, st store.Store, nicks, tokens []string) storeSnapshot {
	t.Helper()
	ctx := context.Background()
	rooms, err := st.Rooms(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s := storeSnapshot{Rooms: rooms, Messages: map[string][]chat.Message{}, Online: map[string][]string{},
		Accounts: map[string]*store.Account{}, Sessions: map[string]*store.Session{}}
	for _, r := range rooms {
		msgs, _, err := st.Since(ctx, r.Name, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		s.Messages[r.Name] = msgs
		if s.Online[r.Name], err = st.Online(ctx, r.Name); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range nicks {
		if a, err := st.Account(ctx, n); err == nil {
			s.Accounts[n] = &a
		} else {
			s.Accounts[n] = nil
		}
	}
	for _, tok := range tokens {
		if sess, err := st.Session(ctx, server.TokenHash(tok)); err == nil {
			s.Sessions[tok] = &sess
		} else {
			s.Sessions[tok] = nil
		}
	}
	return s
}

// auth says how a hostile request presents itself.
type auth int

const (
	authNone       auth = iota
	authBearer          // alice's valid token
	authCookie          // alice's token as the cookie, Origin of the server itself
	authCookieEvil      // alice's cookie from another origin
	authCookieNoOrigin
	authForged  // a well-formed token nobody was given
	authExpired // a token whose session expired
	authRevoked // a token logged out
	authDeleted // a token of an account since deleted
	authQuery   // alice's token only in the query string
	authMalformed
)

type hostileCase struct {
	name   string
	method string
	path   string // sent as it is, query included
	auth   auth
	body   any    // string or []byte; nil: none
	ctype  string // Content-Type; "" means application/json when there is a body, "-" none
	header []string
	status int
	code   string // "" for answers net/http gives before our handlers (not JSON)
}

// endpoints lists every API endpoint with a valid room; the generic cases
// are run against each.
var endpoints = []struct{ method, path string }{
	{http.MethodDelete, "/api/session"},
	{http.MethodGet, "/api/me"},
	{http.MethodGet, "/api/rooms"},
	{http.MethodPut, "/api/rooms/general"},
	{http.MethodGet, "/api/rooms/general/members"},
	{http.MethodGet, "/api/rooms/general/messages"},
	{http.MethodPost, "/api/rooms/general/messages"},
	{http.MethodPost, "/api/rooms/general/typing"},
	{http.MethodGet, "/api/rooms/general/events"},
	{http.MethodGet, "/api/me/rooms"},
	{http.MethodDelete, "/api/rooms/general"},
	{http.MethodPut, "/api/rooms/general/members/someone"},
	{http.MethodDelete, "/api/rooms/general/members/someone"},
	{http.MethodPost, "/api/dms"},
}

func unsafeMethod(m string) bool { return m != http.MethodGet && m != http.MethodHead }

func hostileCases() []hostileCase {
	var cases []hostileCase
	add := func(c hostileCase) { cases = append(cases, c) }

	// Credentials, for every endpoint that needs them.
	for _, e := range endpoints {
		n := func(what string) string { return e.method + " " + e.path + ": " + what }
		for _, a := range []struct {
			what string
			auth auth
		}{
			{"no credentials", authNone}, {"forged token", authForged}, {"expired token", authExpired},
			{"revoked token", authRevoked}, {"deleted account's token", authDeleted},
			{"token in the query string", authQuery}, {"malformed Authorization", authMalformed},
		} {
			add(hostileCase{name: n(a.what), method: e.method, path: e.path, auth: a.auth, status: 401, code: "unauthorized"})
		}
		if unsafeMethod(e.method) {
			add(hostileCase{name: n("cookie from another origin"), method: e.method, path: e.path, auth: authCookieEvil, status: 403, code: "cross_origin"})
			add(hostileCase{name: n("cookie without Origin"), method: e.method, path: e.path, auth: authCookieNoOrigin, status: 403, code: "cross_origin"})
			add(hostileCase{name: n("cookie from the null origin"), method: e.method, path: e.path, auth: authCookie, header: []string{"Origin", "null"}, status: 403, code: "cross_origin"})
		}
	}

	// Path tricks on every room endpoint.
	for _, e := range endpoints {
		if !strings.HasPrefix(e.path, "/api/rooms/") {
			continue
		}
		rest := strings.TrimPrefix(e.path, "/api/rooms/general")
		for _, p := range []struct {
			what, path string
			status     int
			code       string
		}{
			{"dot-dot", "/api/rooms/../rooms/general" + rest, 404, "not_found"},
			{"encoded dot-dot", "/api/rooms/%2e%2e/rooms/general" + rest, 404, "not_found"},
			{"encoded dot-dot as the room", "/api/rooms/%2E%2E" + rest, 404, "not_found"},
			{"double slash", "/api//rooms/general" + rest, 404, "not_found"},
			{"leading double slash", "//api/rooms/general" + rest, 404, "not_found"},
			{"dot segment", "/api/rooms/general/." + rest, 404, "not_found"},
			{"trailing slash", e.path + "/", 404, "not_found"},
			{"encoded slash in the room", "/api/rooms/general%2Fx" + rest, 404, "room_not_found"},
			{"upper case room", "/api/rooms/GENERAL" + rest, 404, "room_not_found"},
			{"NUL in the room", "/api/rooms/general%00" + rest, 404, "room_not_found"},
			{"bidi override in the room", "/api/rooms/%E2%80%AEgeneral" + rest, 404, "room_not_found"},
			{"over-long room", "/api/rooms/" + strings.Repeat("r", 65) + rest, 404, "room_not_found"},
			{"invalid UTF-8 in the room", "/api/rooms/general%FF" + rest, 404, "room_not_found"},
		} {
			if rest == "" && e.method == http.MethodPut { // PUT /api/rooms/{room} validates the name itself
				switch p.code {
				case "room_not_found":
					p.status, p.code = 422, "bad_room"
				}
				if p.what == "encoded slash in the room" {
					p.status, p.code = 422, "bad_room"
				}
			}
			var body any
			if e.method == http.MethodPost && strings.HasSuffix(e.path, "/messages") {
				body = `{"text":"path trick"}`
			}
			add(hostileCase{name: e.method + " " + p.what + ": " + p.path, method: e.method, path: p.path, auth: authBearer,
				body: body, status: p.status, code: p.code})
		}
	}

	// Bodies: every endpoint that reads one.
	type bodyCase struct {
		what   string
		body   any
		ctype  string
		status int
		code   string
	}
	big := bytes.Repeat([]byte("a"), 10<<20)
	common := []bodyCase{
		{"malformed JSON", `{"text" "x"}`, "", 400, "bad_json"},
		{"truncated JSON", `{"text":"hel`, "", 400, "bad_json"},
		{"truncated after a comma", `{"nick":"alice",`, "", 400, "bad_json"},
		{"two JSON values", `{} {}`, "", 400, "bad_json"},
		{"trailing garbage", `{}x`, "", 400, "bad_json"},
		{"a JSON array", `[]`, "", 400, "bad_json"},
		{"a JSON string", `"text"`, "", 400, "bad_json"},
		{"unknown field", `{"admin":true}`, "", 400, "unknown_field"},
		{"10 MB body", append(append([]byte(`{"text":"`), big...), `"}`...), "", 413, "body_too_large"},
		{"10 MB of garbage", big, "", 413, "body_too_large"},
		{"invalid UTF-8", "{\"text\":\"\xff\xfe\"}", "", 400, "bad_json"},
		{"invalid UTF-8 in a key", "{\"\xff\":1}", "", 400, "bad_json"},
		{"deep nesting", strings.Repeat("[", 20000), "", 400, "bad_json"},
		{"text/plain", `{"text":"x"}`, "text/plain", 415, "unsupported_media_type"},
		{"form", `text=x`, "application/x-www-form-urlencoded", 415, "unsupported_media_type"},
		{"multipart", "--b\r\n\r\nx\r\n--b--", "multipart/form-data; boundary=b", 415, "unsupported_media_type"},
		{"no Content-Type", `{"text":"x"}`, "-", 415, "unsupported_media_type"},
		{"JSON look-alike type", `{"text":"x"}`, "application/jsonx", 415, "unsupported_media_type"},
		{"bad media type", `{"text":"x"}`, "application/json; ===", 415, "unsupported_media_type"},
	}
	post := "/api/rooms/general/messages"
	msgCases := append(slices.Clone(common),
		bodyCase{"empty body", "", "", 400, "bad_json"},
		bodyCase{"text is a number", `{"text":5}`, "", 400, "bad_text"},
		bodyCase{"text is an object", `{"text":{"a":1}}`, "", 400, "bad_text"},
		bodyCase{"client_id is a number", `{"text":"x","client_id":7}`, "", 400, "bad_client_id"},
		bodyCase{"kind is a list", `{"text":"x","kind":["text"]}`, "", 400, "bad_kind"},
		bodyCase{"null", `null`, "", 422, "text_empty"},
		bodyCase{"no text", `{}`, "", 422, "text_empty"},
		bodyCase{"blank text", `{"text":" \n\t "}`, "", 422, "text_empty"},
		bodyCase{"NUL in text", `{"text":"a\u0000b"}`, "", 422, "text_control_char"},
		bodyCase{"ESC in text", `{"text":"\u001b[2J"}`, "", 422, "text_control_char"},
		bodyCase{"NUL after a CR in text", `{"text":"a\r\u0000b"}`, "", 422, "text_control_char"},
		bodyCase{"C1 control in text", `{"text":"a\u009bb"}`, "", 422, "text_control_char"},
		bodyCase{"DEL in text", "{\"text\":\"a\x7fb\"}", "", 422, "text_control_char"},
		bodyCase{"over-long text", `{"text":"` + strings.Repeat("é", chat.MaxTextLen+1) + `"}`, "", 422, "text_too_long"},
		bodyCase{"over-long client_id", `{"text":"x","client_id":"` + strings.Repeat("c", 65) + `"}`, "", 422, "bad_client_id"},
		bodyCase{"client_id with a slash", `{"text":"x","client_id":"../x"}`, "", 422, "bad_client_id"},
		bodyCase{"client_id with bidi", `{"text":"x","client_id":"a\u202eb"}`, "", 422, "bad_client_id"},
		bodyCase{"unknown kind", `{"text":"x","kind":"html"}`, "", 422, "bad_kind"},
	)
	for i, c := range msgCases {
		if strings.HasPrefix(c.what, "invalid UTF-8") {
			// docs/api.md: for a message, the text is the only free-form
			// field, so invalid UTF-8 is named as the text's fault.
			msgCases[i].status, msgCases[i].code = 422, "text_invalid_utf8"
			c = msgCases[i]
		}
		add(hostileCase{name: "POST messages: " + c.what, method: http.MethodPost, path: post, auth: authBearer,
			body: c.body, ctype: c.ctype, status: c.status, code: c.code})
	}
	loginCases := append(slices.Clone(common),
		bodyCase{"empty body", "", "", 400, "bad_json"},
		bodyCase{"nick is a number", `{"nick":5,"password":"12345678"}`, "", 400, "bad_nick"},
		bodyCase{"password is a bool", `{"nick":"alice","password":true}`, "", 400, "bad_password"},
		bodyCase{"null", `null`, "", 422, "bad_nick"},
		bodyCase{"no nick", `{"password":"12345678"}`, "", 422, "bad_nick"},
		bodyCase{"over-long nick", `{"nick":"` + strings.Repeat("n", 33) + `","password":"12345678"}`, "", 422, "bad_nick"},
		bodyCase{"huge nick", `{"nick":"` + strings.Repeat("n", 60000) + `","password":"12345678"}`, "", 422, "bad_nick"},
		bodyCase{"NUL in nick", `{"nick":"al\u0000ice","password":"12345678"}`, "", 422, "bad_nick"},
		bodyCase{"control in nick", `{"nick":"al\u001bice","password":"12345678"}`, "", 422, "bad_nick"},
		bodyCase{"bidi override in nick", `{"nick":"al\u202eice","password":"12345678"}`, "", 422, "bad_nick"},
		bodyCase{"bidi isolate in nick", `{"nick":"\u2067alice","password":"12345678"}`, "", 422, "bad_nick"},
		bodyCase{"look-alike nick", `{"nick":"аlice","password":"12345678"}`, "", 422, "bad_nick"},
		bodyCase{"path in nick", `{"nick":"../alice","password":"12345678"}`, "", 422, "bad_nick"},
		bodyCase{"short password", `{"nick":"alice","password":"1234567"}`, "", 422, "bad_password"},
		bodyCase{"over-long password", `{"nick":"alice","password":"` + strings.Repeat("p", 257) + `"}`, "", 422, "bad_password"},
		bodyCase{"wrong password", `{"nick":"alice","password":"not her password"}`, "", 401, "bad_credentials"},
		bodyCase{"wrong password, other case", `{"nick":"ALICE","password":"not her password"}`, "", 401, "bad_credentials"},
		bodyCase{"logged-out nick, wrong password", `{"nick":"dave","password":"not dave's password"}`, "", 401, "bad_credentials"},
	)
	for _, c := range loginCases {
		add(hostileCase{name: "POST session: " + c.what, method: http.MethodPost, path: "/api/session", auth: authNone,
			body: c.body, ctype: c.ctype, status: c.status, code: c.code})
	}
	putCases := append(slices.Clone(common),
		bodyCase{"topic is a number", `{"topic":5}`, "", 400, "bad_topic"},
		bodyCase{"newline in topic", `{"topic":"a\nb"}`, "", 422, "bad_topic"},
		bodyCase{"NUL in topic", `{"topic":"a\u0000b"}`, "", 422, "bad_topic"},
		bodyCase{"ESC in topic", `{"topic":"\u001b]0;owned\u0007"}`, "", 422, "bad_topic"},
		bodyCase{"bidi override in topic", `{"topic":"\u202etxt.exe"}`, "", 422, "bad_topic"},
		bodyCase{"over-long topic", `{"topic":"` + strings.Repeat("t", 257) + `"}`, "", 422, "bad_topic"},
	)
	for _, c := range putCases {
		add(hostileCase{name: "PUT room: " + c.what, method: http.MethodPut, path: "/api/rooms/general", auth: authBearer,
			body: c.body, ctype: c.ctype, status: c.status, code: c.code})
	}
	// A room that does not exist may not be created by a refused PUT.
	add(hostileCase{name: "PUT new room with a bad topic", method: http.MethodPut, path: "/api/rooms/newroom", auth: authBearer,
		body: `{"topic":"\u202e"}`, status: 422, code: "bad_topic"})
	add(hostileCase{name: "PUT new room with a bidi name", method: http.MethodPut, path: "/api/rooms/a%E2%80%AEb", auth: authBearer,
		status: 422, code: "bad_room"})
	add(hostileCase{name: "PUT new room with an over-long name", method: http.MethodPut, path: "/api/rooms/" + strings.Repeat("r", 65), auth: authBearer,
		status: 422, code: "bad_room"})

	// Ids: history paging and resume points.
	hist := "/api/rooms/general/messages?"
	for _, q := range []string{"before=" + strings.Repeat("9", 42), "after=" + strings.Repeat("1", 100), "before=1-2-3", "before=-1",
		"before=01", "before=abc", "before=1%00", "before=%E2%80%AE1", "before=1&after=2", "limit=0", "limit=201", "limit=-5",
		"limit=1e3", "limit=" + strings.Repeat("9", 30), "limit=", "before=5-3", "after=18446744073709551615"} {
		add(hostileCase{name: "history ?" + q, method: http.MethodGet, path: hist + q, auth: authBearer, status: 400, code: "bad_query"})
	}
	ev := "/api/rooms/general/events"
	for _, id := range []string{strings.Repeat("9", 42), "abc", "1-2-3", "-1", "01", "5-3", "18446744073709551615", "1 2"} {
		add(hostileCase{name: "events Last-Event-ID " + id, method: http.MethodGet, path: ev, auth: authBearer,
			header: []string{"Last-Event-ID", id}, status: 400, code: "bad_last_event_id"})
		add(hostileCase{name: "events ?last_event_id=" + id, method: http.MethodGet, path: ev + "?last_event_id=" + strings.ReplaceAll(id, " ", "%20"),
			auth: authBearer, status: 400, code: "bad_last_event_id"})
	}
	add(hostileCase{name: "events Last-Event-ID with a newline", method: http.MethodGet, path: ev + "?last_event_id=1%0Aevent:%20x",
		auth: authBearer, status: 400, code: "bad_last_event_id"})

	// Methods and paths that are not endpoints.
	for _, c := range []struct{ method, path string }{
		{http.MethodPatch, "/api/rooms/general"}, {http.MethodPost, "/api/rooms/general/members/someone"},
		{http.MethodPut, "/api/rooms/general/messages"}, {http.MethodDelete, "/api/rooms/general/messages"},
		{"TRACE", "/api/me"}, {http.MethodPost, "/api/rooms"}, {http.MethodPost, "/api/rooms/general/events"},
	} {
		add(hostileCase{name: c.method + " " + c.path, method: c.method, path: c.path, auth: authBearer, status: 405, code: "method_not_allowed"})
	}
	// general always exists, whoever asks.
	add(hostileCase{name: "DELETE general", method: http.MethodDelete, path: "/api/rooms/general", auth: authBearer, status: 403, code: "not_allowed"})
	for _, p := range []string{"/api/users", "/api/rooms/general/messages/1", "/api/admin", "/api/session/x", "/api/", "/api/.env"} {
		add(hostileCase{name: "no such endpoint " + p, method: http.MethodGet, path: p, auth: authBearer, status: 404, code: "not_found"})
	}

	// Headers net/http refuses before any handler runs.
	add(hostileCase{name: "header block over MaxHeaderBytes", method: http.MethodGet, path: "/api/me", auth: authBearer,
		header: []string{"X-Padding", strings.Repeat("x", 64<<10)}, status: 431})
	return cases
}

func TestHostileInput(t *testing.T) {
	srv := servertest.Start(t, servertest.WithConfig(func(c *server.Config) {
		c.Limits = server.DefaultLimits()
		c.Limits.LoginFailures = 10000 // this test makes many failed logins on purpose
	}))
	ctx := context.Background()

	// The world before: two rooms with messages, live accounts, and tokens
	// that are expired, revoked, or of a deleted account.
	alice := srv.Login(t, "alice")
	srv.CreateRoom(t, alice, "lounge")
	srv.Post(t, alice, "general", "hello")
	srv.PostMessage(t, alice, "general", chat.PostMessage{Text: "/me waves", Kind: chat.KindAction, ClientID: "a-1"})
	srv.Post(t, alice, "lounge", "quiet here")
	expired := srv.Login(t, "carol")
	if err := srv.Store.ExtendSession(ctx, server.TokenHash(expired), time.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	revoked := srv.Login(t, "dave")
	if r := srv.Do(t, http.MethodDelete, "/api/session", revoked, nil); r.Status != http.StatusNoContent {
		t.Fatalf("logout: %d %s", r.Status, r.Body)
	}
	deleted := srv.Login(t, "bob")
	if err := srv.Store.DeleteAccount(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	forged := strings.Repeat("A", len(alice))

	nicks := []string{"alice", "ALICE", "bob", "carol", "dave", "al\x00ice", "аlice", "../alice"}
	tokens := []string{alice, expired, revoked, deleted, forged}
	before := snapshot(t, srv.Store, nicks, tokens)

	client := &http.Client{
		Transport:     &http.Transport{},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}
	defer client.CloseIdleConnections()

	cases := hostileCases()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var body io.Reader
			switch b := c.body.(type) {
			case string:
				body = strings.NewReader(b)
			case []byte:
				body = bytes.NewReader(b)
			}
			path := c.path
			if c.auth == authQuery {
				sep := "?"
				if strings.Contains(path, "?") {
					sep = "&"
				}
				path += sep + "token=" + alice + "&access_token=" + alice + "&authorization=Bearer%20" + alice
			}
			req, err := http.NewRequest(c.method, srv.URL+path, body)
			if err != nil {
				t.Fatal(err)
			}
			if c.body != nil {
				switch c.ctype {
				case "":
					req.Header.Set("Content-Type", "application/json")
				case "-":
				default:
					req.Header.Set("Content-Type", c.ctype)
				}
			}
			if strings.HasSuffix(req.URL.Path, "/events") {
				req.Header.Set("Accept", "text/event-stream")
			}
			switch c.auth {
			case authBearer:
				req.Header.Set("Authorization", "Bearer "+alice)
			case authCookie:
				req.AddCookie(&http.Cookie{Name: server.CookieName, Value: alice})
				req.Header.Set("Origin", srv.URL)
			case authCookieEvil:
				req.AddCookie(&http.Cookie{Name: server.CookieName, Value: alice})
				req.Header.Set("Origin", "http://evil.example")
			case authCookieNoOrigin:
				req.AddCookie(&http.Cookie{Name: server.CookieName, Value: alice})
			case authForged:
				req.Header.Set("Authorization", "Bearer "+forged)
			case authExpired:
				req.Header.Set("Authorization", "Bearer "+expired)
			case authRevoked:
				req.Header.Set("Authorization", "Bearer "+revoked)
			case authDeleted:
				req.Header.Set("Authorization", "Bearer "+deleted)
			case authMalformed:
				req.Header.Set("Authorization", "Basic "+alice)
			}
			for i := 0; i+1 < len(c.header); i += 2 {
				req.Header.Set(c.header[i], c.header[i+1])
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", c.method, c.path, err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			if resp.StatusCode != c.status {
				t.Fatalf("status %d %.300s; want %d %s", resp.StatusCode, b, c.status, c.code)
			}
			if c.code == "" {
				return
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("Content-Type %q; every error under /api/ is JSON", ct)
			}
			var eb chat.ErrorBody
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&eb); err != nil || eb.Error.Code != c.code || eb.Error.Message == "" {
				t.Fatalf("body %.300s; want code %s with a message", b, c.code)
			}
			for _, leak := range []string{"sql", "SQL", "/tmp", ".go:", "goroutine", "runtime.", "sqlite", "\\u0000"} {
				if strings.Contains(eb.Error.Message, leak) {
					t.Fatalf("error message %q shows internals (%q)", eb.Error.Message, leak)
				}
			}
			if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
				if resp.Header.Get("Retry-After") == "" {
					t.Fatal("429/503 without Retry-After")
				}
			}
		})
	}
	t.Logf("%d hostile requests", len(cases))

	after := snapshot(t, srv.Store, nicks, tokens)
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("the store changed:\nbefore %s\nafter  %s", dump(before), dump(after))
	}
	// And the server still serves its users.
	srv.Post(t, alice, "general", "still fine")
}

func dump(s storeSnapshot) string {
	b, _ := json.Marshal(s)
	return fmt.Sprintf("%.3000s", b)
}

// TestAnotherUsersClientID: a client_id is scoped to one nick. Bob posting
// alice's client_id makes his own message; it neither returns nor replaces
// hers, and her retry still finds hers.
func TestAnotherUsersClientID(t *testing.T) {
	srv := servertest.Start(t)
	alice := srv.Login(t, "alice")
	bob := srv.Login(t, "bob")
	hers := srv.PostMessage(t, alice, "general", chat.PostMessage{Text: "alice's", ClientID: "shared-id"})
	r := srv.Do(t, http.MethodPost, "/api/rooms/general/messages", bob, chat.PostMessage{Text: "bob's", ClientID: "shared-id"})
	if r.Status != http.StatusCreated {
		t.Fatalf("bob with alice's client_id: %d %s; want 201 (a new message)", r.Status, r.Body)
	}
	var his chat.Message
	r.Decode(t, &his)
	if his.ID == hers.ID || his.Nick != "bob" || his.Text != "bob's" {
		t.Fatalf("bob got %+v; want his own new message", his)
	}
	r = srv.Do(t, http.MethodPost, "/api/rooms/general/messages", alice, chat.PostMessage{Text: "alice's retry", ClientID: "shared-id"})
	var again chat.Message
	r.Decode(t, &again)
	if r.Status != http.StatusOK || again.ID != hers.ID || again.Text != "alice's" {
		t.Fatalf("alice's retry: %d %+v; want 200 with her first message", r.Status, again)
	}
	page := srv.History(t, alice, "general", nil)
	if len(page.Messages) != 2 {
		t.Fatalf("%d messages; want exactly alice's and bob's", len(page.Messages))
	}
}
