package storetest

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/internal/testenv"
	"github.com/ssechat/chat/server/store"
)

// RunMembership runs the Membership role's part of the suite.
func RunMembership(t *testing.T, open Opener) {
	run(t, open, []test{
		{"KindsAndOwners", testRoomKinds},
		{"CreateConcurrent", testCreateRoomConcurrent},
		{"Members", testMembers},
		{"Access", testAccess},
		{"Direct", testDirect},
		{"DirectConcurrent", testDirectConcurrent},
		{"NewAccountJoinsDefault", testNewAccountJoinsDefault},
		{"DeleteAccountLeavesRooms", testDeleteAccountLeaves},
		{"DeleteRoom", testDeleteRoom},
		{"AdminFlag", testAdminFlag},
		{"MemberEventRelayed", testMemberEventRelayed},
	})
}

func mustAccount(t *testing.T, s store.Store, nicks ...string) {
	t.Helper()
	for _, n := range nicks {
		wantNoErr(t, "CreateAccount("+n+")", s.CreateAccount(t.Context(), store.Account{Nick: n, PasswordHash: "h"}))
	}
}

func memberNicks(ms []store.Member) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Nick+":"+m.Role)
	}
	return out
}

func testRoomKinds(t *testing.T, open Opener) {
	s := open(t, Options{})
	ctx := t.Context()
	mustAccount(t, s, "Alice")
	mustRoom(t, s, "lobby")
	r, err := s.Room(ctx, "lobby")
	wantNoErr(t, "Room(lobby)", err)
	if r.Kind != chat.KindPublic || r.Owner != "" || r.PublicRead {
		t.Fatalf("a PutRoom room = %+v; want public, no owner, not public_read", r)
	}
	r, created, err := s.CreateRoom(ctx, store.NewRoom{Name: "team", Kind: chat.KindPrivate, Owner: "alice", Topic: "plans"})
	wantNoErr(t, "CreateRoom(team)", err)
	if !created || r.Kind != chat.KindPrivate || r.Owner != "Alice" || r.Topic != "plans" || r.Created.IsZero() {
		t.Fatalf("CreateRoom(team) = %+v, %v; want a new private room owned by Alice (as spelled), topic plans", r, created)
	}
	r, created, err = s.CreateRoom(ctx, store.NewRoom{Name: "team", Kind: chat.KindPublic, Topic: "other"})
	wantNoErr(t, "CreateRoom(team) again", err)
	if created || r.Kind != chat.KindPrivate || r.Topic != "plans" {
		t.Fatalf("CreateRoom of an existing room = %+v, %v; want it unchanged, created false", r, created)
	}
	ms, err := s.Members(ctx, "team")
	wantNoErr(t, "Members(team)", err)
	if got := memberNicks(ms); !slices.Equal(got, []string{"Alice:owner"}) {
		t.Fatalf("members of a new room = %v, want the owner alone", got)
	}
	_, _, err = s.CreateRoom(ctx, store.NewRoom{Name: "ghost", Kind: chat.KindPrivate, Owner: "nobody"})
	wantErr(t, "CreateRoom with an unknown owner", err, store.ErrNotFound)
	if _, err := s.Room(ctx, "ghost"); err == nil {
		t.Fatal("a CreateRoom refused for its owner left a room behind")
	}

	r, err = s.SetPublicRead(ctx, "lobby", true)
	wantNoErr(t, "SetPublicRead(lobby)", err)
	if !r.PublicRead {
		t.Fatalf("SetPublicRead(true) = %+v", r)
	}
	if r, _ := s.Room(ctx, "lobby"); !r.PublicRead {
		t.Fatal("public_read did not stick")
	}
	_, err = s.SetPublicRead(ctx, "nope", true)
	wantErr(t, "SetPublicRead(unknown)", err, store.ErrNotFound)
	rooms, err := s.Rooms(ctx)
	wantNoErr(t, "Rooms", err)
	for _, r := range rooms {
		if r.Name == "team" && r.Kind != chat.KindPrivate {
			t.Fatalf("Rooms lists team as %q", r.Kind)
		}
	}
}

