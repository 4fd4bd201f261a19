package storetest

import (
	"testing"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/store"
)

// RunHooks runs the Hooks role's part of the suite.
func RunHooks(t *testing.T, open Opener) {
	run(t, open, []test{
		{"Hooks", testHooks},
		{"HookMessagesKeepVia", testHookMessagesKeepVia},
		{"HooksOfDeletedRoom", testHooksOfDeletedRoom},
	})
}

func sameHook(a, b store.Hook) bool {
	return a.ID == b.ID && a.SecretHash == b.SecretHash && a.Room == b.Room && a.Name == b.Name &&
		a.Creator == b.Creator && closeTo(a.Created, b.Created)
}

func testHooks(t *testing.T, open Opener) {
	s := open(t, Options{})
	ctx := t.Context()
	mustRoom(t, s, "ops")
	mustRoom(t, s, "dev")
	now := time.Now().UTC()
	h1 := store.Hook{ID: "k1", SecretHash: "s1", Room: "ops", Name: "ci", Creator: "alice", Created: now}
	h2 := store.Hook{ID: "k2", SecretHash: "s2", Room: "ops", Name: "alerts", Creator: "bob", Created: now.Add(time.Second)}
	h3 := store.Hook{ID: "k3", SecretHash: "s3", Room: "dev", Name: "ci", Creator: "alice", Created: now}
	for _, h := range []store.Hook{h1, h2, h3} {
		wantNoErr(t, "CreateHook("+h.ID+")", s.CreateHook(ctx, h))
	}
	wantErr(t, "CreateHook with a taken id", s.CreateHook(ctx, store.Hook{ID: "k1", SecretHash: "x", Room: "dev", Name: "n", Creator: "a", Created: now}), store.ErrExists)
	wantErr(t, "CreateHook in no room", s.CreateHook(ctx, store.Hook{ID: "k9", SecretHash: "x", Room: "nowhere", Name: "n", Creator: "a", Created: now}), store.ErrNotFound)

	got, err := s.Hook(ctx, "k2")
	wantNoErr(t, "Hook(k2)", err)
	if !sameHook(got, h2) {
		t.Fatalf("Hook(k2) = %+v, want %+v", got, h2)
	}
	_, err = s.Hook(ctx, "nope")
	wantErr(t, "Hook(unknown)", err, store.ErrNotFound)

	list, err := s.RoomHooks(ctx, "ops")
	wantNoErr(t, "RoomHooks(ops)", err)
	if len(list) != 2 || !sameHook(list[0], h1) || !sameHook(list[1], h2) {
		t.Fatalf("RoomHooks(ops) = %+v, want k1 then k2", list)
	}
	if list, err := s.RoomHooks(ctx, "nowhere"); err != nil || len(list) != 0 {
		t.Fatalf("RoomHooks(nowhere) = %+v, %v; want none", list, err)
	}

	wantErr(t, "DeleteHook of another room's hook", s.DeleteHook(ctx, "dev", "k1"), store.ErrNotFound)
	wantNoErr(t, "DeleteHook(ops, k1)", s.DeleteHook(ctx, "ops", "k1"))
	_, err = s.Hook(ctx, "k1")
	wantErr(t, "Hook after DeleteHook", err, store.ErrNotFound)
	wantErr(t, "DeleteHook twice", s.DeleteHook(ctx, "ops", "k1"), store.ErrNotFound)
	if list, _ := s.RoomHooks(ctx, "ops"); len(list) != 1 || list[0].ID != "k2" {
		t.Fatalf("RoomHooks after DeleteHook = %+v, want only k2", list)
	}
}

// testHookMessagesKeepVia: a message's Via (what posted it) comes back from
// Append, Page and Since, and a person's message has none.
func testHookMessagesKeepVia(t *testing.T, open Opener) {
	s := open(t, Options{})
	mustRoom(t, s, "ops")
	hooked := mustAppend(t, s, store.NewMessage{Room: "ops", Nick: "ci", Kind: chat.KindText, Text: "deployed", Via: chat.ViaHook, TS: time.Now().UTC()})
	person := mustAppend(t, s, store.NewMessage{Room: "ops", Nick: "alice", Kind: chat.KindText, Text: "thanks", TS: time.Now().UTC()})
	if hooked.Via != chat.ViaHook || person.Via != "" {
		t.Fatalf("Append returned via %q and %q, want %q and none", hooked.Via, person.Via, chat.ViaHook)
	}
	page, _, err := s.Page(t.Context(), "ops", store.PageQuery{Limit: 10})
	wantNoErr(t, "Page", err)
	checkMessages(t, "Page", page, []chat.Message{hooked, person})
	since, _, err := s.Since(t.Context(), "ops", "0", 10)
	wantNoErr(t, "Since", err)
	checkMessages(t, "Since", since, []chat.Message{hooked, person})
}

// testHooksOfDeletedRoom: a deleted room takes its hooks with it, and a room
// made again under the name does not bring them back.
func testHooksOfDeletedRoom(t *testing.T, open Opener) {
	s := open(t, Options{})
	ctx := t.Context()
	mustRoom(t, s, "ops")
	wantNoErr(t, "CreateHook", s.CreateHook(ctx, store.Hook{ID: "k1", SecretHash: "s1", Room: "ops", Name: "ci", Creator: "alice", Created: time.Now().UTC()}))
	wantNoErr(t, "DeleteRoom", s.DeleteRoom(ctx, "ops"))
	_, err := s.Hook(ctx, "k1")
	wantErr(t, "Hook of a deleted room", err, store.ErrNotFound)
	mustRoom(t, s, "ops")
	_, err = s.Hook(ctx, "k1")
	wantErr(t, "Hook once the room is made again", err, store.ErrNotFound)
	if list, err := s.RoomHooks(ctx, "ops"); err != nil || len(list) != 0 {
		t.Fatalf("RoomHooks of the new room = %+v, %v; want none", list, err)
	}
}
