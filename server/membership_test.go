package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/internal/clustertest"
	"github.com/ssechat/chat/internal/testenv"
	"github.com/ssechat/chat/server"
	"github.com/ssechat/chat/server/servertest"
	"github.com/ssechat/chat/server/store"
	"github.com/ssechat/chat/server/store/redis"
)

var redisPrefixes atomic.Int64

// onBothStores runs fn against a server on SQLite and one on a real
// redis-server, so the membership rules hold whatever the store.
func onBothStores(t *testing.T, fn func(t *testing.T, start func(opts ...servertest.Option) *servertest.Server)) {
	t.Run("sqlite", func(t *testing.T) {
		fn(t, func(opts ...servertest.Option) *servertest.Server { return servertest.Start(t, opts...) })
	})
	t.Run("redis", func(t *testing.T) {
		testenv.SkipShort(t, "runs redis-server")
		rd := clustertest.StartRedis(t, clustertest.RedisOptions{})
		fn(t, func(opts ...servertest.Option) *servertest.Server {
			prefix := fmt.Sprintf("m%d:", redisPrefixes.Add(1))
			opts = append(opts, servertest.WithStore(func(string) (store.Store, error) {
				return redis.Open(context.Background(), rd.URL(0), redis.Options{Prefix: prefix})
			}))
			return servertest.Start(t, opts...)
		})
	})
}

func putRoom(t *testing.T, srv *servertest.Server, token, room string, body any) *servertest.Response {
	t.Helper()
	return srv.Do(t, http.MethodPut, "/api/rooms/"+room, token, body)
}

func wantStatus(t *testing.T, what string, r *servertest.Response, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s: %d %s, want %d", what, r.Status, r.Body, status)
	}
}

func roomNames(t *testing.T, srv *servertest.Server, token string) []string {
	t.Helper()
	var names []string
	after := ""
	for range 100 {
		r := srv.Do(t, http.MethodGet, "/api/rooms?limit=1000&after="+after, token, nil)
		wantStatus(t, "GET /api/rooms", r, 200)
		var list chat.RoomList
		r.Decode(t, &list)
		for _, room := range list.Rooms {
			names = append(names, room.Name)
		}
		if !list.HasMore {
			return names
		}
		after = list.Rooms[len(list.Rooms)-1].Name
	}
	t.Fatal("GET /api/rooms never ended")
	return nil
}

func members(t *testing.T, srv *servertest.Server, token, room string) []string {
	t.Helper()
	r := srv.Do(t, http.MethodGet, "/api/rooms/"+room+"/members", token, nil)
	wantStatus(t, "GET members of "+room, r, 200)
	var m chat.Members
	r.Decode(t, &m)
	var out []string
	for _, x := range m.Members {
		out = append(out, x.Nick+":"+x.Role)
	}
	return out
}

func TestPutRoomKinds(t *testing.T) {
	onBothStores(t, func(t *testing.T, start func(...servertest.Option) *servertest.Server) {
		srv := start()
		alice, eve := srv.Login(t, "alice"), srv.Login(t, "eve")
		r := putRoom(t, srv, alice, "team", map[string]any{"kind": "private", "topic": "plans"})
		wantStatus(t, "create private room", r, 201)
		var room chat.Room
		r.Decode(t, &room)
		if room.Kind != chat.KindPrivate || room.Topic != "plans" || room.Member == nil || !*room.Member {
			t.Fatalf("created room = %s", r.Body)
		}
		if got := members(t, srv, alice, "team"); !slices.Equal(got, []string{"alice:owner"}) {
			t.Fatalf("members of a new room = %v", got)
		}
		wantErr(t, putRoom(t, srv, alice, "team", map[string]any{"kind": "public"}), 409, "room_kind_fixed")
		wantStatus(t, "PUT again, same kind", putRoom(t, srv, alice, "team", map[string]any{"kind": "private"}), 200)
		// An outsider learns only that the name is taken, whatever it sends.
		for _, body := range []any{nil, map[string]any{"kind": "private"}, map[string]any{"kind": "public"}, map[string]any{"topic": "mine"}} {
			r := putRoom(t, srv, eve, "team", body)
			wantErr(t, r, 409, "room_name_taken")
			if r.Error().Message != "That room name is taken; choose another." {
				t.Fatalf("room_name_taken says more than that: %s", r.Body)
			}
		}
		wantErr(t, putRoom(t, srv, alice, "other", map[string]any{"kind": "direct"}), 422, "bad_room_kind")
		r = putRoom(t, srv, eve, "lobby", nil)
		wantStatus(t, "create public room", r, 201)
		r.Decode(t, &room)
		if room.Kind != chat.KindPublic {
			t.Fatalf("a room created without kind is %q", room.Kind)
		}
		// The hidden room is untouched.
		r = srv.Do(t, http.MethodGet, "/api/rooms/team/members", alice, nil)
		var m chat.Members
		r.Decode(t, &m)
		if len(m.Members) != 1 {
			t.Fatalf("members after the refused PUTs: %s", r.Body)
		}
		if rm, err := srv.Store.Room(t.Context(), "team"); err != nil || rm.Topic != "plans" {
			t.Fatalf("team after the refused PUTs: %+v, %v", rm, err)
		}
	})
}