func testCreateRoomConcurrent(t *testing.T, open Opener) {
	s := open(t, Options{})
	ctx := t.Context()
	const n = 20
	for i := range n {
		mustAccount(t, s, fmt.Sprintf("u%d", i))
	}
	var created atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, c, err := s.CreateRoom(ctx, store.NewRoom{Name: "race", Kind: chat.KindPrivate, Owner: fmt.Sprintf("u%d", i)})
			if err != nil {
				t.Errorf("CreateRoom: %v", err)
			}
			if c {
				created.Add(1)
			}
		}()
	}
	wg.Wait()
	if created.Load() != 1 {
		t.Fatalf("%d concurrent CreateRoom calls said created %d times, want once", n, created.Load())
	}
	ms, err := s.Members(ctx, "race")
	wantNoErr(t, "Members(race)", err)
	if len(ms) != 1 || ms[0].Role != chat.RoleOwner {
		t.Fatalf("members after the race = %v, want one owner", memberNicks(ms))
	}
}

// openWithTeam opens a store with the accounts nicks (alice among them) and
// a private room team that alice owns: the start of most membership tests.
func openWithTeam(t *testing.T, open Opener, nicks ...string) store.Store {
	t.Helper()
	s := open(t, Options{})
	mustAccount(t, s, nicks...)
	_, _, err := s.CreateRoom(t.Context(), store.NewRoom{Name: "team", Kind: chat.KindPrivate, Owner: "alice"})
	wantNoErr(t, "CreateRoom", err)
	return s
}

func testMembers(t *testing.T, open Opener) {
	s := openWithTeam(t, open, "alice", "Bob", "carol")
	ctx := t.Context()

	c, err := s.PutMember(ctx, "team", "bob", "")
	wantNoErr(t, "PutMember(bob)", err)
	if !c {
		t.Fatal("PutMember of a new member said not created")
	}
	c, err = s.PutMember(ctx, "team", "BOB", "")
	wantNoErr(t, "PutMember(BOB) again", err)
	if c {
		t.Fatal("PutMember of a member (another case) said created")
	}
	c, err = s.PutMember(ctx, "team", "carol", chat.RoleAdmin)
	wantNoErr(t, "PutMember(carol, admin)", err)
	if !c {
		t.Fatal("PutMember(carol, admin) said not created")
	}
	ms, err := s.Members(ctx, "team")
	wantNoErr(t, "Members", err)
	if got, want := memberNicks(ms), []string{"alice:owner", "Bob:member", "carol:admin"}; !slices.Equal(got, want) {
		t.Fatalf("Members = %v, want %v", got, want)
	}
	// Promote and demote; "" keeps a role.
	_, err = s.PutMember(ctx, "team", "bob", chat.RoleAdmin)
	wantNoErr(t, "promote bob", err)
	_, err = s.PutMember(ctx, "team", "carol", chat.RoleMember)
	wantNoErr(t, "demote carol", err)
	_, err = s.PutMember(ctx, "team", "bob", "")
	wantNoErr(t, "PutMember(bob, \"\")", err)
	ms, _ = s.Members(ctx, "team")
	if got, want := memberNicks(ms), []string{"alice:owner", "Bob:admin", "carol:member"}; !slices.Equal(got, want) {
		t.Fatalf("after promote/demote Members = %v, want %v", got, want)
	}

	_, err = s.PutMember(ctx, "team", "dave", "")
	wantErr(t, "PutMember(unknown account)", err, store.ErrNotFound)
	_, err = s.PutMember(ctx, "nope", "bob", "")
	wantErr(t, "PutMember(unknown room)", err, store.ErrNotFound)
	_, err = s.Members(ctx, "nope")
	wantErr(t, "Members(unknown room)", err, store.ErrNotFound)

	mustRoom(t, s, "lobby")
	_, err = s.PutMember(ctx, "lobby", "bob", "")
	wantNoErr(t, "PutMember(lobby, bob)", err)
	rs, err := s.RoomsOf(ctx, "BOB")
	wantNoErr(t, "RoomsOf(bob)", err)
	var got []string
	for _, r := range rs {
		got = append(got, r.Room.Name+":"+r.Role+":"+r.Room.Kind)
	}
	if want := []string{"lobby:member:public", "team:admin:private"}; !slices.Equal(got, want) {
		t.Fatalf("RoomsOf(bob) = %v, want %v", got, want)
	}

	wantNoErr(t, "RemoveMember(bob)", s.RemoveMember(ctx, "team", "Bob"))
	wantErr(t, "RemoveMember(bob) twice", s.RemoveMember(ctx, "team", "bob"), store.ErrNotFound)
	wantErr(t, "RemoveMember(unknown room)", s.RemoveMember(ctx, "nope", "bob"), store.ErrNotFound)
	rs, _ = s.RoomsOf(ctx, "bob")
	if len(rs) != 1 || rs[0].Room.Name != "lobby" {
		t.Fatalf("RoomsOf(bob) after leaving team = %+v", rs)
	}
	rs, err = s.RoomsOf(ctx, "nobody")
	wantNoErr(t, "RoomsOf(unknown)", err)
	if len(rs) != 0 {
		t.Fatalf("RoomsOf(unknown) = %+v", rs)
	}
}

