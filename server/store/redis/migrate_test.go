package redis_test

import (
	"slices"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/internal/clustertest"
	"github.com/ssechat/chat/server/store"
	"github.com/ssechat/chat/server/store/redis"
	"github.com/ssechat/chat/server/store/storetest"
)

// TestMigrateRoomsWithoutKind opens a store on keys as a server before
// membership left them (rooms without a kind, no member hashes): every room
// reads as public and its posters become its members at Open.
func TestMigrateRoomsWithoutKind(t *testing.T) {
	rd := clustertest.StartRedis(t, clustertest.RedisOptions{})
	prefix := newPrefix()
	ctx := t.Context()
	s := open(t, rd.URL(0), redis.Options{Prefix: prefix})
	for _, n := range []string{"Alice", "bob", "carol"} {
		if err := s.CreateAccount(ctx, store.Account{Nick: n, PasswordHash: "h"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, room := range []string{chat.DefaultRoom, "golang"} {
		if _, _, err := s.PutRoom(ctx, room, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range []store.NewMessage{
		{Room: chat.DefaultRoom, Nick: "Alice", Kind: chat.KindText, Text: "hi"},
		{Room: "golang", Nick: "Alice", Kind: chat.KindText, Text: "go"},
		{Room: "golang", Nick: "bob", Kind: chat.KindText, Text: "yes"},
	} {
		if _, _, err := s.Append(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()

	// Make the keys look like the previous release's.
	ro, err := goredis.ParseURL(rd.URL(0))
	if err != nil {
		t.Fatal(err)
	}
	raw := goredis.NewClient(ro)
	defer raw.Close()
	for _, room := range []string{chat.DefaultRoom, "golang"} {
		raw.HDel(ctx, prefix+"room:{"+room+"}", "kind")
		raw.Del(ctx, prefix+"members:{"+room+"}")
	}
	for _, nk := range []string{"alice", "bob", "carol"} {
		raw.Del(ctx, prefix+"memberof:"+nk)
	}

	s = open(t, rd.URL(0), redis.Options{Prefix: prefix})
	storetest.CheckPostersAreMembers(t, s)
	rs, err := s.RoomsOf(ctx, "alice")
	if err != nil || len(rs) != 2 || rs[0].Room.Kind != chat.KindPublic {
		t.Errorf("RoomsOf(alice) = %+v, %v", rs, err)
	}
	if k, _ := raw.HGet(ctx, prefix+"room:{golang}", "kind").Result(); k != chat.KindPublic {
		t.Errorf("kind of golang after Open = %q, want it written", k)
	}
}

// TestOnlineMany checks the one-round-trip presence read GET /api/rooms
// uses against Online room by room.
func TestOnlineMany(t *testing.T) {
	rd := clustertest.StartRedis(t, clustertest.RedisOptions{})
	s := open(t, rd.URL(0), redis.Options{Prefix: newPrefix()})
	ctx := t.Context()
	for _, j := range []struct{ room, nick, conn string }{{"a", "bob", "1"}, {"a", "alice", "2"}, {"c", "carol", "3"}, {"a", "bob", "4"}} {
		if _, err := s.Join(ctx, j.room, j.nick, j.conn); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.OnlineMany(ctx, []string{"c", "b", "a"})
	if err != nil {
		t.Fatal(err)
	}
	for i, room := range []string{"c", "b", "a"} {
		want, err := s.Online(ctx, room)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got[i], want) {
			t.Fatalf("OnlineMany for %s = %v, Online = %v", room, got[i], want)
		}
	}
	if !slices.Equal(got[2], []string{"alice", "bob"}) || len(got[1]) != 0 {
		t.Fatalf("OnlineMany = %v", got)
	}
}