// hiddenCase is one request about a room; run against a hidden room and a
// missing one, its two answers must be the same.
type hiddenCase struct {
	method, path string // path with %s for the room
	body         any
}

var hiddenCases = []hiddenCase{
	{http.MethodGet, "/api/rooms/%s/messages", nil},
	{http.MethodGet, "/api/rooms/%s/messages?before=1", nil},
	{http.MethodGet, "/api/rooms/%s/messages?after=1&limit=5", nil},
	{http.MethodGet, "/api/rooms/%s/members", nil},
	{http.MethodPost, "/api/rooms/%s/messages", map[string]string{"text": "let me in"}},
	{http.MethodPost, "/api/rooms/%s/messages", map[string]string{"text": ""}},
	{http.MethodPost, "/api/rooms/%s/typing", nil},
	{http.MethodGet, "/api/rooms/%s/events", nil},
	{http.MethodPut, "/api/rooms/%s/members/eve", nil},
	{http.MethodPut, "/api/rooms/%s/members/alice", map[string]string{"role": "member"}},
	{http.MethodPut, "/api/rooms/%s/members/nobody", nil},
	{http.MethodDelete, "/api/rooms/%s/members/eve", nil},
	{http.MethodDelete, "/api/rooms/%s/members/bob", nil},
	{http.MethodDelete, "/api/rooms/%s", nil},
}

// sameAnswer fails unless two answers are byte for byte the same, headers
// included (but Date).
func sameAnswer(t *testing.T, what string, hidden, missing *servertest.Response) {
	t.Helper()
	if hidden.Status != missing.Status || string(hidden.Body) != string(missing.Body) {
		t.Fatalf("%s: a hidden room answers %d %s, a missing one %d %s", what, hidden.Status, hidden.Body, missing.Status, missing.Body)
	}
	h, m := hidden.Header.Clone(), missing.Header.Clone()
	h.Del("Date")
	m.Del("Date")
	if fmt.Sprint(h) != fmt.Sprint(m) {
		t.Fatalf("%s: headers differ: hidden %v, missing %v", what, h, m)
	}
}

