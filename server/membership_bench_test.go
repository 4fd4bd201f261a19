package server_test

import (
	"errors"
	"testing"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server"
	"github.com/ssechat/chat/server/servertest"
	"github.com/ssechat/chat/server/store"
)

// BenchmarkRoomAccess measures the membership rule every room endpoint
// asks (roomAccess), on SQLite: a room that does not exist and a private
// room the caller is not in must cost the same (both answer 404
// room_not_found, and timing must not tell them apart); a public room the
// caller belongs to is the rule's cost on every POST, a private room's on
// every request of its members. Compare the ns/op figures;
// docs/benchmarks.md has them.
//
//	go test -run '^$' -bench BenchmarkRoomAccess -benchtime 200000x ./server
func BenchmarkRoomAccess(b *testing.B) {
	srv := servertest.Start(b)
	ctx := b.Context()
	for _, n := range []string{"alice", "eve"} {
		if err := srv.Store.CreateAccount(ctx, store.Account{Nick: n, PasswordHash: "x"}); err != nil {
			b.Fatal(err)
		}
	}
	if _, _, err := srv.Store.CreateRoom(ctx, store.NewRoom{Name: "team", Kind: chat.KindPrivate, Owner: "alice"}); err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name, nick, room string
		hidden           bool
	}{
		{"missing_room", "eve", "no-such-room", true},
		{"private_not_member", "eve", "team", true},
		{"private_member", "alice", "team", false},
		{"public_member_post", "alice", chat.DefaultRoom, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				err := server.RoomAccess(srv.Server, bc.nick, bc.room)
				if hidden := err != nil; hidden != bc.hidden || (err != nil && !errors.Is(err, server.ErrRoomNotFound)) {
					b.Fatalf("roomAccess(%s, %s) = %v", bc.nick, bc.room, err)
				}
			}
		})
	}
}
