package sqlite_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/store"
	"github.com/ssechat/chat/server/store/sqlite"
	"github.com/ssechat/chat/server/store/storetest"
)

// testdata/v1-chat.db was written by chat-server before membership (schema
// 1, commit 33610be): accounts Alice, bob and carol registered through the
// API; room golang (topic "Go talk") created by Alice; Alice posted once in
// general and once in golang, bob twice in golang, carol never.
func TestMigrateV1DataDirectory(t *testing.T) {
	src, err := os.ReadFile("testdata/v1-chat.db")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "chat.db")
	if err := os.WriteFile(path, src, 0o600); err != nil {
		t.Fatal(err)
	}
	s := openStore(t, path, sqlite.Options{})
	ctx := t.Context()

	rooms, err := s.Rooms(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rooms) != 2 {
		t.Fatalf("rooms after migration: %+v", rooms)
	}
	for _, r := range rooms {
		if r.Kind != chat.KindPublic || r.Owner != "" || r.PublicRead {
			t.Errorf("room %s after migration = %+v; want public, no owner, not public_read", r.Name, r)
		}
	}
	if rooms[1].Topic != "Go talk" || rooms[1].LastID != "3" {
		t.Errorf("golang lost its topic or messages: %+v", rooms[1])
	}
	storetest.CheckPostersAreMembers(t, s)
	if a, err := s.Account(ctx, "carol"); err != nil || a.Admin {
		t.Errorf("carol after migration = %+v, %v; want the account, not admin", a, err)
	}
	msgs, _, err := s.Page(ctx, "golang", store.PageQuery{Limit: 10})
	if err != nil || len(msgs) != 3 {
		t.Fatalf("history of golang after migration: %d messages, %v", len(msgs), err)
	}
	// The migrated file takes new writes and opens again.
	if _, err := s.PutMember(ctx, "golang", "carol", ""); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openStore(t, path, sqlite.Options{})
	if got := storetest.MemberNicks(t, s, "golang"); len(got) != 3 {
		t.Errorf("members of golang after reopening = %v", got)
	}
}

// TestDeleteRoomErasesText: the text of a deleted room's messages is gone
// from the database file, not merely unlinked (secure_delete), once the
// WAL is checkpointed (at the latest when the store closes).
func TestDeleteRoomErasesText(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chat.db")
	s := openStore(t, path, sqlite.Options{})
	ctx := t.Context()
	if err := s.CreateAccount(ctx, store.Account{Nick: "alice", PasswordHash: "h"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreateRoom(ctx, store.NewRoom{Name: "team", Kind: chat.KindPrivate, Owner: "alice"}); err != nil {
		t.Fatal(err)
	}
	const secret = "zebra-quartz-7731 the launch code"
	for range 20 {
		if _, _, err := s.Append(ctx, store.NewMessage{Room: "team", Nick: "alice", Kind: chat.KindText, Text: secret}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close() // checkpoints: the messages are in the main file now
	if b, _ := os.ReadFile(path); !bytes.Contains(b, []byte(secret)) {
		t.Fatal("the messages never reached the file: the test proves nothing")
	}
	s = openStore(t, path, sqlite.Options{})
	if err := s.DeleteRoom(ctx, "team"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	for _, f := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(secret)) {
			t.Fatalf("%s still holds a deleted room's text", filepath.Base(f))
		}
	}
}