func TestHiddenRoomsAnswerAsMissing(t *testing.T) {
	onBothStores(t, func(t *testing.T, start func(...servertest.Option) *servertest.Server) {
		srv := start()
		ctx := t.Context()
		alice, bob := srv.Login(t, "alice"), srv.Login(t, "bob")
		eveLogin := srv.LoginPassword(t, "eve", servertest.Password("eve"))
		var eveInfo chat.SessionInfo
		eveLogin.Decode(t, &eveInfo)
		eve := eveInfo.Token
		wantStatus(t, "create team", putRoom(t, srv, alice, "team", map[string]any{"kind": "private"}), 201)
		wantStatus(t, "add bob", srv.Do(t, http.MethodPut, "/api/rooms/team/members/bob", alice, nil), 201)
		secret := srv.Post(t, alice, "team", "the secret plan")
		r := srv.Do(t, http.MethodPost, "/api/dms", alice, chat.DirectRequest{Nicks: []string{"bob"}})
		wantStatus(t, "POST /api/dms", r, 201)
		var dm chat.Room
		r.Decode(t, &dm)
		srv.Post(t, bob, dm.Name, "just between us")

		snapshot := func() string {
			var out []string
			for _, room := range []string{"team", dm.Name} {
				msgs, _, err := srv.Store.Page(ctx, room, store.PageQuery{Limit: 50})
				if err != nil {
					t.Fatal(err)
				}
				ms, err := srv.Store.Members(ctx, room)
				if err != nil {
					t.Fatal(err)
				}
				rm, err := srv.Store.Room(ctx, room)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, fmt.Sprint(len(msgs), ms, rm.Topic, rm.Kind, rm.PublicRead))
			}
			return fmt.Sprint(out)
		}
		before := snapshot()

		// With a Bearer token and with the cookie (and the page's Origin).
		creds := []struct {
			what   string
			token  string
			header []string
		}{
			{"bearer", eve, nil},
			{"cookie", "", []string{"Cookie", server.CookieName + "=" + eve, "Origin", srv.URL}},
		}
		for _, room := range []string{"team", dm.Name} {
			for _, c := range hiddenCases {
				for _, cr := range creds {
					what := fmt.Sprintf("%s %s (%s)", c.method, fmt.Sprintf(c.path, room), cr.what)
					hidden := srv.Do(t, c.method, fmt.Sprintf(c.path, room), cr.token, c.body, cr.header...)
					missing := srv.Do(t, c.method, fmt.Sprintf(c.path, "no-such-room"), cr.token, c.body, cr.header...)
					if hidden.Status != 404 || hidden.Error().Code != "room_not_found" {
						t.Fatalf("%s: %d %s, want 404 room_not_found", what, hidden.Status, hidden.Body)
					}
					sameAnswer(t, what, hidden, missing)
				}
			}
		}
		// Guessing direct rooms' names finds nothing either.
		for _, guess := range []string{"dm-alice-bob", "dm-" + dm.Name[3:13] + "aaaaaaaaaa", "alice-bob", "dm-bob-alice"} {
			hidden := srv.Do(t, http.MethodGet, "/api/rooms/"+guess+"/messages", eve, nil)
			wantErr(t, hidden, 404, "room_not_found")
		}
		if got := snapshot(); got != before {
			t.Fatalf("hostile requests changed the store:\nbefore %s\nafter  %s", before, got)
		}
		for _, name := range roomNames(t, srv, eve) {
			if name == "team" || name == dm.Name {
				t.Fatalf("GET /api/rooms shows eve the hidden room %s", name)
			}
		}
		r = srv.Do(t, http.MethodGet, "/api/me/rooms", eve, nil)
		if string(r.Body) == "" || r.Status != 200 || containsAny(string(r.Body), "team", dm.Name, secret.Text) {
			t.Fatalf("GET /api/me/rooms of an outsider: %d %s", r.Status, r.Body)
		}
		// The members still read their rooms.
		for _, tok := range []string{alice, bob} {
			wantStatus(t, "member reads team", srv.Do(t, http.MethodGet, "/api/rooms/team/messages", tok, nil), 200)
			wantStatus(t, "member reads the direct room", srv.Do(t, http.MethodGet, "/api/rooms/"+dm.Name+"/messages", tok, nil), 200)
		}
	})
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if sub != "" && strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func TestMembership(t *testing.T) {
	onBothStores(t, func(t *testing.T, start func(...servertest.Option) *servertest.Server) {
		srv := start()
		alice, bob, carol := srv.Login(t, "alice"), srv.Login(t, "bob"), srv.Login(t, "carol")
		put := func(tok, room, nick string, body any) *servertest.Response {
			return srv.Do(t, http.MethodPut, "/api/rooms/"+room+"/members/"+nick, tok, body)
		}
		del := func(tok, room, nick string) *servertest.Response {
			return srv.Do(t, http.MethodDelete, "/api/rooms/"+room+"/members/"+nick, tok, nil)
		}
		// Public room: oneself joins; others are added by owner or admins.
		wantStatus(t, "create lobby", putRoom(t, srv, alice, "lobby", nil), 201)
		wantStatus(t, "bob joins lobby", put(bob, "lobby", "bob", nil), 201)
		wantStatus(t, "bob joins lobby again", put(bob, "lobby", "BOB", nil), 200)
		wantErr(t, put(bob, "lobby", "carol", nil), 403, "not_allowed")
		wantStatus(t, "alice adds carol to lobby", put(alice, "lobby", "carol", nil), 201)

		// Private room.
		wantStatus(t, "create team", putRoom(t, srv, alice, "team", map[string]any{"kind": "private"}), 201)
		wantErr(t, put(bob, "team", "bob", nil), 404, "room_not_found") // not a member: cannot see it
		wantStatus(t, "alice adds bob", put(alice, "team", "bob", nil), 201)
		wantStatus(t, "alice adds bob again", put(alice, "team", "bob", nil), 200)
		wantErr(t, put(bob, "team", "carol", nil), 403, "not_allowed")
		wantErr(t, put(alice, "team", "nobody", nil), 404, "user_not_found")
		wantErr(t, put(alice, "team", "not a nick", nil), 404, "user_not_found")
		wantErr(t, put(alice, "team", "bob", map[string]string{"role": "owner"}), 422, "bad_role")
		// Promote bob while he holds the room; he then adds carol.
		r := put(alice, "team", "bob", map[string]string{"role": "admin"})
		wantStatus(t, "promote bob", r, 200)
		var m chat.Member
		r.Decode(t, &m)
		if m.Role != chat.RoleAdmin || m.Nick != "bob" {
			t.Fatalf("promote answered %s", r.Body)
		}
		wantErr(t, put(bob, "team", "alice", map[string]string{"role": "member"}), 403, "not_allowed")
		wantStatus(t, "admin bob adds carol", put(bob, "team", "carol", nil), 201)
		wantErr(t, put(bob, "team", "carol", map[string]string{"role": "admin"}), 403, "not_allowed") // roles are the owner's
		wantErr(t, put(alice, "team", "alice", map[string]string{"role": "member"}), 403, "not_allowed")
		if got := members(t, srv, alice, "team"); !slices.Equal(got, []string{"alice:owner", "bob:admin", "carol:member"}) {
			t.Fatalf("members = %v", got)
		}
		// Removing: nobody removes the owner; an admin removes members.
		before := members(t, srv, alice, "team")
		wantErr(t, del(bob, "team", "alice"), 403, "not_allowed")
		wantErr(t, del(carol, "team", "alice"), 403, "not_allowed")
		wantErr(t, del(carol, "team", "bob"), 403, "not_allowed")
		wantErr(t, del(alice, "team", "alice"), 403, "not_allowed") // the owner does not leave
		if got := members(t, srv, alice, "team"); !slices.Equal(got, before) {
			t.Fatalf("refused removals changed the members: %v", got)
		}
		wantStatus(t, "bob removes carol", del(bob, "team", "carol"), 204)
		wantErr(t, srv.Do(t, http.MethodGet, "/api/rooms/team/messages", carol, nil), 404, "room_not_found")
		wantErr(t, del(bob, "team", "carol"), 404, "user_not_found")
		// Demote bob; as a member he removes nobody, but he may leave.
		wantStatus(t, "demote bob", put(alice, "team", "bob", map[string]string{"role": "member"}), 200)
		wantStatus(t, "alice adds carol back", put(alice, "team", "carol", nil), 201)
		wantErr(t, del(bob, "team", "carol"), 403, "not_allowed")
		wantStatus(t, "bob leaves", del(bob, "team", "bob"), 204)
		wantErr(t, srv.Do(t, http.MethodGet, "/api/rooms/team/messages", bob, nil), 404, "room_not_found")
		if got := members(t, srv, alice, "team"); !slices.Equal(got, []string{"alice:owner", "carol:member"}) {
			t.Fatalf("members at the end = %v", got)
		}

		// Direct rooms: nobody joins, a member may leave.
		r = srv.Do(t, http.MethodPost, "/api/dms", alice, chat.DirectRequest{Nicks: []string{"bob"}})
		var dm chat.Room
		r.Decode(t, &dm)
		wantErr(t, put(alice, dm.Name, "carol", nil), 403, "not_allowed")
		wantErr(t, put(bob, dm.Name, "bob", map[string]string{"role": "admin"}), 403, "not_allowed")
		wantErr(t, put(carol, dm.Name, "carol", nil), 404, "room_not_found")
		wantErr(t, del(alice, dm.Name, "bob"), 403, "not_allowed")
		if got := members(t, srv, alice, dm.Name); !slices.Equal(got, []string{"alice:member", "bob:member"}) {
			t.Fatalf("direct room members after refused changes: %v", got)
		}
		wantStatus(t, "bob leaves the direct room", del(bob, dm.Name, "bob"), 204)
		wantErr(t, srv.Do(t, http.MethodGet, "/api/rooms/"+dm.Name+"/messages", bob, nil), 404, "room_not_found")
	})
}

