package redis

import (
	"context"
	"fmt"
	"sort"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/store"
)

// PutRoom creates the room or returns it; a non-nil topic replaces its
// topic either way.
func (s *Store) PutRoom(ctx context.Context, name string, topic *string) (store.Room, bool, error) {
	done, err := s.begin()
	if err != nil {
		return store.Room{}, false, err
	}
	defer done()
	setTopic, t := "0", ""
	if topic != nil {
		setTopic, t = "1", *topic
	}
	res, err := putRoomScript.Run(ctx, s.rdb, []string{s.keys.room(name), s.keys.rooms()},
		name, time.Now().UTC().Format(time.RFC3339Nano), setTopic, t).Slice()
	if err != nil {
		return store.Room{}, false, s.wrap("put room", err)
	}
	s.health.up()
	created, _ := res[0].(int64)
	return roomFromFields(name, pairs(res[1])), created == 1, nil
}

// Room returns a room, or ErrNotFound.
func (s *Store) Room(ctx context.Context, name string) (store.Room, error) {
	done, err := s.begin()
	if err != nil {
		return store.Room{}, err
	}
	defer done()
	f, err := s.rdb.HGetAll(ctx, s.keys.room(name)).Result()
	if err != nil {
		return store.Room{}, s.wrap("read room", err)
	}
	s.health.up()
	if len(f) == 0 {
		return store.Room{}, fmt.Errorf("read room %q: %w", name, store.ErrNotFound)
	}
	return roomFromFields(name, f), nil
}

// Rooms lists every room, sorted by name.
func (s *Store) Rooms(ctx context.Context) ([]store.Room, error) {
	done, err := s.begin()
	if err != nil {
		return nil, err
	}
	defer done()
	names, err := s.rdb.SMembers(ctx, s.keys.rooms()).Result()
	if err != nil {
		return nil, s.wrap("list rooms", err)
	}
	sort.Strings(names)
	cmds := make([]*goredis.MapStringStringCmd, len(names))
	_, err = s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, n := range names {
			cmds[i] = p.HGetAll(ctx, s.keys.room(n))
		}
		return nil
	})
	if err != nil {
		return nil, s.wrap("list rooms", err)
	}
	s.health.up()
	rooms := make([]store.Room, 0, len(names))
	for i, n := range names {
		if f := cmds[i].Val(); len(f) > 0 {
			rooms = append(rooms, roomFromFields(n, f))
		}
	}
	return rooms, nil
}

func roomFromFields(name string, f map[string]string) store.Room {
	r := store.Room{Name: name, Topic: f["topic"], LastID: f["last_id"], Kind: f["kind"], Owner: f["owner"], PublicRead: f["public_read"] == "1"}
	if r.Kind == "" {
		r.Kind = chat.KindPublic // a room of a store written before membership
	}
	r.Created, _ = time.Parse(time.RFC3339Nano, f["created"])
	return r
}

// pairs turns a flat [field, value, ...] script reply into a map.
func pairs(v any) map[string]string {
	list, _ := v.([]any)
	m := make(map[string]string, len(list)/2)
	for i := 0; i+1 < len(list); i += 2 {
		k, _ := list[i].(string)
		val, _ := list[i+1].(string)
		m[k] = val
	}
	return m
}
