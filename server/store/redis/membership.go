package redis

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/store"
)

// A member entry is "role nick joined" (nicks hold no spaces); the hash
// field is the nick key.

// createRoomScript creates a room with its kind, topic and owner.
//
//	KEYS[1] room hash, KEYS[2] set of rooms, KEYS[3] members, KEYS[4] the
//	owner's account, KEYS[5] the owner's set of rooms (both may be absent)
//	ARGV[1] name, ARGV[2] created, ARGV[3] kind, ARGV[4] topic, ARGV[5]
//	owner's nick key
//
// Returns {0, HGETALL} for an existing room, {1, HGETALL} for a new one,
// {-1} when the owner has no account.
var createRoomScript = goredis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return {0, redis.call('HGETALL', KEYS[1])} end
local owner = ''
if KEYS[4] then
  owner = redis.call('HGET', KEYS[4], 'nick')
  if not owner then return {-1} end
end
redis.call('HSET', KEYS[1], 'name', ARGV[1], 'topic', ARGV[4], 'created', ARGV[2], 'kind', ARGV[3], 'owner', owner)
redis.call('SADD', KEYS[2], ARGV[1])
if KEYS[4] then
  redis.call('HSET', KEYS[3], ARGV[5], 'owner ' .. owner .. ' ' .. ARGV[2])
  redis.call('SADD', KEYS[5], ARGV[1])
end
return {1, redis.call('HGETALL', KEYS[1])}
`)

// directRoomScript finds or creates the direct room of a set of accounts.
// The GET and the SET of the set's key run in one script, so two
// concurrent creations for one set make one room.
//
//	KEYS[1] the set's key, KEYS[2] set of rooms
//	ARGV[1] name for a new room, ARGV[2] created, ARGV[3] the store's
//	prefix, ARGV[4] the set key, ARGV[5...] the nick keys
//
// Returns {0, name, HGETALL} for the existing room, {1, name, HGETALL}
// for a new one, {-1} when a nick has no account, {-2} when the name is
// taken.
var directRoomScript = goredis.NewScript(`
local p = ARGV[3]
local name = redis.call('GET', KEYS[1])
if name then return {0, name, redis.call('HGETALL', p .. 'room:{' .. name .. '}')} end
name = ARGV[1]
local rk = p .. 'room:{' .. name .. '}'
if redis.call('EXISTS', rk) == 1 then return {-2} end
local nicks = {}
for i = 5, #ARGV do
  local n = redis.call('HGET', p .. 'account:' .. ARGV[i], 'nick')
  if not n then return {-1} end
  nicks[i] = n
end
redis.call('HSET', rk, 'name', name, 'topic', '', 'created', ARGV[2], 'kind', 'direct', 'owner', '', 'dmkey', ARGV[4])
redis.call('SADD', KEYS[2], name)
for i = 5, #ARGV do
  redis.call('HSET', p .. 'members:{' .. name .. '}', ARGV[i], 'member ' .. nicks[i] .. ' ' .. ARGV[2])
  redis.call('SADD', p .. 'memberof:' .. ARGV[i], name)
end
redis.call('SET', KEYS[1], name)
return {1, name, redis.call('HGETALL', rk)}
`)

// putMemberScript adds a member or changes its role.
//
//	KEYS[1] room hash, KEYS[2] members, KEYS[3] account, KEYS[4] the
//	nick's set of rooms
//	ARGV[1] nick key, ARGV[2] role ("" keeps a member's), ARGV[3] joined,
//	ARGV[4] room name
//
// Returns 1 added, 0 already a member, -1 no room, -2 no account.
var putMemberScript = goredis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local nick = redis.call('HGET', KEYS[3], 'nick')
if not nick then return -2 end
local old = redis.call('HGET', KEYS[2], ARGV[1])
if old then
  if ARGV[2] == '' then return 0 end
  local _, _, role, rest = string.find(old, '^(%S+) (.*)$')
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2] .. ' ' .. rest)
  return 0
end
local role = ARGV[2]
if role == '' then role = 'member' end
redis.call('HSET', KEYS[2], ARGV[1], role .. ' ' .. nick .. ' ' .. ARGV[3])
redis.call('SADD', KEYS[4], ARGV[4])
return 1
`)

