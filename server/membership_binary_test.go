package server_test

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/internal/testenv"
)

// TestUpgradeKeepsDataAndMakesAdmins opens, with today's binary, a data
// directory written by the release before membership
// (store/sqlite/testdata/v1-chat.db: Alice, bob and carol registered with
// the password "password-" and their nick; Alice posted in general and
// golang, bob in golang). Every room is public and readable as before, the
// posters are members, general has no owner, and an account made with
// "chat-server user add --admin" manages it where a plain account cannot.
func TestUpgradeKeepsDataAndMakesAdmins(t *testing.T) {
	testenv.SkipShort(t, "builds and runs the chat-server binary")
	bin := testenv.Build(t, "./cmd/chat-server")
	dir, addr := t.TempDir(), testenv.FreeAddr(t)
	old, err := os.ReadFile("store/sqlite/testdata/v1-chat.db")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "chat.db"), old, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"user", "add", "root", "--admin", "--data", dir}, cheapHash...)...)
	cmd.Stdin = bytes.NewBufferString("root password\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("user add --admin: %v\n%s", err, out)
	}

	b := startBinary(t, bin, addr, dir)
	login := func(nick, pw string) string {
		r := b.api.LoginPassword(t, nick, pw)
		if r.Status != 200 {
			t.Fatalf("login %s: %d %s", nick, r.Status, r.Body)
		}
		var info chat.SessionInfo
		r.Decode(t, &info)
		return info.Token
	}
	alice, carol, root := login("alice", "password-Alice"), login("carol", "password-carol"), login("root", "root password")
	var list chat.RoomList
	b.api.Do(t, http.MethodGet, "/api/rooms", carol, nil).Decode(t, &list)
	if len(list.Rooms) != 2 || list.Rooms[1].Name != "golang" || list.Rooms[1].Kind != chat.KindPublic || list.Rooms[1].Topic != "Go talk" {
		t.Fatalf("rooms after the upgrade: %+v", list.Rooms)
	}
	if page := b.api.History(t, carol, "golang", nil); len(page.Messages) != 3 {
		t.Fatalf("golang's history after the upgrade: %+v", page.Messages)
	}
	var mine chat.MyRooms
	b.api.Do(t, http.MethodGet, "/api/me/rooms", alice, nil).Decode(t, &mine)
	var names []string
	for _, r := range mine.Rooms {
		names = append(names, r.Name+":"+r.Role)
	}
	if want := []string{"general:member", "golang:member"}; !slices.Equal(names, want) {
		t.Fatalf("Alice's rooms after the upgrade = %v, want %v (she posted in both)", names, want)
	}
	b.api.Do(t, http.MethodGet, "/api/me/rooms", carol, nil).Decode(t, &mine)
	if len(mine.Rooms) != 0 {
		t.Fatalf("carol never posted, yet belongs to %+v", mine.Rooms)
	}
	// general has no owner: a plain account cannot manage it, the admin can.
	wantErr(t, b.api.Do(t, http.MethodPut, "/api/rooms/general", alice, map[string]any{"public_read": true}), 403, "not_allowed")
	wantErr(t, b.api.Do(t, http.MethodDelete, "/api/rooms/general/members/alice", carol, nil), 403, "not_allowed")
	if r := b.api.Do(t, http.MethodPut, "/api/rooms/general", root, map[string]any{"public_read": true}); r.Status != 200 {
		t.Fatalf("the admin sets public_read of general: %d %s", r.Status, r.Body)
	}
	if r := b.api.Do(t, http.MethodDelete, "/api/rooms/golang/members/bob", root, nil); r.Status != 204 {
		t.Fatalf("the admin removes bob from golang: %d %s", r.Status, r.Body)
	}
}