func TestPostJoinsPublicRoom(t *testing.T) {
	srv := servertest.Start(t)
	alice, bob := srv.Login(t, "alice"), srv.Login(t, "bob")
	wantStatus(t, "create lobby", putRoom(t, srv, alice, "lobby", nil), 201)
	srv.Do(t, http.MethodGet, "/api/rooms/lobby/messages", bob, nil) // reading does not join
	if got := members(t, srv, bob, "lobby"); !slices.Equal(got, []string{"alice:owner"}) {
		t.Fatalf("members after bob read = %v", got)
	}
	srv.Post(t, bob, "lobby", "hello")
	if got := members(t, srv, bob, "lobby"); !slices.Equal(got, []string{"alice:owner", "bob:member"}) {
		t.Fatalf("members after bob posted = %v", got)
	}
	if got := members(t, srv, bob, "general"); !slices.Equal(got, []string{"alice:member", "bob:member"}) {
		t.Fatalf("new accounts are not members of general: %v", got)
	}
}

func TestDirectRooms(t *testing.T) {
	onBothStores(t, func(t *testing.T, start func(...servertest.Option) *servertest.Server) {
		srv := start()
		alice, bob := srv.Login(t, "alice"), srv.Login(t, "bob")
		srv.Login(t, "carol")
		r := srv.Do(t, http.MethodPost, "/api/dms", alice, chat.DirectRequest{Nicks: []string{"bob"}})
		wantStatus(t, "POST /api/dms", r, 201)
		var first chat.Room
		r.Decode(t, &first)
		if first.Kind != chat.KindDirect || !slices.Equal(first.Members, []string{"alice", "bob"}) || len(first.Name) != 23 {
			t.Fatalf("direct room = %s", r.Body)
		}
		for _, c := range []struct {
			tok   string
			nicks []string
		}{
			{bob, []string{"ALICE"}}, {bob, []string{"alice", "bob"}}, {alice, []string{"Bob", "alice", "bob"}},
		} {
			r := srv.Do(t, http.MethodPost, "/api/dms", c.tok, chat.DirectRequest{Nicks: c.nicks})
			wantStatus(t, fmt.Sprint("POST /api/dms ", c.nicks), r, 200)
			var again chat.Room
			r.Decode(t, &again)
			if again.Name != first.Name {
				t.Fatalf("the same set got %s, then %s", first.Name, again.Name)
			}
		}
		wantErr(t, srv.Do(t, http.MethodPost, "/api/dms", alice, chat.DirectRequest{Nicks: []string{"nobody"}}), 404, "user_not_found")
		wantErr(t, srv.Do(t, http.MethodPost, "/api/dms", alice, chat.DirectRequest{Nicks: []string{}}), 422, "bad_nicks")
		wantErr(t, srv.Do(t, http.MethodPost, "/api/dms", alice, chat.DirectRequest{Nicks: []string{"alice"}}), 422, "bad_nicks")
		many := []string{}
		for i := range 8 {
			n := fmt.Sprintf("u%d", i)
			srv.Login(t, n)
			many = append(many, n)
		}
		wantErr(t, srv.Do(t, http.MethodPost, "/api/dms", alice, chat.DirectRequest{Nicks: many}), 422, "bad_nicks")
		wantStatus(t, "a direct room of 8", srv.Do(t, http.MethodPost, "/api/dms", alice, chat.DirectRequest{Nicks: many[:7]}), 201)
	})
}

