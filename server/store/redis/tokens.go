package redis

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/store"
)

// createTokenScript stores a token and indexes it under its nick and id.
//
//	KEYS[1] token, KEYS[2] the nick's tokens, KEYS[3] every token id,
//	KEYS[4] the account
//	ARGV[1] id, ARGV[2] nick, ARGV[3] nick key, ARGV[4] name, ARGV[5]
//	rooms (JSON), ARGV[6] created (RFC 3339), ARGV[7] token hash
//
// Returns -1 when the account does not exist, 0 when the id or hash is
// taken, 1 when stored.
var createTokenScript = goredis.NewScript(`
if redis.call('EXISTS', KEYS[4]) == 0 then return -1 end
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('HEXISTS', KEYS[3], ARGV[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'nick', ARGV[2], 'nick_key', ARGV[3], 'name', ARGV[4], 'rooms', ARGV[5], 'created', ARGV[6])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[7])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
return 1
`)

// deleteTokenScript removes a nick's token.
//
//	KEYS[1] the nick's tokens, KEYS[2] every token id; ARGV[1] id,
//	ARGV[2] prefix of token keys
//
// Returns the token's hash, or false when the nick has no such token.
var deleteTokenScript = goredis.NewScript(`
local h = redis.call('HGET', KEYS[1], ARGV[1])
if not h then return false end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('DEL', ARGV[2] .. h)
return h
`)

// CreateToken stores a token; ErrNotFound when its nick has no account,
// ErrExists when its id or hash is taken.
func (s *Store) CreateToken(ctx context.Context, t store.AccessToken) error {
	done, err := s.begin()
	if err != nil {
		return err
	}
	defer done()
	if t.Created.IsZero() {
		t.Created = time.Now()
	}
	var rooms []string
	if len(t.Rooms) > 0 {
		rooms = t.Rooms
	}
	b, err := json.Marshal(rooms)
	if err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	n, err := createTokenScript.Run(ctx, s.rdb,
		[]string{s.keys.token(t.Hash), s.keys.tokens(t.Nick), s.keys.tokenIDs(), s.keys.account(t.Nick)},
		t.ID, t.Nick, chat.NickKey(t.Nick), t.Name, string(b), t.Created.UTC().Format(time.RFC3339Nano), t.Hash).Int()
	if err != nil {
		return s.wrap("create token", err)
	}
	s.health.up()
	switch n {
	case -1:
		return fmt.Errorf("create token: %w", store.ErrNotFound)
	case 0:
		return fmt.Errorf("create token: %w", store.ErrExists)
	}
	return nil
}

// TokenByHash returns the token of a hash, or ErrNotFound. A deleted
// account leaves its token keys behind (DeleteAccount does not know of
// them), so a token counts only while its account exists and is older than
// the token: an account made again under the nick does not revive it.
func (s *Store) TokenByHash(ctx context.Context, hash string) (store.AccessToken, error) {
	done, err := s.begin()
	if err != nil {
		return store.AccessToken{}, err
	}
	defer done()
	f, err := s.rdb.HGetAll(ctx, s.keys.token(hash)).Result()
	if err != nil {
		return store.AccessToken{}, s.wrap("read token", err)
	}
	if len(f) == 0 {
		s.health.up()
		return store.AccessToken{}, fmt.Errorf("read token: %w", store.ErrNotFound)
	}
	t, err := tokenOf(hash, f)
	if err != nil {
		return store.AccessToken{}, err
	}
	ok, err := s.ownerStands(ctx, t)
	if err != nil {
		return store.AccessToken{}, err
	}
	if !ok {
		return store.AccessToken{}, fmt.Errorf("read token: %w", store.ErrNotFound)
	}
	return t, nil
}

// ownerStands reports whether t's account exists and was made before t.
func (s *Store) ownerStands(ctx context.Context, t store.AccessToken) (bool, error) {
	created, err := s.rdb.HGet(ctx, s.keys.account(t.Nick), "created").Result()
	if err == goredis.Nil {
		return false, nil
	}
	if err != nil {
		return false, s.wrap("read token's account", err)
	}
	s.health.up()
	at, _ := time.Parse(time.RFC3339Nano, created)
	return !at.After(t.Created), nil
}

func tokenOf(hash string, f map[string]string) (store.AccessToken, error) {
	t := store.AccessToken{Hash: hash, ID: f["id"], Nick: f["nick"], Name: f["name"]}
	t.Created, _ = time.Parse(time.RFC3339Nano, f["created"])
	if err := json.Unmarshal([]byte(f["rooms"]), &t.Rooms); err != nil {
		return store.AccessToken{}, fmt.Errorf("decode rooms of token %s: %w", t.ID, err)
	}
	if len(t.Rooms) == 0 {
		t.Rooms = nil
	}
	return t, nil
}

// Tokens lists a nick's tokens, oldest first.
func (s *Store) Tokens(ctx context.Context, nick string) ([]store.AccessToken, error) {
	done, err := s.begin()
	if err != nil {
		return nil, err
	}
	defer done()
	hashes, err := s.rdb.HVals(ctx, s.keys.tokens(nick)).Result()
	if err != nil {
		return nil, s.wrap("list tokens", err)
	}
	cmds, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for _, h := range hashes {
			p.HGetAll(ctx, s.keys.token(h))
		}
		return nil
	})
	if err != nil {
		return nil, s.wrap("list tokens", err)
	}
	out := []store.AccessToken{}
	for i, c := range cmds {
		f := c.(*goredis.MapStringStringCmd).Val()
		if len(f) == 0 {
			continue
		}
		t, err := tokenOf(hashes[i], f)
		if err != nil {
			return nil, err
		}
		ok, err := s.ownerStands(ctx, t)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b store.AccessToken) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return compareStrings(a.ID, b.ID)
	})
	return out, nil
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// DeleteToken revokes a nick's token and returns it; ErrNotFound for an
// unknown id or another nick's.
func (s *Store) DeleteToken(ctx context.Context, nick, id string) (store.AccessToken, error) {
	done, err := s.begin()
	if err != nil {
		return store.AccessToken{}, err
	}
	defer done()
	hash, err := s.rdb.HGet(ctx, s.keys.tokens(nick), id).Result()
	if err == goredis.Nil {
		s.health.up()
		return store.AccessToken{}, fmt.Errorf("delete token: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.AccessToken{}, s.wrap("delete token", err)
	}
	f, err := s.rdb.HGetAll(ctx, s.keys.token(hash)).Result()
	if err != nil {
		return store.AccessToken{}, s.wrap("delete token", err)
	}
	gone, err := deleteTokenScript.Run(ctx, s.rdb, []string{s.keys.tokens(nick), s.keys.tokenIDs()}, id, s.keys.token("")).Result()
	if err == goredis.Nil {
		s.health.up()
		return store.AccessToken{}, fmt.Errorf("delete token: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.AccessToken{}, s.wrap("delete token", err)
	}
	s.health.up()
	if len(f) == 0 || gone != hash {
		// Deleted by another caller between the reads.
		return store.AccessToken{}, fmt.Errorf("delete token: %w", store.ErrNotFound)
	}
	t, err := tokenOf(hash, f)
	if err != nil {
		return store.AccessToken{}, err
	}
	if ok, err := s.ownerStands(ctx, t); err != nil || !ok {
		return store.AccessToken{}, fmt.Errorf("delete token: %w", store.ErrNotFound)
	}
	return t, nil
}