// removeMemberScript: KEYS[1] members, KEYS[2] the nick's set of rooms;
// ARGV[1] nick key, ARGV[2] room. Returns 0 when it was not a member.
var removeMemberScript = goredis.NewScript(`
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('SREM', KEYS[2], ARGV[2])
return 1
`)

// deleteRoomScript removes a room, its stream, members and direct key.
//
//	KEYS[1] room hash, KEYS[2] set of rooms, KEYS[3] members, KEYS[4]
//	stream; ARGV[1] name, ARGV[2] the store's prefix, ARGV[3] the room's
//	search key prefix (its search index goes too)
//
// Returns 0 when there was no such room.
var deleteRoomScript = goredis.NewScript(searchIndexLua + `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
unindexroom(ARGV[3])
local dk = redis.call('HGET', KEYS[1], 'dmkey')
if dk and dk ~= '' then redis.call('DEL', ARGV[2] .. 'dm:' .. dk) end
for _, nk in ipairs(redis.call('HKEYS', KEYS[3])) do
  redis.call('SREM', ARGV[2] .. 'memberof:' .. nk, ARGV[1])
end
redis.call('DEL', KEYS[1], KEYS[3], KEYS[4])
redis.call('SREM', KEYS[2], ARGV[1])
return 1
`)

// setPublicReadScript: KEYS[1] room hash; ARGV[1] "1" or "0". Returns
// {0} for no room, else {1, HGETALL}.
var setPublicReadScript = goredis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return {0} end
redis.call('HSET', KEYS[1], 'public_read', ARGV[1])
return {1, redis.call('HGETALL', KEYS[1])}
`)

func now() string { return time.Now().UTC().Format(time.RFC3339Nano) }

// CreateRoom creates a room with its kind, topic and owner, or returns the
// existing one unchanged.
func (s *Store) CreateRoom(ctx context.Context, nr store.NewRoom) (store.Room, bool, error) {
	done, err := s.begin()
	if err != nil {
		return store.Room{}, false, err
	}
	defer done()
	keys := []string{s.keys.room(nr.Name), s.keys.rooms(), s.keys.members(nr.Name)}
	if nr.Owner != "" {
		keys = append(keys, s.keys.account(nr.Owner), s.keys.memberOf(nr.Owner))
	}
	res, err := createRoomScript.Run(ctx, s.rdb, keys, nr.Name, now(), nr.Kind, nr.Topic, chat.NickKey(nr.Owner)).Slice()
	if err != nil {
		return store.Room{}, false, s.wrap("create room", err)
	}
	code, _ := res[0].(int64)
	if code < 0 {
		return store.Room{}, false, fmt.Errorf("create room %q: owner %q: %w", nr.Name, nr.Owner, store.ErrNotFound)
	}
	return roomFromFields(nr.Name, pairs(res[1])), code == 1, nil
}

// DirectRoom returns the direct room of the set of nicks, creating it under
// name when the set has none.
func (s *Store) DirectRoom(ctx context.Context, name string, nicks []string) (store.Room, bool, error) {
	done, err := s.begin()
	if err != nil {
		return store.Room{}, false, err
	}
	defer done()
	key := store.DirectKey(nicks)
	nks := strings.Split(key, ",")
	if len(nks) < 2 || len(nks) > chat.MaxDirectMembers {
		return store.Room{}, false, fmt.Errorf("direct room of %d accounts: %w", len(nks), store.ErrInvalid)
	}
	args := []any{name, now(), s.keys.prefix, key}
	for _, nk := range nks {
		args = append(args, nk)
	}
	res, err := directRoomScript.Run(ctx, s.rdb, []string{s.keys.direct(key), s.keys.rooms()}, args...).Slice()
	if err != nil {
		return store.Room{}, false, s.wrap("direct room", err)
	}
	switch code, _ := res[0].(int64); code {
	case -1:
		return store.Room{}, false, fmt.Errorf("direct room: an account: %w", store.ErrNotFound)
	case -2:
		return store.Room{}, false, fmt.Errorf("direct room %s: %w", name, store.ErrExists)
	default:
		got, _ := res[1].(string)
		return roomFromFields(got, pairs(res[2])), code == 1, nil
	}
}

// SetPublicRead sets whether the room may be read without signing in.
func (s *Store) SetPublicRead(ctx context.Context, name string, on bool) (store.Room, error) {
	done, err := s.begin()
	if err != nil {
		return store.Room{}, err
	}
	defer done()
	v := "0"
	if on {
		v = "1"
	}
	res, err := setPublicReadScript.Run(ctx, s.rdb, []string{s.keys.room(name)}, v).Slice()
	if err != nil {
		return store.Room{}, s.wrap("set public_read", err)
	}
	if code, _ := res[0].(int64); code == 0 {
		return store.Room{}, fmt.Errorf("room %q: %w", name, store.ErrNotFound)
	}
	return roomFromFields(name, pairs(res[1])), nil
}

// Access returns the room and nick's role in it, in one round trip that is
// the same whether or not the room exists.
func (s *Store) Access(ctx context.Context, name, nick string) (store.Room, string, error) {
	done, err := s.begin()
	if err != nil {
		return store.Room{}, "", err
	}
	defer done()
	var (
		room *goredis.MapStringStringCmd
		mem  *goredis.StringCmd
	)
	_, err = s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		room = p.HGetAll(ctx, s.keys.room(name))
		mem = p.HGet(ctx, s.keys.members(name), chat.NickKey(nick))
		return nil
	})
	if err != nil && !errors.Is(err, goredis.Nil) {
		return store.Room{}, "", s.wrap("read membership", err)
	}
	s.health.up()
	f := room.Val()
	if len(f) == 0 {
		return store.Room{}, "", fmt.Errorf("read room %q: %w", name, store.ErrNotFound)
	}
	role, _, _ := parseMember(mem.Val())
	return roomFromFields(name, f), role, nil
}

// parseMember splits a member entry; all "" for none.
func parseMember(v string) (role, nick string, joined time.Time) {
	role, rest, _ := strings.Cut(v, " ")
	nick, at, _ := strings.Cut(rest, " ")
	joined, _ = time.Parse(time.RFC3339Nano, at)
	return role, nick, joined
}

// PutMember adds nick to the room or changes its role.
func (s *Store) PutMember(ctx context.Context, name, nick, role string) (bool, error) {
	done, err := s.begin()
	if err != nil {
		return false, err
	}
	defer done()
	n, err := putMemberScript.Run(ctx, s.rdb,
		[]string{s.keys.room(name), s.keys.members(name), s.keys.account(nick), s.keys.memberOf(nick)},
		chat.NickKey(nick), role, now(), name).Int()
	if err != nil {
		return false, s.wrap("put member", err)
	}
	switch n {
	case -1:
		return false, fmt.Errorf("room %q: %w", name, store.ErrNotFound)
	case -2:
		return false, fmt.Errorf("account %q: %w", nick, store.ErrNotFound)
	}
	return n == 1, nil
}

// RemoveMember removes nick from the room.
func (s *Store) RemoveMember(ctx context.Context, name, nick string) error {
	done, err := s.begin()
	if err != nil {
		return err
	}
	defer done()
	n, err := removeMemberScript.Run(ctx, s.rdb, []string{s.keys.members(name), s.keys.memberOf(nick)},
		chat.NickKey(nick), name).Int()
	if err != nil {
		return s.wrap("remove member", err)
	}
	if n == 0 {
		return fmt.Errorf("member %q of %q: %w", nick, name, store.ErrNotFound)
	}
	return nil
}

// Members lists the room's members sorted by nick key.
func (s *Store) Members(ctx context.Context, name string) ([]store.Member, error) {
	done, err := s.begin()
	if err != nil {
		return nil, err
	}
	defer done()
	var (
		exists *goredis.IntCmd
		all    *goredis.MapStringStringCmd
	)
	_, err = s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		exists = p.Exists(ctx, s.keys.room(name))
		all = p.HGetAll(ctx, s.keys.members(name))
		return nil
	})
	if err != nil {
		return nil, s.wrap("list members", err)
	}
	if exists.Val() == 0 {
		return nil, fmt.Errorf("room %q: %w", name, store.ErrNotFound)
	}
	keys := make([]string, 0, len(all.Val()))
	for k := range all.Val() {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]store.Member, 0, len(keys))
	for _, k := range keys {
		role, nick, joined := parseMember(all.Val()[k])
		out = append(out, store.Member{Nick: nick, Role: role, Joined: joined})
	}
	return out, nil
}

// RoomsOf lists the rooms nick belongs to, sorted by name: one read of the
// set, then one pipelined round trip for every room's hash and role.
func (s *Store) RoomsOf(ctx context.Context, nick string) ([]store.MemberRoom, error) {
	done, err := s.begin()
	if err != nil {
		return nil, err
	}
	defer done()
	names, err := s.rdb.SMembers(ctx, s.keys.memberOf(nick)).Result()
	if err != nil {
		return nil, s.wrap("list rooms of account", err)
	}
	sort.Strings(names)
	rooms := make([]*goredis.MapStringStringCmd, len(names))
	roles := make([]*goredis.StringCmd, len(names))
	_, err = s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, n := range names {
			rooms[i] = p.HGetAll(ctx, s.keys.room(n))
			roles[i] = p.HGet(ctx, s.keys.members(n), chat.NickKey(nick))
		}
		return nil
	})
	if err != nil && !errors.Is(err, goredis.Nil) {
		return nil, s.wrap("list rooms of account", err)
	}
	s.health.up()
	out := make([]store.MemberRoom, 0, len(names))
	for i, n := range names {
		role, _, _ := parseMember(roles[i].Val())
		if f := rooms[i].Val(); len(f) > 0 && role != "" {
			out = append(out, store.MemberRoom{Room: roomFromFields(n, f), Role: role})
		}
	}
	return out, nil
}

// DeleteRoom removes the room, its stream, members and direct key.
func (s *Store) DeleteRoom(ctx context.Context, name string) error {
	done, err := s.begin()
	if err != nil {
		return err
	}
	defer done()
	n, err := deleteRoomScript.Run(ctx, s.rdb,
		[]string{s.keys.room(name), s.keys.rooms(), s.keys.members(name), s.keys.stream(name)},
		name, s.keys.prefix, s.keys.search(name)).Int()
	if err != nil {
		return s.wrap("delete room", err)
	}
	if n == 0 {
		return fmt.Errorf("room %q: %w", name, store.ErrNotFound)
	}
	return nil
}

// migrateMembership brings rooms written before membership existed (no
// kind field) up to date at Open: each becomes public and every account
// that posted in it (as far as its stream still holds) becomes a member.
// The kind is written last, so a migration cut short runs again for that
// room at the next Open; members are added with HSETNX, so it is harmless
// to repeat.
func (s *Store) migrateMembership(ctx context.Context) error {
	names, err := s.rdb.SMembers(ctx, s.keys.rooms()).Result()
	if err != nil {
		return fmt.Errorf("migrate rooms: %w", err)
	}
	for _, name := range names {
		has, err := s.rdb.HExists(ctx, s.keys.room(name), "kind").Result()
		if err != nil {
			return fmt.Errorf("migrate room %s: %w", name, err)
		}
		if has {
			continue
		}
		if err := s.migrateRoom(ctx, name); err != nil {
			return fmt.Errorf("migrate room %s: %w", name, err)
		}
	}
	return nil
}

func (s *Store) migrateRoom(ctx context.Context, name string) error {
	posters := map[string]string{} // nick key → nick
	start := "-"
	for {
		entries, err := s.rdb.XRangeN(ctx, s.keys.stream(name), start, "+", 1000).Result()
		if err != nil {
			return err
		}
		for _, e := range entries {
			body, _ := e.Values["m"].(string)
			if m, err := decodeEntry(e.ID, body); err == nil && m.Nick != "" {
				posters[chat.NickKey(m.Nick)] = m.Nick
			}
		}
		if len(entries) < 1000 {
			break
		}
		start = "(" + entries[len(entries)-1].ID
	}
	for nk := range posters {
		acct, err := s.rdb.HGet(ctx, s.keys.prefix+"account:"+nk, "nick").Result()
		if errors.Is(err, goredis.Nil) {
			continue // the account is gone
		}
		if err != nil {
			return err
		}
		if err := s.rdb.HSetNX(ctx, s.keys.members(name), nk, chat.RoleMember+" "+acct+" "+now()).Err(); err != nil {
			return err
		}
		if err := s.rdb.SAdd(ctx, s.keys.memberOf(acct), name).Err(); err != nil {
			return err
		}
	}
	return s.rdb.HSet(ctx, s.keys.room(name), "kind", chat.KindPublic).Err()
}
