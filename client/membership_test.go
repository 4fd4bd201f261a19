package client

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/ssechat/chat/chat"
)

func TestMembershipAgainstServer(t *testing.T) {
	srv := startServer(t)
	ctx := context.Background()
	alice := newTestClient(t, srv, srv.URL, "alice")
	bob := newTestClient(t, srv, srv.URL, "bob")

	created, err := alice.CreateRoomKind(ctx, "team", chat.KindPrivate)
	if err != nil || !created {
		t.Fatalf("CreateRoomKind: %v, %v", created, err)
	}
	if _, err := alice.CreateRoomKind(ctx, "team", chat.KindPublic); !isCode(err, "room_kind_fixed") {
		t.Fatalf("CreateRoomKind with another kind: %v", err)
	}
	if _, err := bob.History(ctx, "team", HistoryQuery{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("an outsider reads a private room: %v", err)
	}
	if err := alice.AddMember(ctx, "team", "bob"); err != nil {
		t.Fatal(err)
	}
	if err := alice.SetRole(ctx, "team", "bob", chat.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	m, err := bob.RoomMembers(ctx, "team")
	if err != nil || len(m.Members) != 2 || m.Members[1].Role != chat.RoleAdmin {
		t.Fatalf("RoomMembers: %+v, %v", m, err)
	}
	if err := bob.Leave(ctx, "team"); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.CreateRoomKind(ctx, "lobby", chat.KindPublic); err != nil {
		t.Fatal(err)
	}
	if err := bob.Join(ctx, "lobby"); err != nil {
		t.Fatal(err)
	}
	if err := alice.RemoveMember(ctx, "lobby", "bob"); err != nil {
		t.Fatal(err)
	}
	dm, created, err := alice.DirectMessage(ctx, "bob")
	if err != nil || !created || dm.Kind != chat.KindDirect {
		t.Fatalf("DirectMessage: %+v, %v, %v", dm, created, err)
	}
	again, created, err := bob.DirectMessage(ctx, "ALICE")
	if err != nil || created || again.Name != dm.Name {
		t.Fatalf("DirectMessage the other way: %+v, %v, %v", again, created, err)
	}
	mine, err := bob.MyRooms(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range mine {
		names = append(names, r.Name)
	}
	if want := []string{dm.Name, "general"}; !slices.Equal(names, want) {
		t.Fatalf("MyRooms = %v, want %v", names, want)
	}
	if err := alice.SetPublicRead(ctx, "lobby", true); err != nil {
		t.Fatal(err)
	}
	if err := alice.DeleteRoom(ctx, "lobby"); err != nil {
		t.Fatal(err)
	}
	rooms, err := bob.Rooms(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rooms {
		if r.Name == "lobby" || r.Name == "team" {
			t.Fatalf("Rooms lists %s after it was deleted or left", r.Name)
		}
	}
}

func isCode(err error, code string) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Code == code
}
