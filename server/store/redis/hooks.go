package redis

import (
	"context"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/ssechat/chat/server/store"
)

// createHookScript stores a hook and indexes it under its room.
//
//	KEYS[1] hook, KEYS[2] the room's hooks, KEYS[3] the room
//	ARGV[1] id, ARGV[2] secret hash, ARGV[3] room, ARGV[4] name,
//	ARGV[5] creator, ARGV[6] created (RFC 3339), ARGV[7] created (ms)
//
// Returns -1 for an unknown room, 0 when the id is taken, 1 when stored.
var createHookScript = goredis.NewScript(`
if redis.call('EXISTS', KEYS[3]) == 0 then return -1 end
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'secret_hash', ARGV[2], 'room', ARGV[3], 'name', ARGV[4], 'creator', ARGV[5], 'created', ARGV[6])
redis.call('ZADD', KEYS[2], ARGV[7], ARGV[1])
return 1
`)

// deleteHookScript: KEYS[1] hook, KEYS[2] the room's hooks; ARGV[1] id,
// ARGV[2] room. Returns 0 when the room has no such hook.
var deleteHookScript = goredis.NewScript(`
if redis.call('HGET', KEYS[1], 'room') ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
`)

// CreateHook stores a hook; ErrNotFound for an unknown room, ErrExists when
// its id is taken.
func (s *Store) CreateHook(ctx context.Context, h store.Hook) error {
	done, err := s.begin()
	if err != nil {
		return err
	}
	defer done()
	if h.Created.IsZero() {
		h.Created = time.Now()
	}
	n, err := createHookScript.Run(ctx, s.rdb, []string{s.keys.hook(h.ID), s.keys.hooks(h.Room), s.keys.room(h.Room)},
		h.ID, h.SecretHash, h.Room, h.Name, h.Creator, h.Created.UTC().Format(time.RFC3339Nano), msString(h.Created)).Int()
	if err != nil {
		return s.wrap("create hook", err)
	}
	s.health.up()
	switch n {
	case -1:
		return fmt.Errorf("create hook: %w", store.ErrNotFound)
	case 0:
		return fmt.Errorf("create hook: %w", store.ErrExists)
	}
	return nil
}

func hookOf(id string, f map[string]string) store.Hook {
	h := store.Hook{ID: id, SecretHash: f["secret_hash"], Room: f["room"], Name: f["name"], Creator: f["creator"]}
	h.Created, _ = time.Parse(time.RFC3339Nano, f["created"])
	return h
}

// roomStands reports whether h's room exists and is not younger than h.
// DeleteRoom does not know of hooks and leaves their keys behind; this
// keeps them gone, also once a room of the same name is made again.
func (s *Store) roomStands(ctx context.Context, h store.Hook) (bool, error) {
	created, err := s.rdb.HGet(ctx, s.keys.room(h.Room), "created").Result()
	if err == goredis.Nil {
		return false, nil
	}
	if err != nil {
		return false, s.wrap("read hook's room", err)
	}
	at, _ := time.Parse(time.RFC3339Nano, created)
	return !at.After(h.Created), nil
}

// Hook returns the hook of an id, or ErrNotFound (also when its room was
// deleted).
func (s *Store) Hook(ctx context.Context, id string) (store.Hook, error) {
	done, err := s.begin()
	if err != nil {
		return store.Hook{}, err
	}
	defer done()
	f, err := s.rdb.HGetAll(ctx, s.keys.hook(id)).Result()
	if err != nil {
		return store.Hook{}, s.wrap("read hook", err)
	}
	s.health.up()
	if len(f) == 0 {
		return store.Hook{}, fmt.Errorf("read hook: %w", store.ErrNotFound)
	}
	h := hookOf(id, f)
	if ok, err := s.roomStands(ctx, h); err != nil || !ok {
		if err == nil {
			err = fmt.Errorf("read hook: %w", store.ErrNotFound)
		}
		return store.Hook{}, err
	}
	return h, nil
}

// RoomHooks lists a room's hooks, oldest first.
func (s *Store) RoomHooks(ctx context.Context, room string) ([]store.Hook, error) {
	done, err := s.begin()
	if err != nil {
		return nil, err
	}
	defer done()
	ids, err := s.rdb.ZRange(ctx, s.keys.hooks(room), 0, -1).Result()
	if err != nil {
		return nil, s.wrap("list hooks", err)
	}
	cmds, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for _, id := range ids {
			p.HGetAll(ctx, s.keys.hook(id))
		}
		return nil
	})
	if err != nil {
		return nil, s.wrap("list hooks", err)
	}
	s.health.up()
	out := []store.Hook{}
	for i, c := range cmds {
		f := c.(*goredis.MapStringStringCmd).Val()
		if len(f) == 0 {
			continue
		}
		h := hookOf(ids[i], f)
		ok, err := s.roomStands(ctx, h)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, h)
		}
	}
	return out, nil
}

// DeleteHook removes a room's hook; ErrNotFound for an unknown id or one of
// another room.
func (s *Store) DeleteHook(ctx context.Context, room, id string) error {
	done, err := s.begin()
	if err != nil {
		return err
	}
	defer done()
	n, err := deleteHookScript.Run(ctx, s.rdb, []string{s.keys.hook(id), s.keys.hooks(room)}, id, room).Int()
	if err != nil {
		return s.wrap("delete hook", err)
	}
	s.health.up()
	if n == 0 {
		return fmt.Errorf("delete hook: %w", store.ErrNotFound)
	}
	return nil
}