func TestDirectRoomConcurrent(t *testing.T) {
	onBothStores(t, func(t *testing.T, start func(...servertest.Option) *servertest.Server) {
		srv := start()
		toks := []string{srv.Login(t, "alice"), srv.Login(t, "bob"), srv.Login(t, "carol")}
		sets := [][]string{{"bob", "carol"}, {"CAROL", "alice"}, {"alice", "bob", "carol"}}
		const n = 50
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			names   = map[string]int{}
			created atomic.Int32
		)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := srv.Do(t, http.MethodPost, "/api/dms", toks[i%3], chat.DirectRequest{Nicks: sets[i%3]})
				if r.Status == 201 {
					created.Add(1)
				} else if r.Status != 200 {
					t.Errorf("POST /api/dms: %d %s", r.Status, r.Body)
					return
				}
				var room chat.Room
				if err := jsonDecode(r.Body, &room); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				names[room.Name]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		// Connections the client dialed for the burst but never used
		// would hold the server's Shutdown for 5 s (net/http waits that
		// long for a new connection's first request).
		srv.Client.CloseIdleConnections()
		if created.Load() != 1 || len(names) != 1 {
			t.Fatalf("%d concurrent requests for one new set: %d said 201, rooms %v; want one room", n, created.Load(), names)
		}
		rooms, err := srv.Store.Rooms(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		direct := 0
		for _, r := range rooms {
			if r.Kind == chat.KindDirect {
				direct++
			}
		}
		if direct != 1 {
			t.Fatalf("the store holds %d direct rooms, want 1", direct)
		}
	})
}