func testAccess(t *testing.T, open Opener) {
	s := openWithTeam(t, open, "alice", "bob")
	ctx := t.Context()
	r, role, err := s.Access(ctx, "team", "ALICE")
	wantNoErr(t, "Access(team, alice)", err)
	if r.Name != "team" || r.Kind != chat.KindPrivate || role != chat.RoleOwner {
		t.Fatalf("Access(team, alice) = %+v, %q", r, role)
	}
	r, role, err = s.Access(ctx, "team", "bob")
	wantNoErr(t, "Access(team, bob)", err)
	if r.Name != "team" || role != "" {
		t.Fatalf("Access(team, bob) = %+v, %q; want the room and no role", r, role)
	}
	_, role, err = s.Access(ctx, "nope", "alice")
	wantErr(t, "Access(unknown room)", err, store.ErrNotFound)
	if role != "" {
		t.Fatalf("Access(unknown room) gave role %q", role)
	}
	_, role, err = s.Access(ctx, "team", "nobody")
	wantNoErr(t, "Access(team, unknown account)", err)
	if role != "" {
		t.Fatalf("Access of an unknown account gave role %q", role)
	}
}

func testDirect(t *testing.T, open Opener) {
	s := open(t, Options{})
	ctx := t.Context()
	mustAccount(t, s, "Alice", "bob", "carol")
	r, created, err := s.DirectRoom(ctx, "dm-one", []string{"Alice", "bob"})
	wantNoErr(t, "DirectRoom(alice, bob)", err)
	if !created || r.Name != "dm-one" || r.Kind != chat.KindDirect || r.Owner != "" {
		t.Fatalf("DirectRoom = %+v, %v; want a new direct room dm-one without owner", r, created)
	}
	for _, set := range [][]string{{"bob", "alice"}, {"BOB", "ALICE"}, {"alice", "bob", "Alice"}} {
		r, created, err := s.DirectRoom(ctx, "dm-two", set)
		wantNoErr(t, fmt.Sprint("DirectRoom", set), err)
		if created || r.Name != "dm-one" {
			t.Fatalf("DirectRoom(%v) = %s, created %v; want dm-one again", set, r.Name, created)
		}
	}
	if _, err := s.Room(ctx, "dm-two"); err == nil {
		t.Fatal("a DirectRoom that found the set's room created the name it was given")
	}
	ms, err := s.Members(ctx, "dm-one")
	wantNoErr(t, "Members(dm-one)", err)
	if got := memberNicks(ms); !slices.Equal(got, []string{"Alice:member", "bob:member"}) {
		t.Fatalf("members of the direct room = %v", got)
	}
	r, created, err = s.DirectRoom(ctx, "dm-three", []string{"alice", "bob", "carol"})
	wantNoErr(t, "DirectRoom(alice, bob, carol)", err)
	if !created || r.Name != "dm-three" {
		t.Fatalf("another set got %s, created %v", r.Name, created)
	}
	_, _, err = s.DirectRoom(ctx, "dm-four", []string{"alice", "nobody"})
	wantErr(t, "DirectRoom with an unknown account", err, store.ErrNotFound)
	if _, err := s.Room(ctx, "dm-four"); err == nil {
		t.Fatal("a refused DirectRoom left a room behind")
	}
	_, _, err = s.DirectRoom(ctx, "dm-five", []string{"alice", "ALICE"})
	wantErr(t, "DirectRoom of one account", err, store.ErrInvalid)
	_, _, err = s.DirectRoom(ctx, "dm-one", []string{"bob", "carol"})
	wantErr(t, "DirectRoom under a taken name", err, store.ErrExists)
}