func TestMyRooms(t *testing.T) {
	srv := servertest.Start(t)
	alice := srv.Login(t, "alice")
	srv.Login(t, "bob")
	wantStatus(t, "create team", putRoom(t, srv, alice, "team", map[string]any{"kind": "private"}), 201)
	msg := srv.Post(t, alice, "team", "hi")
	r := srv.Do(t, http.MethodPost, "/api/dms", alice, chat.DirectRequest{Nicks: []string{"bob"}})
	var dm chat.Room
	r.Decode(t, &dm)
	r = srv.Do(t, http.MethodGet, "/api/me/rooms", alice, nil)
	wantStatus(t, "GET /api/me/rooms", r, 200)
	var mine chat.MyRooms
	r.Decode(t, &mine)
	var got []string
	for _, m := range mine.Rooms {
		got = append(got, fmt.Sprintf("%s:%s:%s:%s:%v", m.Name, m.Kind, m.Role, m.Notify, m.Members))
	}
	want := []string{dm.Name + ":direct:member:all:[alice bob]", "general:public:member:mentions:[]", "team:private:owner:mentions:[]"}
	if !slices.Equal(got, want) {
		t.Fatalf("GET /api/me/rooms = %v, want %v", got, want)
	}
	if last := mine.Rooms[2].LastID; last == nil || *last != msg.ID {
		t.Fatalf("last_id of team = %v, want %s", last, msg.ID)
	}
}