func testDirectConcurrent(t *testing.T, open Opener) {
	s := open(t, Options{})
	ctx := t.Context()
	mustAccount(t, s, "alice", "bob", "carol")
	const n = 50
	names := make([]string, n)
	var created atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			set := []string{"alice", "bob", "carol"}
			if i%2 == 1 {
				set = []string{"CAROL", "bob", "Alice"}
			}
			r, c, err := s.DirectRoom(ctx, fmt.Sprintf("dm-%d", i), set)
			if err != nil {
				t.Errorf("DirectRoom: %v", err)
				return
			}
			names[i] = r.Name
			if c {
				created.Add(1)
			}
		}()
	}
	wg.Wait()
	if created.Load() != 1 {
		t.Fatalf("%d concurrent DirectRoom calls created %d rooms, want 1", n, created.Load())
	}
	for _, name := range names {
		if name != names[0] {
			t.Fatalf("concurrent calls got rooms %s and %s", names[0], name)
		}
	}
	rooms, _ := s.Rooms(ctx)
	if len(rooms) != 1 {
		t.Fatalf("after the race the store holds %d rooms, want 1", len(rooms))
	}
}

func testNewAccountJoinsDefault(t *testing.T, open Opener) {
	s := open(t, Options{})
	ctx := t.Context()
	mustAccount(t, s, "early") // before general exists: joins nothing
	mustRoom(t, s, chat.DefaultRoom)
	mustAccount(t, s, "late")
	ms, err := s.Members(ctx, chat.DefaultRoom)
	wantNoErr(t, "Members(general)", err)
	if got := memberNicks(ms); !slices.Equal(got, []string{"late:member"}) {
		t.Fatalf("members of general = %v, want the account made after it", got)
	}
}

func testDeleteAccountLeaves(t *testing.T, open Opener) {
	s := openWithTeam(t, open, "alice", "bob")
	ctx := t.Context()
	_, err := s.PutMember(ctx, "team", "bob", "")
	wantNoErr(t, "PutMember", err)
	dm, _, err := s.DirectRoom(ctx, "dm-ab", []string{"alice", "bob"})
	wantNoErr(t, "DirectRoom", err)

	wantNoErr(t, "DeleteAccount(bob)", s.DeleteAccount(ctx, "bob"))
	mustAccount(t, s, "Bob") // someone else takes the nick
	for _, room := range []string{"team", dm.Name} {
		if _, role, err := s.Access(ctx, room, "bob"); err != nil || role != "" {
			t.Fatalf("a new account of a deleted nick has role %q in %s (%v)", role, room, err)
		}
	}
	if rs, _ := s.RoomsOf(ctx, "bob"); len(rs) != 0 {
		t.Fatalf("a new account of a deleted nick inherits rooms %+v", rs)
	}
	r, created, err := s.DirectRoom(ctx, "dm-ab2", []string{"alice", "bob"})
	wantNoErr(t, "DirectRoom after the account was replaced", err)
	if !created || r.Name == dm.Name {
		t.Fatalf("the new bob got the old conversation %s (created %v)", r.Name, created)
	}
}

func testDeleteRoom(t *testing.T, open Opener) {
	s := openWithTeam(t, open, "alice", "bob")
	ctx := t.Context()
	mustAppend(t, s, store.NewMessage{Room: "team", Nick: "alice", Kind: chat.KindText, Text: "secret"})
	dm, _, err := s.DirectRoom(ctx, "dm-ab", []string{"alice", "bob"})
	wantNoErr(t, "DirectRoom", err)

	wantNoErr(t, "DeleteRoom(team)", s.DeleteRoom(ctx, "team"))
	wantErr(t, "DeleteRoom(team) twice", s.DeleteRoom(ctx, "team"), store.ErrNotFound)
	_, err = s.Room(ctx, "team")
	wantErr(t, "Room after DeleteRoom", err, store.ErrNotFound)
	_, _, err = s.Access(ctx, "team", "alice")
	wantErr(t, "Access after DeleteRoom", err, store.ErrNotFound)
	_, _, err = s.Page(ctx, "team", store.PageQuery{Limit: 10})
	wantErr(t, "Page after DeleteRoom", err, store.ErrNotFound)
	_, _, err = s.Append(ctx, store.NewMessage{Room: "team", Nick: "alice", Kind: chat.KindText, Text: "x"})
	wantErr(t, "Append after DeleteRoom", err, store.ErrNotFound)
	if rs, _ := s.RoomsOf(ctx, "alice"); len(rs) != 1 || rs[0].Room.Name != dm.Name {
		t.Fatalf("RoomsOf(alice) after DeleteRoom = %+v", rs)
	}
	rooms, _ := s.Rooms(ctx)
	for _, r := range rooms {
		if r.Name == "team" {
			t.Fatal("Rooms lists a deleted room")
		}
	}
	// The name is free again, and the new room starts empty.
	_, created, err := s.CreateRoom(ctx, store.NewRoom{Name: "team", Kind: chat.KindPublic, Owner: "bob"})
	wantNoErr(t, "CreateRoom after DeleteRoom", err)
	if !created {
		t.Fatal("re-creating a deleted room said it existed")
	}
	msgs, _, err := s.Page(ctx, "team", store.PageQuery{Limit: 10})
	wantNoErr(t, "Page of the new room", err)
	if len(msgs) != 0 {
		t.Fatalf("a room re-created after deletion holds the old messages %+v", msgs)
	}
	if ms, _ := s.Members(ctx, "team"); len(ms) != 1 || ms[0].Nick != "bob" {
		t.Fatalf("a room re-created after deletion has members %v", memberNicks(ms))
	}
	// A deleted direct room frees its set.
	wantNoErr(t, "DeleteRoom(dm)", s.DeleteRoom(ctx, dm.Name))
	r, created, err := s.DirectRoom(ctx, "dm-new", []string{"alice", "bob"})
	wantNoErr(t, "DirectRoom after deleting the set's room", err)
	if !created || r.Name != "dm-new" {
		t.Fatalf("DirectRoom after deleting the set's room = %s, created %v", r.Name, created)
	}
}

func testAdminFlag(t *testing.T, open Opener) {
	s := open(t, Options{})
	ctx := t.Context()
	wantNoErr(t, "CreateAccount(root)", s.CreateAccount(ctx, store.Account{Nick: "root", PasswordHash: "h", Admin: true}))
	mustAccount(t, s, "plain")
	if a, err := s.Account(ctx, "root"); err != nil || !a.Admin {
		t.Fatalf("Account(root) = %+v, %v; want Admin", a, err)
	}
	if a, err := s.Account(ctx, "plain"); err != nil || a.Admin {
		t.Fatalf("Account(plain) = %+v, %v; want not Admin", a, err)
	}
}

// testMemberEventRelayed: a membership change the server publishes reaches
// the listener (every node's, in a cluster), so the streams of a removed
// member can be ended wherever they are open.
func testMemberEventRelayed(t *testing.T, open Opener) {
	s := open(t, Options{})
	rec := listen(s)
	createAndWatch(t, s, "team")
	want := store.MemberChange{Room: "team", Nick: "bob", State: store.MemberRemoved, By: "alice"}
	wantNoErr(t, "Publish(member)", s.Publish(t.Context(), store.Event{Room: "team", Member: &want}))
	testenv.Eventually(t, waitFor, "the member event at the listener", func() bool {
		for _, e := range rec.all() {
			if e.Member != nil && *e.Member == want && e.Room == "team" {
				return true
			}
		}
		return false
	})
}

// MemberNicks lists the room's members as nick:role, failing the test when
// Members fails. The stores' own migration tests read what a migration
// left through it.
func MemberNicks(t *testing.T, s store.Membership, room string) []string {
	t.Helper()
	ms, err := s.Members(t.Context(), room)
	if err != nil {
		t.Fatalf("Members(%s): %v", room, err)
	}
	return memberNicks(ms)
}

// CheckPostersAreMembers checks what the membership migration makes of the
// data both stores' migration tests start from (Alice posted in general,
// Alice and bob in golang): each room's posters become its plain members.
// One check serves both stores, so that they cannot drift apart on what
// the migration promises.
func CheckPostersAreMembers(t *testing.T, s store.Membership) {
	t.Helper()
	if got, want := MemberNicks(t, s, chat.DefaultRoom), []string{"Alice:member"}; !slices.Equal(got, want) {
		t.Errorf("members of general = %v, want %v (the posters)", got, want)
	}
	if got, want := MemberNicks(t, s, "golang"), []string{"Alice:member", "bob:member"}; !slices.Equal(got, want) {
		t.Errorf("members of golang = %v, want %v (the posters)", got, want)
	}
}