func TestRoomListHidesPrivateRooms(t *testing.T) {
	onBothStores(t, func(t *testing.T, start func(...servertest.Option) *servertest.Server) {
		srv := start(servertest.WithConfig(func(c *server.Config) { c.RoomsPerAccount = 0 }))
		ctx := t.Context()
		srv.Login(t, "owner")
		eve := srv.Login(t, "eve")
		const private = 1000
		var wg sync.WaitGroup
		sem := make(chan struct{}, 16)
		for i := range private {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				if _, _, err := srv.Store.CreateRoom(ctx, store.NewRoom{Name: fmt.Sprintf("p%04d", i), Kind: chat.KindPrivate, Owner: "owner"}); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		for _, name := range []string{"pub-a", "pub-b"} {
			wantStatus(t, "create "+name, putRoom(t, srv, eve, name, nil), 201)
		}
		for _, name := range []string{"p0007", "p0500", "p0999"} {
			if _, err := srv.Store.PutMember(ctx, name, "eve", ""); err != nil {
				t.Fatal(err)
			}
		}
		want := []string{"general", "p0007", "p0500", "p0999", "pub-a", "pub-b"}
		if got := roomNames(t, srv, eve); !slices.Equal(got, want) {
			t.Fatalf("GET /api/rooms for eve = %v, want %v", got, want)
		}
		// Paged by the default size too.
		r := srv.Do(t, http.MethodGet, "/api/rooms", eve, nil)
		var list chat.RoomList
		r.Decode(t, &list)
		if len(list.Rooms) != len(want) || list.HasMore {
			t.Fatalf("GET /api/rooms for eve (default page): %s", r.Body)
		}
		for _, room := range list.Rooms { // eve belongs to every room she sees
			if room.Member == nil || !*room.Member {
				t.Fatalf("room %s: member %v, want true", room.Name, room.Member)
			}
		}
		if n := len(roomNames(t, srv, srv.Login(t, "owner"))); n != private+3 {
			t.Fatalf("the owner lists %d rooms, want %d", n, private+3)
		}
	})
}

func TestRoomListPaging(t *testing.T) {
	srv := servertest.Start(t)
	tok := srv.Login(t, "alice")
	for _, n := range []string{"b", "c", "d", "e"} {
		wantStatus(t, "create "+n, putRoom(t, srv, tok, n, nil), 201)
	}
	var got []string
	after := ""
	for page := 0; ; page++ {
		r := srv.Do(t, http.MethodGet, "/api/rooms?limit=2&after="+after, tok, nil)
		var list chat.RoomList
		r.Decode(t, &list)
		if len(list.Rooms) > 2 || page > 5 {
			t.Fatalf("page %d: %s", page, r.Body)
		}
		for _, room := range list.Rooms {
			got = append(got, room.Name)
		}
		if !list.HasMore {
			break
		}
		after = list.Rooms[len(list.Rooms)-1].Name
	}
	if want := []string{"b", "c", "d", "e", "general"}; !slices.Equal(got, want) {
		t.Fatalf("paged rooms = %v, want %v", got, want)
	}
	for _, q := range []string{"limit=0", "limit=1001", "limit=x", "limit="} {
		wantErr(t, srv.Do(t, http.MethodGet, "/api/rooms?"+q, tok, nil), 400, "bad_query")
	}
}

func TestPublicRead(t *testing.T) {
	srv := servertest.Start(t)
	alice, bob := srv.Login(t, "alice"), srv.Login(t, "bob")
	wantStatus(t, "create news", putRoom(t, srv, alice, "news", nil), 201)
	srv.Post(t, alice, "news", "extra extra")
	anon := func(room string) *servertest.Response {
		return srv.Do(t, http.MethodGet, "/api/rooms/"+room+"/messages", "", nil)
	}
	wantErr(t, anon("news"), 401, "unauthorized")
	wantErr(t, putRoom(t, srv, bob, "news", map[string]any{"public_read": true}), 403, "not_allowed")
	wantErr(t, anon("news"), 401, "unauthorized")
	r := putRoom(t, srv, alice, "news", map[string]any{"public_read": true})
	wantStatus(t, "owner sets public_read", r, 200)
	r = anon("news")
	wantStatus(t, "anonymous history of a public_read room", r, 200)
	var page chat.MessagePage
	r.Decode(t, &page)
	if len(page.Messages) != 1 || page.Messages[0].Text != "extra extra" {
		t.Fatalf("anonymous history: %s", r.Body)
	}
	// Any other room, existing or not, answers as without a session.
	sameAnswer(t, "anonymous, general vs missing", anon("general"), anon("no-such-room"))
	wantErr(t, anon("general"), 401, "unauthorized")
	wantErr(t, putRoom(t, srv, alice, "team", map[string]any{"kind": "private", "public_read": true}), 403, "not_allowed")
	wantStatus(t, "create team", putRoom(t, srv, alice, "team", map[string]any{"kind": "private"}), 201)
	wantErr(t, putRoom(t, srv, alice, "team", map[string]any{"public_read": true}), 403, "not_allowed")
	// Anonymous posting is still refused.
	wantErr(t, srv.Do(t, http.MethodPost, "/api/rooms/news/messages", "", map[string]string{"text": "x"}), 401, "unauthorized")
	wantStatus(t, "owner clears public_read", putRoom(t, srv, alice, "news", map[string]any{"public_read": false}), 200)
	wantErr(t, anon("news"), 401, "unauthorized")
}

func TestDeleteRoom(t *testing.T) {
	srv := servertest.Start(t)
	ctx := t.Context()
	alice, bob := srv.Login(t, "alice"), srv.Login(t, "bob")
	wantStatus(t, "create team", putRoom(t, srv, alice, "team", map[string]any{"kind": "private"}), 201)
	wantStatus(t, "add bob", srv.Do(t, http.MethodPut, "/api/rooms/team/members/bob", alice, map[string]string{"role": "admin"}), 201)
	srv.Post(t, alice, "team", "to be erased")
	wantErr(t, srv.Do(t, http.MethodDelete, "/api/rooms/team", bob, nil), 403, "not_allowed") // an admin does not delete
	wantStatus(t, "owner deletes", srv.Do(t, http.MethodDelete, "/api/rooms/team", alice, nil), 204)
	wantErr(t, srv.Do(t, http.MethodGet, "/api/rooms/team/messages", alice, nil), 404, "room_not_found")
	wantErr(t, srv.Do(t, http.MethodDelete, "/api/rooms/team", alice, nil), 404, "room_not_found")
	wantStatus(t, "re-create team", putRoom(t, srv, bob, "team", nil), 201)
	if page := srv.History(t, bob, "team", nil); len(page.Messages) != 0 {
		t.Fatalf("a re-created room shows the deleted messages: %+v", page.Messages)
	}

	// A server admin manages ownerless public rooms; general stays.
	hash, err := server.HashPassword(servertest.Config().Password, servertest.Password("root"))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Store.CreateAccount(ctx, store.Account{Nick: "root", PasswordHash: hash, Admin: true, Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	root := srv.Login(t, "root")
	if _, _, err := srv.Store.PutRoom(ctx, "old", nil); err != nil { // as a migrated room: no owner
		t.Fatal(err)
	}
	wantErr(t, srv.Do(t, http.MethodDelete, "/api/rooms/old", bob, nil), 403, "not_allowed")
	wantStatus(t, "admin sets public_read of an ownerless room", putRoom(t, srv, root, "old", map[string]any{"public_read": true}), 200)
	wantStatus(t, "admin removes bob from general", srv.Do(t, http.MethodDelete, "/api/rooms/general/members/bob", root, nil), 204)
	wantStatus(t, "admin deletes an ownerless room", srv.Do(t, http.MethodDelete, "/api/rooms/old", root, nil), 204)
	wantErr(t, srv.Do(t, http.MethodDelete, "/api/rooms/general", root, nil), 403, "not_allowed")
	wantStatus(t, "admin deletes bob's public room", srv.Do(t, http.MethodDelete, "/api/rooms/team", root, nil), 204)
	wantStatus(t, "create private", putRoom(t, srv, alice, "secret", map[string]any{"kind": "private"}), 201)
	wantErr(t, srv.Do(t, http.MethodDelete, "/api/rooms/secret", root, nil), 404, "room_not_found") // not his to see
}

func TestRoomsPerAccount(t *testing.T) {
	srv := servertest.Start(t, servertest.WithConfig(func(c *server.Config) { c.RoomsPerAccount = 2 }))
	alice := srv.Login(t, "alice")
	wantStatus(t, "room 1", putRoom(t, srv, alice, "r1", nil), 201)
	wantStatus(t, "room 2", putRoom(t, srv, alice, "r2", map[string]any{"kind": "private"}), 201)
	wantErr(t, putRoom(t, srv, alice, "r3", nil), 403, "too_many_rooms")
	if _, err := srv.Store.Room(t.Context(), "r3"); err == nil {
		t.Fatal("a refused room was created")
	}
	wantStatus(t, "PUT of an existing room is no new room", putRoom(t, srv, alice, "r1", map[string]any{"topic": "t"}), 200)
	wantStatus(t, "delete r1", srv.Do(t, http.MethodDelete, "/api/rooms/r1", alice, nil), 204)
	wantStatus(t, "room 3 after a delete", putRoom(t, srv, alice, "r3", nil), 201)
}

func jsonDecode(b []byte, v any) error { return json.Unmarshal(b, v) }
